package planner

import (
	"context"
	"errors"
	"fmt"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/planner/internal/deps"
)

// maxGraphApps bounds the applications of one graph query.
const maxGraphApps = 200

// Graph returns the dependency graph of q's applications in q's
// environment, with the versions running there, the rollout order, and
// DOT and Mermaid renderings. A cycle is refused and named.
func (p *planning) Graph(ctx context.Context, q contracts.GraphQuery) (contracts.DependencyGraph, error) {
	var fe contracts.FieldErrors
	if err := contracts.CheckToken("environment", q.Environment); err != nil {
		fe.Add("environment", "%s", contracts.AsError(err).Message)
	} else if len(q.Apps) == 0 {
		apps, err := p.appsDeployed(ctx, q.Environment)
		if err != nil {
			return contracts.DependencyGraph{}, err
		}
		q.Apps = apps
	}
	switch {
	case len(q.Apps) == 0 && fe == nil:
		fe.Add("apps", "no application has completed a rollout in environment %q that this planner recorded: name the applications (rollwave graph -f SPEC)", q.Environment)
	case len(q.Apps) > maxGraphApps:
		fe.Add("apps", "must list 1 to %d applications, got %d", maxGraphApps, len(q.Apps))
	}
	apps := make([]deps.App, 0, len(q.Apps))
	seen := map[string]bool{}
	for i, a := range q.Apps {
		if a.App == "" {
			fe.Add(fmt.Sprintf("apps[%d].app", i), "is required")
			continue
		}
		if seen[a.App] {
			fe.Add(fmt.Sprintf("apps[%d].app", i), "repeats %q", a.App)
		}
		seen[a.App] = true
		app := deps.App{Name: a.App, Version: a.Version}
		for j, r := range a.Requires {
			if _, err := deps.ParseConstraint(r.Version); err != nil {
				fe.Add(fmt.Sprintf("apps[%d].requires[%d].version", i, j), "%v", err)
			}
			app.Requires = append(app.Requires, deps.Requirement{App: r.App, Constraint: r.Version})
		}
		apps = append(apps, app)
	}
	if err := fe.Err(); err != nil {
		return contracts.DependencyGraph{}, err
	}
	order, err := deps.Order(apps)
	if ce := (*deps.CycleError)(nil); errors.As(err, &ce) {
		return contracts.DependencyGraph{}, contracts.Invalid("apps", "%s", ce.Error())
	}
	running := map[string][]string{}
	ask := map[string]bool{}
	for _, a := range apps {
		ask[a.Name] = true
		for _, r := range a.Requires {
			ask[r.App] = true
		}
	}
	for app := range ask {
		env, err := p.inventory.Targets(ctx, q.Environment, app)
		if err != nil {
			return contracts.DependencyGraph{}, err
		}
		for _, h := range env.Hosts {
			if v, ok := h.Versions[app]; ok && v.Version != "" {
				running[app] = append(running[app], v.Version)
			}
		}
	}
	g := deps.Build(q.Environment, apps, running)
	out := contracts.DependencyGraph{Environment: q.Environment, Order: order, DOT: g.DOT(), Mermaid: g.Mermaid(),
		Nodes: make([]contracts.GraphNode, 0, len(g.Nodes)), Edges: make([]contracts.GraphEdge, 0, len(g.Edges))}
	for _, n := range g.Nodes {
		out.Nodes = append(out.Nodes, contracts.GraphNode{App: n.App, Versions: n.Versions})
	}
	for _, e := range g.Edges {
		out.Edges = append(out.Edges, contracts.GraphEdge(e))
	}
	return out, nil
}

// graphHandler serves graphs on rollwave.api.planner.graph.
func graphHandler(p *planning) natsx.Handler {
	return natsx.Handler{
		Subject:  contracts.APIPlannerGraph,
		Decode:   natsx.DecodeJSON[contracts.GraphQuery](),
		Endpoint: natsx.Typed(p.Graph),
	}
}
