package gateway

import (
	"context"
	"net/http"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// PromoteReceipt answers an accepted promotion: the new rollout, and the
// completed rollout whose spec it reuses.
type PromoteReceipt struct {
	Receipt
	From            string `json:"from"`
	FromEnvironment string `json:"from_environment"`
}

// PromoteResult is a queued promotion (Receipt) or the planner's reasons to
// refuse it (Refused), in which case nothing was published.
type PromoteResult struct {
	Receipt *PromoteReceipt
	Refused *contracts.PromoteReply
}

// Promote asks the planner for the request that promotes the release, and
// sends it as POST /v1/rollouts would: claimed, then published. The
// planner checks it again when it plans it.
func (a *natsAPI) Promote(ctx context.Context, p contracts.PromoteRequest) (PromoteResult, error) {
	reply, err := natsx.Request[contracts.PromoteReply](ctx, a.nc, contracts.APIPlannerPromote, p)
	if err != nil {
		return PromoteResult{}, err
	}
	if len(reply.Reasons) > 0 {
		return PromoteResult{Refused: &reply}, nil
	}
	rc, err := a.Deploy(ctx, reply.Request)
	if err != nil {
		return PromoteResult{}, err
	}
	return PromoteResult{Receipt: &PromoteReceipt{Receipt: rc, From: reply.From, FromEnvironment: reply.FromEnvironment}}, nil
}

func decodePromote(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := strictBody[contracts.PromoteRequest](w, r, `a promotion as JSON, such as {"app": "web", "version": "2.4.1", "to": "production"}`)
	if err != nil {
		return nil, err
	}
	if p.ID == "" {
		p.ID = NewRolloutID()
	}
	return p, p.Validate()
}

// encodePromote answers 202 with the receipt, or 422 with the reasons the
// planner refuses the promotion, the first reason's code leading (such as
// lifecycle).
func encodePromote(w http.ResponseWriter, resp any) {
	res := resp.(PromoteResult)
	if res.Receipt != nil {
		writeJSON(w, http.StatusAccepted, res.Receipt)
		return
	}
	encodePreview(w, contracts.PreviewReply{Reasons: res.Refused.Reasons})
}
