package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// Step applies one input to a rollout at time now. It returns the next
// rollout and the effects to carry out, in order. An input that the table
// does not allow in the rollout's state returns an invalid_state error and
// the rollout unchanged. Inputs that change nothing (a duplicate result, a
// result for an action the rollout never dispatched, a queued verdict with
// the same reason) return the rollout unchanged and no effects.
func Step(r Rollout, in Input, now time.Time) (Rollout, []Effect, error) {
	kind, err := in.Kind()
	if err != nil {
		return r, nil, err
	}
	row, ok := lookup(kind, r.State)
	if !ok {
		return r, nil, notAllowed(kind, r)
	}
	r.IndexHosts()
	s := &stepper{r: r, now: now}
	switch kind {
	case KindPlanned:
		err = s.planned(*in.Planned)
	case KindAdmission:
		err = s.admission(*in.Admission)
	case KindResult:
		err = s.result(*in.Result)
	case KindPause:
		s.pause(*in.Command)
	case KindResume:
		s.resume(*in.Command)
	case KindAbort:
		s.abort(*in.Command)
	case KindTimer:
		s.timer()
	case KindRetry:
		err = s.retry(*in.Command)
	case KindApprove:
		err = s.decideGate(*in.Command, contracts.GateApprove)
	case KindReject:
		err = s.decideGate(*in.Command, contracts.GateReject)
	case KindRollback:
		err = s.rollbackVerb(*in.Command)
	case KindSkip:
		err = s.skip(*in.Command)
	case KindReorder:
		err = s.reorder(*in.Command)
	case KindExclude:
		err = s.exclude(*in.Command)
	}
	if err != nil {
		s.undo()
		return r, nil, err
	}
	if !s.changed {
		s.undo()
		return r, nil, nil
	}
	if !slices.Contains(row.To, s.r.State) {
		// The table and the code below disagree: a bug, never an input.
		s.undo()
		return r, nil, contracts.Errorf(contracts.CodeInternal, "%s moved rollout %s from %s to %s, which the table does not allow",
			kind, r.ID(), r.State, s.r.State)
	}
	if s.r.State != paused {
		s.r.Guided = false // only a pause holds a guided-failure offer
	}
	s.r.UpdatedAt = now
	return s.r, s.effects, nil
}

func notAllowed(k Kind, r Rollout) error {
	if k == KindPlanned {
		return contracts.Errorf(contracts.CodeInvalidState, "rollout %s already exists (%s)", r.ID(), r.State)
	}
	if r.State == StateNew {
		return contracts.Errorf(contracts.CodeInvalidState, "%s is not allowed before the rollout is planned", k)
	}
	if k == KindAdmission || k == KindResult || k == KindTimer {
		return contracts.Errorf(contracts.CodeInvalidState, "%s is not allowed: rollout %s is %s", k, r.ID(), r.State)
	}
	// An operator's verb: say which one could not be done and why.
	return contracts.Errorf(contracts.CodeInvalidState, "cannot %s: rollout %s is %s", k, r.ID(), r.State)
}

// stepper accumulates the effects of one step.
type stepper struct {
	r       Rollout
	now     time.Time
	effects []Effect
	changed bool
	// phasesCopied records that Phases was copied in this step, so the
	// caller's rollout is never written through. Hosts are written in
	// place; journal keeps their old values so a step that ends in an
	// error can put them back.
	phasesCopied bool
	journal      []journaled
}

type journaled struct {
	i   int
	old Host
}

// setHost writes host i in place and records it as changed.
func (s *stepper) setHost(i int, h Host) {
	s.journal = append(s.journal, journaled{i: i, old: s.r.Hosts[i]})
	s.r.Hosts[i] = h
	s.r.Changed = append(s.r.Changed, i)
}

// undo puts back the hosts this step wrote.
func (s *stepper) undo() {
	for j := len(s.journal) - 1; j >= 0; j-- {
		s.r.Hosts[s.journal[j].i] = s.journal[j].old
	}
	s.journal = nil
}

func (s *stepper) phases() []Phase {
	if !s.phasesCopied {
		s.r.Phases = slices.Clone(s.r.Phases)
		s.phasesCopied = true
	}
	return s.r.Phases
}

