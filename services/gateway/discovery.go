package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// DiscoveryStatus asks discovery for the state of its inventory sources.
func (a *natsAPI) DiscoveryStatus(ctx context.Context) (contracts.DiscoveryStatus, error) {
	st, err := natsx.Request[contracts.DiscoveryStatus](ctx, a.nc, contracts.APIDiscoveryStatus, contracts.DiscoveryStatusQuery{})
	if st.Sources == nil {
		st.Sources = []contracts.SourceStatus{}
	}
	return st, err
}

// decodeNothing accepts a request that takes no input; a query string is
// refused so that a typo is not silently ignored.
func decodeNothing(_ http.ResponseWriter, r *http.Request) (any, error) {
	for k := range r.URL.Query() {
		return nil, contracts.Invalid(k, "is not a parameter of this operation")
	}
	return nil, nil
}

// Graph asks the planner for the dependency graph of applications.
func (a *natsAPI) Graph(ctx context.Context, q contracts.GraphQuery) (contracts.DependencyGraph, error) {
	return natsx.Request[contracts.DependencyGraph](ctx, a.nc, contracts.APIPlannerGraph, q)
}

func decodeGraph(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := strictBody[contracts.GraphQuery](w, r, "the environment and applications as JSON")
	if err != nil {
		return nil, err
	}
	return q, nil
}

// History asks discovery for the version history.
func (a *natsAPI) History(ctx context.Context, q contracts.HistoryQuery) (contracts.History, error) {
	h, err := natsx.Request[contracts.History](ctx, a.nc, contracts.APIDiscoveryHistory, q)
	if h.Entries == nil {
		h.Entries = []contracts.HistoryEntry{}
	}
	return h, err
}

func decodeHistory(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := onlyParams(r, "environment", "host", "app", "limit"); err != nil {
		return nil, err
	}
	v := r.URL.Query()
	q := contracts.HistoryQuery{Environment: v.Get("environment"), Host: v.Get("host"), App: v.Get("app")}
	if v.Has("limit") {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil {
			return nil, contracts.Invalid("limit", "must be a whole number, got %q", v.Get("limit"))
		}
		q.Limit = n
	}
	return q, nil
}
