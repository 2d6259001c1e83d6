package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// Runtime control: skip, reorder and exclude change what is left of a
// rollout. None of them moves a host or a step in the plan: a skipped step
// keeps its index with the state PhaseSkipped, a new order lives in
// Rollout.RunOrder, and an excluded host keeps its position with the status
// HostExcluded. So action ids, stored rows and batchRange stay what they
// were.

// StepOrder returns the order the steps run in, as indexes into
// Plan.Phases.
func (r Rollout) StepOrder() []int {
	if len(r.RunOrder) == len(r.Plan.Phases) {
		return r.RunOrder
	}
	order := make([]int, len(r.Plan.Phases))
	for i := range order {
		order[i] = i
	}
	return order
}

// nextPending returns the first step in run order that has not started,
// len(Plan.Phases) when there is none.
func (r Rollout) nextPending() int {
	for _, p := range r.StepOrder() {
		if p < len(r.Phases) && r.Phases[p].State == PhasePending {
			return p
		}
	}
	return len(r.Plan.Phases)
}

// currentFixed reports whether the rollout is at step Phase: it has started
// it, or waits at its gate. That step can no longer move, and only a gate
// or a wait (or a phase still at its before gate) can be skipped.
func (r Rollout) currentFixed() bool {
	p := r.Phase
	return r.Admitted && p < len(r.Plan.Phases) && (r.Phases[p].State != PhasePending || r.Gate != "")
}

// stepIndex finds a step by id; -1 when the plan has none.
func (r Rollout) stepIndex(id string) int {
	return slices.IndexFunc(r.Plan.Phases, func(ph contracts.PlannedPhase) bool { return ph.ID == id })
}

// controlRefused is the invalid_state error of runtime control: why verb
// does not apply, in the words "cannot <verb>: ...".
func controlRefused(verb contracts.Verb, format string, args ...any) error {
	return contracts.Errorf(contracts.CodeInvalidState, "cannot %s: %s", verb, fmt.Sprintf(format, args...))
}

// skip skips a pending step, or the gate or wait step the rollout is at:
// the step and its hosts never run. Skipping the current gate passes it
// without an approval, recorded as a skip with actor and reason.
func (s *stepper) skip(c Command) error {
	if c.Step == "" {
		return contracts.Invalid("step", "is required: the id of the step to skip")
	}
	if s.r.Rollback != "" {
		return controlRefused(c.Verb, "rollout %s is rolling back", s.r.ID())
	}
	p := s.r.stepIndex(c.Step)
	if p < 0 {
		return contracts.Invalid("step", "rollout %s has no step %q", s.r.ID(), c.Step)
	}
	current := p == s.r.Phase && s.r.currentFixed()
	switch st := s.r.Phases[p].State; {
	case current:
		kind := s.r.Plan.Phases[p].Kind
		atBeforeGate := kind == contracts.StepPhase && st == PhasePending
		if kind != contracts.StepGate && kind != contracts.StepWait && !atBeforeGate {
			return controlRefused(c.Verb, "step %s of rollout %s is %s", c.Step, s.r.ID(), st)
		}
		if s.r.Counts.Running > 0 {
			return controlRefused(c.Verb, "rollout %s has actions in flight", s.r.ID())
		}
	case st != PhasePending:
		return controlRefused(c.Verb, "step %s of rollout %s is %s", c.Step, s.r.ID(), st)
	}
	c.Actor = actor(c)
	s.r.Reason, s.r.Actor = c.Reason, c.Actor
	ph := s.phases()
	if current {
		s.r.Gate, s.r.Deadline, s.r.WaitUntil = "", time.Time{}, time.Time{}
		if ph[p].State == PhaseRunning {
			s.effects = append(s.effects, PhaseEnded{Phase: *s.phaseRef(p), State: PhaseSkipped, StartedAt: ph[p].StartedAt, EndedAt: s.now})
		}
	}
	ph[p].State, ph[p].EndedAt = PhaseSkipped, s.now
	var hosts []string
	for i := range s.r.Hosts {
		h := s.r.Hosts[i]
		if h.Phase != p || h.Status != HostPending {
			continue
		}
		h.Status = HostSkipped
		s.r.Counts.Pending--
		s.r.Counts.Skipped++
		s.setHost(i, h)
		hosts = append(hosts, h.Name)
	}
	if current || !s.r.currentFixed() {
		s.r.Phase, s.r.Batch = s.r.nextPending(), 0
	}
	s.emit(contracts.EventSkipped, contracts.Event{Step: c.Step, Phase: s.phaseRef(p), Hosts: hosts, Actor: c.Actor, Reason: c.Reason})
	if current && s.r.State == running {
		s.advance()
	}
	return nil
}

