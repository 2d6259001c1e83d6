package scheduler

import (
	"context"
	"slices"

	"github.com/go-kit/kit/endpoint"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/scheduler/internal/store"
)

// queries is what the query endpoints need.
type queries interface {
	Get(ctx context.Context, q contracts.RolloutQuery) (contracts.RolloutView, error)
	List(ctx context.Context, q contracts.RolloutListQuery) (contracts.RolloutList, error)
}

// queryService answers queries from the read model.
type queryService struct{ store *store.Store }

var listStates = []contracts.State{contracts.StateQueued, contracts.StateRunning, contracts.StatePaused,
	contracts.StateCompleted, contracts.StateFailed, contracts.StateAborted, contracts.StateRolledBack}

func (q queryService) Get(ctx context.Context, in contracts.RolloutQuery) (contracts.RolloutView, error) {
	if err := contracts.CheckToken("rollout", in.Rollout); err != nil {
		return contracts.RolloutView{}, err
	}
	return q.store.View(ctx, in.Rollout)
}

func (q queryService) List(ctx context.Context, in contracts.RolloutListQuery) (contracts.RolloutList, error) {
	if in.Environment != "" {
		if err := contracts.CheckToken("environment", in.Environment); err != nil {
			return contracts.RolloutList{}, err
		}
	}
	if in.State != "" && !slices.Contains(listStates, in.State) {
		return contracts.RolloutList{}, contracts.Invalid("state", "must be one of queued, running, paused, completed, failed, aborted, got %q", in.State)
	}
	if in.Limit < 0 || in.Limit > store.MaxListLimit {
		return contracts.RolloutList{}, contracts.Invalid("limit", "must be between 1 and %d (0 for %d), got %d",
			store.MaxListLimit, store.DefaultListLimit, in.Limit)
	}
	return q.store.List(ctx, in)
}

func makeGetEndpoint(q queries) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		return q.Get(ctx, req.(contracts.RolloutQuery))
	}
}

func makeListEndpoint(q queries) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		return q.List(ctx, req.(contracts.RolloutListQuery))
	}
}

// serveQueries subscribes the query endpoints.
func serveQueries(srv *natsx.Server, q queries) error {
	for _, h := range []natsx.Handler{
		{Subject: contracts.APISchedulerGet, Decode: natsx.DecodeJSON[contracts.RolloutQuery](), Endpoint: makeGetEndpoint(q)},
		{Subject: contracts.APISchedulerList, Decode: natsx.DecodeJSON[contracts.RolloutListQuery](), Endpoint: makeListEndpoint(q)},
	} {
		if err := srv.Handle(h); err != nil {
			return err
		}
	}
	return nil
}
