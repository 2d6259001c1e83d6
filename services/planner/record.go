package planner

import (
	"context"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// recordHandlers serve the rollout record: history and promotions.
func (s *Service) recordHandlers() []natsx.Handler {
	return []natsx.Handler{
		{Subject: contracts.APIPlannerHistory, Decode: natsx.DecodeJSON[contracts.RolloutHistoryQuery](),
			Endpoint: s.gate.Middleware(natsx.Typed(s.History))},
		{Subject: contracts.APIPlannerPromote, Decode: natsx.DecodeJSON[contracts.PromoteRequest](),
			Endpoint: s.gate.Middleware(natsx.Typed(s.Promote))},
	}
}

// History answers a history query from the rollout record.
func (s *Service) History(ctx context.Context, q contracts.RolloutHistoryQuery) (contracts.RolloutHistory, error) {
	if err := q.Validate(); err != nil {
		return contracts.RolloutHistory{}, err
	}
	recs, err := s.releases.History(ctx, q)
	if err != nil {
		s.log.Error("read rollout history", "err", err)
		return contracts.RolloutHistory{}, contracts.Errorf(contracts.CodeUnavailable, "the planner could not read its rollout record")
	}
	return contracts.RolloutHistory{Rollouts: recs}, nil
}