// emit records an event with the rollout's reference, next sequence number,
// current state and counts.
func (s *stepper) emit(t contracts.EventType, e contracts.Event) {
	s.changed = true
	s.r.Seq++
	e.Rollout = s.r.Plan.Rollout
	e.Environment = s.r.Plan.Environment
	e.App = s.r.Plan.App
	e.Version = s.r.Plan.Version
	e.Seq = s.r.Seq
	e.State = s.r.State
	if e.Actor == "" {
		e.Actor = ActorScheduler
	}
	counts := s.r.Counts
	e.Counts = &counts
	s.effects = append(s.effects, Emit{Type: t, Event: e})
}

func (s *stepper) planned(p Planned) error {
	if err := ValidatePlan(p.Plan); err != nil {
		return err
	}
	plan := withStepIDs(p.Plan)
	if plan.OnFailure == "" {
		plan.OnFailure = contracts.OnFailurePause
	}
	r := Rollout{
		Plan:      plan,
		State:     queued,
		Order:     p.Order,
		Actor:     ActorScheduler,
		CreatedAt: s.now,
		Phases:    make([]Phase, len(plan.Phases)),
	}
	for pi, ph := range plan.Phases {
		r.Phases[pi] = Phase{State: PhasePending}
		for bi, batch := range ph.Batches {
			for _, name := range batch {
				r.Hosts = append(r.Hosts, Host{Name: name, Phase: pi, Batch: bi + 1, Status: HostPending})
			}
		}
	}
	r.Counts = contracts.Counts{Total: len(r.Hosts), Pending: len(r.Hosts)}
	r.IndexHosts()
	s.r = r
	s.phasesCopied = true
	s.changed = true
	return nil
}

func (s *stepper) admission(a Admission) error {
	if !a.Allowed {
		if a.Reason == "" {
			return contracts.Invalid("reason", "is required when admission is refused")
		}
		if a.Reject {
			s.r.State = rejected
			s.r.Reason, s.r.Actor = a.Reason, cmp.Or(strings.TrimSpace(a.Actor), ActorScheduler)
			s.emit(contracts.EventRejected, contracts.Event{Reason: a.Reason, Actor: s.r.Actor})
			return nil
		}
		if a.Reason == s.r.WaitReason {
			return nil
		}
		s.r.WaitReason = a.Reason
		s.r.Reason = a.Reason
		s.r.Actor = ActorScheduler
		var until *time.Time
		if a.Until != nil {
			u := a.Until.UTC()
			until = &u
		}
		s.emit(contracts.EventQueued, contracts.Event{Reason: a.Reason, Until: until})
		return nil
	}
	s.r.Admitted = true
	s.r.State = running
	s.r.Reason, s.r.WaitReason, s.r.Actor = "", "", ActorScheduler
	s.emit(contracts.EventStarted, contracts.Event{})
	s.advance()
	return nil
}

