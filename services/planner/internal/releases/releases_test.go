package releases

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "planner.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func change(typ contracts.EventType, id, app, version, env string, at time.Duration) Change {
	return Change{Type: typ, Rollout: id, App: app, Version: version, Environment: env, At: t0.Add(at)}
}

func TestApplyAndQuery(t *testing.T) {
	s, path := open(t)
	ctx := context.Background()
	planned := change(contracts.EventPlanned, "r-1", "web", "1.0.0", "qa", 0)
	planned.RequestedBy, planned.Strategy, planned.Hosts, planned.Batches = "alice", contracts.StrategyRolling, 4, 2
	failed := change(contracts.EventFailed, "r-2", "web", "1.0.0", "prod", 2*time.Minute)
	failed.EndReason = "3 hosts failed"
	err := s.Apply(ctx, contracts.StreamEvents, 10, []Change{
		planned,
		change(contracts.EventStarted, "r-1", "web", "1.0.0", "qa", time.Minute),
		change(contracts.EventCompleted, "r-1", "web", "1.0.0", "qa", 5*time.Minute),
		// A late started or failed event does not reopen a completed rollout.
		change(contracts.EventStarted, "r-1", "web", "1.0.0", "qa", 6*time.Minute),
		change(contracts.EventFailed, "r-1", "web", "1.0.0", "qa", 7*time.Minute),
		// A rollout whose planned event is gone still counts by its end.
		failed,
		change(contracts.EventPlanned, "r-3", "api", "2.0.0", "qa", 3*time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		app, version, env string
		want              bool
	}{{"web", "1.0.0", "qa", true}, {"web", "1.0.0", "prod", false}, {"web", "1.0.1", "qa", false}, {"api", "2.0.0", "qa", false}} {
		if got, err := s.Completed(ctx, tc.app, tc.version, tc.env); err != nil || got != tc.want {
			t.Errorf("Completed(%s@%s in %s) = %v, %v", tc.app, tc.version, tc.env, got, err)
		}
	}
	all, err := s.History(ctx, contracts.RolloutHistoryQuery{})
	if err != nil || len(all) != 3 || all[0].Rollout != "r-3" || all[1].Rollout != "r-2" || all[2].Rollout != "r-1" {
		t.Fatalf("history = %+v, %v", all, err)
	}
	r1 := all[2]
	if r1.State != contracts.StateCompleted || r1.RequestedBy != "alice" || r1.Hosts != 4 || r1.Batches != 2 ||
		r1.StartedAt == nil || !r1.StartedAt.Equal(t0.Add(time.Minute)) || r1.EndedAt == nil || !r1.EndedAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("r-1 = %+v", r1)
	}
	if r2 := all[1]; r2.State != contracts.StateFailed || r2.EndReason != "3 hosts failed" {
		t.Fatalf("r-2 = %+v", r2)
	}
	for _, tc := range []struct {
		q    contracts.RolloutHistoryQuery
		want int
	}{
		{contracts.RolloutHistoryQuery{App: "web"}, 2},
		{contracts.RolloutHistoryQuery{Environment: "qa"}, 2},
		{contracts.RolloutHistoryQuery{App: "web", Environment: "qa"}, 1},
		{contracts.RolloutHistoryQuery{Limit: 1}, 1},
		{contracts.RolloutHistoryQuery{App: "nope"}, 0},
	} {
		if got, err := s.History(ctx, tc.q); err != nil || len(got) != tc.want {
			t.Errorf("History(%+v) = %d rollouts, %v; want %d", tc.q, len(got), err, tc.want)
		}
	}
	runs, err := s.Durations(ctx, "web", "qa", 5)
	if err != nil || len(runs) != 1 || runs[0] != (Run{Batches: 2, Duration: 4 * time.Minute}) {
		t.Fatalf("durations = %+v, %v", runs, err)
	}

	// The cursor is stored with the changes and survives a reopen.
	if err := s.Accept(ctx, "r-1", []byte(`{"id":"r-1"}`)); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	again, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if seq, err := again.Cursor(ctx, contracts.StreamEvents); err != nil || seq != 10 {
		t.Fatalf("cursor = %d, %v", seq, err)
	}
	src, ok, err := again.LastCompleted(ctx, "web", "1.0.0")
	if err != nil || !ok || src.Rollout != "r-1" || src.Environment != "qa" || string(src.Body) != `{"id":"r-1"}` {
		t.Fatalf("last completed = %+v, %v, %v", src, ok, err)
	}
	if _, ok, err := again.LastCompleted(ctx, "api", "2.0.0"); ok || err != nil {
		t.Fatalf("api has not completed: %v %v", ok, err)
	}
}

func TestFromEvent(t *testing.T) {
	plan := &contracts.Plan{Strategy: contracts.StrategyRolling, RequestedBy: "bob", Reason: "weekly",
		LifecycleOverride: &contracts.LifecycleOverride{Missing: "staging", Reason: "hotfix"},
		Phases:            []contracts.PlannedPhase{{Batches: [][]string{{"a"}, {"b", "c"}}}}}
	ev := contracts.Event{Rollout: "r-1", App: "web", Version: "1.0.0", Environment: "prod", Plan: plan}
	c, ok := FromEvent(contracts.EventPlanned, t0, ev)
	if !ok || c.RequestedBy != "bob" || c.Override != "hotfix" || c.Hosts != 3 || c.Batches != 2 || c.Reason != "weekly" {
		t.Fatalf("planned change = %+v, %v", c, ok)
	}
	// A plan stored by reference gives the same change from its summary.
	byRef := ev
	byRef.Plan, byRef.PlanRef = nil, &contracts.PlanRef{Summary: contracts.Summarize(*plan)}
	if c2, ok := FromEvent(contracts.EventPlanned, t0, byRef); !ok || c2 != c {
		t.Fatalf("by reference = %+v, want %+v", c2, c)
	}
	if _, ok := FromEvent(contracts.EventHostSucceeded, t0, ev); ok {
		t.Fatal("host events are not kept")
	}
	ev.App = ""
	if _, ok := FromEvent(contracts.EventCompleted, t0, ev); ok {
		t.Fatal("an event without its release is not kept")
	}
}
