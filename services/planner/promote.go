package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/rollwave/rollwave/contracts"
)

// Promote derives a deploy request for p.To from the request of the last
// completed rollout of p.App@p.Version and checks it as the consumer
// would, publishing nothing: the caller sends the request when there are
// no reasons. Hand-picked hosts are kept as they are: a host the target
// environment does not have is a reason naming its field, since moving a
// canary to other hosts silently would change what the spec means.
func (s *Service) Promote(ctx context.Context, p contracts.PromoteRequest) (contracts.PromoteReply, error) {
	if err := p.Validate(); err != nil {
		return contracts.PromoteReply{}, err
	}
	src, ok, err := s.releases.LastCompleted(ctx, p.App, p.Version)
	switch {
	case err != nil:
		s.log.Error("look up the rollout to promote", "app", p.App, "version", p.Version, "err", err)
		return contracts.PromoteReply{}, contracts.Errorf(contracts.CodeUnavailable, "the planner could not read its rollout record")
	case !ok:
		return contracts.PromoteReply{}, &contracts.Error{Code: contracts.CodeNotFound, Field: "version",
			Message: fmt.Sprintf("no completed rollout of %s@%s to promote: deploy it with a spec first", p.App, p.Version)}
	}
	var req contracts.DeployRequest
	if err := json.Unmarshal(src.Body, &req); err != nil {
		s.log.Error("recorded request does not read", "rollout", src.Rollout, "err", err)
		return contracts.PromoteReply{}, contracts.Errorf(contracts.CodeInternal, "the recorded request of rollout %s does not read", src.Rollout)
	}
	req.ID, req.Environment, req.RequestedBy, req.Override = p.ID, p.To, p.RequestedBy, p.Override
	req.Reason = p.Reason
	if req.Reason == "" {
		req.Reason = fmt.Sprintf("promoted from %s (rollout %s)", src.Environment, src.Rollout)
	}
	// A start time belongs to the rollout it was given for.
	req.StartAt = nil
	reply := contracts.PromoteReply{Request: req, From: src.Rollout, FromEnvironment: src.Environment}
	check := req
	if check.ID == "" {
		check.ID = previewID
	}
	_, reasons, err := s.planning.plan(ctx, check)
	if err != nil {
		return contracts.PromoteReply{}, err
	}
	for i, r := range reasons {
		if handPicked.MatchString(r.Field) {
			reasons[i].Message += fmt.Sprintf(" (hand-picked in the spec of rollout %s in %s: promote keeps hand-picked hosts, so give phases meant for promotion a selector)", src.Rollout, src.Environment)
		}
	}
	reply.Reasons = reasons
	return reply, nil
}

var handPicked = regexp.MustCompile(`^phases\[\d+\]\.hosts\[\d+\]$`)
