package plan

import (
	"slices"

	"github.com/rollwave/rollwave/contracts"
)

// expandCanary lays a strategy canary request out as the steps it stands
// for, over the app's eligible hosts (sorted by name): canary (the first
// canary.hosts of them), analysis, promote (a gate step, when manual) and
// rest (the others, in batches of canary.batch). on_failure defaults to
// rollback. Any other request is returned as it is.
func expandCanary(req contracts.DeployRequest, names []string, problems contracts.FieldErrors) (contracts.DeployRequest, contracts.FieldErrors) {
	c := req.Canary
	if req.Strategy != contracts.StrategyCanary || c == nil {
		return req, problems
	}
	n := min(max(c.Hosts.Of(len(names)), 1), len(names))
	if n >= len(names) && len(names) > 0 {
		problems.Add("canary.hosts", "%s of %d hosts leaves none for the rest: a canary is some of the hosts", c.Hosts, len(names))
		return req, problems
	}
	analysis := c.Analysis
	analysis.Checks = slices.Clone(analysis.Checks)
	steps := []contracts.PhaseSpec{
		{Name: contracts.CanaryStep, Hosts: slices.Clone(names[:n])},
		{Name: contracts.AnalysisStep, Analysis: &analysis},
	}
	if c.Promote == contracts.PromoteManual {
		steps = append(steps, contracts.PhaseSpec{Name: contracts.PromoteStep, Gate: &contracts.PlannedGate{}})
	}
	steps = append(steps, contracts.PhaseSpec{Name: contracts.RestStep, Batch: c.Batch})
	req.Phases = steps
	if req.Failure.OnFailure == "" {
		req.Failure.OnFailure = contracts.OnFailureRollback
	}
	return req, problems
}
