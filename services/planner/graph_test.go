package planner

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func TestGraph(t *testing.T) {
	h := newHarness(t)
	env := contracts.Environment{Name: "production"}
	for i, v := range map[string]map[string]string{
		"h-1": {"web": "2.4.0", "api": "3.4.0", "db": "4.9.0"},
		"h-2": {"db": "5.1.0"},
	} {
		host := contracts.Host{Name: i, Address: i, Versions: map[string]contracts.HostVersion{}}
		for app, ver := range v {
			host.Versions[app] = contracts.HostVersion{Version: ver}
		}
		env.Hosts = append(env.Hosts, host)
	}
	h.serveDiscovery(env)
	h.startPlanner(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	q := contracts.GraphQuery{Environment: "production", Apps: []contracts.GraphApp{
		{App: "web", Version: "2.4.1", Requires: []contracts.Requirement{{App: "api", Version: ">=3.2.0 <4.0.0"}, {App: "cdn", Version: "^2"}}},
		{App: "api", Version: "3.4.0", Requires: []contracts.Requirement{{App: "db", Version: "^5"}}},
	}}
	g, err := natsx.Request[contracts.DependencyGraph](ctx, h.nc, contracts.APIPlannerGraph, q)
	if err != nil {
		t.Fatal(err)
	}
	// The same graph as the deps package's golden files.
	for file, got := range map[string]string{"graph.dot": g.DOT, "graph.mmd": g.Mermaid} {
		want, err := os.ReadFile("internal/deps/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", file, got, want)
		}
	}
	if !slices.Equal(g.Order, []string{"api", "web"}) || len(g.Nodes) != 4 || len(g.Edges) != 3 {
		t.Fatalf("graph %+v", g)
	}

	q.Apps = append(q.Apps, contracts.GraphApp{App: "db", Requires: []contracts.Requirement{{App: "web", Version: ">=1"}}})
	_, err = natsx.Request[contracts.DependencyGraph](ctx, h.nc, contracts.APIPlannerGraph, q)
	if e := contracts.AsError(err); e == nil || e.Field != "apps" || !strings.Contains(e.Message, "cycle: api -> db -> web -> api") {
		t.Fatalf("cycle: %v", err)
	}
	_, err = natsx.Request[contracts.DependencyGraph](ctx, h.nc, contracts.APIPlannerGraph, contracts.GraphQuery{Environment: "production",
		Apps: []contracts.GraphApp{{App: "web", Requires: []contracts.Requirement{{App: "api", Version: "soon"}}}}})
	if err == nil || !strings.Contains(err.Error(), "apps[0].requires[0].version") {
		t.Fatalf("bad constraint: %v", err)
	}
}