// reorder gives the pending steps a new order. The steps that ran, run or
// were skipped keep their places; the pending ones take the places the
// pending steps had, in the order given.
func (s *stepper) reorder(c Command) error {
	if s.r.Rollback != "" {
		return controlRefused(c.Verb, "rollout %s is rolling back", s.r.ID())
	}
	order := s.r.StepOrder()
	fixed := s.r.currentFixed()
	var slots []int // positions in order of the steps that may move
	for pos, p := range order {
		if s.r.Phases[p].State == PhasePending && !(fixed && p == s.r.Phase) {
			slots = append(slots, pos)
		}
	}
	if len(c.Steps) == 0 {
		return contracts.Invalid("steps", "is required: the new order of the pending steps")
	}
	seen := map[int]bool{}
	next := make([]int, 0, len(c.Steps))
	for i, id := range c.Steps {
		field := fmt.Sprintf("steps[%d]", i)
		p := s.r.stepIndex(id)
		switch {
		case p < 0:
			return contracts.Invalid(field, "rollout %s has no step %q", s.r.ID(), id)
		case seen[p]:
			return contracts.Invalid(field, "step %q is listed twice", id)
		case fixed && p == s.r.Phase, s.r.Phases[p].State != PhasePending:
			st := s.r.Phases[p].State
			if st == PhasePending {
				st = "current" // waiting at its gate
			}
			return controlRefused(c.Verb, "step %s of rollout %s is %s and cannot move", id, s.r.ID(), st)
		}
		seen[p] = true
		next = append(next, p)
	}
	if len(next) != len(slots) {
		var missing []string
		for _, pos := range slots {
			if !seen[order[pos]] {
				missing = append(missing, s.r.Plan.Phases[order[pos]].ID)
			}
		}
		return contracts.Invalid("steps", "must list every pending step once; missing %s", strings.Join(missing, ", "))
	}
	newOrder := slices.Clone(order)
	for i, pos := range slots {
		newOrder[pos] = next[i]
	}
	if slices.Equal(newOrder, order) {
		return nil // the order it already has: nothing happens
	}
	c.Actor = actor(c)
	s.r.RunOrder = newOrder
	s.r.Reason, s.r.Actor = c.Reason, c.Actor
	if !fixed {
		s.r.Phase, s.r.Batch = s.r.nextPending(), 0
	}
	s.emit(contracts.EventReordered, contracts.Event{Steps: slices.Clone(c.Steps), Actor: c.Actor, Reason: c.Reason})
	return nil
}

// exclude removes a host from the rest of the rollout: a pending host is
// never dispatched, a failed one is no longer retried and no longer counts
// against the failure budget, and a running one's result is recorded but
// changes no count. An excluded host is not rolled back.
func (s *stepper) exclude(c Command) error {
	if c.Host == "" {
		return contracts.Invalid("host", "is required: the host to exclude")
	}
	if s.r.Rollback != "" {
		return controlRefused(c.Verb, "rollout %s is rolling back", s.r.ID())
	}
	guided := s.guidedPause()
	i, ok := s.r.byName[c.Host]
	if !ok {
		return contracts.Invalid("host", "rollout %s has no host %q", s.r.ID(), c.Host)
	}
	h := s.r.Hosts[i]
	switch h.Status {
	case HostPending:
		s.r.Counts.Pending--
	case HostRunning:
		s.r.Counts.Running--
	case HostFailed:
		s.r.Counts.Failed--
		s.r.FailedBase = min(s.r.FailedBase, s.r.Counts.Failed)
		if ph := s.phases(); ph[h.Phase].Failed > 0 {
			ph[h.Phase].Failed--
		}
	default:
		return controlRefused(c.Verb, "host %s of rollout %s is %s", c.Host, s.r.ID(), h.Status)
	}
	was := h.Status
	h.Status = HostExcluded
	s.r.Counts.Excluded++
	s.setHost(i, h)
	c.Actor = actor(c)
	s.r.Reason, s.r.Actor = c.Reason, c.Actor
	s.emit(contracts.EventExcluded, contracts.Event{Hosts: []string{c.Host}, Actor: c.Actor, Reason: c.Reason})
	switch {
	case was == HostRunning && s.r.Counts.Running == 0 && s.r.State == running:
		s.r.Deadline = time.Time{} // the batch in flight is done
		s.advance()
	case was == HostFailed && guided && s.r.Counts.Failed == 0:
		// The last failed host of a guided pause is skipped: run on.
		s.r.State = running
		s.r.FailedBase = s.r.Counts.Failed
		s.resetStepBudgets()
		s.emit(contracts.EventResumed, contracts.Event{Reason: "every failed host was excluded", Actor: c.Actor})
		if s.r.Counts.Running == 0 {
			s.advance()
		}
	}
	return nil
}
