package rollout

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// canaryPlan: canary [h1 h2]; analysis of them (3 rounds, 1 failure
// tolerated); rest [h3].
func canaryPlan(onFailure contracts.OnFailure) contracts.Plan {
	p := plan3(0, onFailure)
	p.Phases = []contracts.PlannedPhase{
		{ID: "canary", Name: "canary", Batches: [][]string{{"h1", "h2"}}},
		{ID: "analysis", Name: "analysis", Kind: contracts.StepAnalysis, Analysis: &contracts.AnalysisSpec{
			Checks: []string{"healthz"}, Interval: contracts.Duration(time.Minute), Count: 3, FailureLimit: 1}},
		{ID: "rest", Name: "rest", Batches: [][]string{{"h3"}}},
	}
	return p
}

// measureResult answers host's measurement of the round in flight.
func (m *machine) measureResult(host string, ok bool) []Effect {
	m.t.Helper()
	st := contracts.ResultSucceeded
	if !ok {
		st = contracts.ResultFailed
	}
	return m.must(Input{Result: &contracts.HostResult{
		ActionID: contracts.MeasureActionID("r1", "analysis", host, m.r.AnalysisRound), Rollout: "r1", Environment: "prod",
		Host: host, Phase: contracts.PhaseRef{Index: 1, Name: "analysis", ID: "analysis"}, Batch: m.r.AnalysisRound,
		Attempt: m.r.AnalysisRound, Status: st, Kind: contracts.ActionCheck,
	}})
}

func measurements(eff []Effect) []string {
	var out []string
	for _, e := range eff {
		if d, ok := e.(Dispatch); ok && d.Action.Kind == contracts.ActionCheck {
			out = append(out, d.Action.ID)
		}
	}
	return out
}

func TestAnalysisPasses(t *testing.T) {
	m := newMachine(t, canaryPlan(contracts.OnFailureRollback))
	m.admit()
	m.result("h1", true)
	eff := m.result("h2", true)
	if got := measurements(eff); !reflect.DeepEqual(got, []string{"r1/analysis/h1/measure-1", "r1/analysis/h2/measure-1"}) {
		t.Fatalf("round 1: %v", got)
	}
	for _, e := range eff {
		if d, ok := e.(Dispatch); ok && (len(d.Action.Checks) != 1 || d.Action.Checks[0].Name != "healthz") {
			t.Fatalf("measurement %+v", d.Action)
		}
	}
	m.measureResult("h1", true)
	m.measureResult("h1", true) // a duplicate changes nothing
	if m.r.Counts.Running != 1 {
		t.Fatalf("running %d after a duplicate", m.r.Counts.Running)
	}
	m.measureResult("h2", false) // one failure is tolerated
	if m.r.WaitUntil != m.now.Add(time.Minute) || m.r.State != contracts.StateRunning {
		t.Fatalf("interval timer %v, state %s", m.r.WaitUntil, m.r.State)
	}
	if eff, _ := m.step(Input{Timer: &Timer{}}); eff != nil {
		t.Fatal("early timer dispatched")
	}
	for round := 2; round <= 3; round++ {
		m.now = m.r.WaitUntil
		eff := m.must(Input{Timer: &Timer{}})
		if got := measurements(eff); len(got) != 2 || !strings.HasSuffix(got[0], "/measure-"+string(rune('0'+round))) {
			t.Fatalf("round %d: %v", round, got)
		}
		m.measureResult("h1", true)
		eff = m.measureResult("h2", true)
		if round == 3 && !reflect.DeepEqual(dispatched(eff), []string{"h3"}) {
			t.Fatalf("after the last round: %v", types(eff))
		}
	}
	if m.r.AnalysisRound != 0 || m.r.Phase != 2 {
		t.Fatalf("analysis state left: round %d phase %d", m.r.AnalysisRound, m.r.Phase)
	}
	eff = m.result("h3", true)
	if !slices.Contains(types(eff), "completed") {
		t.Fatalf("end %v", types(eff))
	}
}

