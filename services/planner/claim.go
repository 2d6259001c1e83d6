package planner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/go-kit/kit/endpoint"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/planner/internal/requests"
)

// claimer answers claims of request ids, so that the gateway can tell a
// client about a reused id before anything is published.
type claimer struct {
	store *requests.Store
	svc   *Service
}

// Claim records req's id for req. The same request again is Existing once
// its verdict is out; another request under the id is a conflict.
func (c claimer) Claim(ctx context.Context, req contracts.DeployRequest) (contracts.ClaimReply, error) {
	if err := req.Validate(); err != nil {
		return contracts.ClaimReply{}, err
	}
	// A release that has not passed the environment before is refused
	// before its id is taken, so the same id can come back with an override.
	// A multi-application request is refused here for a cycle or an
	// unmet requirement among its own applications; its members are
	// checked against the environment as they come up.
	var rollouts []string
	if len(req.Apps) > 0 {
		members, reasons := chainMembers(req)
		if reasons != nil {
			return contracts.ClaimReply{}, reasons
		}
		for _, m := range members {
			rollouts = append(rollouts, m.ID)
		}
	} else if refusal := c.svc.planning.lifecycleRefusal(ctx, req); refusal != nil {
		return contracts.ClaimReply{}, refusal
	}
	state, err := c.store.Claim(ctx, req.ID, contracts.RequestDigest(req), c.svc.clock.Now())
	switch {
	case err != nil:
		c.svc.log.Error("claim request id", "rollout", req.ID, "err", err)
		return contracts.ClaimReply{}, contracts.Errorf(contracts.CodeUnavailable, "the planner could not record request %s", req.ID)
	case state == requests.Conflict:
		c.svc.metrics.requests.WithLabelValues(outcomeConflict).Inc()
		return contracts.ClaimReply{}, contracts.ConflictingID(req.ID)
	}
	return contracts.ClaimReply{Rollout: req.ID, Existing: state == requests.Decided, Rollouts: rollouts}, nil
}

func claimHandler(c claimer, mw endpoint.Middleware) natsx.Handler {
	return natsx.Handler{
		Subject:  contracts.APIPlannerClaim,
		Decode:   natsx.DecodeJSON[contracts.DeployRequest](),
		Endpoint: mw(natsx.Typed(c.Claim)),
	}
}

// admit claims a request arriving on the stream. It reports false when the
// request must not be planned: the same request already has its verdict, or
// the id names another request. Either way nothing is published: a repeat
// must not show a phantom planned event, and a conflicting request has no
// rollout of its own to report on.
func (s *Service) admit(ctx context.Context, log *slog.Logger, req contracts.DeployRequest) (bool, error) {
	state, err := s.store.Claim(ctx, req.ID, contracts.RequestDigest(req), s.clock.Now())
	if err != nil {
		return false, fmt.Errorf("admit request: %w", err)
	}
	switch state {
	case requests.Decided:
		log.Info("request already decided; publishing nothing")
		s.metrics.requests.WithLabelValues(outcomeDuplicate).Inc()
		return false, nil
	case requests.Conflict:
		log.Warn("request id already used for a different request; refused, publishing nothing", "code", contracts.CodeConflict)
		s.metrics.requests.WithLabelValues(outcomeConflict).Inc()
		return false, nil
	}
	return true, nil
}