func (s *stepper) result(res contracts.HostResult) error {
	if res.Rollout != s.r.ID() {
		return contracts.Invalid("rollout", "result for rollout %q applied to rollout %q", res.Rollout, s.r.ID())
	}
	if res.Status != contracts.ResultSucceeded && res.Status != contracts.ResultFailed {
		return contracts.Invalid("status", "must be succeeded or failed, got %q", res.Status)
	}
	switch {
	case res.Kind == contracts.ActionTraffic:
		s.trafficResult(res)
		return nil
	case res.Phase.ID == contracts.RollbackStepID:
		s.rollbackResult(res)
		return nil
	case res.Kind == contracts.ActionCheck:
		s.measurement(res)
		return nil
	}
	i := s.r.hostIndex(res.Phase.Index, res.Batch, res.Host)
	if i >= 0 && res.Phase.ID != "" && res.Phase.ID != s.r.Plan.Phases[res.Phase.Index].ID {
		i = -1 // dispatched for another step
	}
	if i < 0 {
		return nil // not an action of this rollout: ignored
	}
	h := s.r.Hosts[i]
	if h.Status == HostExcluded && h.ActionID == res.ActionID && h.Attempt == res.Attempt && h.FinishedAt.IsZero() && !h.DispatchedAt.IsZero() {
		s.excludedResult(i, res)
		return nil
	}
	inFlight := h.Status == HostRunning && res.Attempt == h.Attempt
	if !inFlight && res.Attempt > h.Recorded && res.Attempt <= h.Attempt &&
		res.ActionID == contracts.StepActionID(s.r.ID(), s.r.Plan.Phases[h.Phase].ID, h.Name, res.Attempt) {
		// A retry or the action timeout superseded this attempt.
		s.lateResult(i, res)
		return nil
	}
	if h.Status != HostRunning || h.ActionID != res.ActionID || h.Attempt != res.Attempt {
		return nil // a duplicate, or a result for an attempt not in flight
	}
	h.FinishedAt = s.now
	h.Error = res.Error
	h.Recorded = res.Attempt
	s.r.Counts.Running--
	if res.Status == contracts.ResultSucceeded {
		h.Status = HostSucceeded
		s.r.Counts.Succeeded++
	} else {
		h.Status = HostFailed
		s.r.Counts.Failed++
		s.phases()[h.Phase].Failed++
	}
	h.Installed = h.Status == HostSucceeded || res.Installed
	s.setHost(i, h)
	if s.r.Counts.Running == 0 {
		s.r.Deadline = time.Time{} // the batch in flight is done
	}

	var took contracts.Duration
	if d := res.FinishedAt.Sub(res.StartedAt); !res.StartedAt.IsZero() && d > 0 {
		took = contracts.Duration(d)
	}
	typ := contracts.EventHostSucceeded
	if h.Status == HostFailed {
		typ = contracts.EventHostFailed
	}
	s.emit(typ, contracts.Event{
		Phase: s.phaseRef(h.Phase),
		Batch: h.Batch,
		Host: &contracts.HostOutcome{
			Name: h.Name, Attempt: h.Attempt, Status: res.Status, Error: res.Error,
			Duration: took, Checks: res.Checks, Executor: res.Executor,
		},
	})
	if s.r.State != running {
		return nil // recorded; a paused or ended rollout dispatches nothing
	}
	if s.r.Rollback != "" {
		// A forward action still in flight when the rollback started: the
		// rollback goes on once none is left.
		if s.r.Counts.Running == 0 {
			s.advance()
		}
		return nil
	}
	if h.Status == HostFailed && s.overBudget() {
		s.thresholdCrossed()
		return nil
	}
	if s.r.Counts.Running == 0 {
		s.advance()
	}
	return nil
}

// timer fails the hosts of the batch in flight that have no result by its
// deadline. A result arriving later finds the host no longer running and
// changes nothing.
func (s *stepper) timer() {
	if !s.r.WaitUntil.IsZero() && !s.now.Before(s.r.WaitUntil) && s.r.State == running && s.r.Counts.Running == 0 {
		s.advance() // the wait step is over
		return
	}
	if s.r.Deadline.IsZero() || s.now.Before(s.r.Deadline) {
		return
	}
	if s.r.Gate != "" {
		if s.r.State != running {
			return // a paused rollout's gate is decided after resume
		}
		g := s.r.Plan.Phases[s.r.Phase].Gate
		outcome := contracts.GateReject
		if g != nil && (g.OnTimeout == contracts.GateApprove || g.OnTimeout == contracts.GateRollback) {
			outcome = g.OnTimeout
		}
		s.gateDecided(Command{Actor: ActorScheduler, Reason: "gate timeout"}, outcome)
		return
	}
	if s.r.Rollback != "" {
		s.rollbackTimeout()
		return
	}
	if s.atAnalysis() {
		s.analysisTimeout()
		return
	}
	if s.atTraffic() {
		s.trafficTimeout()
		return
	}
	timeout := time.Duration(s.r.Plan.ActionTimeout)
	s.r.Deadline = time.Time{}
	_, to, ok := s.r.batchRange(s.r.Phase, s.r.Batch)
	if !ok {
		s.changed = true
		return
	}
	// Retried hosts of earlier batches may be in flight too: look at every
	// host up to the end of the current batch, or at every host when the
	// steps were reordered (an earlier step may then stand later in Hosts).
	// A deadline fires at most once per dispatch, so this is not per
	// result.
	if s.r.RunOrder != nil {
		to = len(s.r.Hosts)
	}
	from := 0
	failedNow := 0
	for i := from; i < to; i++ {
		h := s.r.Hosts[i]
		if h.Status != HostRunning {
			continue
		}
		h.Status, h.FinishedAt = HostFailed, s.now
		h.Error = fmt.Sprintf("no result within the action timeout of %s", timeout)
		s.r.Counts.Running--
		s.r.Counts.Failed++
		s.phases()[h.Phase].Failed++
		failedNow++
		s.setHost(i, h)
		s.emit(contracts.EventHostFailed, contracts.Event{
			Phase: s.phaseRef(h.Phase), Batch: h.Batch,
			Host: &contracts.HostOutcome{Name: h.Name, Attempt: h.Attempt, Status: contracts.ResultFailed, Error: h.Error},
		})
	}
	s.changed = true // the deadline is gone, even with every host done
	if s.r.State != running {
		return
	}
	if failedNow > 0 && s.overBudget() {
		s.thresholdCrossed()
		return
	}
	if s.r.Counts.Running == 0 {
		s.advance()
	}
}

