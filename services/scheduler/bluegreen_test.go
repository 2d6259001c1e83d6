package scheduler_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// bluegreenPlan: deploy the green set [h3 h4], switch traffic from blue to
// green, keep blue for 10m.
func bluegreenPlan(id string) contracts.Plan {
	p := newPlan(id, "prod", [][]string{{"h3", "h4"}}, nil, nil)
	p.Strategy, p.OnFailure = contracts.StrategyBlueGreen, contracts.OnFailureRollback
	p.Phases[0].ID, p.Phases[0].Name = "deploy", "deploy"
	p.Phases[1] = contracts.PlannedPhase{ID: "switch", Name: "switch", Kind: contracts.StepTraffic, Traffic: &contracts.PlannedTraffic{
		Target: "green", From: "blue", HTTP: &contracts.HTTPTraffic{URL: "http://lb.example/{{.Target}}"}}}
	p.Phases[2] = contracts.PlannedPhase{ID: "keep", Name: "keep", Kind: contracts.StepWait, Wait: contracts.Duration(10 * time.Minute)}
	return p
}

// A blue/green switch that completes once the keep window is over, and
// one switched back by a rollback within it (scheduler restarted in the
// window): traffic goes back, no host is redeployed, no action runs twice.
func TestBlueGreenSwitchAndSwitchBack(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	e.publishPlanned(bluegreenPlan("r1"))
	e.finish(2)
	sw := e.take(1)[0]
	if sw.ID != "r1/switch/_traffic/attempt-1" || sw.Kind != contracts.ActionTraffic || sw.Traffic.Target != "green" {
		t.Fatalf("switch %+v", sw)
	}
	e.measure(sw, true)
	e.waitFor("r1", contracts.EventPhaseStarted, 3) // keep
	e.clock.Advance(10 * time.Minute)
	e.tickUntil("r1", contracts.EventCompleted, 1)

	e.publishPlanned(bluegreenPlan("r2"))
	e.finish(2)
	e.measure(e.take(1)[0], true) // the switch
	e.waitFor("r2", contracts.EventPhaseStarted, 3)
	s1.stop(t)
	e.clock.Advance(5 * time.Minute)
	e.start()
	if _, err := e.ctl("r2", contracts.VerbRollback, contracts.ControlCommand{Actor: "bob", Reason: "errors on green"}); err != nil {
		t.Fatal(err)
	}
	back := e.take(1)[0]
	if back.ID != "r2/rollback/_traffic/attempt-1" || back.Traffic.Target != "blue" || back.Traffic.From != "green" {
		t.Fatalf("switch back %+v", back)
	}
	e.measure(back, true)
	evs := e.waitFor("r2", contracts.EventRolledBack, 1)
	want := []string{"started", "phase_started", "batch_started", "host_succeeded", "host_succeeded", "phase_completed",
		"phase_started", "batch_started", "host_succeeded", "phase_completed", "phase_started",
		"rollback_started", "batch_started", "host_succeeded", "rolled_back"}
	if got := typesOf(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v", got)
	}
	if r := evs[len(evs)-1].Reason; r != "switched traffic back to blue; no host was redeployed" {
		t.Fatalf("reason %q", r)
	}
	checkSeqs(t, evs)
	e.checkActionsOnce(7) // 2+1 for r1, 2+1+1 (the switch back) for r2
}
