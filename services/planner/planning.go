package planner

import (
	"context"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/promreg"
	"github.com/rollwave/rollwave/services/planner/internal/plan"
)

// inventory reads one environment's hosts.
type inventory interface {
	Targets(ctx context.Context, env, app string) (contracts.Environment, error)
}

// discoveryClient asks the discovery service over NATS.
type discoveryClient struct {
	nc      *nats.Conn
	timeout time.Duration
}

// Targets reads an environment's hosts in pages (targetpages.go), so a
// large environment fits the stock max_payload.
func (d discoveryClient) Targets(ctx context.Context, env, app string) (contracts.Environment, error) {
	return targetPages(ctx, env, func(ctx context.Context, q contracts.TargetsQuery) (contracts.Environment, error) {
		ctx, cancel := context.WithTimeout(ctx, d.timeout)
		defer cancel()
		q.App = app
		return natsx.Request[contracts.Environment](ctx, d.nc, contracts.APIDiscoveryTargets, q)
	})
}

// planning resolves requests into plans: the inventory lookup around the
// pure plan.Build. The consumer and previews share it.
type planning struct {
	inventory inventory
	clock     clock.Clock
	// releases and runs are set once the rollout record is open (Start).
	releases releaseLog
	runs     runHistory
	deployed deployedApps
	// calendar answers previews' calendar questions.
	calendar admitter
}

// plan returns the plan, or the reasons the request cannot be planned, or
// an error when the inventory could not be read, which may pass.
func (p *planning) plan(ctx context.Context, req contracts.DeployRequest) (contracts.Plan, contracts.FieldErrors, error) {
	// Static problems first: they need no inventory, and an invalid
	// environment name must not reach a query.
	if err := req.Validate(); err != nil {
		return contracts.Plan{}, reasonsOf(err), nil
	}
	if len(req.Apps) > 0 {
		// The consumer splits these (chain.go); each member is planned alone.
		return contracts.Plan{}, contracts.FieldErrors{{Field: "apps",
			Message: "a request naming several applications is planned one application at a time, as its rollouts come up: preview each application on its own"}}, nil
	}
	env, err := p.inventory.Targets(ctx, req.Environment, req.App)
	switch {
	case contracts.IsCode(err, contracts.CodeNotFound):
		return contracts.Plan{}, contracts.FieldErrors{{Field: "environment",
			Message: fmt.Sprintf("unknown environment %q", req.Environment)}}, nil
	case err != nil:
		return contracts.Plan{}, nil, err
	}
	pl, err := plan.Build(req, env, p.clock.Now())
	if err != nil {
		return contracts.Plan{}, reasonsOf(err), nil
	}
	switch unmet, err := p.unmetRequirements(ctx, req); {
	case err != nil:
		return contracts.Plan{}, nil, err
	case len(unmet) > 0:
		return contracts.Plan{}, unmet, nil
	}
	switch refused, err := p.checkLifecycle(ctx, req, env, &pl); {
	case err != nil:
		return contracts.Plan{}, nil, err
	case len(refused) > 0:
		return contracts.Plan{}, refused, nil
	}
	return pl, nil, nil
}

func reasonsOf(err error) contracts.FieldErrors {
	if fe := contracts.AsFieldErrors(err); fe != nil {
		return fe
	}
	return contracts.FieldErrors{{Message: contracts.AsError(err).Message}}
}

// previewer answers plan previews: what the planner would decide for a
// request, without publishing anything.
type previewer interface {
	Preview(ctx context.Context, req contracts.DeployRequest) (contracts.PreviewReply, error)
}

// previewID stands in for the id of a request previewed without one.
const previewID = "preview"

// Preview plans req against the current inventory. A request without an
// id is previewed as rollout "preview". Rejections are answers (Reasons);
// only an unreadable inventory is an error.
func (p *planning) Preview(ctx context.Context, req contracts.DeployRequest) (contracts.PreviewReply, error) {
	if req.ID == "" {
		req.ID = previewID
	}
	pl, reasons, err := p.plan(ctx, req)
	switch {
	case err != nil:
		return contracts.PreviewReply{}, err
	case reasons != nil:
		return contracts.PreviewReply{Reasons: reasons}, nil
	}
	reply := contracts.PreviewReply{Plan: &pl}
	p.annotate(ctx, req, &reply)
	return reply, nil
}

// makePreviewEndpoint adapts a previewer to a go-kit endpoint.
func makePreviewEndpoint(p previewer) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, ok := request.(contracts.DeployRequest)
		if !ok {
			return nil, fmt.Errorf("preview endpoint: unexpected request %T", request)
		}
		return p.Preview(ctx, req)
	}
}

// previewHandler serves previews on rollwave.api.planner.preview.
func previewHandler(p previewer) natsx.Handler {
	return natsx.Handler{
		Subject:  contracts.APIPlannerPreview,
		Decode:   natsx.DecodeJSON[contracts.DeployRequest](),
		Endpoint: makePreviewEndpoint(p),
	}
}

// Outcomes of a deploy request, the label of rollwave_planner_requests_total.
const (
	outcomePlanned  = "planned"
	outcomeRejected = "rejected"
	outcomeRetried  = "retried"
	// outcomeDuplicate and outcomeConflict publish nothing: the id was
	// already decided for this request, or names another one.
	outcomeDuplicate = "duplicate"
	outcomeConflict  = "conflict"
)

type metrics struct {
	requests *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rollwave_planner_requests_total",
		Help: "Deploy requests handled by the planner, by outcome: planned, rejected, retried (inventory unavailable or publish failed; counted per delivery), duplicate (already decided) or conflict (id used by another request).",
	}, []string{"outcome"})
	// A second planner in the same process shares the first one's counter.
	requests, err := promreg.Register(reg, requests)
	if err != nil {
		return nil, fmt.Errorf("planner: register metrics: %w", err)
	}
	for _, o := range []string{outcomePlanned, outcomeRejected, outcomeRetried, outcomeDuplicate, outcomeConflict} {
		requests.WithLabelValues(o)
	}
	return &metrics{requests: requests}, nil
}