func (s *stepper) thresholdCrossed() {
	reason := fmt.Sprintf("failure threshold crossed: %d failed, %d tolerated", s.r.Counts.Failed-s.r.FailedBase, s.r.Plan.MaxFailed)
	if p, ok := s.stepOverBudget(); ok && s.r.Counts.Failed-s.r.FailedBase <= s.r.Plan.MaxFailed {
		reason = fmt.Sprintf("failure threshold of step %s crossed: %d failed, %d tolerated", s.r.Plan.Phases[p].ID, s.r.Phases[p].Failed, *s.r.Plan.Phases[p].MaxFailed)
	}
	s.r.Reason, s.r.Actor = reason, ActorScheduler
	switch s.r.Plan.OnFailure {
	case contracts.OnFailureAbort:
		s.r.State = failed
		s.emit(contracts.EventFailed, contracts.Event{Reason: reason})
		s.stopPhase()
		return
	case contracts.OnFailureRollback:
		s.startRollback(Command{Actor: ActorScheduler, Reason: reason}, RollbackBatched)
		return
	}
	s.r.State = paused
	var offer []contracts.FailedHostOffer
	if s.r.Plan.OnFailure == contracts.OnFailureGuided {
		s.r.Guided = true
		offer = s.r.Offer()
	}
	s.emit(contracts.EventPaused, contracts.Event{Reason: reason, Offer: offer})
}

func (s *stepper) pause(c Command) {
	s.r.State = paused
	s.r.Reason, s.r.Actor = c.Reason, actor(c)
	s.emit(contracts.EventPaused, contracts.Event{Reason: c.Reason, Actor: s.r.Actor})
}

func (s *stepper) resume(c Command) {
	s.r.Reason, s.r.Actor = c.Reason, actor(c)
	if !s.r.Admitted {
		// Never started: back to its place in the queue, and report why it
		// waits again once it is looked at.
		s.r.State = queued
		s.r.WaitReason = ""
		s.emit(contracts.EventResumed, contracts.Event{Reason: c.Reason, Actor: s.r.Actor})
		return
	}
	s.r.State = running
	s.r.FailedBase = s.r.Counts.Failed
	s.resetStepBudgets()
	s.acceptFailedAnalysis()
	s.emit(contracts.EventResumed, contracts.Event{Reason: c.Reason, Actor: s.r.Actor})
	if s.r.Counts.Running == 0 {
		s.advance()
	}
}

