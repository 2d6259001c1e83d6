package rollout

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// rollbackActions lists the rollback dispatches among effects.
func rollbackActions(t *testing.T, eff []Effect) []contracts.HostAction {
	t.Helper()
	var out []contracts.HostAction
	for _, e := range eff {
		if d, ok := e.(Dispatch); ok {
			if d.Action.Phase.ID != contracts.RollbackStepID {
				t.Fatalf("forward action %s during the rollback", d.Action.ID)
			}
			out = append(out, d.Action)
		}
	}
	return out
}

// on_failure rollback: once the forward actions in flight are done, every
// changed host (succeeded, or failed after install) gets its previous
// version back, batch by batch from the last, with its phase's checks.
func TestOnFailureRollbackReversesTheBatches(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailureRollback))
	m.admit()
	m.result("h1", true)
	fail := m.resultFor("h2", false)
	fail.Installed = true // installed, then its check failed
	eff := m.must(Input{Result: fail})
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "rollback_started"}) || m.r.State != contracts.StateRunning {
		t.Fatalf("threshold crossed: %v, state %s", got, m.r.State)
	}
	if ev := emits(eff)[1].Event; ev.Actor != ActorScheduler || !strings.Contains(ev.Reason, "failure threshold crossed") {
		t.Fatalf("rollback_started %+v", ev)
	}
	// h3 is still in flight: nothing is rolled back until it is done.
	if len(rollbackActions(t, eff)) != 0 {
		t.Fatal("rolled back with an action in flight")
	}
	eff = m.result("h3", true)
	acts := rollbackActions(t, eff)
	if len(acts) != 2 || acts[0].Host.Name != "h2" || acts[1].Host.Name != "h3" {
		t.Fatalf("first rollback batch %+v", acts)
	}
	for _, a := range acts {
		if a.ID != "r1/rollback/"+a.Host.Name+"/attempt-1" || a.Version != "1.0.0" || a.PreviousVersion != "2.0.0" || a.Attempt != 1 {
			t.Fatalf("rollback action %+v", a)
		}
	}
	// h4 was never dispatched; h1 (canary, with its check) comes last.
	m.result("h2", true)
	eff = m.result("h3", true)
	acts = rollbackActions(t, eff)
	if len(acts) != 1 || acts[0].Host.Name != "h1" || len(acts[0].Checks) != 1 || acts[0].Checks[0].Name != "healthz" || acts[0].Batch != 4 {
		t.Fatalf("last rollback batch %+v", acts)
	}
	eff = m.result("h1", true)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_succeeded", "rolled_back"}) || m.r.State != contracts.StateRolledBack {
		t.Fatalf("end: %v, state %s", got, m.r.State)
	}
	if !m.r.State.Terminal() || m.r.Reason != "rolled back 3 hosts to their previous version" {
		t.Fatalf("reason %q", m.r.Reason)
	}
	// Every rollback action id is distinct from every forward one.
	seen := map[string]bool{}
	for _, e := range m.effects {
		if d, ok := e.(Dispatch); ok {
			if seen[d.Action.ID] {
				t.Fatalf("action %s dispatched twice", d.Action.ID)
			}
			seen[d.Action.ID] = true
		}
	}
}

// A host that failed before it installed is not rolled back; --fast rolls
// every changed host back in one batch without checks.
func TestFastRollbackVerb(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	m.result("h1", true)
	m.result("h2", true)
	m.result("h3", true)
	eff := m.must(Input{Command: &Command{Verb: contracts.VerbRollback, Actor: "bob", Reason: "bad latency", Fast: true}})
	if got := types(eff); !reflect.DeepEqual(got, []string{"rollback_started"}) {
		t.Fatalf("rollback with h4 in flight: %v", got)
	}
	if ev := emits(eff)[0].Event; ev.Actor != "bob" || ev.Reason != "bad latency" {
		t.Fatalf("rollback_started %+v", ev)
	}
	if _, err := m.step(Input{Command: &Command{Verb: contracts.VerbRollback}}); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("second rollback: %v", err)
	}
	if _, err := m.step(Input{Command: &Command{Verb: contracts.VerbRetry}}); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("retry while rolling back: %v", err)
	}
	eff = m.result("h4", false) // failed before install: not changed
	acts := rollbackActions(t, eff)
	var names []string
	for _, a := range acts {
		names = append(names, a.Host.Name)
		if len(a.Checks) != 0 || a.Batch != 1 {
			t.Fatalf("fast rollback action %+v", a)
		}
	}
	if !reflect.DeepEqual(names, []string{"h3", "h2", "h1"}) {
		t.Fatalf("fast rollback hosts %v", names)
	}
	m.result("h1", true)
	m.result("h2", true)
	if got := types(m.result("h3", true)); !reflect.DeepEqual(got, []string{"host_succeeded", "rolled_back"}) {
		t.Fatalf("end %v", got)
	}
}

