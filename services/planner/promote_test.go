package planner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func (h *harness) promote(p contracts.PromoteRequest) (contracts.PromoteReply, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return natsx.Request[contracts.PromoteReply](ctx, h.nc, contracts.APIPlannerPromote, p)
}

// promoteWhenKnown promotes once the release's completion is in the
// record (it may still be on its way from the stream).
func (h *harness) promoteWhenKnown(p contracts.PromoteRequest) contracts.PromoteReply {
	h.t.Helper()
	var reply contracts.PromoteReply
	natstest.CheckFor(h.t, wait, 10*time.Millisecond, func() error {
		var err error
		reply, err = h.promote(p)
		return err
	})
	return reply
}

func qa() contracts.Environment {
	e := staging()
	e.Name = "qa"
	for i := range e.Hosts {
		e.Hosts[i].Name = strings.Replace(e.Hosts[i].Name, "stg", "qa", 1)
	}
	return e
}

// deployIn plans req and ends it completed, as the scheduler would.
func (h *harness) deployIn(req contracts.DeployRequest) {
	h.t.Helper()
	h.publishRequest(context.Background(), req)
	h.event(contracts.EventSubject(req.Environment, req.ID, contracts.EventPlanned))
	h.schedulerEvent(req.Environment, req.ID, req.App, req.Version, contracts.EventStarted, 1, "")
	h.schedulerEvent(req.Environment, req.ID, req.App, req.Version, contracts.EventCompleted, 2, "")
}

func TestPromotionRefusedUntilStagingPassedThenOverridden(t *testing.T) {
	h := newHarness(t)
	order := []string{"qa", "staging", "prod"}
	q, s, p := qa(), staging(), prod()
	q.Lifecycle, s.Lifecycle, p.Lifecycle = order, order, order
	h.serveDiscovery(q, s, p)
	h.startPlanner(Config{})

	spec := stagingRequest("r-qa", "2.5.0")
	spec.Environment = "qa"
	spec.Checks = map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz"}}}
	spec.Phases[0].Checks = []string{"healthz"}
	spec.Team = "web-team"
	h.deployIn(spec)

	// qa passed, staging has not: prod is refused, naming staging.
	pr := contracts.PromoteRequest{App: "web", Version: "2.5.0", To: "prod", ID: "r-prod", RequestedBy: "alice"}
	reply := h.promoteWhenKnown(pr)
	if len(reply.Reasons) != 1 || reply.Reasons[0].Code != contracts.CodeLifecycle || !strings.Contains(reply.Reasons[0].Message, "not completed in staging") {
		t.Fatalf("reasons = %+v", reply.Reasons)
	}
	if reply.From != "r-qa" || reply.FromEnvironment != "qa" {
		t.Fatalf("from = %s in %s", reply.From, reply.FromEnvironment)
	}

	// With an override, the same promotion goes through, and the derived
	// request keeps the spec with prod's hosts.
	pr.Override = &contracts.Override{Lifecycle: true, Reason: "customer outage, INC-7"}
	reply, err := h.promote(pr)
	if err != nil || len(reply.Reasons) != 0 {
		t.Fatalf("override: %+v, %v", reply, err)
	}
	got := reply.Request
	if got.ID != "r-prod" || got.Environment != "prod" || got.RequestedBy != "alice" || got.Team != "web-team" ||
		got.Checks["healthz"].HTTP == nil || len(got.Phases) != 1 || got.Phases[0].Selector == nil || got.Override == nil ||
		!strings.Contains(got.Reason, "promoted from qa (rollout r-qa)") {
		t.Fatalf("derived request = %+v", got)
	}
	// Nothing was published for it yet: promote only derives and checks.
	if n := h.eventCount(contracts.EventFilter("prod", "", "")); n != 0 {
		t.Fatalf("promote published %d events", n)
	}
	// Sent as the gateway sends it, it is planned with the override in the
	// planned event, for the audit trail.
	h.publishRequest(context.Background(), got)
	_, _, ev := h.event(contracts.EventSubject("prod", "r-prod", contracts.EventPlanned))
	if ev.Plan.LifecycleOverride == nil || ev.Plan.LifecycleOverride.Missing != "staging" ||
		!strings.Contains(ev.Reason, "customer outage, INC-7") || ev.Plan.TotalHosts() != 4 {
		t.Fatalf("planned = %+v / %+v", ev, ev.Plan)
	}
}

func TestPromoteHandPickedHostsAndUnknownReleases(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(staging(), prod())
	h.startPlanner(Config{})
	spec := stagingRequest("r-stg", "3.0.0")
	spec.Phases = append([]contracts.PhaseSpec{{Name: "canary", Hosts: []string{"stg-01"}}}, spec.Phases...)
	h.deployIn(spec)

	reply := h.promoteWhenKnown(contracts.PromoteRequest{App: "web", Version: "3.0.0", To: "prod"})
	if len(reply.Reasons) != 1 {
		t.Fatalf("reply = %+v", reply)
	}
	if r := reply.Reasons[0]; r.Field != "phases[0].hosts[0]" || !strings.Contains(r.Message, `unknown host "stg-01"`) ||
		!strings.Contains(r.Message, "give phases meant for promotion a selector") {
		t.Fatalf("reason = %+v", r)
	}

	_, err := h.promote(contracts.PromoteRequest{App: "web", Version: "9.9.9", To: "prod"})
	if e := contracts.AsError(err); e == nil || e.Code != contracts.CodeNotFound || e.Field != "version" {
		t.Fatalf("unknown release: %v", err)
	}
	_, err = h.promote(contracts.PromoteRequest{App: "web", Version: "3.0.0"})
	if e := contracts.AsError(err); e == nil || e.Code != contracts.CodeInvalid || e.Field != "to" {
		t.Fatalf("no target: %v", err)
	}
	_, err = h.promote(contracts.PromoteRequest{App: "web", Version: "3.0.0", To: "prod", Override: &contracts.Override{Lifecycle: true}})
	if e := contracts.AsError(err); e == nil || e.Field != "override.reason" {
		t.Fatalf("override without a reason: %v", err)
	}
}
