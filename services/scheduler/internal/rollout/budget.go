package rollout

// The failure budget: Plan.MaxFailed across the whole rollout (failures
// since the last resume or retry) and, per phase, PlannedPhase.MaxFailed
// (Phase.Failed). Crossing either applies Plan.OnFailure, and nothing else
// stops a rollout for failed hosts: a whole batch failing is one more way
// of crossing it.

// overBudget reports whether the rollout's budget, or a step's own, is
// crossed.
func (s *stepper) overBudget() bool {
	if s.r.Counts.Failed-s.r.FailedBase > s.r.Plan.MaxFailed {
		return true
	}
	_, ok := s.stepOverBudget()
	return ok
}

// stepOverBudget returns a step whose own budget is crossed.
func (s *stepper) stepOverBudget() (int, bool) {
	for p, ph := range s.r.Plan.Phases {
		if ph.MaxFailed != nil && p < len(s.r.Phases) && s.r.Phases[p].Failed > *ph.MaxFailed {
			return p, true
		}
	}
	return 0, false
}

// resetStepBudgets starts every step's count afresh, as resume and retry
// do for the rollout's.
func (s *stepper) resetStepBudgets() {
	for p := range s.r.Phases {
		if s.r.Phases[p].Failed != 0 {
			s.phases()[p].Failed = 0
		}
	}
}
