package plan

import (
	"reflect"
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
