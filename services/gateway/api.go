package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// API is what the HTTP edge asks of Rollwave: one method per operation,
// each a publish or a request on a contract subject.
type API interface {
	Deploy(ctx context.Context, req contracts.DeployRequest) (Receipt, error)
	Preview(ctx context.Context, req contracts.DeployRequest) (contracts.PreviewReply, error)
	ListRollouts(ctx context.Context, q contracts.RolloutListQuery) (contracts.RolloutList, error)
	GetRollout(ctx context.Context, id string) (contracts.RolloutView, error)
	Control(ctx context.Context, id string, verb contracts.Verb, cmd contracts.ControlCommand) (contracts.RolloutSummary, error)
	Inventory(ctx context.Context, q contracts.InventoryQuery) (contracts.Inventory, error)
	ListWindows(ctx context.Context, q contracts.WindowListQuery) (contracts.WindowList, error)
	AddWindow(ctx context.Context, in contracts.WindowInput) (contracts.Window, error)
	RemoveWindow(ctx context.Context, id string) error
	calendarAPI
	DiscoveryStatus(ctx context.Context) (contracts.DiscoveryStatus, error)
	Graph(ctx context.Context, q contracts.GraphQuery) (contracts.DependencyGraph, error)
	History(ctx context.Context, q contracts.HistoryQuery) (contracts.History, error)
	RolloutHistory(ctx context.Context, q contracts.RolloutHistoryQuery) (contracts.RolloutHistory, error)
	Promote(ctx context.Context, p contracts.PromoteRequest) (PromoteResult, error)
}

// Receipt answers an accepted deploy request.
type Receipt struct {
	Rollout   string `json:"rollout"`
	StreamSeq uint64 `json:"stream_seq"`
	// Duplicate is true when the broker already held a request with this
	// id: nothing new was queued.
	Duplicate bool `json:"duplicate"`
	// Rollouts are, for a request naming several applications, the
	// rollouts it becomes in rollout order (Rollout is then the request's
	// id, which names no rollout).
	Rollouts []string `json:"rollouts,omitempty"`
}

// Source is the envelope source of what the gateway publishes.
const Source = "rollwave/gateway"

// publisher is the part of JetStream the gateway publishes with.
type publisher interface {
	PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// natsAPI implements API over NATS: JetStream for deploy requests,
// request/reply for everything else.
type natsAPI struct {
	nc     *nats.Conn
	js     publisher
	tracer trace.Tracer
	clock  clock.Clock
	log    *slog.Logger
}

func (a *natsAPI) Deploy(ctx context.Context, req contracts.DeployRequest) (Receipt, error) {
	// A deploy request starts the rollout's trace; the planner, scheduler
	// and executors continue it from the message headers.
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("rollwave.rollout", req.ID),
			attribute.String("rollwave.environment", req.Environment),
			attribute.String("rollwave.app", req.App),
			attribute.String("rollwave.version", req.Version),
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", contracts.SubjectDeployRequest),
		)}
	// A caller's own trace is linked, not continued: the rollout is its own trace.
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := a.tracer.Start(ctx, "deploy.request", opts...)
	defer span.End()

	claim, err := a.claim(ctx, req)
	switch {
	case err != nil:
		span.SetStatus(codes.Error, err.Error())
		return Receipt{}, err
	case claim.Existing:
		// Nothing is published: the rollout exists for this very request.
		span.SetAttributes(attribute.Bool("messaging.nats.duplicate", true))
		return Receipt{Rollout: req.ID, Duplicate: true, Rollouts: claim.Rollouts}, nil
	}

	msg, err := natsx.EnvelopeMsg(ctx, contracts.SubjectDeployRequest, contracts.TypeDeployRequest,
		req.ID, Source, req.ID, a.clock.Now(), req)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return Receipt{}, fmt.Errorf("build deploy request %s: %w", req.ID, err)
	}
	if err := fitsPayload(a.nc, msg); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return Receipt{}, err
	}
	ack, err := a.js.PublishMsg(ctx, msg)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return Receipt{}, publishError(req.ID, err)
	}
	span.SetAttributes(attribute.Int64("messaging.nats.stream_seq", int64(ack.Sequence)),
		attribute.Bool("messaging.nats.duplicate", ack.Duplicate))
	a.log.Info("deploy request queued", "rollout", req.ID, "environment", req.Environment,
		"app", req.App, "version", req.Version, "stream_seq", ack.Sequence, "duplicate", ack.Duplicate)
	return Receipt{Rollout: req.ID, StreamSeq: ack.Sequence, Duplicate: ack.Duplicate, Rollouts: claim.Rollouts}, nil
}

