package planner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

var lifecycle = []string{"staging", "prod"}

// staging is the environment before prod: stg-01 and stg-02.
func staging() contracts.Environment {
	e := prod()
	e.Name = "staging"
	for i := range e.Hosts {
		e.Hosts[i].Name = strings.Replace(e.Hosts[i].Name, "web", "stg", 1)
	}
	e.Hosts = e.Hosts[:2]
	e.Lifecycle = lifecycle
	return e
}

func prodInLifecycle() contracts.Environment {
	e := prod()
	e.Lifecycle = lifecycle
	return e
}

func stagingRequest(id, version string) contracts.DeployRequest {
	return contracts.DeployRequest{ID: id, App: "web", Version: version, Environment: "staging", RequestedBy: "ci",
		Phases: []contracts.PhaseSpec{{Name: "all", Selector: &contracts.Selector{Group: "web"}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}}}
}

// schedulerEvent publishes a rollout event as the scheduler does.
func (h *harness) schedulerEvent(env, rollout, app, version string, t contracts.EventType, n int64, reason string) *jetstream.PubAck {
	h.t.Helper()
	ev := contracts.Event{Rollout: rollout, Environment: env, App: app, Version: version, Seq: n, Reason: reason,
		State: map[contracts.EventType]contracts.State{contracts.EventStarted: contracts.StateRunning,
			contracts.EventCompleted: contracts.StateCompleted, contracts.EventFailed: contracts.StateFailed}[t]}
	m, err := natsx.EnvelopeMsg(context.Background(), contracts.EventSubject(env, rollout, t), contracts.EventTypeID(t),
		contracts.EventMsgID(rollout, n), "rollwave/scheduler", rollout, h.clock.Now(), ev)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.publish(m)
}

// deployStaging plans a staging rollout and ends it as the scheduler would.
func (h *harness) deployStaging(id, version string, end contracts.EventType) *jetstream.PubAck {
	h.t.Helper()
	h.publishRequest(context.Background(), stagingRequest(id, version))
	h.event(contracts.EventSubject("staging", id, contracts.EventPlanned))
	h.schedulerEvent("staging", id, "web", version, contracts.EventStarted, 1, "")
	h.clock.Advance(3 * time.Minute)
	return h.schedulerEvent("staging", id, "web", version, end, 2, map[contracts.EventType]string{contracts.EventFailed: "2 hosts failed"}[end])
}

func lifecycleReason(t *testing.T, ev contracts.Event) contracts.FieldError {
	t.Helper()
	if ev.State != contracts.StateRejected || len(ev.Reasons) != 1 {
		t.Fatalf("want one reason, got %+v", ev)
	}
	r := ev.Reasons[0]
	if r.Field != "environment" || r.Code != contracts.CodeLifecycle || !strings.Contains(r.Message, "has not completed in staging") {
		t.Fatalf("reason = %+v", r)
	}
	return r
}

func TestLifecycleRefusesUntilTheEnvironmentBeforeCompleted(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(staging(), prodInLifecycle())
	h.startPlanner(Config{})
	ctx := context.Background()

	req := deployRequest("r-prod-1")
	h.publishRequest(ctx, req)
	_, _, ev := h.event(contracts.EventSubject("prod", "r-prod-1", contracts.EventRejected))
	r := lifecycleReason(t, ev)
	if !strings.Contains(r.Message, "web@2.5.0") || !strings.Contains(r.Message, "staging → prod") {
		t.Errorf("message = %q", r.Message)
	}

	// A failed staging rollout, or a completed one of another version,
	// does not let the release through.
	h.deployStaging("r-stg-failed", "2.5.0", contracts.EventFailed)
	h.deployStaging("r-stg-other", "2.4.9", contracts.EventCompleted)
	req.ID = "r-prod-2"
	h.publishRequest(ctx, req)
	_, _, ev = h.event(contracts.EventSubject("prod", "r-prod-2", contracts.EventRejected))
	lifecycleReason(t, ev)

	// Completed in staging: prod accepts it. The completion was published
	// just now, so this also checks the planner catches up before saying no.
	h.deployStaging("r-stg-ok", "2.5.0", contracts.EventCompleted)
	req.ID = "r-prod-3"
	h.publishRequest(ctx, req)
	_, _, ev = h.event(contracts.EventSubject("prod", "r-prod-3", contracts.EventPlanned))
	if ev.Plan == nil || ev.Plan.LifecycleOverride != nil || ev.Reason != "" {
		t.Fatalf("planned without an override: %+v", ev)
	}

	// Previews answer the same.
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	other := deployRequest("")
	other.Version = "2.6.0"
	reply, err := natsx.Request[contracts.PreviewReply](pctx, h.nc, contracts.APIPlannerPreview, other)
	if err != nil || len(reply.Reasons) != 1 || reply.Reasons[0].Code != contracts.CodeLifecycle {
		t.Fatalf("preview = %+v, %v", reply, err)
	}
	// The first environment of a lifecycle takes any release.
	h.publishRequest(ctx, stagingRequest("r-stg-new", "9.9.9"))
	h.event(contracts.EventSubject("staging", "r-stg-new", contracts.EventPlanned))
}

