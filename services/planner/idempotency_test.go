package planner

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// Beyond the broker's duplicate window (simulated by a new Nats-Msg-Id),
// ids stay single-use from the planner's own record, across a restart: the
// same request again publishes nothing, and another request under the id is
// a conflict that publishes nothing either: no phantom planned event.
func TestRequestIDsAreSingleUseFromState(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	db := filepath.Join(t.TempDir(), "planner.db")
	ctx := context.Background()
	first := h.startPlanner(Config{DBPath: db})

	req := deployRequest("r-idem")
	h.publishRequest(ctx, req)
	h.event(contracts.EventSubject("prod", "r-idem", contracts.EventPlanned))
	h.settled()
	stopCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := first.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	h.startPlanner(Config{DBPath: db})

	resend := func(msgID string, r contracts.DeployRequest) {
		t.Helper()
		m, err := natsx.EnvelopeMsg(ctx, contracts.SubjectDeployRequest, contracts.TypeDeployRequest, msgID, "test", "", start.Add(time.Hour), r)
		if err != nil {
			t.Fatal(err)
		}
		if ack := h.publish(m); ack.Duplicate {
			t.Fatalf("%s was dropped by the broker", msgID)
		}
	}
	resend("r-idem-again", req)
	other := req
	other.Version = "2.6.0"
	resend("r-idem-other", other)
	h.settled()
	if n := h.eventCount(contracts.EventFilter("", "r-idem", "")); n != 1 {
		t.Fatalf("%d events for r-idem, want its one planned event", n)
	}
	_, _, ev := h.event(contracts.EventSubject("prod", "r-idem", contracts.EventPlanned))
	if ev.Version != "2.5.0" {
		t.Fatalf("planned %s", ev.Version)
	}
	if h.requests(outcomeDuplicate) != 1 || h.requests(outcomeConflict) != 1 {
		t.Fatalf("duplicate %v conflict %v", h.requests(outcomeDuplicate), h.requests(outcomeConflict))
	}

	// The claim API tells a caller the same before it publishes.
	qctx, qcancel := context.WithTimeout(ctx, wait)
	defer qcancel()
	reply, err := natsx.Request[contracts.ClaimReply](qctx, h.nc, contracts.APIPlannerClaim, req)
	if err != nil || !reply.Existing || reply.Rollout != "r-idem" {
		t.Fatalf("claim of the same request: %+v, %v", reply, err)
	}
	_, err = natsx.Request[contracts.ClaimReply](qctx, h.nc, contracts.APIPlannerClaim, other)
	if e := contracts.AsError(err); e == nil || e.Code != contracts.CodeConflict || e.Field != "id" {
		t.Fatalf("claim of another request: %v", err)
	}
	fresh := deployRequest("r-fresh")
	reply, err = natsx.Request[contracts.ClaimReply](qctx, h.nc, contracts.APIPlannerClaim, fresh)
	if err != nil || reply.Existing {
		t.Fatalf("claim of a new id: %+v, %v", reply, err)
	}
	// A claimed id is still planned when its request arrives.
	h.publishRequest(ctx, fresh)
	h.event(contracts.EventSubject("prod", "r-fresh", contracts.EventPlanned))
	// An invalid request is refused and records nothing.
	bad := deployRequest("r-bad")
	bad.Version = "1 2"
	if _, err := natsx.Request[contracts.ClaimReply](qctx, h.nc, contracts.APIPlannerClaim, bad); !contracts.IsCode(err, contracts.CodeInvalid) {
		t.Fatalf("claim of an invalid request: %v", err)
	}
}
