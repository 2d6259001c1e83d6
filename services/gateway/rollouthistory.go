package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// RolloutHistory asks the planner for past rollouts.
func (a *natsAPI) RolloutHistory(ctx context.Context, q contracts.RolloutHistoryQuery) (contracts.RolloutHistory, error) {
	h, err := natsx.Request[contracts.RolloutHistory](ctx, a.nc, contracts.APIPlannerHistory, q)
	if h.Rollouts == nil {
		h.Rollouts = []contracts.RolloutRecord{}
	}
	return h, err
}

// decodeRolloutHistory reads GET /v1/history?app=&environment=&limit=.
func decodeRolloutHistory(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := onlyParams(r, "app", "environment", "limit"); err != nil {
		return nil, err
	}
	v := r.URL.Query()
	q := contracts.RolloutHistoryQuery{App: v.Get("app"), Environment: v.Get("environment")}
	if v.Has("limit") {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil || n < 1 {
			return nil, contracts.Invalid("limit", "must be a whole number from 1 to %d, got %q", contracts.MaxHistoryLimit, v.Get("limit"))
		}
		q.Limit = n
	}
	return q, q.Validate()
}
