package planner

import (
	"context"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func TestRequirements(t *testing.T) {
	h := newHarness(t)
	env := prod()
	// api runs 3.4.0 on every host; db runs 5.1.0 on one host and 4.9.0
	// on another.
	for i := range env.Hosts {
		env.Hosts[i].Versions["api"] = contracts.HostVersion{Version: "3.4.0"}
	}
	env.Hosts[0].Versions["db"] = contracts.HostVersion{Version: "5.1.0"}
	env.Hosts[1].Versions["db"] = contracts.HostVersion{Version: "4.9.0"}
	h.serveDiscovery(env)
	h.startPlanner(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	preview := func(reqs ...contracts.Requirement) contracts.PreviewReply {
		t.Helper()
		req := deployRequest("")
		req.Requires = reqs
		reply, err := natsx.Request[contracts.PreviewReply](ctx, h.nc, contracts.APIPlannerPreview, req)
		if err != nil {
			t.Fatal(err)
		}
		return reply
	}

	if r := preview(contracts.Requirement{App: "api", Version: ">=3.2.0 <4.0.0"}); r.Plan == nil || r.Reasons != nil {
		t.Fatalf("satisfied: %+v", r)
	}
	r := preview(
		contracts.Requirement{App: "api", Version: ">=3.2.0 <4.0.0"},
		contracts.Requirement{App: "db", Version: "^5"},
		contracts.Requirement{App: "queue", Version: ">=1"},
	)
	var got []string
	for _, fe := range r.Reasons {
		got = append(got, fe.Field+": "+fe.Message)
	}
	want := "requires[1]: requires db ^5, but the environment runs 4.9.0, 5.1.0\n" +
		"requires[2]: requires queue >=1, which does not run in the environment"
	if r.Plan != nil || strings.Join(got, "\n") != want {
		t.Fatalf("unmet: plan %v, reasons:\n%s\nwant:\n%s", r.Plan != nil, strings.Join(got, "\n"), want)
	}
	if r := preview(contracts.Requirement{App: "api", Version: "soon"}); len(r.Reasons) != 1 || r.Reasons[0].Field != "requires[0].version" {
		t.Fatalf("bad constraint: %+v", r.Reasons)
	}
}
