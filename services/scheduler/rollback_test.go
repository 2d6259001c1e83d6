package scheduler_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// on_failure rollback on the embedded JetStream: a failed host rolls the
// rollout back batch by batch from the last, each action carrying the
// version it replaces; the scheduler restarted in the middle of the
// rollback goes on, and no action id is dispatched twice.
func TestRollbackOnFailureSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}}, [][]string{{"h2", "h3"}})
	p.OnFailure = contracts.OnFailureRollback
	e.publishPlanned(p)
	e.result(e.take(1)[0], true)
	batch := e.take(2)
	e.result(batch[0], true)  // h2
	e.result(batch[1], false) // h3 fails before it installs
	e.waitFor("r1", contracts.EventRollbackStarted, 1)
	back := e.take(1)
	if a := back[0]; a.ID != "r1/rollback/h2/attempt-1" || a.Version != "1.0.0" || a.PreviousVersion != "2.0.0" || a.Phase.ID != contracts.RollbackStepID {
		t.Fatalf("rollback action %+v", a)
	}
	s1.stop(t)
	e.start()
	e.result(back[0], true)
	last := e.take(1)[0]
	if last.ID != "r1/rollback/h1/attempt-1" {
		t.Fatalf("second rollback action %s", last.ID)
	}
	e.result(last, true)
	evs := e.waitFor("r1", contracts.EventRolledBack, 1)
	want := []string{"started", "phase_started", "batch_started", "host_succeeded", "phase_completed",
		"phase_started", "batch_started", "host_succeeded", "host_failed", "rollback_started",
		"batch_started", "host_succeeded", "batch_started", "host_succeeded", "rolled_back"}
	if got := typesOf(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v", got)
	}
	checkSeqs(t, evs)
	e.checkActionsOnce(5)
	v := e.get("r1")
	if v.State != contracts.StateRolledBack || v.Phases[0].Hosts[0].Rollback != "succeeded" || v.Phases[1].Hosts[1].Rollback != "" {
		t.Fatalf("view %+v", v)
	}
	// Ended: no verb applies any more.
	if _, err := e.control("r1", contracts.VerbRollback, "alice"); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("rollback of a rolled back rollout: %v", err)
	}
	if l := e.list(contracts.RolloutListQuery{State: contracts.StateRolledBack}); len(l.Rollouts) != 1 {
		t.Fatalf("list rolled_back: %+v", l)
	}
}

// The rollback verb over the control subject, fast: one batch, no checks;
// a gate timing out with on_timeout rollback.
func TestRollbackVerbAndGateTimeout(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}, {"h2"}}, [][]string{{"h3"}})
	p.Phases[1].Gate = &contracts.PlannedGate{Before: true, Timeout: contracts.Duration(time.Hour), OnTimeout: contracts.GateRollback}
	e.publishPlanned(p)
	e.finish(1, 1)
	e.waitFor("r1", contracts.EventGateWaiting, 1)
	e.clock.Advance(time.Hour)
	e.tickUntil("r1", contracts.EventRollbackStarted, 1)
	for _, a := range e.take(1) {
		if a.Host.Name != "h2" {
			t.Fatalf("rolled back %s first", a.Host.Name)
		}
		e.result(a, true)
	}
	e.result(e.take(1)[0], true)
	e.waitFor("r1", contracts.EventRolledBack, 1)

	p2 := newPlan("r2", "prod", [][]string{{"h1"}, {"h2"}}, [][]string{{"h3"}})
	e.publishPlanned(p2)
	e.finish(1, 1)
	e.waitFor("r2", contracts.EventBatchStarted, 3)
	sum, err := e.ctl("r2", contracts.VerbRollback, contracts.ControlCommand{Actor: "bob", Reason: "errors up", Fast: true})
	if err != nil || sum.State != contracts.StateRunning {
		t.Fatalf("rollback: %+v %v", sum, err)
	}
	e.result(e.take(1)[0], true) // h3, in flight when asked
	acts := e.take(3)
	for _, a := range acts {
		if a.Phase.ID != contracts.RollbackStepID || a.Batch != 1 || len(a.Checks) != 0 {
			t.Fatalf("fast rollback action %+v", a)
		}
		e.result(a, true)
	}
	evs := e.waitFor("r2", contracts.EventRolledBack, 1)
	if rs := ofType(evs, contracts.EventRollbackStarted); len(rs) != 1 || rs[0].Actor != "bob" || rs[0].Reason != "errors up" {
		t.Fatalf("rollback_started %+v", rs)
	}
}

func (e *env) ctl(id string, verb contracts.Verb, cmd contracts.ControlCommand) (contracts.RolloutSummary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return natsx.Request[contracts.RolloutSummary](ctx, e.nc, contracts.ControlSubject(id, verb), cmd)
}

// A completed rollout can be rolled back (what `rollwave undo` does), but
// not while another rollout is active in its environment.
func TestRollbackOfACompletedRollout(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	e.publishPlanned(newPlan("r1", "prod", [][]string{{"h1"}}))
	e.finish(1)
	e.waitFor("r1", contracts.EventCompleted, 1)
	e.publishPlanned(newPlan("r2", "prod", [][]string{{"h2"}}))
	r2 := e.take(1)[0]
	if _, err := e.control("r1", contracts.VerbRollback, "alice"); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("rollback while r2 runs: %v", err)
	}
	e.result(r2, true)
	e.waitFor("r2", contracts.EventCompleted, 1)
	if _, err := e.control("r1", contracts.VerbRollback, "alice"); err != nil {
		t.Fatal(err)
	}
	a := e.take(1)[0]
	if a.ID != "r1/rollback/h1/attempt-1" || a.Version != "1.0.0" {
		t.Fatalf("undo action %+v", a)
	}
	e.result(a, true)
	e.waitFor("r1", contracts.EventRolledBack, 1)
	e.checkActionsOnce(3)
}
