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
	var q contracts.RolloutHistoryQuery
	for k, vs := range r.URL.Query() {
		if len(vs) != 1 {
			return nil, contracts.Invalid(k, "is given %d times", len(vs))
		}
		switch v := vs[0]; k {
		case "environment":
			q.Environment = v
		case "app":
			q.App = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, contracts.Invalid("limit", "must be a whole number from 1 to %d, got %q", contracts.MaxHistoryLimit, v)
			}
			q.Limit = n
		case "":
			return nil, contracts.Invalid("query", "has a parameter without a name")
		default:
			return nil, contracts.Invalid(k, "is not a parameter of this operation (known: app, environment, limit)")
		}
	}
	return q, q.Validate()
}
