package scheduler_test

import (
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// Retry over the control subject: the failed host runs again as attempt 2
// with a new action id; retry where it does not apply is invalid_state.
// (A late result of attempt 1 changing nothing is TestRetryIsANewAttempt.)
func TestRetryFailedHost(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	e.publishPlanned(newPlan("r1", "prod", [][]string{{"h1"}}, [][]string{{"h2"}}))
	first := e.take(1)[0]
	if _, err := e.control("r1", contracts.VerbRetry, "alice"); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("retry while running: %v", err)
	}
	e.result(first, false)
	e.waitFor("r1", contracts.EventPaused, 1)
	sum, err := e.control("r1", contracts.VerbRetry, "alice")
	if err != nil || sum.State != contracts.StateRunning {
		t.Fatalf("retry: %+v %v", sum, err)
	}
	again := e.take(1)[0]
	if again.Host.Name != "h1" || again.Attempt != 2 || again.ID == first.ID || again.ID != contracts.StepActionID("r1", "phase0", "h1", 2) {
		t.Fatalf("retried action %+v", again)
	}
	retried := e.waitFor("r1", contracts.EventRetried, 1)
	if ev := ofType(retried, contracts.EventRetried)[0]; ev.Actor != "alice" || len(ev.Hosts) != 1 || ev.Hosts[0] != "h1" {
		t.Fatalf("retried event %+v", ev.Event)
	}
	e.result(again, true)
	e.result(e.take(1)[0], true)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	if c := evs[len(evs)-1].Counts; c.Succeeded != 2 || c.Failed != 0 {
		t.Fatalf("counts %+v", c)
	}
	if _, err := e.control("r1", contracts.VerbRetry, "alice"); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("retry when completed: %v", err)
	}
	checkSeqs(t, evs)
	e.checkActionsOnce(3)
}
