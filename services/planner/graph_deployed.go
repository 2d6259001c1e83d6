package planner

import (
	"context"
	"encoding/json"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/planner/internal/releases"
)

// deployedApps reads what each application was last given in an
// environment, from the rollout record.
type deployedApps interface {
	Deployed(ctx context.Context, env string) ([]releases.Deployed, error)
}

// appsDeployed returns the applications of a graph query that names
// none: each application's newest completed rollout in env, with the
// requires of the request it came from (none when another planner
// planned it: its request is not in this record).
func (p *planning) appsDeployed(ctx context.Context, env string) ([]contracts.GraphApp, error) {
	if p.deployed == nil {
		return nil, nil
	}
	rows, err := p.deployed.Deployed(ctx, env)
	if err != nil {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "the planner could not read its rollout record")
	}
	out := make([]contracts.GraphApp, 0, len(rows))
	for _, r := range rows {
		a := contracts.GraphApp{App: r.App, Version: r.Version}
		var req contracts.DeployRequest
		if r.Body != "" && json.Unmarshal([]byte(r.Body), &req) == nil {
			a.Requires = req.Requires
		}
		out = append(out, a)
	}
	return out, nil
}
