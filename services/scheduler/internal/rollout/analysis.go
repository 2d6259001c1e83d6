package rollout

import (
	"fmt"
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// measuredPhase is the index of the phase whose hosts analysis step p
// measures: the last phase before it in run order that was not skipped;
// -1 when there is none.
func (r Rollout) measuredPhase(p int) int {
	order := r.StepOrder()
	at := slices.Index(order, p)
	for k := at - 1; k >= 0; k-- {
		if q := order[k]; r.Plan.Phases[q].Kind == contracts.StepPhase && r.Phases[q].State != PhaseSkipped {
			return q
		}
	}
	return -1
}

// atAnalysis reports whether the rollout is at an analysis step.
func (s *stepper) atAnalysis() bool {
	p := s.r.Phase
	return s.r.Rollback == "" && p < len(s.r.Plan.Phases) && s.r.Plan.Phases[p].Kind == contracts.StepAnalysis &&
		s.r.Phases[p].State == PhaseRunning
}

// analysisStep runs analysis step p: a round of measurements (one check
// action per succeeded host of the measured phase), then, with nothing in
// flight, the stored timer WaitUntil for the next round, until the rounds
// or the duration are done. It reports whether the step is done.
func (s *stepper) analysisStep(p int) bool {
	a := *s.r.Plan.Phases[p].Analysis
	if s.r.Phases[p].State == PhasePending {
		s.startStep(p)
		s.r.AnalysisRound, s.r.AnalysisFailed = 0, 0
		if s.measure(p) {
			return false
		}
		return s.endAnalysis(p) // nothing to measure
	}
	if s.r.Counts.Running > 0 || s.r.AnalysisFailed > a.FailureLimit {
		return false
	}
	elapsed := a.Duration > 0 && !s.now.Before(s.r.Phases[p].StartedAt.Add(time.Duration(a.Duration)))
	if s.r.AnalysisRound >= a.Rounds() || elapsed {
		return s.endAnalysis(p)
	}
	if s.r.WaitUntil.IsZero() {
		s.r.WaitUntil = s.now.Add(time.Duration(a.Interval))
		s.changed = true
		return false
	}
	if s.now.Before(s.r.WaitUntil) {
		return false
	}
	s.r.WaitUntil = time.Time{}
	if s.measure(p) {
		return false
	}
	return s.endAnalysis(p)
}

func (s *stepper) endAnalysis(p int) bool {
	s.r.WaitUntil = time.Time{}
	s.r.AnalysisRound, s.r.AnalysisFailed = 0, 0
	s.completeStep(p)
	return true
}

// measure dispatches the next round; false when there is no host to
// measure.
func (s *stepper) measure(p int) bool {
	q := s.r.measuredPhase(p)
	if q < 0 {
		return false
	}
	var idx []int
	for b := 1; b <= len(s.r.Plan.Phases[q].Batches); b++ {
		from, to, _ := s.r.batchRange(q, b)
		for i := from; i < to; i++ {
			if s.r.Hosts[i].Status == HostSucceeded {
				idx = append(idx, i)
			}
		}
	}
	if len(idx) == 0 {
		return false
	}
	s.r.AnalysisRound++
	s.r.MeasureSeq++
	step := s.r.Plan.Phases[p]
	ref := s.phaseRef(p)
	var checks []contracts.NamedCheck
	for _, name := range step.Analysis.Checks {
		checks = append(checks, contracts.NamedCheck{Name: name, Spec: s.r.Plan.Checks[name]})
	}
	if t := time.Duration(s.r.Plan.ActionTimeout); t > 0 {
		s.r.Deadline = s.now.Add(t)
	}
	hosts := make([]string, 0, len(idx))
	var actions []Effect
	for _, i := range idx {
		h := s.r.Hosts[i]
		hosts = append(hosts, h.Name)
		s.r.Counts.Running++
		d := s.dispatch(*ref, s.r.AnalysisRound, h)
		d.Action.ID = contracts.MeasureActionID(s.r.ID(), step.ID, h.Name, s.r.AnalysisRound)
		d.Action.Kind = contracts.ActionCheck
		d.Action.Attempt = s.r.AnalysisRound
		d.Action.Checks = checks
		actions = append(actions, d)
	}
	s.emit(contracts.EventBatchStarted, contracts.Event{Phase: ref, Batch: s.r.AnalysisRound, Hosts: hosts})
	s.effects = append(s.effects, actions...)
	return true
}

// measurement applies one measurement result of the round in flight.
func (s *stepper) measurement(res contracts.HostResult) {
	p := s.r.Phase
	if p >= len(s.r.Plan.Phases) || s.r.Plan.Phases[p].Kind != contracts.StepAnalysis {
		return
	}
	step := s.r.Plan.Phases[p]
	i, ok := s.r.byName[res.Host]
	if !ok || res.Phase.ID != step.ID || res.ActionID != contracts.MeasureActionID(s.r.ID(), step.ID, res.Host, s.r.AnalysisRound) {
		return // another step's or round's: too late, changes nothing
	}
	h := s.r.Hosts[i]
	if h.Measured == s.r.MeasureSeq || h.Phase != s.r.measuredPhase(p) || h.Status != HostSucceeded {
		return // a duplicate, or not a host of the round
	}
	h.Measured = s.r.MeasureSeq
	s.setHost(i, h)
	if !s.atAnalysis() {
		// The step was stopped (rollback, abort) with the round in flight:
		// the measurement no longer counts, but it is no longer in flight.
		s.r.Counts.Running--
		s.changed = true
		if s.r.Counts.Running == 0 {
			s.r.Deadline = time.Time{}
			if s.r.State == running {
				s.advance()
			}
		}
		return
	}
	if inconclusive(res) {
		// A check that could not decide: the measurement counts neither
		// way, but it is no longer in flight.
		s.r.Counts.Running--
		s.emit(contracts.EventHostSucceeded, contracts.Event{Phase: s.phaseRef(p), Batch: s.r.AnalysisRound, Host: &contracts.HostOutcome{
			Name: h.Name, Attempt: s.r.AnalysisRound, Status: undecidedStatus(res.Checks), Error: "inconclusive: counts neither way", Checks: res.Checks,
		}})
		if s.r.Counts.Running == 0 {
			s.r.Deadline = time.Time{}
			if s.r.State == running {
				s.advance()
			}
		}
		return
	}
	s.countMeasurement(h, res.Status == contracts.ResultSucceeded, res.Error, res.Checks)
}

// inconclusive reports a measurement none of whose checks failed but one
// of which neither passed nor failed (a check kind that can answer
// "inconclusive"): it is no evidence either way.
func inconclusive(res contracts.HostResult) bool {
	if res.Status == contracts.ResultSucceeded || len(res.Checks) == 0 {
		return false
	}
	undecided := false
	for _, c := range res.Checks {
		switch c.Status {
		case contracts.ResultFailed:
			return false
		case contracts.ResultSucceeded:
		default:
			undecided = true
		}
	}
	return undecided
}

// dropRound forgets the measurements of a stopped analysis still without
// a result at their deadline.
func (s *stepper) dropRound() {
	p := s.r.Phase
	if p >= len(s.r.Plan.Phases) || s.r.Plan.Phases[p].Kind != contracts.StepAnalysis || s.r.AnalysisRound == 0 {
		return
	}
	q := s.r.measuredPhase(p)
	for i, h := range s.r.Hosts {
		if s.r.Counts.Running == 0 {
			return
		}
		if h.Phase == q && h.Status == HostSucceeded && h.Measured != s.r.MeasureSeq {
			h.Measured = s.r.MeasureSeq
			s.setHost(i, h)
			s.r.Counts.Running--
		}
	}
}

// countMeasurement records one measurement and fails the step once more
// than its failure limit have failed.
func (s *stepper) countMeasurement(h Host, ok bool, errText string, checks []contracts.CheckResult) {
	p := s.r.Phase
	s.r.Counts.Running--
	if s.r.Counts.Running == 0 {
		s.r.Deadline = time.Time{}
	}
	typ, status := contracts.EventHostSucceeded, contracts.ResultSucceeded
	if !ok {
		typ, status = contracts.EventHostFailed, contracts.ResultFailed
		s.r.AnalysisFailed++
	}
	s.emit(typ, contracts.Event{Phase: s.phaseRef(p), Batch: s.r.AnalysisRound, Host: &contracts.HostOutcome{
		Name: h.Name, Attempt: s.r.AnalysisRound, Status: status, Error: errText, Checks: checks,
	}})
	if s.r.State != running {
		return
	}
	a := s.r.Plan.Phases[p].Analysis
	if !ok && s.r.AnalysisFailed == a.FailureLimit+1 {
		s.analysisFailed(p)
		return
	}
	if s.r.Counts.Running == 0 {
		s.advance()
	}
}

// analysisTimeout counts the measurements of the round without a result
// by the action timeout as failed.
func (s *stepper) analysisTimeout() {
	s.r.Deadline = time.Time{}
	s.changed = true
	p := s.r.Phase
	q := s.r.measuredPhase(p)
	msg := fmt.Sprintf("no measurement within the action timeout of %s", time.Duration(s.r.Plan.ActionTimeout))
	for i, h := range s.r.Hosts {
		if h.Phase != q || h.Status != HostSucceeded || h.Measured == s.r.MeasureSeq || s.r.Counts.Running == 0 {
			continue
		}
		h.Measured = s.r.MeasureSeq
		s.setHost(i, h)
		s.countMeasurement(h, false, msg, nil)
		if s.r.State != running || s.r.Rollback != "" {
			return
		}
	}
}

// analysisFailed applies the rollout's on_failure to a failed analysis.
func (s *stepper) analysisFailed(p int) {
	a := s.r.Plan.Phases[p].Analysis
	reason := fmt.Sprintf("analysis %s failed: %d failed measurements, %d tolerated", s.r.Plan.Phases[p].ID, s.r.AnalysisFailed, a.FailureLimit)
	s.r.Reason, s.r.Actor = reason, ActorScheduler
	s.r.WaitUntil = time.Time{}
	switch s.r.Plan.OnFailure {
	case contracts.OnFailureRollback:
		s.startRollback(Command{Actor: ActorScheduler, Reason: reason}, RollbackBatched)
	case contracts.OnFailureAbort:
		s.r.State = failed
		s.emit(contracts.EventFailed, contracts.Event{Reason: reason})
		s.stopPhase()
	default:
		s.r.State = paused
		s.emit(contracts.EventPaused, contracts.Event{Reason: reason})
	}
}

// acceptFailedAnalysis: resuming a rollout paused by a failed analysis
// is the operator's decision to go past it, so the step completes; its
// measurements still in flight are no longer waited for.
func (s *stepper) acceptFailedAnalysis() {
	if !s.atAnalysis() {
		return
	}
	a := s.r.Plan.Phases[s.r.Phase].Analysis
	if s.r.AnalysisFailed > a.FailureLimit {
		// Measurements still in flight no longer count.
		s.dropRound()
		s.r.AnalysisFailed = 0
		s.r.AnalysisRound = a.Rounds()
	}
}

func undecidedStatus(checks []contracts.CheckResult) contracts.ResultStatus {
	for _, c := range checks {
		if c.Status != contracts.ResultSucceeded {
			return c.Status
		}
	}
	return ""
}
