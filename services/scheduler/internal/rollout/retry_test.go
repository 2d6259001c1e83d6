package rollout

import (
	"reflect"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestRetryIsANewAttempt(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	old := m.resultFor("h1", false)
	m.must(Input{Result: old})
	if m.r.State != contracts.StatePaused {
		t.Fatalf("state %s", m.r.State)
	}
	eff := m.command(contracts.VerbRetry)
	if got := types(eff); !reflect.DeepEqual(got, []string{"retried"}) || m.r.State != contracts.StateRunning {
		t.Fatalf("retry: %v, state %s", got, m.r.State)
	}
	d := eff[len(eff)-1].(Dispatch)
	if d.Action.ID != "r1/canary/h1/attempt-2" || d.Action.Attempt != 2 || d.Action.Batch != 1 || d.Action.Phase.ID != "canary" {
		t.Fatalf("retried action %+v", d.Action)
	}
	ev := emits(eff)[0].Event
	if ev.Actor != "alice" || !reflect.DeepEqual(ev.Hosts, []string{"h1"}) || ev.Counts.Failed != 0 || ev.Counts.Running != 1 {
		t.Fatalf("retried event %+v counts %+v", ev, ev.Counts)
	}
	// A late (here: redelivered) result of attempt 1 changes nothing.
	if _, eff, err := Step(m.r, Input{Result: old}, m.now); err != nil || eff != nil {
		t.Fatalf("old attempt's result: %v %v", types(eff), err)
	}
	// Attempt 2 succeeds and the rollout goes on.
	if got := dispatched(m.result("h1", true)); !reflect.DeepEqual(got, []string{"h2", "h3"}) {
		t.Fatalf("after the retry succeeded: %v", got)
	}
	if m.r.Counts.Failed != 0 || m.r.Counts.Succeeded != 1 {
		t.Fatalf("counts %+v", m.r.Counts)
	}
}

func TestRetryWithoutFailedHostsIsRefused(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	m.command(contracts.VerbPause)
	before := m.r
	next, eff, err := Step(m.r, Input{Command: &Command{Verb: contracts.VerbRetry}}, m.now)
	if !contracts.IsCode(err, contracts.CodeInvalidState) || eff != nil || !reflect.DeepEqual(next, before) {
		t.Fatalf("retry with nothing failed: %v %v", err, types(eff))
	}
	if ce := contracts.AsError(err); ce.Message != "cannot retry: rollout r1 has no failed hosts" {
		t.Fatalf("message %q", ce.Message)
	}
}

// Retrying one host (the guided-failure choice) runs only that failed host
// again; a host that did not fail, or that the rollout lacks, is refused.
func TestRetryOneHost(t *testing.T) {
	m := newMachine(t, plan3(1, contracts.OnFailurePause))
	m.admit()
	m.result("h1", true)
	m.result("h2", false)
	m.result("h3", false)
	if m.r.State != contracts.StatePaused || m.r.Counts.Failed != 2 {
		t.Fatalf("state %s counts %+v", m.r.State, m.r.Counts)
	}
	for _, c := range []struct {
		host string
		code contracts.Code
	}{{"h1", contracts.CodeInvalidState}, {"h9", contracts.CodeInvalid}} {
		before := m.r
		next, eff, err := Step(m.r, Input{Command: &Command{Verb: contracts.VerbRetry, Actor: "alice", Host: c.host}}, m.now)
		if !contracts.IsCode(err, c.code) || eff != nil || !reflect.DeepEqual(next, before) {
			t.Fatalf("retry %s: %v %v", c.host, err, types(eff))
		}
	}
	eff := m.must(Input{Command: &Command{Verb: contracts.VerbRetry, Actor: "alice", Host: "h3"}})
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h3"}) || m.r.State != contracts.StateRunning {
		t.Fatalf("retried %v, state %s", got, m.r.State)
	}
	if ev := emits(eff)[0].Event; !reflect.DeepEqual(ev.Hosts, []string{"h3"}) || ev.Counts.Failed != 1 || ev.Counts.Running != 1 {
		t.Fatalf("retried event hosts %v counts %+v", ev.Hosts, ev.Counts)
	}
	if h2 := m.r.Hosts[1]; h2.Name != "h2" || h2.Status != HostFailed || h2.Attempt != 1 {
		t.Fatalf("h2 %+v", h2)
	}
	// The one failure left is the operator's to decide: it does not count
	// against the budget again, so h3's success moves the rollout on.
	if got := dispatched(m.result("h3", true)); !reflect.DeepEqual(got, []string{"h4"}) {
		t.Fatalf("after h3's retry: %v", got)
	}
}
