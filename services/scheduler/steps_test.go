package scheduler_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// A wait step is a stored timer from the injected clock: a scheduler that
// is down when the wait ends continues the rollout on its first tick, and
// nothing is dispatched twice.
func TestWaitStepSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}}, nil, [][]string{{"h2"}})
	p.Phases[1] = contracts.PlannedPhase{ID: "bake", Name: "bake", Kind: contracts.StepWait, Wait: contracts.Duration(10 * time.Minute)}
	e.publishPlanned(p)
	e.result(e.take(1)[0], true)
	evs := e.waitFor("r1", contracts.EventPhaseStarted, 2)
	if ref := ofType(evs, contracts.EventPhaseStarted)[1].Phase; ref == nil || ref.ID != "bake" {
		t.Fatalf("second step started: %+v", ref)
	}
	e.clock.Advance(9 * time.Minute)
	if v := e.get("r1"); v.Phases[1].Kind != contracts.StepWait || v.Phases[1].State != "running" {
		t.Fatalf("wait step %+v", v.Phases[1])
	}
	s1.stop(t)
	e.clock.Advance(time.Minute)
	e.start()
	e.tickUntil("r1", contracts.EventBatchStarted, 2)
	e.result(e.take(1)[0], true)
	evs = e.waitFor("r1", contracts.EventCompleted, 1)
	want := []string{"started", "phase_started", "batch_started", "host_succeeded", "phase_completed",
		"phase_started", "phase_completed",
		"phase_started", "batch_started", "host_succeeded", "phase_completed", "completed"}
	if got := typesOf(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v", got)
	}
	checkSeqs(t, evs)
	e.checkActionsOnce(2)
}

// A gate step of its own waits for approval between two phases.
func TestGateStepApproved(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}}, nil, [][]string{{"h2"}})
	p.Phases[1] = contracts.PlannedPhase{ID: "sign-off", Name: "sign-off", Kind: contracts.StepGate, Gate: &contracts.PlannedGate{}}
	e.publishPlanned(p)
	e.result(e.take(1)[0], true)
	w := ofType(e.waitFor("r1", contracts.EventGateWaiting, 1), contracts.EventGateWaiting)[0]
	if w.Gate != "sign-off" {
		t.Fatalf("waiting at %q", w.Gate)
	}
	if _, err := e.decide("r1", contracts.VerbApprove, "sign-off"); err != nil {
		t.Fatal(err)
	}
	e.result(e.take(1)[0], true)
	e.waitFor("r1", contracts.EventCompleted, 1)
	e.checkActionsOnce(2)
}
