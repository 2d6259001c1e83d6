package e2e

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// TestMultiApplicationRequestThroughTheStack: one HTTP request naming web
// (which requires api) and api rolls out api, then web, each a rollout of
// its own that starts only after the one before completed.
func TestMultiApplicationRequestThroughTheStack(t *testing.T) {
	inv := "environments:\n  - name: qa\n    driver: {sim: {median: 5ms, p99: 20ms}}\n    hosts:\n" +
		"      - {name: qa-01, address: 127.0.0.1:21101, groups: [web]}\n" +
		"      - {name: qa-02, address: 127.0.0.1:21102, groups: [web]}\n"
	h := newHarness(t, harnessOpts{inventory: inv, services: []string{"discovery", "calendar", "planner", "scheduler", "executor", "gateway"}})
	req := contracts.DeployRequest{ID: "rel", Environment: "qa", RequestedBy: "ci",
		Apps: []contracts.AppRelease{
			{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: ">=3.2.0 <4.0.0"}}},
			{App: "api", Version: "3.2.0"},
		},
		Phases: []contracts.PhaseSpec{{Name: "all", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}}}
	status, out := h.api(http.MethodPost, "/v1/rollouts", req)
	if status != http.StatusAccepted || out["rollout"] != "rel" || !reflect.DeepEqual(out["rollouts"], []any{"rel-api", "rel-web"}) {
		t.Fatalf("deploy: %d %v", status, out)
	}
	h.waitState("rel-api", contracts.StateCompleted)
	h.waitState("rel-web", contracts.StateCompleted)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := h.st.JS.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	seq := func(rollout string, typ contracts.EventType) uint64 {
		m, err := stream.GetLastMsgForSubject(ctx, contracts.EventSubject("qa", rollout, typ))
		if err != nil {
			t.Fatalf("%s %s: %v", rollout, typ, err)
		}
		return m.Sequence
	}
	if done, next := seq("rel-api", contracts.EventCompleted), seq("rel-web", contracts.EventPlanned); next < done {
		t.Fatalf("web planned at %d, before api completed at %d", next, done)
	}
	// A cycle is refused at the edge, before anything is queued.
	req.ID = "cyc"
	req.Apps[1].Requires = []contracts.Requirement{{App: "web", Version: "^2"}}
	if status, out := h.api(http.MethodPost, "/v1/rollouts", req); status != http.StatusBadRequest || out["field"] != "apps" {
		t.Fatalf("cycle: %d %v", status, out)
	}
}

// TestMultiApplicationFailureStopsTheRestThroughTheStack: api's only host
// fails, its rollout fails (on_failure abort), and web is rejected naming it without ever
// being planned.
func TestMultiApplicationFailureStopsTheRestThroughTheStack(t *testing.T) {
	inv := "environments:\n  - name: qa\n    driver: {sim: {median: 5ms, p99: 20ms, fail_hosts: [qa-api-01]}}\n" +
		"    applications: {api: {hosts: [qa-api-01]}, web: {hosts: [qa-web-01]}}\n    hosts:\n" +
		"      - {name: qa-api-01, address: 127.0.0.1:21111}\n" +
		"      - {name: qa-web-01, address: 127.0.0.1:21112}\n"
	h := newHarness(t, harnessOpts{inventory: inv, services: []string{"discovery", "calendar", "planner", "scheduler", "executor", "gateway"}})
	req := contracts.DeployRequest{ID: "relf", Environment: "qa", RequestedBy: "ci",
		Apps: []contracts.AppRelease{
			{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: "^3"}}},
			{App: "api", Version: "3.2.0"},
		},
		Failure: contracts.FailurePolicy{OnFailure: contracts.OnFailureAbort},
		Phases:  []contracts.PhaseSpec{{Name: "all"}}}
	if status, out := h.api(http.MethodPost, "/v1/rollouts", req); status != http.StatusAccepted {
		t.Fatalf("deploy: %d %v", status, out)
	}
	h.waitState("relf-api", contracts.StateFailed)

	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	stream, err := h.st.JS.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	var ev contracts.Event
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		m, err := stream.GetLastMsgForSubject(ctx, contracts.EventSubject("qa", "relf-web", contracts.EventRejected))
		if err != nil {
			return err
		}
		_, ev, err = contracts.DecodeEvent(m.Data)
		return err
	})
	if !strings.Contains(ev.Reason, "relf-api of api@3.2.0 ended failed") {
		t.Fatalf("web rejected for %q", ev.Reason)
	}
	if _, err := stream.GetLastMsgForSubject(ctx, contracts.EventSubject("qa", "relf-web", contracts.EventPlanned)); err == nil {
		t.Fatal("web was planned after api failed")
	}
}