// retry dispatches every failed host again as its next attempt, with a new
// action id (so the executor's idempotency key is new too), in the phase
// and batch it belongs to, and runs the rollout again. Results of the
// earlier attempts no longer match and change nothing.
func (s *stepper) retry(c Command) error {
	if s.r.Rollback != "" {
		return contracts.Errorf(contracts.CodeInvalidState, "cannot retry: rollout %s is rolling back", s.r.ID())
	}
	if s.atAnalysis() || s.atTraffic() {
		// A host retried now would join the round or switch in flight.
		return contracts.Errorf(contracts.CodeInvalidState, "cannot retry: rollout %s is at step %s", s.r.ID(), s.r.Plan.Phases[s.r.Phase].ID)
	}
	if !s.r.Admitted || s.r.Counts.Failed == 0 {
		return contracts.Errorf(contracts.CodeInvalidState, "cannot retry: rollout %s has no failed hosts", s.r.ID())
	}
	if c.Host != "" {
		i, ok := s.r.byName[c.Host]
		if !ok {
			return contracts.Invalid("host", "rollout %s has no host %q", s.r.ID(), c.Host)
		}
		if st := s.r.Hosts[i].Status; st != HostFailed {
			return contracts.Errorf(contracts.CodeInvalidState, "cannot retry host %s of rollout %s: it is %s", c.Host, s.r.ID(), st)
		}
	}
	s.r.State = running
	s.r.Reason, s.r.Actor = c.Reason, actor(c)
	if t := time.Duration(s.r.Plan.ActionTimeout); t > 0 {
		s.r.Deadline = s.now.Add(t)
	}
	var hosts []string
	var dispatches []Effect
	for i, h := range s.r.Hosts {
		if h.Status != HostFailed || (c.Host != "" && h.Name != c.Host) {
			continue
		}
		h.Status = HostRunning
		h.Attempt++
		h.ActionID = contracts.StepActionID(s.r.ID(), s.r.Plan.Phases[h.Phase].ID, h.Name, h.Attempt)
		h.DispatchedAt, h.FinishedAt, h.Error = s.now, time.Time{}, ""
		s.r.Counts.Failed--
		s.r.Counts.Running++
		s.setHost(i, h)
		hosts = append(hosts, h.Name)
		dispatches = append(dispatches, s.dispatch(*s.phaseRef(h.Phase), h.Batch, h))
	}
	s.emit(contracts.EventRetried, contracts.Event{Reason: c.Reason, Actor: s.r.Actor, Hosts: hosts})
	s.effects = append(s.effects, dispatches...)
	// Failures so far were retried (or, retrying one host, left to the
	// operator): the budget counts from here.
	s.r.FailedBase = s.r.Counts.Failed
	s.resetStepBudgets()
	return nil
}

// decideGate approves or rejects the gate the rollout waits at.
func (s *stepper) decideGate(c Command, outcome contracts.GateOutcome) error {
	if s.r.Gate == "" {
		return contracts.Errorf(contracts.CodeInvalidState, "cannot %s: rollout %s is not waiting at a gate", c.Verb, s.r.ID())
	}
	if c.Step != "" && c.Step != s.r.Gate && c.Step != s.r.Plan.Phases[s.r.Phase].ID {
		return contracts.Errorf(contracts.CodeInvalidState, "cannot %s %s: rollout %s waits at gate %s", c.Verb, c.Step, s.r.ID(), s.r.Gate)
	}
	c.Actor = actor(c)
	s.gateDecided(c, outcome)
	return nil
}

func (s *stepper) gateDecided(c Command, outcome contracts.GateOutcome) {
	gate := s.r.Gate
	s.r.Gate, s.r.Deadline = "", time.Time{}
	s.r.Reason, s.r.Actor = c.Reason, c.Actor
	ref := s.phaseRef(s.r.Phase)
	switch outcome {
	case contracts.GateApprove:
		s.r.GatePassed = gate
		s.emit(contracts.EventGateApproved, contracts.Event{Phase: ref, Gate: gate, Actor: c.Actor, Reason: c.Reason})
		s.advance()
		return
	case contracts.GateRollback:
		s.emit(contracts.EventGateRejected, contracts.Event{Phase: ref, Gate: gate, Actor: c.Actor, Reason: c.Reason})
		s.startRollback(Command{Actor: c.Actor, Reason: fmt.Sprintf("gate %s timed out", gate)}, RollbackBatched)
		return
	}
	s.r.State = failed
	s.r.Reason = fmt.Sprintf("gate %s rejected by %s", gate, c.Actor)
	if c.Reason != "" {
		s.r.Reason += ": " + c.Reason
	}
	s.emit(contracts.EventGateRejected, contracts.Event{Phase: ref, Gate: gate, Actor: c.Actor, Reason: c.Reason})
	s.emit(contracts.EventFailed, contracts.Event{Reason: s.r.Reason, Actor: c.Actor})
	s.stopPhase()
}

