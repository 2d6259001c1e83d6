package plan

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// Wait and gate steps are laid out as steps without hosts; they do not take
// the rest of the hosts, and the request's gates and action timeout reach
// the plan.
func TestTypedSteps(t *testing.T) {
	bake := contracts.Duration(10 * time.Minute)
	req := request(
		contracts.PhaseSpec{Name: "canary", Hosts: []string{"web-01"}, Gate: &contracts.PlannedGate{After: true, Timeout: contracts.Duration(time.Hour), OnTimeout: contracts.GateRollback}},
		contracts.PhaseSpec{Name: "bake", Wait: &bake},
		contracts.PhaseSpec{Name: "sign-off", Gate: &contracts.PlannedGate{}},
		contracts.PhaseSpec{Name: "rest", Batch: batch(count(2))},
	)
	req.ActionTimeout = contracts.Duration(5 * time.Minute)
	p, err := Build(req, env(hosts(4)), now)
	if err != nil {
		t.Fatal(err)
	}
	want := []contracts.PlannedPhase{
		{ID: "canary", Name: "canary", Batches: [][]string{{"web-01"}},
			Gate: &contracts.PlannedGate{After: true, Timeout: contracts.Duration(time.Hour), OnTimeout: contracts.GateRollback}},
		{ID: "bake", Name: "bake", Kind: contracts.StepWait, Wait: bake},
		{ID: "sign-off", Name: "sign-off", Kind: contracts.StepGate, Gate: &contracts.PlannedGate{}},
		{ID: "rest", Name: "rest", Batches: [][]string{{"web-02", "web-03"}, {"web-04"}}},
	}
	if !reflect.DeepEqual(p.Phases, want) {
		t.Fatalf("steps\n%+v\nwant\n%+v", p.Phases, want)
	}
	if p.ActionTimeout != req.ActionTimeout || p.TotalHosts() != 4 {
		t.Fatalf("action timeout %v, %d hosts", p.ActionTimeout, p.TotalHosts())
	}
	// The step ids do not move with the steps.
	req.Phases[1], req.Phases[2] = req.Phases[2], req.Phases[1]
	p2, err := Build(req, env(hosts(4)), now)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Phases[1].ID != "sign-off" || p2.Phases[2].ID != "bake" {
		t.Fatalf("reordered ids %q %q", p2.Phases[1].ID, p2.Phases[2].ID)
	}
}

// An analysis check URL and a traffic switch are rendered up front, for
// every host measured and for the target.
func TestStepTemplatesRenderUpFront(t *testing.T) {
	req := canaryRequest(count(1), contracts.PromoteAuto)
	req.Checks["healthz"] = contracts.CheckSpec{HTTP: &contracts.HTTPCheck{URL: `{{index .Params "scheme"}}://{{.Host.Address}}/`}}
	_, err := Build(req, env(hosts(3)), now)
	var fe contracts.FieldErrors
	if !errors.As(err, &fe) || fe[0].Field != "phases[1].analysis.checks[0].url" || !strings.Contains(fe[0].Message, `host "web-01"`) {
		t.Fatalf("analysis check: %v", err)
	}
	bg := blueGreenRequest()
	bg.BlueGreen.Traffic = contracts.TrafficSpec{HTTP: &contracts.HTTPTraffic{URL: "{{.Target}}/switch"}}
	_, err = Build(bg, colored(nil), now)
	fe = nil
	if !errors.As(err, &fe) || fe[0].Field != "phases[1].traffic.http.url" || !strings.Contains(fe[0].Message, `"blue/switch"`) {
		t.Fatalf("traffic url: %v", err)
	}
}
