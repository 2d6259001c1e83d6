package rollout

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func blueGreenPlan(onFailure contracts.OnFailure) contracts.Plan {
	p := plan3(0, onFailure)
	p.Phases = []contracts.PlannedPhase{
		{ID: "deploy", Name: "deploy", Batches: [][]string{{"h1", "h2"}}},
		{ID: "switch", Name: "switch", Kind: contracts.StepTraffic, Traffic: &contracts.PlannedTraffic{Target: "green", From: "blue",
			Exec: &contracts.ExecDriver{Command: []string{"/opt/lb", "{{.Target}}"}}}},
		{ID: "keep", Name: "keep", Kind: contracts.StepWait, Wait: contracts.Duration(time.Hour)},
	}
	return p
}

func (m *machine) trafficResult(id string, ok bool) []Effect {
	m.t.Helper()
	st := contracts.ResultSucceeded
	if !ok {
		st = contracts.ResultFailed
	}
	return m.must(Input{Result: &contracts.HostResult{ActionID: id, Rollout: "r1", Environment: "prod", Host: contracts.TrafficHost,
		Status: st, Kind: contracts.ActionTraffic, Error: map[bool]string{false: "exit status 3"}[ok]}})
}

func trafficActions(eff []Effect) []contracts.HostAction {
	var out []contracts.HostAction
	for _, e := range eff {
		if d, ok := e.(Dispatch); ok && d.Action.Kind == contracts.ActionTraffic {
			out = append(out, d.Action)
		}
	}
	return out
}

// A failed switch pauses; resuming runs it again as a new attempt; once
// it succeeds the keep window runs, and completing retires the old set.
func TestTrafficStepRetriesAfterResume(t *testing.T) {
	m := newMachine(t, blueGreenPlan(contracts.OnFailurePause))
	m.admit()
	m.result("h1", true)
	eff := m.result("h2", true)
	acts := trafficActions(eff)
	if len(acts) != 1 || acts[0].ID != "r1/switch/_traffic/attempt-1" || acts[0].Driver.Exec == nil || acts[0].Traffic.Target != "green" {
		t.Fatalf("switch %+v", acts)
	}
	m.trafficResult("r1/switch/_traffic/attempt-1", false)
	if m.r.State != contracts.StatePaused || !strings.Contains(m.r.Reason, "switching traffic to green failed: exit status 3") {
		t.Fatalf("state %s reason %q", m.r.State, m.r.Reason)
	}
	eff = m.command(contracts.VerbResume)
	if acts := trafficActions(eff); len(acts) != 1 || acts[0].ID != "r1/switch/_traffic/attempt-2" {
		t.Fatalf("resume: %+v", acts)
	}
	// A late result of attempt 1 changes nothing.
	if _, eff, err := Step(m.r, Input{Result: &contracts.HostResult{ActionID: "r1/switch/_traffic/attempt-1", Rollout: "r1",
		Environment: "prod", Host: contracts.TrafficHost, Status: contracts.ResultSucceeded, Kind: contracts.ActionTraffic}}, m.now); err != nil || eff != nil {
		t.Fatalf("late result: %v %v", types(eff), err)
	}
	eff = m.trafficResult("r1/switch/_traffic/attempt-2", true)
	if m.r.Traffic != "green" || !slices.Contains(types(eff), "phase_started") || m.r.WaitUntil.IsZero() {
		t.Fatalf("after the switch: %v traffic %q", types(eff), m.r.Traffic)
	}
	m.now = m.r.WaitUntil
	eff = m.must(Input{Timer: &Timer{}})
	if !slices.Contains(types(eff), "completed") || m.r.Traffic != "" {
		t.Fatalf("end %v traffic %q", types(eff), m.r.Traffic)
	}
}

// A host failure before the switch rolls back by redeploying; a rollback
// in the keep window switches back; one after it (undo) redeploys.
func TestBlueGreenRollbacks(t *testing.T) {
	m := newMachine(t, blueGreenPlan(contracts.OnFailureRollback))
	m.admit()
	m.result("h1", true)
	eff := m.result("h2", false)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "rollback_started", "batch_started"}) || len(trafficActions(eff)) != 0 {
		t.Fatalf("failure before the switch: %v", got)
	}

	m = newMachine(t, blueGreenPlan(contracts.OnFailureRollback))
	m.admit()
	m.result("h1", true)
	m.result("h2", true)
	m.trafficResult("r1/switch/_traffic/attempt-1", true)
	eff = m.command(contracts.VerbRollback)
	if acts := trafficActions(eff); len(acts) != 1 || acts[0].ID != "r1/rollback/_traffic/attempt-1" || acts[0].Traffic.Target != "blue" {
		t.Fatalf("switch back %+v", acts)
	}
	if got := dispatched(eff); len(got) != 1 {
		t.Fatalf("switch back dispatched %v", got)
	}
	eff = m.trafficResult("r1/rollback/_traffic/attempt-1", true)
	if m.r.State != contracts.StateRolledBack || m.r.Traffic != "blue" || !slices.Contains(types(eff), "rolled_back") {
		t.Fatalf("switched back: %s %q %v", m.r.State, m.r.Traffic, types(eff))
	}

	m = newMachine(t, blueGreenPlan(contracts.OnFailureRollback))
	m.admit()
	m.result("h1", true)
	m.result("h2", true)
	m.trafficResult("r1/switch/_traffic/attempt-1", true)
	m.now = m.r.WaitUntil
	m.must(Input{Timer: &Timer{}})
	eff = m.command(contracts.VerbRollback)
	if len(trafficActions(eff)) != 0 || len(rollbackActions(t, eff)) != 2 {
		t.Fatalf("undo after the keep window: %v", types(eff))
	}
}