// Failed measurements beyond the limit fail the step: with on_failure
// rollback the canary hosts get their previous version back.
func TestAnalysisFailsAndRollsBack(t *testing.T) {
	m := newMachine(t, canaryPlan(contracts.OnFailureRollback))
	m.admit()
	m.result("h1", true)
	m.result("h2", true)
	m.measureResult("h1", false)
	eff := m.measureResult("h2", false)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "rollback_started", "batch_started"}) {
		t.Fatalf("second failure: %v", got)
	}
	if !strings.Contains(m.r.Reason, "analysis analysis failed: 2 failed measurements, 1 tolerated") {
		t.Fatalf("reason %q", m.r.Reason)
	}
	if acts := rollbackActions(t, eff); len(acts) != 2 {
		t.Fatalf("rollback %+v", acts)
	}
	m.result("h1", true)
	if got := types(m.result("h2", true)); !slices.Contains(got, "rolled_back") {
		t.Fatalf("end %v", got)
	}
}

// With on_failure pause, a failed analysis pauses; resuming goes past it.
func TestAnalysisFailsAndPauses(t *testing.T) {
	m := newMachine(t, canaryPlan(contracts.OnFailurePause))
	m.admit()
	m.result("h1", true)
	m.result("h2", true)
	m.measureResult("h1", false)
	m.measureResult("h2", false)
	if m.r.State != contracts.StatePaused {
		t.Fatalf("state %s", m.r.State)
	}
	eff := m.command(contracts.VerbResume)
	if !reflect.DeepEqual(dispatched(eff), []string{"h3"}) {
		t.Fatalf("resume: %v", types(eff))
	}
}

// A measurement without a result by the action timeout counts as failed.
func TestAnalysisMeasurementTimeout(t *testing.T) {
	p := canaryPlan(contracts.OnFailureAbort)
	p.ActionTimeout = contracts.Duration(time.Minute)
	m := newMachine(t, p)
	m.admit()
	m.result("h1", true)
	m.result("h2", true)
	m.now = m.now.Add(time.Minute)
	eff := m.must(Input{Timer: &Timer{}})
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "host_failed", "failed"}) {
		t.Fatalf("timeout: %v", got)
	}
}

// A measurement whose check could not decide counts neither way.
func TestInconclusiveMeasurementCountsNeitherWay(t *testing.T) {
	p := canaryPlan(contracts.OnFailureRollback)
	p.Phases[1].Analysis.Count, p.Phases[1].Analysis.FailureLimit = 1, 0
	m := newMachine(t, p)
	m.admit()
	m.result("h1", true)
	m.result("h2", true)
	undecided := func(host string) *contracts.HostResult {
		return &contracts.HostResult{ActionID: contracts.MeasureActionID("r1", "analysis", host, 1), Rollout: "r1", Environment: "prod",
			Host: host, Phase: contracts.PhaseRef{Index: 1, Name: "analysis", ID: "analysis"}, Batch: 1, Attempt: 1,
			Status: contracts.ResultFailed, Kind: contracts.ActionCheck, Error: "check prom: inconclusive",
			Checks: []contracts.CheckResult{{Name: "healthz", Status: "inconclusive"}}}
	}
	eff := m.must(Input{Result: undecided("h1")})
	if ev := emits(eff)[0].Event; ev.Host.Status != "inconclusive" || m.r.AnalysisFailed != 0 || m.r.Counts.Running != 1 {
		t.Fatalf("inconclusive: %+v failed %d running %d", ev.Host, m.r.AnalysisFailed, m.r.Counts.Running)
	}
	if _, eff, _ := Step(m.r, Input{Result: undecided("h1")}, m.now); eff != nil {
		t.Fatal("a repeated inconclusive result had effects")
	}
	// A failed check still fails: here beyond the limit of 0.
	bad := undecided("h2")
	bad.Checks = append(bad.Checks, contracts.CheckResult{Name: "smoke", Status: contracts.ResultFailed})
	if got := types(m.must(Input{Result: bad})); !slices.Contains(got, "rollback_started") {
		t.Fatalf("failed check: %v", got)
	}
}
