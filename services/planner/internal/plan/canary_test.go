package plan

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func canaryRequest(hosts contracts.Size, promote contracts.Promote) contracts.DeployRequest {
	req := request()
	req.Strategy = contracts.StrategyCanary
	req.Checks = map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz"}}}
	req.Canary = &contracts.CanarySpec{Hosts: hosts, Promote: promote, Batch: batch(count(2)),
		Analysis: contracts.AnalysisSpec{Checks: []string{"healthz"}, Interval: contracts.Duration(time.Minute), Count: 3, FailureLimit: 1}}
	return req
}

// strategy canary expands into canary -> analysis -> (promote gate) ->
// rest, rolling back on failure by default.
func TestCanaryExpands(t *testing.T) {
	p, err := Build(canaryRequest(pct(20), contracts.PromoteManual), env(hosts(5)), now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Phases {
		got = append(got, s.ID+":"+s.Kind.String()+":"+names(s.Batches))
	}
	want := []string{"canary:phase:01", "analysis:analysis:", "promote:gate:", "rest:phase:02,03 | 04,05"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	if a := p.Phases[1].Analysis; a == nil || a.Count != 3 || a.FailureLimit != 1 || !reflect.DeepEqual(a.Checks, []string{"healthz"}) {
		t.Fatalf("analysis %+v", a)
	}
	if p.OnFailure != contracts.OnFailureRollback || p.Strategy != contracts.StrategyCanary {
		t.Fatalf("on_failure %q strategy %q", p.OnFailure, p.Strategy)
	}

	p, err = Build(canaryRequest(count(2), contracts.PromoteAuto), env(hosts(3)), now)
	if err != nil || len(p.Phases) != 3 || names(p.Phases[0].Batches) != "01,02" {
		t.Fatalf("auto promote: %+v %v", p.Phases, err)
	}
}

func TestCanaryRefusals(t *testing.T) {
	_, err := Build(canaryRequest(count(3), contracts.PromoteAuto), env(hosts(3)), now)
	var fe contracts.FieldErrors
	if !errors.As(err, &fe) || fe[0].Field != "canary.hosts" {
		t.Fatalf("canary of every host: %v", err)
	}
	req := canaryRequest(count(1), "later")
	req.Phases = []contracts.PhaseSpec{{Name: "all"}}
	req.Canary.Analysis.Checks = []string{"smo ke"}
	_, err = Build(req, env(hosts(3)), now)
	fe = nil
	if !errors.As(err, &fe) {
		t.Fatalf("bad canary: %v", err)
	}
	var fields []string
	for _, f := range fe {
		fields = append(fields, f.Field)
	}
	if !reflect.DeepEqual(fields, []string{"phases", "canary.analysis.checks[0]", "canary.promote"}) {
		t.Fatalf("fields %v", fields)
	}
}

// An analysis may name a check the environment's operators define, as a
// phase may: it reaches the plan, its templates are rendered for every
// measured host up front, and a name defined nowhere is refused.
func TestCanaryAnalysisUsesEnvironmentChecks(t *testing.T) {
	threshold := 0.01
	e := env(hosts(3))
	e.Checks = map[string]contracts.CheckSpec{"errors": {Prometheus: &contracts.PrometheusCheck{
		URL: "http://prometheus:9090", Query: `rate(errors{instance="{{.Host.Address}}"}[1m])`, Op: "<=", Threshold: &threshold}}}
	req := canaryRequest(count(1), contracts.PromoteAuto)
	req.Canary.Analysis.Checks = []string{"healthz", "errors"}
	p, err := Build(req, e, now)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := p.Checks["errors"]; !ok || c.Prometheus == nil {
		t.Fatalf("plan checks %v", p.Checks)
	}

	e.Checks["errors"].Prometheus.Query = `rate(errors{instance="{{.Host.Params.nope}}"}[1m])`
	_, err = Build(req, e, now)
	var fe contracts.FieldErrors
	if !errors.As(err, &fe) || fe[0].Field != "phases[1].analysis.checks[1].prometheus.query" {
		t.Fatalf("bad template: %v", err)
	}

	req.Canary.Analysis.Checks = []string{"missing"}
	_, err = Build(req, env(hosts(3)), now)
	fe = nil
	if !errors.As(err, &fe) || fe[0].Field != "canary.analysis.checks[0]" || !strings.Contains(fe[0].Message, "defined neither") {
		t.Fatalf("unknown check: %v", err)
	}
}
