package planner

import (
	"context"
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/planstore"
)

// A plan above the inline limit is stored before its event, which carries
// the reference, the digest and the summary instead of the plan.
func TestLargePlanByReference(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{InlinePlanLimit: 100})
	h.publishRequest(context.Background(), deployRequest("r1"))

	_, _, ev := h.event(contracts.EventSubject("prod", "r1", contracts.EventPlanned))
	if ev.Plan != nil || ev.PlanRef == nil {
		t.Fatalf("event plan %v, ref %+v: want a reference only", ev.Plan != nil, ev.PlanRef)
	}
	ref := *ev.PlanRef
	if err := contracts.CheckPlanRef("plan_ref", "r1", ref); err != nil {
		t.Fatal(err)
	}
	if s := ref.Summary; s.Hosts != 4 || s.Batches != 3 || len(s.Phases) != 2 || s.Phases[1].Hosts != 3 || s.RequestedBy != "ci" {
		t.Errorf("summary = %+v", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	store, err := planstore.Ensure(ctx, h.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := planstore.Get(ctx, store, "r1", &ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.Plan.TotalHosts() != 4 || st.Plan.Hosts["web-02"].PreviousVersion != "2.4.0" {
		t.Errorf("stored plan = %+v", st.Plan)
	}
	h.settled()
	if h.requests(outcomePlanned) != 1 {
		t.Errorf("planned %v", h.requests(outcomePlanned))
	}
	// Exactly one planned event.
	if h.eventCount(contracts.EventSubject("prod", "r1", contracts.EventPlanned)) != 1 {
		t.Error("one planned event")
	}
}

// Below the limit, the plan stays inline and nothing is stored.
func TestSmallPlanInline(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	h.publishRequest(context.Background(), deployRequest("r1"))
	_, _, ev := h.event(contracts.EventSubject("prod", "r1", contracts.EventPlanned))
	if ev.Plan == nil || ev.PlanRef != nil {
		t.Fatalf("plan %v ref %+v", ev.Plan != nil, ev.PlanRef)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	store, err := planstore.Ensure(ctx, h.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := planstore.Get(ctx, store, "r1", nil); err == nil {
		t.Fatal("a small plan was stored")
	}
}

// A planner that stored the plan and crashed before publishing left the
// object behind; planning the request again publishes a reference to that
// object (its digest), even though the inventory now gives another plan.
func TestLargePlanAfterCrashReferencesTheStoredObject(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	store, err := planstore.Ensure(ctx, h.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	earlier := contracts.Plan{Rollout: "r1", App: "web", Version: "2.5.0", Environment: "prod", Strategy: contracts.StrategyRolling,
		Phases: []contracts.PlannedPhase{{Name: "all", ID: "all", Batches: [][]string{{"web-01"}}}},
		Hosts:  map[string]contracts.PlannedHost{"web-01": {Name: "web-01", Address: "10.0.0.1"}}}
	_, stored, err := planstore.Put(ctx, store, earlier)
	if err != nil {
		t.Fatal(err)
	}
	h.serveDiscovery(prod())
	h.startPlanner(Config{InlinePlanLimit: 100})
	h.publishRequest(context.Background(), deployRequest("r1"))
	_, _, ev := h.event(contracts.EventSubject("prod", "r1", contracts.EventPlanned))
	if ev.PlanRef == nil || ev.PlanRef.SHA256 != stored.SHA256 || ev.PlanRef.Summary.Hosts != 1 {
		t.Fatalf("ref = %+v, want the stored object %s", ev.PlanRef, stored.SHA256)
	}
	if _, err := planstore.Get(ctx, store, "r1", ev.PlanRef); err != nil {
		t.Fatalf("the event does not match the object: %v", err)
	}
}
