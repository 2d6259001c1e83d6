package e2e

import (
	"context"
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// Through every service: a phase's own budget (phases[i].max_failed) is
// crossed though the rollout's is not, guided failure pauses with an offer
// for the failed host, and skipping that host (exclude) runs the rollout
// to its end.
func TestGuidedFailureWithStepBudget(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {fail_hosts: [web-03]}}")})
	ctx := context.Background()
	zero := contracts.Size{}
	req := threePhases("r-guided")
	req.Phases[1].MaxFailed = &zero
	req.Failure = contracts.FailurePolicy{MaxFailed: contracts.Size{Count: 5}, OnFailure: contracts.OnFailureGuided}
	h.deploy(ctx, req)
	v := h.waitState("r-guided", contracts.StatePaused)
	if v.Reason != "failure threshold of step east crossed: 1 failed, 0 tolerated" {
		t.Fatalf("reason %q", v.Reason)
	}
	if len(v.Offer) != 1 || v.Offer[0].Host != "web-03" || len(v.Offer[0].Choices) != 4 ||
		v.Offer[0].Choices[1].Command != "rollwave exclude r-guided web-03" {
		t.Fatalf("offer %+v", v.Offer)
	}
	if _, err := natsx.Request[contracts.RolloutSummary](ctx, h.st.NC, contracts.ControlSubject("r-guided", contracts.VerbExclude),
		contracts.ControlCommand{Actor: "alice", Reason: "broken disk", Host: "web-03"}); err != nil {
		t.Fatal(err)
	}
	v = h.waitState("r-guided", contracts.StateCompleted)
	if v.Counts.Succeeded != 9 || v.Counts.Excluded != 1 || v.Counts.Failed != 0 {
		t.Fatalf("counts %+v", v.Counts)
	}
	var sawOffer bool
	for _, e := range h.events("r-guided") {
		if e.Type == contracts.EventPaused && len(e.Event.Offer) == 1 {
			sawOffer = true
		}
	}
	if !sawOffer {
		t.Fatal("no paused event with the offer")
	}
}
