package planner

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// TestGraphOfWhatTheEnvironmentWasGiven: a graph query naming no
// applications draws the applications completed in the environment, with
// the requires of the requests they came from.
func TestGraphOfWhatTheEnvironmentWasGiven(t *testing.T) {
	h := newHarness(t)
	env := prod()
	for i := range env.Hosts {
		env.Hosts[i].Versions["api"] = contracts.HostVersion{Version: "3.2.0"}
	}
	h.serveDiscovery(env)
	h.startPlanner(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), chainWait)
	defer cancel()

	_, err := natsx.Request[contracts.DependencyGraph](ctx, h.nc, contracts.APIPlannerGraph, contracts.GraphQuery{Environment: "prod"})
	if e := contracts.AsError(err); e == nil || e.Field != "apps" || !strings.Contains(e.Message, "no application has completed") {
		t.Fatalf("nothing deployed: %v", err)
	}

	deploy := func(id, app, version string, reqs ...contracts.Requirement) {
		req := deployRequest(id)
		req.App, req.Version, req.Requires = app, version, reqs
		h.publishRequest(ctx, req)
		h.chainEvent(contracts.EventSubject("prod", id, contracts.EventPlanned))
		h.schedulerEvent("prod", id, app, version, contracts.EventCompleted, 1, "")
		h.clock.Advance(time.Minute)
	}
	deploy("g-api", "api", "3.2.0")
	// The newer one wins by time, not by id.
	deploy("g-web-z", "web", "2.4.0")
	deploy("g-web-a", "web", "2.5.0", contracts.Requirement{App: "api", Version: ">=3.2.0 <4.0.0"})

	var g contracts.DependencyGraph
	natstest.CheckFor(t, chainWait, 20*time.Millisecond, func() error {
		g, err = natsx.Request[contracts.DependencyGraph](ctx, h.nc, contracts.APIPlannerGraph, contracts.GraphQuery{Environment: "prod"})
		if err != nil {
			return err
		}
		if len(g.Edges) != 1 {
			return fmt.Errorf("graph %+v", g)
		}
		return nil
	})
	e := g.Edges[0]
	if e.From != "web" || e.To != "api" || !e.Met || e.Constraint != ">=3.2.0 <4.0.0" || len(g.Nodes) != 2 ||
		g.Nodes[0].App != "api" || g.Nodes[0].Versions[0] != "3.2.0" || strings.Join(g.Order, ",") != "api,web" ||
		!strings.Contains(g.DOT, `"web" -> "api"`) {
		t.Fatalf("graph %+v", g)
	}
}