// atGate stops the rollout at gate id unless that gate was just passed.
// It reports whether the rollout now waits.
func (s *stepper) atGate(id string, timeout contracts.Duration) bool {
	if s.r.GatePassed == id {
		return false
	}
	if s.r.Gate == id {
		return true // still waiting (advance again after a resume)
	}
	s.r.Gate = id
	if t := time.Duration(timeout); t > 0 {
		s.r.Deadline = s.now.Add(t)
	} else {
		s.r.Deadline = time.Time{}
	}
	s.emit(contracts.EventGateWaiting, contracts.Event{Phase: s.phaseRef(s.r.Phase), Gate: id})
	return true
}

func (s *stepper) abort(c Command) {
	s.r.State = aborted
	s.r.Reason, s.r.Actor = c.Reason, actor(c)
	s.emit(contracts.EventAborted, contracts.Event{Reason: c.Reason, Actor: s.r.Actor})
	s.stopPhase()
}

func actor(c Command) string {
	if a := strings.TrimSpace(c.Actor); a != "" {
		return a
	}
	return ActorUnknown
}

// advance moves a running rollout whose current batch is done to the next
// batch, the next phase, or completion.
func (s *stepper) advance() {
	if s.r.Rollback != "" {
		s.advanceRollback()
		return
	}
	phases := s.r.Plan.Phases
	for {
		if s.r.Phase < len(phases) && s.r.Phases[s.r.Phase].State == PhaseSkipped {
			s.r.Phase, s.r.Batch = s.r.nextPending(), 0
		}
		if s.r.Phase >= len(phases) {
			s.r.State = completed
			s.r.Traffic = "" // the switch is final: the old set is retired
			s.r.Reason, s.r.Actor = "", ActorScheduler
			s.emit(contracts.EventCompleted, contracts.Event{})
			return
		}
		p := s.r.Phase
		switch phases[p].Kind {
		case contracts.StepWait:
			if !s.waitStep(p) {
				return
			}
			continue
		case contracts.StepGate:
			if !s.gateStep(p) {
				return
			}
			continue
		case contracts.StepAnalysis:
			if !s.analysisStep(p) {
				return
			}
			continue
		case contracts.StepTraffic:
			if !s.trafficStep(p) {
				return
			}
			continue
		}
		ref := s.phaseRef(p)
		g := phases[p].Gate
		if s.r.Phases[p].State == PhasePending {
			if g != nil && g.Before && s.atGate(phases[p].ID+"/before", g.Timeout) {
				return
			}
			s.phases()[p] = Phase{State: PhaseRunning, StartedAt: s.now}
			s.emit(contracts.EventPhaseStarted, contracts.Event{Phase: ref, Hosts: s.r.PhaseHosts(p)})
		}
		if s.r.Batch < len(phases[p].Batches) {
			if g != nil && g.EveryBatch && s.r.Batch > 0 && s.atGate(fmt.Sprintf("%s/batch-%d", phases[p].ID, s.r.Batch), g.Timeout) {
				return
			}
			s.r.Batch++
			if s.dispatchBatch(p, s.r.Batch) {
				return
			}
			continue // an empty batch: go on to the next
		}
		if g != nil && (g.After || g.EveryBatch) && s.atGate(phases[p].ID+"/after", g.Timeout) {
			return
		}
		s.completeStep(p)
	}
}

// completeStep ends step p and moves to the next.
func (s *stepper) completeStep(p int) {
	ref := s.phaseRef(p)
	ph := s.phases()
	ph[p].State, ph[p].EndedAt = PhaseCompleted, s.now
	s.emit(contracts.EventPhaseCompleted, contracts.Event{Phase: ref, Hosts: s.r.PhaseHosts(p)})
	s.effects = append(s.effects, PhaseEnded{Phase: *ref, State: PhaseCompleted, StartedAt: ph[p].StartedAt, EndedAt: s.now})
	s.r.Phase = s.r.nextPending() // the next step in run order (reorder)
	s.r.Batch = 0
}

