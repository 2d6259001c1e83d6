package rollout

import (
	"fmt"
	"maps"
	"slices"

	"github.com/rollwave/rollwave/contracts"
)

// ValidatePlan checks that a plan can be run: names that go into subjects
// are subject tokens, every host of a batch is described in Hosts and
// appears once, every phase check is defined, and the failure policy is
// known. It returns every problem at once, each naming its field.
func ValidatePlan(p contracts.Plan) error {
	var fe contracts.FieldErrors
	if !contracts.ValidToken(p.Rollout) {
		fe.Add("rollout", "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got %q", p.Rollout)
	}
	if !contracts.ValidToken(p.Environment) {
		fe.Add("environment", "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got %q", p.Environment)
	}
	if p.App == "" {
		fe.Add("app", "is required")
	}
	if p.Version == "" {
		fe.Add("version", "is required")
	}
	if p.MaxFailed < 0 {
		fe.Add("max_failed", "must be 0 or more, got %d", p.MaxFailed)
	}
	switch p.OnFailure {
	case "", contracts.OnFailurePause, contracts.OnFailureAbort, contracts.OnFailureRollback, contracts.OnFailureGuided:
	default:
		fe.Add("on_failure", "must be pause, abort, rollback or guided, got %q", p.OnFailure)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Hosts)) {
		h := p.Hosts[name]
		field := fmt.Sprintf("hosts[%q]", name)
		if h.Name != "" && h.Name != name {
			fe.Add(field+".name", "must match its key %q, got %q", name, h.Name)
		}
		if h.Pool != "" && !contracts.ValidToken(h.Pool) {
			fe.Add(field+".pool", "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got %q", h.Pool)
		}
	}
	seen := map[string]string{}
	steps := map[string]int{}
	traffic := -1
	for pi, ph := range p.Phases {
		if ph.Kind == contracts.StepTraffic {
			if traffic >= 0 {
				fe.Add(fmt.Sprintf("phases[%d].kind", pi), "a plan switches traffic once; phases[%d] already does", traffic)
			}
			traffic = pi
		}
		field := fmt.Sprintf("phases[%d]", pi)
		if ph.Name == "" {
			fe.Add(field+".name", "is required")
		}
		// A step without an id (from an older planner) gets the one derived
		// from its name; a problem with it is then the name's.
		id, idField := ph.ID, field+".id"
		if id == "" {
			id, idField = contracts.StepID(ph.Name), field+".name"
		}
		switch j, dup := steps[id]; {
		case id == "":
		case !contracts.ValidToken(id):
			fe.Add(idField, "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got %q", id)
		case id == contracts.RollbackStepID:
			fe.Add(idField, "step id %q is reserved for the rollback step", id)
		case dup:
			fe.Add(idField, "step id %q is already the id of phases[%d]", id, j)
		default:
			steps[id] = pi
		}
		validateStepKind(&fe, field, ph)
		for ci, c := range ph.Checks {
			if _, ok := p.Checks[c]; !ok {
				fe.Add(fmt.Sprintf("%s.checks[%d]", field, ci), "names check %q, which the plan does not define", c)
			}
		}
		if ph.Analysis != nil {
			for ci, c := range ph.Analysis.Checks {
				if _, ok := p.Checks[c]; !ok {
					fe.Add(fmt.Sprintf("%s.analysis.checks[%d]", field, ci), "names check %q, which the plan does not define", c)
				}
			}
		}
		for bi, batch := range ph.Batches {
			for hi, host := range batch {
				hf := fmt.Sprintf("%s.batches[%d][%d]", field, bi, hi)
				if host == "" {
					fe.Add(hf, "is empty")
					continue
				}
				if _, ok := p.Hosts[host]; !ok {
					fe.Add(hf, "names host %q, which is not in hosts", host)
				}
				if prev, dup := seen[host]; dup {
					fe.Add(hf, "host %q already appears at %s", host, prev)
					continue
				}
				seen[host] = hf
			}
		}
	}
	return fe.Err()
}

// withStepIDs gives every step without an id (a plan from a planner that
// predates step ids) the id the planner would have given it. The caller's
// plan is not written through.
func withStepIDs(p contracts.Plan) contracts.Plan {
	if !slices.ContainsFunc(p.Phases, func(ph contracts.PlannedPhase) bool { return ph.ID == "" }) {
		return p
	}
	p.Phases = slices.Clone(p.Phases)
	for i := range p.Phases {
		if p.Phases[i].ID == "" {
			p.Phases[i].ID = contracts.StepID(p.Phases[i].Name)
		}
	}
	return p
}

// validateStepKind checks what a step's kind requires: only a phase has
// hosts and checks, a wait step a positive wait, and a gate's timeout
// outcome is known.
func validateStepKind(fe *contracts.FieldErrors, field string, ph contracts.PlannedPhase) {
	switch ph.Kind {
	case contracts.StepPhase, contracts.StepGate, contracts.StepWait, contracts.StepAnalysis, contracts.StepTraffic:
	default:
		fe.Add(field+".kind", "must be gate, wait, analysis or traffic, or absent for a phase, got %q", ph.Kind)
		return
	}
	if ph.Kind == contracts.StepTraffic {
		if ph.Traffic == nil {
			fe.Add(field+".traffic", "a traffic step needs its switch")
		} else {
			*fe = append(*fe, ph.Traffic.Validate(field+".traffic")...)
		}
	}
	if ph.Kind == contracts.StepAnalysis && (ph.Analysis == nil || len(ph.Analysis.Checks) == 0) {
		fe.Add(field+".analysis", "an analysis step needs checks")
	}
	if ph.Kind != contracts.StepPhase {
		if len(ph.Batches) > 0 {
			fe.Add(field+".batches", "a %s step has no hosts", ph.Kind)
		}
		if len(ph.Checks) > 0 {
			fe.Add(field+".checks", "a %s step has no checks", ph.Kind)
		}
	}
	if ph.Kind == contracts.StepWait && ph.Wait <= 0 {
		fe.Add(field+".wait", "must be positive, got %s", ph.Wait.D())
	}
	if g := ph.Gate; g != nil {
		switch g.OnTimeout {
		case "", contracts.GateApprove, contracts.GateReject, contracts.GateRollback:
		default:
			fe.Add(field+".gate.on_timeout", "must be approve, reject or rollback, got %q", g.OnTimeout)
		}
	}
}
