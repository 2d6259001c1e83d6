package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// releaseLog says whether a release completed in an environment.
type releaseLog interface {
	Completed(ctx context.Context, app, version, env string) (bool, error)
}

// checkLifecycle holds a request back until its release completed in the
// environment before its own in the lifecycle that discovery says applies
// (env.Lifecycle). An override with a reason lets it through; the plan then
// records what was skipped. An error means the record could not be read,
// which may pass.
func (p *planning) checkLifecycle(ctx context.Context, req contracts.DeployRequest, env contracts.Environment, pl *contracts.Plan) (contracts.FieldErrors, error) {
	reasons, skipped, err := p.lifecycle(ctx, req, env.Lifecycle)
	if skipped != nil {
		pl.LifecycleOverride = skipped
	}
	return reasons, err
}

// lifecycle decides a request against the order of environments it
// belongs to: nil when it may go, the reason when not, and the override
// record when an override let it through.
func (p *planning) lifecycle(ctx context.Context, req contracts.DeployRequest, order []string) (contracts.FieldErrors, *contracts.LifecycleOverride, error) {
	at := slices.Index(order, req.Environment)
	if at <= 0 {
		return nil, nil, nil
	}
	before := order[at-1]
	if p.releases == nil {
		return nil, nil, fmt.Errorf("lifecycle of %s: no rollout record", req.Environment)
	}
	ok, err := p.releases.Completed(ctx, req.App, req.Version, before)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("lifecycle of %s: %w", req.Environment, err)
	case ok:
		return nil, nil, nil
	case req.Override != nil && req.Override.Lifecycle:
		return nil, &contracts.LifecycleOverride{Missing: before, Reason: req.Override.Reason, By: req.RequestedBy}, nil
	}
	return contracts.FieldErrors{{Field: "environment", Code: contracts.CodeLifecycle,
		Message: fmt.Sprintf("%s@%s has not completed in %s, which comes before %s in the lifecycle %s: deploy it to %s first, or override with override.lifecycle and override.reason",
			req.App, req.Version, before, req.Environment, strings.Join(order, " → "), before)}}, nil, nil
}

// lifecycleRefusal is the lifecycle check alone, for claims: the gateway
// can then answer 422 before anything is published. Whatever cannot be
// read lets the request through to the consumer, which checks again.
func (p *planning) lifecycleRefusal(ctx context.Context, req contracts.DeployRequest) *contracts.Error {
	env, err := p.inventory.Targets(ctx, req.Environment, req.App)
	if err != nil || len(env.Lifecycle) == 0 {
		return nil
	}
	reasons, _, err := p.lifecycle(ctx, req, env.Lifecycle)
	if err != nil || len(reasons) == 0 {
		return nil
	}
	r := reasons[0]
	return &contracts.Error{Code: r.Code, Field: r.Field, Message: r.Message}
}

// overrideNote is the planned event's reason when the lifecycle was
// skipped, for the audit trail.
func overrideNote(p contracts.Plan) string {
	o := p.LifecycleOverride
	if o == nil {
		return ""
	}
	by := o.By
	if by == "" {
		by = "an unnamed requester"
	}
	return fmt.Sprintf("lifecycle overridden by %s: %s@%s had not completed in %s; reason: %s", by, p.App, p.Version, o.Missing, o.Reason)
}

// accept records the request a planned rollout comes from before its
// verdict goes out; when it cannot, the request comes back later.
func (s *Service) accept(ctx context.Context, log *slog.Logger, msg jetstream.Msg, md *jetstream.MsgMetadata, req contracts.DeployRequest) bool {
	body, err := json.Marshal(req)
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, publishTimeout)
		err = s.releases.Accept(actx, req.ID, body)
		cancel()
	}
	if err != nil {
		delay := retryDelay(md.NumDelivered, s.cfg.RetryBackoff, s.cfg.MaxRetryBackoff)
		log.Error("record the accepted request; retrying", "err", err, "in", delay)
		_ = msg.NakWithDelay(delay)
		return false
	}
	return true
}
