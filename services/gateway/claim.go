package gateway

import (
	"context"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// claimTimeout bounds the planner's answer to a claim.
const claimTimeout = 3 * time.Second

// claim asks the planner whether req's id is free for req before anything
// is published: the same request already decided is its existing rollout
// (existing true), another request under the id is a conflict error. A
// planner that does not answer is no reason to refuse a deploy: the request
// is queued as before, and the planner checks its record when it plans.
func (a *natsAPI) claim(ctx context.Context, req contracts.DeployRequest) (contracts.ClaimReply, error) {
	ctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	reply, err := natsx.Request[contracts.ClaimReply](ctx, a.nc, contracts.APIPlannerClaim, req)
	switch {
	case contracts.IsCode(err, contracts.CodeUnavailable), contracts.IsCode(err, contracts.CodeTimeout):
		a.log.Warn("planner did not answer the claim; queueing the request unchecked", "rollout", req.ID, "err", err)
		return contracts.ClaimReply{}, nil
	case err != nil:
		return contracts.ClaimReply{}, err
	}
	return reply, nil
}