// dispatchBatch emits batch_started and one action per host; false when
// the batch has no hosts.
func (s *stepper) dispatchBatch(phase, batch int) bool {
	from, to, _ := s.r.batchRange(phase, batch)
	if from == to {
		return false
	}
	// Excluded hosts (and only they) are no longer pending: never
	// dispatched.
	var hosts []string
	for i := from; i < to; i++ {
		if s.r.Hosts[i].Status == HostPending {
			hosts = append(hosts, s.r.Hosts[i].Name)
		}
	}
	if len(hosts) == 0 {
		return false
	}
	ref := s.phaseRef(phase)
	if t := time.Duration(s.r.Plan.ActionTimeout); t > 0 {
		s.r.Deadline = s.now.Add(t)
	}
	s.emit(contracts.EventBatchStarted, contracts.Event{Phase: ref, Batch: batch, Hosts: hosts})
	for i := from; i < to; i++ {
		h := s.r.Hosts[i]
		if h.Status != HostPending {
			continue
		}
		h.Status = HostRunning
		h.Attempt = 1
		h.ActionID = contracts.StepActionID(s.r.ID(), s.r.Plan.Phases[phase].ID, h.Name, h.Attempt)
		h.DispatchedAt = s.now
		h.Error = ""
		s.r.Counts.Running++
		s.r.Counts.Pending--
		s.setHost(i, h)
		s.effects = append(s.effects, s.dispatch(*ref, batch, h))
	}
	return true
}

func (s *stepper) dispatch(ref contracts.PhaseRef, batch int, h Host) Dispatch {
	plan := s.r.Plan
	ph := plan.Hosts[h.Name]
	var checks []contracts.NamedCheck
	for _, name := range plan.Phases[ref.Index].Checks {
		checks = append(checks, contracts.NamedCheck{Name: name, Spec: plan.Checks[name]})
	}
	pool := ph.Pool
	if pool == "" {
		pool = contracts.DefaultPool
	}
	return Dispatch{Pool: pool, Action: contracts.HostAction{
		ID:              h.ActionID,
		Rollout:         plan.Rollout,
		Environment:     plan.Environment,
		App:             plan.App,
		Version:         plan.Version,
		PreviousVersion: ph.PreviousVersion,
		Phase:           ref,
		Batch:           batch,
		Attempt:         h.Attempt,
		Host:            contracts.ActionHost{Name: h.Name, Address: ph.Address, Params: ph.Params},
		Driver:          ph.Driver,
		Checks:          checks,
		Params:          plan.Params,
	}}
}

// stopPhase ends the running phase when the rollout ends before it does.
func (s *stepper) stopPhase() {
	s.r.WaitUntil = time.Time{}
	p := s.r.Phase
	if p >= len(s.r.Phases) || s.r.Phases[p].State != PhaseRunning {
		return
	}
	ph := s.phases()
	ph[p].State, ph[p].EndedAt = PhaseStopped, s.now
	s.effects = append(s.effects, PhaseEnded{Phase: *s.phaseRef(p), State: PhaseStopped, StartedAt: ph[p].StartedAt, EndedAt: s.now})
}

func (s *stepper) phaseRef(p int) *contracts.PhaseRef {
	return &contracts.PhaseRef{Index: p, Name: s.r.Plan.Phases[p].Name, ID: s.r.Plan.Phases[p].ID}
}

// lateResult records the result of a superseded attempt of host i in the
// rollout's history. It changes neither the host nor the counts: the
// attempt in flight (or the timeout that failed it) decides.
func (s *stepper) lateResult(i int, res contracts.HostResult) {
	h := s.r.Hosts[i]
	h.Recorded = res.Attempt
	s.setHost(i, h)
	s.emit(contracts.EventLateResult, contracts.Event{
		Phase: s.phaseRef(h.Phase), Batch: h.Batch,
		Host: &contracts.HostOutcome{Name: h.Name, Attempt: res.Attempt, Status: res.Status, Error: res.Error, Executor: res.Executor},
	})
}
