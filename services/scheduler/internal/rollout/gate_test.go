package rollout

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func (m *machine) decide(v contracts.Verb, step string) ([]Effect, error) {
	return m.step(Input{Command: &Command{Verb: v, Actor: "alice", Reason: "looks good", Step: step}})
}

func TestGatesBeforeAfterAndEveryBatch(t *testing.T) {
	p := plan3(0, contracts.OnFailurePause)
	p.Phases[0].Gate = &contracts.PlannedGate{Before: true}
	p.Phases[1].Gate = &contracts.PlannedGate{EveryBatch: true}
	m := newMachine(t, p)
	eff := m.admit()
	if got := types(eff); !reflect.DeepEqual(got, []string{"started", "gate_waiting"}) || m.r.Gate != "canary/before" {
		t.Fatalf("admitted: %v gate %q", got, m.r.Gate)
	}
	if _, err := m.decide(contracts.VerbApprove, "east"); !contracts.IsCode(err, contracts.CodeInvalidState) ||
		!strings.Contains(err.Error(), "waits at gate canary/before") {
		t.Fatalf("approve of another step: %v", err)
	}
	eff, err := m.decide(contracts.VerbApprove, "canary")
	if err != nil || !reflect.DeepEqual(dispatched(eff), []string{"h1"}) {
		t.Fatalf("approve: %v %v", types(eff), err)
	}
	if ev := emits(eff)[0]; ev.Type != contracts.EventGateApproved || ev.Event.Gate != "canary/before" || ev.Event.Actor != "alice" || ev.Event.Reason != "looks good" {
		t.Fatalf("approved event %+v", ev)
	}
	m.result("h1", true)
	if m.r.Gate != "" || !reflect.DeepEqual(dispatched(m.effects[len(m.effects)-2:]), []string{"h2", "h3"}) {
		t.Fatalf("no gate after canary, east batch 1 expected: gate %q", m.r.Gate)
	}
	m.result("h2", true)
	eff = m.result("h3", true)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_succeeded", "gate_waiting"}) || m.r.Gate != "east/batch-1" {
		t.Fatalf("after east batch 1: %v gate %q", got, m.r.Gate)
	}
	// Pause and resume at a gate: still waiting, no second gate_waiting.
	m.command(contracts.VerbPause)
	if got := types(m.command(contracts.VerbResume)); !reflect.DeepEqual(got, []string{"resumed"}) || m.r.Gate != "east/batch-1" {
		t.Fatalf("resume at gate: %v", got)
	}
	eff, _ = m.decide(contracts.VerbApprove, "east/batch-1")
	if !reflect.DeepEqual(dispatched(eff), []string{"h4"}) {
		t.Fatalf("after approving batch 1: %v", types(eff))
	}
	if got := types(m.result("h4", true)); !reflect.DeepEqual(got, []string{"host_succeeded", "gate_waiting"}) || m.r.Gate != "east/after" {
		t.Fatalf("after east's last batch: %v gate %q", got, m.r.Gate)
	}
	eff, _ = m.decide(contracts.VerbApprove, "")
	if got := types(eff); !reflect.DeepEqual(got, []string{"gate_approved", "phase_completed", "phase_started", "batch_started"}) {
		t.Fatalf("after approving east/after: %v", got)
	}
	m.result("h5", true)
	m.result("h6", true)
	if m.r.State != contracts.StateCompleted {
		t.Fatalf("state %s", m.r.State)
	}
	if _, err := m.decide(contracts.VerbApprove, ""); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("approve when completed: %v", err)
	}
}

func TestGateRejectFailsTheRollout(t *testing.T) {
	p := plan3(0, contracts.OnFailurePause)
	p.Phases[1].Gate = &contracts.PlannedGate{Before: true}
	m := newMachine(t, p)
	m.admit()
	if _, err := m.decide(contracts.VerbReject, ""); !contracts.IsCode(err, contracts.CodeInvalidState) ||
		err.Error() != "cannot reject: rollout r1 is not waiting at a gate" {
		t.Fatalf("reject without a gate: %v", err)
	}
	m.result("h1", true)
	eff, err := m.decide(contracts.VerbReject, "east/before")
	if err != nil || !reflect.DeepEqual(types(eff), []string{"gate_rejected", "failed"}) || dispatched(eff) != nil {
		t.Fatalf("reject: %v %v", types(eff), err)
	}
	if m.r.State != contracts.StateFailed || m.r.Reason != "gate east/before rejected by alice: looks good" {
		t.Fatalf("state %s reason %q", m.r.State, m.r.Reason)
	}
}

func TestGateTimeout(t *testing.T) {
	for _, tt := range []struct {
		outcome contracts.GateOutcome
		want    []string
	}{
		{contracts.GateApprove, []string{"gate_approved", "phase_started", "batch_started"}},
		{"", []string{"gate_rejected", "failed"}},
	} {
		p := plan3(0, contracts.OnFailurePause)
		p.Phases[0].Gate = &contracts.PlannedGate{Before: true, Timeout: contracts.Duration(time.Hour), OnTimeout: tt.outcome}
		m := newMachine(t, p)
		m.admit()
		if !m.r.Deadline.Equal(m.now.Add(time.Hour)) {
			t.Fatalf("gate deadline %v", m.r.Deadline)
		}
		if eff := m.timerAt(m.now.Add(59 * time.Minute)); eff != nil {
			t.Fatalf("early: %v", types(eff))
		}
		eff := m.timerAt(m.now.Add(time.Minute))
		if got := types(eff); !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("%q timeout: %v", tt.outcome, got)
		}
		if ev := emits(eff)[0].Event; ev.Actor != ActorScheduler || ev.Reason != "gate timeout" || ev.Gate != "canary/before" {
			t.Fatalf("timeout event %+v", ev)
		}
	}
}