// A changed host with no recorded previous version is reported, not
// guessed, and a rollback action that fails leaves the rollout failed,
// naming the hosts still on the new version.
func TestRollbackIncomplete(t *testing.T) {
	p := plan3(0, contracts.OnFailurePause)
	h := p.Hosts["h2"]
	h.PreviousVersion = ""
	p.Hosts["h2"] = h
	m := newMachine(t, p)
	m.admit()
	m.result("h1", true)
	m.result("h2", true)
	m.result("h3", true)
	m.result("h4", true)
	m.command(contracts.VerbPause) // h5 and h6 in flight
	m.command(contracts.VerbRollback)
	m.result("h5", true)
	eff := m.result("h6", true)
	if acts := rollbackActions(t, eff); len(acts) != 2 || acts[0].Host.Name != "h5" || acts[0].Batch != 1 {
		t.Fatalf("first batch %+v", acts)
	}
	m.result("h5", true)
	eff = m.result("h6", true)
	if acts := rollbackActions(t, eff); len(acts) != 1 || acts[0].Host.Name != "h4" {
		t.Fatalf("second batch %+v", acts)
	}
	eff = m.result("h4", true)
	if acts := rollbackActions(t, eff); len(acts) != 1 || acts[0].Host.Name != "h3" {
		t.Fatalf("third batch %+v (h2 has no previous version)", acts)
	}
	m.result("h3", true)
	eff = m.result("h1", false)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "failed"}) || m.r.State != contracts.StateFailed {
		t.Fatalf("end %v state %s", got, m.r.State)
	}
	if ev := emits(eff)[1].Event; !reflect.DeepEqual(ev.Hosts, []string{"h1", "h2"}) ||
		ev.Reason != "rollback incomplete: 4 hosts rolled back, 2 still run 2.0.0: h1, h2" {
		t.Fatalf("failed %+v", ev)
	}
	v := m.r.View()
	if v.Phases[1].Hosts[0].Rollback != "skipped" || !strings.Contains(v.Phases[1].Hosts[0].Error, "no previous version") {
		t.Fatalf("h2 view %+v", v.Phases[1].Hosts[0])
	}
}

// A gate whose timeout decides rollback rolls the rollout back; a rollback
// action without a result by the action timeout fails.
func TestGateTimeoutRollsBack(t *testing.T) {
	p := plan3(0, contracts.OnFailurePause)
	p.ActionTimeout = contracts.Duration(time.Minute)
	p.Phases[1].Gate = &contracts.PlannedGate{Before: true, Timeout: contracts.Duration(time.Hour), OnTimeout: contracts.GateRollback}
	m := newMachine(t, p)
	m.admit()
	m.result("h1", true)
	if m.r.Gate != "east/before" {
		t.Fatalf("gate %q", m.r.Gate)
	}
	m.now = m.now.Add(time.Hour)
	eff := m.must(Input{Timer: &Timer{}})
	if got := types(eff); !reflect.DeepEqual(got, []string{"gate_rejected", "rollback_started", "batch_started"}) {
		t.Fatalf("gate timeout: %v", got)
	}
	if acts := rollbackActions(t, eff); len(acts) != 1 || acts[0].Host.Name != "h1" {
		t.Fatalf("rollback %+v", acts)
	}
	m.now = m.now.Add(time.Minute)
	eff = m.must(Input{Timer: &Timer{}})
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "failed"}) || !strings.Contains(m.r.Reason, "rollback incomplete") {
		t.Fatalf("rollback timeout: %v %q", got, m.r.Reason)
	}
}

// A wait step holds the rollout until its stored timer.
func TestWaitStep(t *testing.T) {
	p := plan3(0, contracts.OnFailurePause)
	p.Phases = append(p.Phases[:1], append([]contracts.PlannedPhase{{Name: "bake", Kind: contracts.StepWait, Wait: contracts.Duration(10 * time.Minute)}}, p.Phases[1:]...)...)
	m := newMachine(t, p)
	m.admit()
	eff := m.result("h1", true)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_succeeded", "phase_completed", "phase_started"}) || m.r.WaitUntil != m.now.Add(10*time.Minute) {
		t.Fatalf("wait: %v until %v", got, m.r.WaitUntil)
	}
	if m.r.NextTimer() != m.r.WaitUntil {
		t.Fatalf("next timer %v", m.r.NextTimer())
	}
	if eff, _ := m.step(Input{Timer: &Timer{}}); eff != nil {
		t.Fatalf("early timer: %v", types(eff))
	}
	m.command(contracts.VerbPause)
	m.now = m.now.Add(10 * time.Minute)
	if eff, _ := m.step(Input{Timer: &Timer{}}); eff != nil {
		t.Fatalf("timer while paused: %v", types(eff))
	}
	eff = m.command(contracts.VerbResume)
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h2", "h3"}) || !m.r.WaitUntil.IsZero() {
		t.Fatalf("resume after the wait: %v", types(eff))
	}
}