func TestLifecycleOverrideIsRecorded(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(staging(), prodInLifecycle())
	h.startPlanner(Config{})
	ctx := context.Background()

	req := deployRequest("r-hotfix")
	req.RequestedBy = "alice"
	req.Override = &contracts.Override{Lifecycle: true, Reason: "hotfix for INC-42"}
	h.publishRequest(ctx, req)
	_, _, ev := h.event(contracts.EventSubject("prod", "r-hotfix", contracts.EventPlanned))
	want := contracts.LifecycleOverride{Missing: "staging", Reason: "hotfix for INC-42", By: "alice"}
	if ev.Plan == nil || ev.Plan.LifecycleOverride == nil || *ev.Plan.LifecycleOverride != want {
		t.Fatalf("plan override = %+v", ev.Plan)
	}
	for _, s := range []string{"alice", "staging", "hotfix for INC-42"} {
		if !strings.Contains(ev.Reason, s) {
			t.Errorf("planned event's reason %q lacks %q", ev.Reason, s)
		}
	}

	// The override is in the record, for history.
	hist := h.history(contracts.RolloutHistoryQuery{Environment: "prod"}, 1)
	if hist[0].Rollout != "r-hotfix" || hist[0].LifecycleOverride != "hotfix for INC-42" || hist[0].RequestedBy != "alice" {
		t.Fatalf("history = %+v", hist)
	}

	// An override without a reason is refused, naming the field.
	req.ID, req.Override = "r-hotfix-2", &contracts.Override{Lifecycle: true}
	h.publishRequest(ctx, req)
	_, _, ev = h.event(contracts.EventSubject("prod", "r-hotfix-2", contracts.EventRejected))
	if len(ev.Reasons) != 1 || ev.Reasons[0].Field != "override.reason" {
		t.Fatalf("reasons = %s", reasonsText(ev))
	}
}

func TestLifecycleSurvivesPlannerRestart(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(staging(), prodInLifecycle())
	db := filepath.Join(t.TempDir(), "planner.db")
	first := h.startPlanner(Config{DBPath: db})
	ack := h.deployStaging("r-stg", "2.5.0", contracts.EventCompleted)
	natstest.CheckFor(t, wait, 10*time.Millisecond, func() error {
		if hist := h.historyNow(contracts.RolloutHistoryQuery{Environment: "staging"}); len(hist) != 1 || hist[0].State != contracts.StateCompleted {
			return errNotYet(hist)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// Only the planner's record knows now: the stream forgets staging.
	stream, err := h.js.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSubject(contracts.EventFilter("staging", "", ""))); err != nil {
		t.Fatal(err)
	}
	second := h.startPlanner(Config{DBPath: db})
	if seq, err := second.releases.Cursor(ctx, contracts.StreamEvents); err != nil || seq < ack.Sequence {
		t.Fatalf("cursor after restart = %d, %v; want at least %d", seq, err, ack.Sequence)
	}
	h.publishRequest(ctx, deployRequest("r-prod"))
	_, _, ev := h.event(contracts.EventSubject("prod", "r-prod", contracts.EventPlanned))
	if ev.Plan == nil || ev.Plan.LifecycleOverride != nil {
		t.Fatalf("event = %+v", ev)
	}
}

func TestClaimRefusesALifecycleViolationBeforeTakingTheID(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(staging(), prodInLifecycle())
	h.startPlanner(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req := deployRequest("r-claim")
	_, err := natsx.Request[contracts.ClaimReply](ctx, h.nc, contracts.APIPlannerClaim, req)
	if e := contracts.AsError(err); e == nil || e.Code != contracts.CodeLifecycle || e.Field != "environment" || !strings.Contains(e.Message, "staging") {
		t.Fatalf("claim before staging: %v", err)
	}
	// The id was not taken: the same id with an override is claimed.
	req.Override = &contracts.Override{Lifecycle: true, Reason: "hotfix"}
	reply, err := natsx.Request[contracts.ClaimReply](ctx, h.nc, contracts.APIPlannerClaim, req)
	if err != nil || reply.Rollout != "r-claim" || reply.Existing {
		t.Fatalf("claim with override: %+v, %v", reply, err)
	}
	// The first environment takes any release.
	if _, err := natsx.Request[contracts.ClaimReply](ctx, h.nc, contracts.APIPlannerClaim, stagingRequest("r-claim-stg", "1.0.0")); err != nil {
		t.Fatalf("claim for staging: %v", err)
	}
}
