package planner

import (
	"context"
	"fmt"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/planner/internal/deps"
)

// unmetRequirements asks the inventory which versions of each required
// application run in the environment and returns a reason for every
// requirement that is not met, or for a constraint that does not parse.
// An error means the inventory could not be read, which may pass.
func (p *planning) unmetRequirements(ctx context.Context, req contracts.DeployRequest) (contracts.FieldErrors, error) {
	if len(req.Requires) == 0 {
		return nil, nil
	}
	app := deps.App{Name: req.App, Version: req.Version}
	var reasons contracts.FieldErrors
	for i, r := range req.Requires {
		if _, err := deps.ParseConstraint(r.Version); err != nil {
			reasons.Add(fmt.Sprintf("requires[%d].version", i), "%v", err)
			continue
		}
		app.Requires = append(app.Requires, deps.Requirement{App: r.App, Constraint: r.Version})
	}
	if len(reasons) > 0 {
		return reasons, nil
	}
	running := map[string][]string{}
	for _, r := range app.Requires {
		env, err := p.inventory.Targets(ctx, req.Environment, r.App)
		if err != nil {
			return nil, err
		}
		for _, h := range env.Hosts {
			if v, ok := h.Versions[r.App]; ok && v.Version != "" {
				running[r.App] = append(running[r.App], v.Version)
			}
		}
	}
	unmet, err := deps.Check(app, running)
	if err != nil {
		return contracts.FieldErrors{{Field: "requires", Message: err.Error()}}, nil
	}
	for _, u := range unmet {
		reasons.Add(fmt.Sprintf("requires[%d]", u.Index), "%s", u.String())
	}
	return reasons, nil
}
