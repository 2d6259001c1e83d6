package planner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func errNotYet(v any) error { return fmt.Errorf("not yet: %+v", v) }

// historyNow asks the planner for history once.
func (h *harness) historyNow(q contracts.RolloutHistoryQuery) []contracts.RolloutRecord {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	got, err := natsx.Request[contracts.RolloutHistory](ctx, h.nc, contracts.APIPlannerHistory, q)
	if err != nil {
		h.t.Fatal(err)
	}
	return got.Rollouts
}

// history waits until the planner's history for q holds n rollouts.
func (h *harness) history(q contracts.RolloutHistoryQuery, n int) []contracts.RolloutRecord {
	h.t.Helper()
	var got []contracts.RolloutRecord
	natstest.CheckFor(h.t, wait, 10*time.Millisecond, func() error {
		if got = h.historyNow(q); len(got) != n {
			return errNotYet(got)
		}
		return nil
	})
	return got
}

func TestHistoryFromTheRecord(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(staging(), prod())
	h.startPlanner(Config{})
	h.deployStaging("r-a", "2.4.0", contracts.EventCompleted)
	h.deployStaging("r-b", "2.5.0", contracts.EventFailed)
	h.clock.Advance(time.Minute)
	req := deployRequest("r-c")
	req.RequestedBy = "carol"
	h.publishRequest(context.Background(), req)

	all := h.history(contracts.RolloutHistoryQuery{}, 3)
	if all[0].Rollout != "r-c" || all[1].Rollout != "r-b" || all[2].Rollout != "r-a" {
		t.Fatalf("newest first: %+v", all)
	}
	if c := all[0]; c.State != contracts.StatePlanned || c.RequestedBy != "carol" || c.Environment != "prod" || c.Hosts != 4 || c.Strategy != contracts.StrategyRolling {
		t.Errorf("r-c = %+v", c)
	}
	if b := all[1]; b.State != contracts.StateFailed || b.EndReason != "2 hosts failed" || b.StartedAt == nil || b.EndedAt == nil ||
		b.EndedAt.Sub(*b.StartedAt) != 3*time.Minute || b.RequestedBy != "ci" || b.Version != "2.5.0" {
		t.Errorf("r-b = %+v", b)
	}
	if a := all[2]; a.State != contracts.StateCompleted || a.EndReason != "" {
		t.Errorf("r-a = %+v", a)
	}
	if got := h.historyNow(contracts.RolloutHistoryQuery{Environment: "staging"}); len(got) != 2 {
		t.Errorf("staging: %+v", got)
	}
	if got := h.historyNow(contracts.RolloutHistoryQuery{Environment: "staging", Limit: 1}); len(got) != 1 || got[0].Rollout != "r-b" {
		t.Errorf("staging, limit 1: %+v", got)
	}
	if got := h.historyNow(contracts.RolloutHistoryQuery{App: "api"}); len(got) != 0 {
		t.Errorf("api: %+v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := natsx.Request[contracts.RolloutHistory](ctx, h.nc, contracts.APIPlannerHistory, contracts.RolloutHistoryQuery{Limit: 5000})
	if e := contracts.AsError(err); e == nil || e.Code != contracts.CodeInvalid || e.Field != "limit" {
		t.Fatalf("limit 5000: %v", err)
	}
	_, err = natsx.Request[contracts.RolloutHistory](ctx, h.nc, contracts.APIPlannerHistory, map[string]any{"app": "web", "env": "qa"})
	if e := contracts.AsError(err); e == nil || e.Field != "env" {
		t.Fatalf("unknown field: %v", err)
	}
}
