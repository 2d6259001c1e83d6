package scheduler_test

import (
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func (e *env) measure(a contracts.HostAction, ok bool) {
	e.t.Helper()
	st := contracts.ResultSucceeded
	if !ok {
		st = contracts.ResultFailed
	}
	e.publishResult(contracts.HostResult{ActionID: a.ID, Rollout: a.Rollout, Environment: a.Environment, App: a.App,
		Version: a.Version, Phase: a.Phase, Batch: a.Batch, Host: a.Host.Name, Attempt: a.Attempt, Status: st,
		Kind: a.Kind, StartedAt: t0, FinishedAt: t0.Add(time.Second), Executor: "test"})
}

// A canary on the embedded JetStream: an analysis measures the canary
// host; the scheduler restarted between two rounds keeps the interval
// timer; the second round fails beyond the limit and the canary is rolled
// back by itself to its previous version; no action id runs twice.
func TestCanaryAnalysisFailsAndRollsBack(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}}, nil, [][]string{{"h2"}})
	p.OnFailure = contracts.OnFailureRollback
	p.Checks = map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz"}}}
	p.Phases[1] = contracts.PlannedPhase{ID: "analysis", Name: "analysis", Kind: contracts.StepAnalysis,
		Analysis: &contracts.AnalysisSpec{Checks: []string{"healthz"}, Interval: contracts.Duration(time.Minute), Count: 3}}
	e.publishPlanned(p)
	e.result(e.take(1)[0], true)
	m1 := e.take(1)[0]
	if m1.ID != "r1/analysis/h1/measure-1" || m1.Kind != contracts.ActionCheck || len(m1.Checks) != 1 {
		t.Fatalf("measurement %+v", m1)
	}
	e.measure(m1, true)
	e.waitFor("r1", contracts.EventHostSucceeded, 2) // the measurement is applied
	s1.stop(t)
	e.clock.Advance(59 * time.Second)
	e.start()
	e.tickUntil("r1", contracts.EventBatchStarted, 3)
	m2 := e.take(1)[0]
	if m2.ID != "r1/analysis/h1/measure-2" {
		t.Fatalf("second measurement %s", m2.ID)
	}
	e.measure(m2, false)
	e.waitFor("r1", contracts.EventRollbackStarted, 1)
	back := e.take(1)[0]
	if back.ID != "r1/rollback/h1/attempt-1" || back.Version != "1.0.0" {
		t.Fatalf("rollback %+v", back)
	}
	e.result(back, true)
	evs := e.waitFor("r1", contracts.EventRolledBack, 1)
	checkSeqs(t, evs)
	e.checkActionsOnce(4)
}
