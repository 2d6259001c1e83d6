package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// The story of the issue: a web rollout's rest phase must not sweep in
// prod-api-01.
func TestRolloutTargetsOnlyTheAppsHosts(t *testing.T) {
	e := contracts.Environment{Name: "prod", AppsDeclared: true}
	for i := 1; i <= 4; i++ {
		e.Hosts = append(e.Hosts, contracts.Host{Name: fmt.Sprintf("prod-web-%02d", i), Address: "10.0.0.1",
			Groups: []string{"web", "east"}, Apps: []string{"web"}, Driver: sim()})
	}
	e.Hosts = append(e.Hosts, contracts.Host{Name: "prod-api-01", Address: "10.0.0.9", Groups: []string{"api", "east"}, Apps: []string{"api"}, Driver: sim()})

	req := contracts.DeployRequest{ID: "r", App: "web", Version: "2.4.1", Environment: "prod", Phases: []contracts.PhaseSpec{
		{Name: "canary", Hosts: []string{"prod-web-01"}},
		{Name: "east", Selector: &contracts.Selector{Group: "east"}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}},
	}}
	p, err := Build(req, e, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Hosts["prod-api-01"]; ok || p.TotalHosts() != 4 {
		t.Fatalf("plan hosts %v", p.Hosts)
	}
	if fmt.Sprint(p.Phases[1].Batches) != "[[prod-web-02] [prod-web-03] [prod-web-04]]" {
		t.Fatalf("phases %+v", p.Phases)
	}

	// A rest phase takes the rest of web's hosts, never api's.
	req.Phases = []contracts.PhaseSpec{{Name: "canary", Hosts: []string{"prod-web-01"}}, {Name: "rest"}}
	if p, err = Build(req, e, now); err != nil || fmt.Sprint(p.Phases[1].Batches) != "[[prod-web-02 prod-web-03 prod-web-04]]" {
		t.Fatalf("rest: %+v, %v", p.Phases, err)
	}

	// A hand-picked host that does not run web is refused, naming it.
	req.Phases = []contracts.PhaseSpec{{Name: "canary", Hosts: []string{"prod-api-01"}}, {Name: "rest"}}
	_, err = Build(req, e, now)
	if fe := contracts.AsFieldErrors(err); len(fe) == 0 || fe[0].Field != "phases[0].hosts[0]" || !strings.Contains(fe[0].Message, `host "prod-api-01" does not run "web"`) {
		t.Fatalf("foreign host: %v", err)
	}

	// An app no host runs.
	req.App, req.Phases = "db", []contracts.PhaseSpec{{Name: "all"}}
	_, err = Build(req, e, now)
	if fe := contracts.AsFieldErrors(err); len(fe) == 0 || fe[0].Field != "app" || !strings.Contains(fe[0].Message, `no host of environment "prod" runs "db"`) {
		t.Fatalf("app without hosts: %v", err)
	}

	// Without declared applications every host runs every app, as before.
	e.AppsDeclared = false
	req.App = "web"
	if p, err = Build(req, e, now); err != nil || p.TotalHosts() != 5 {
		t.Fatalf("undeclared: %d hosts, %v", p.TotalHosts(), err)
	}
}
