package rollout

import (
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// startStep marks a step without hosts (wait, gate) as running.
func (s *stepper) startStep(p int) {
	s.phases()[p] = Phase{State: PhaseRunning, StartedAt: s.now}
	s.emit(contracts.EventPhaseStarted, contracts.Event{Phase: s.phaseRef(p)})
}

// waitStep runs wait step p: it starts the step and sets the stored timer
// WaitUntil, and completes the step once the clock has reached it. It
// reports whether the step is done, so advance goes on to the next.
func (s *stepper) waitStep(p int) bool {
	if s.r.Phases[p].State == PhasePending {
		s.startStep(p)
		s.r.WaitUntil = s.now.Add(time.Duration(s.r.Plan.Phases[p].Wait))
		return false
	}
	if s.now.Before(s.r.WaitUntil) {
		return false
	}
	s.r.WaitUntil = time.Time{}
	s.completeStep(p)
	return true
}

// gateStep runs gate step p: the rollout waits at the gate whose id is the
// step id, with the step's timeout, until it is approved.
func (s *stepper) gateStep(p int) bool {
	step := s.r.Plan.Phases[p]
	if s.r.Phases[p].State == PhasePending {
		s.startStep(p)
	}
	var timeout contracts.Duration
	if step.Gate != nil {
		timeout = step.Gate.Timeout
	}
	if s.atGate(step.ID, timeout) {
		return false
	}
	s.completeStep(p)
	return true
}
