package contracts

// validateStep checks the step-kind rules of one entry of phases and
// reports whether it is a phase, whose hosts, batch and checks the caller
// goes on to check. Each wrong field is named: a wait step with hosts is
// phases[i].hosts.
func (ph PhaseSpec) validateStep(fe *FieldErrors, field string, checks map[string]CheckSpec, afterPhase bool) bool {
	kind := ph.StepKind()
	if kind != StepPhase {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"hosts", len(ph.Hosts) > 0},
			{"selector", ph.Selector != nil},
			{"batch", !ph.Batch.IsZero()},
			{"checks", len(ph.Checks) > 0},
			{"gate", kind != StepGate && ph.Gate != nil},
			{"analysis", kind != StepAnalysis && ph.Analysis != nil},
			{"max_failed", ph.MaxFailed != nil},
		} {
			if f.set {
				fe.Add(field+"."+f.name, "%s step has no %s: a step is exactly one of a phase, {name, wait}, {name, gate} or {name, analysis}", article(kind), f.name)
			}
		}
	}
	switch kind {
	case StepWait:
		if *ph.Wait <= 0 {
			fe.Add(field+".wait", "must be a positive duration such as \"10m\", got %s", ph.Wait.D())
		}
	case StepGate:
		ph.Gate.validate(fe, field+".gate")
	case StepAnalysis:
		if !afterPhase {
			fe.Add(field+".analysis", "must come after a phase: an analysis measures the hosts of the phase before it")
		}
		ph.Analysis.validate(fe, field+".analysis", checks)
	case StepPhase:
		if ph.MaxFailed != nil {
			if msg := ph.MaxFailed.problem(true); msg != "" {
				fe.Add(field+".max_failed", "%s", msg)
			}
		}
		if ph.Gate != nil {
			if !ph.Gate.Placed() {
				fe.Add(field+".gate", "on a phase, set before, after or every_batch; a gate step of its own has no hosts, selector, batch or checks")
			}
			ph.Gate.validate(fe, field+".gate")
		}
	}
	return kind == StepPhase
}

func (g PlannedGate) validate(fe *FieldErrors, field string) {
	nonNegative(fe, field+".timeout", g.Timeout)
	switch g.OnTimeout {
	case "":
	case GateApprove, GateReject, GateRollback:
		if g.Timeout == 0 {
			fe.Add(field+".on_timeout", "needs a timeout: without one the gate waits for an operator")
		}
	default:
		fe.Add(field+".on_timeout", "must be one of %q, %q or %q, got %q", GateApprove, GateReject, GateRollback, clip(string(g.OnTimeout)))
	}
}

func (a AnalysisSpec) validate(fe *FieldErrors, field string, checks map[string]CheckSpec) {
	if len(a.Checks) == 0 {
		fe.Add(field+".checks", "needs at least one check, defined under checks or by the environment")
	}
	seen := map[string]int{}
	for i, c := range a.Checks {
		cf := IndexPath(field+".checks", i)
		// As for a phase, a name the request does not define may be one the
		// environment's operators define: the planner resolves it.
		if _, ok := checks[c]; !ok && !ValidToken(c) {
			fe.Add(cf, "%q is not defined under checks, and a check name %s", clip(c), tokenRule)
		} else if j, dup := seen[c]; dup {
			fe.Add(cf, "%q is already listed at checks[%d]", c, j)
		}
		seen[c] = i
	}
	if a.Count < 0 {
		fe.Add(field+".count", "must not be negative, got %d", a.Count)
	}
	if a.FailureLimit < 0 {
		fe.Add(field+".failure_limit", "must not be negative, got %d", a.FailureLimit)
	}
	nonNegative(fe, field+".interval", a.Interval)
	nonNegative(fe, field+".duration", a.Duration)
	if a.Interval == 0 && (a.Count > 1 || a.Duration > 0) {
		fe.Add(field+".interval", "is required to measure more than once")
	}
}

// article names a step kind with its indefinite article.
func article(k StepKind) string {
	if k == StepAnalysis {
		return "an analysis"
	}
	return "a " + k.String()
}
