package planner

import (
	"context"
	"fmt"
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
