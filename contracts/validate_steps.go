package contracts

// validateStep checks the step-kind rules of one entry of phases and
// reports whether it is a phase, whose hosts, batch and checks the caller
// goes on to check. Each wrong field is named: a wait step with hosts is
// phases[i].hosts.
func (ph PhaseSpec) validateStep(fe *FieldErrors, field string) bool {
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
			{"gate", kind == StepWait && ph.Gate != nil},
		} {
			if f.set {
				fe.Add(field+"."+f.name, "a %s step has no %s: a step is exactly one of a phase, {name, wait}, or {name, gate}", kind, f.name)
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
	case StepPhase:
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
