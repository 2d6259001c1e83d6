package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func (e *env) decide(id string, verb contracts.Verb, step string) (contracts.RolloutSummary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return natsx.Request[contracts.RolloutSummary](ctx, e.nc, contracts.ControlSubject(id, verb),
		contracts.ControlCommand{Actor: "alice", Reason: "checked the dashboards", Step: step})
}

// A gate after every batch of a plain rolling rollout, approved over the
// control subject with actor and comment in the event.
func TestGateApprovedOverControlSubject(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}, {"h2"}})
	p.Phases[0].Gate = &contracts.PlannedGate{EveryBatch: true}
	e.publishPlanned(p)
	e.result(e.take(1)[0], true)
	w := ofType(e.waitFor("r1", contracts.EventGateWaiting, 1), contracts.EventGateWaiting)[0]
	if w.Gate != "phase0/batch-1" {
		t.Fatalf("waiting at %q", w.Gate)
	}
	if _, err := e.decide("r1", contracts.VerbApprove, "other"); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("approve of another step: %v", err)
	}
	if _, err := e.decide("r1", contracts.VerbApprove, "phase0/batch-1"); err != nil {
		t.Fatal(err)
	}
	a := ofType(e.waitFor("r1", contracts.EventGateApproved, 1), contracts.EventGateApproved)[0]
	if a.Actor != "alice" || a.Reason != "checked the dashboards" || a.Gate != "phase0/batch-1" {
		t.Fatalf("approved %+v", a.Event)
	}
	e.result(e.take(1)[0], true)
	e.waitFor("r1", contracts.EventGateWaiting, 2)
	if _, err := e.decide("r1", contracts.VerbApprove, ""); err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, e.waitFor("r1", contracts.EventCompleted, 1))
	if _, err := e.decide("r1", contracts.VerbApprove, ""); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("approve when completed: %v", err)
	}
}

func TestGateRejected(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}})
	p.Phases[0].Gate = &contracts.PlannedGate{Before: true}
	e.publishPlanned(p)
	e.waitFor("r1", contracts.EventGateWaiting, 1)
	sum, err := e.decide("r1", contracts.VerbReject, "")
	if err != nil || sum.State != contracts.StateFailed || sum.Reason != "gate phase0/before rejected by alice: checked the dashboards" {
		t.Fatalf("reject: %+v %v", sum, err)
	}
	e.checkActionsOnce(0)
}

// A gate timeout is a stored timer: it fires after a restart, and decides
// with the gate's on_timeout.
func TestGateTimeoutAfterRestart(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}})
	p.Phases[0].Gate = &contracts.PlannedGate{Before: true, Timeout: contracts.Duration(time.Hour), OnTimeout: contracts.GateApprove}
	e.publishPlanned(p)
	e.waitFor("r1", contracts.EventGateWaiting, 1)
	s1.stop(t)
	e.clock.Advance(time.Hour)
	e.start()
	evs := e.tickUntil("r1", contracts.EventBatchStarted, 1)
	a := ofType(evs, contracts.EventGateApproved)
	if len(a) != 1 || a[0].Actor != "scheduler" || a[0].Reason != "gate timeout" {
		t.Fatalf("events %v", typesOf(evs))
	}
	e.result(e.take(1)[0], true)
	e.waitFor("r1", contracts.EventCompleted, 1)
}