// publishError turns a JetStream publish failure into a typed error.
func publishError(id string, err error) error {
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionReconnecting):
		return &wrapped{typed: contracts.Errorf(contracts.CodeUnavailable, "the request stream is unavailable"), err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return &wrapped{typed: contracts.Errorf(contracts.CodeTimeout, "the request stream did not acknowledge in time"), err: err}
	}
	return fmt.Errorf("publish deploy request %s: %w", id, err)
}

// wrapped carries a typed error for the client and the cause for the logs.
type wrapped struct {
	typed *contracts.Error
	err   error
}

func (w *wrapped) Error() string { return w.typed.Message + ": " + w.err.Error() }

// Unwrap exposes both, so AsError finds the typed one and errors.Is the cause.
func (w *wrapped) Unwrap() []error { return []error{w.typed, w.err} }

func (a *natsAPI) Preview(ctx context.Context, req contracts.DeployRequest) (contracts.PreviewReply, error) {
	return natsx.Request[contracts.PreviewReply](ctx, a.nc, contracts.APIPlannerPreview, req)
}

func (a *natsAPI) ListRollouts(ctx context.Context, q contracts.RolloutListQuery) (contracts.RolloutList, error) {
	list, err := natsx.Request[contracts.RolloutList](ctx, a.nc, contracts.APISchedulerList, q)
	if list.Rollouts == nil {
		list.Rollouts = []contracts.RolloutSummary{}
	}
	return list, err
}

func (a *natsAPI) GetRollout(ctx context.Context, id string) (contracts.RolloutView, error) {
	view, err := natsx.Request[contracts.RolloutView](ctx, a.nc, contracts.APISchedulerGet, contracts.RolloutQuery{Rollout: id})
	if err == nil && view.Rollout == "" {
		// An empty answer is how a lax responder says "no such rollout".
		return view, contracts.Errorf(contracts.CodeNotFound, "no rollout %q", id)
	}
	return view, err
}

func (a *natsAPI) Control(ctx context.Context, id string, verb contracts.Verb, cmd contracts.ControlCommand) (contracts.RolloutSummary, error) {
	return natsx.Request[contracts.RolloutSummary](ctx, a.nc, contracts.ControlSubject(id, verb), cmd)
}

func (a *natsAPI) Inventory(ctx context.Context, q contracts.InventoryQuery) (contracts.Inventory, error) {
	inv, err := natsx.Request[contracts.Inventory](ctx, a.nc, contracts.APIDiscoveryInventory, q)
	if inv.Environments == nil {
		inv.Environments = []contracts.Environment{}
	}
	return inv, err
}

func (a *natsAPI) ListWindows(ctx context.Context, q contracts.WindowListQuery) (contracts.WindowList, error) {
	list, err := natsx.Request[contracts.WindowList](ctx, a.nc, contracts.APICalendarList, q)
	if list.Windows == nil {
		list.Windows = []contracts.Window{}
	}
	return list, err
}

func (a *natsAPI) AddWindow(ctx context.Context, in contracts.WindowInput) (contracts.Window, error) {
	return natsx.Request[contracts.Window](ctx, a.nc, contracts.APICalendarAdd, in)
}

func (a *natsAPI) RemoveWindow(ctx context.Context, id string) error {
	// The calendar's answer carries nothing the client needs beyond success.
	_, err := natsx.Request[json.RawMessage](ctx, a.nc, contracts.APICalendarRemove, contracts.WindowRemove{ID: id})
	return err
}

// NewRolloutID returns "r-" and 16 random hex digits.
func NewRolloutID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "r-" + hex.EncodeToString(b[:])
}
