// Package planner turns deploy requests into plans. It consumes
// rollwave.requests.deploy, asks discovery for the environment's hosts,
// lays the rollout out with plan.Build and publishes one verdict per
// request: a planned event with the plan, or a rejected event with every
// reason. It also answers plan previews, which publish nothing.
package planner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/planstore"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/planner/internal/chains"
	"github.com/rollwave/rollwave/services/planner/internal/releases"
	"github.com/rollwave/rollwave/services/planner/internal/requests"
)

// Config configures the planner. Zero fields take the documented defaults.
type Config struct {
	// Source is the envelope source of the events the planner publishes.
	// Default "rollwave/planner".
	Source string
	// DiscoveryTimeout bounds one inventory request to discovery. Default 5s.
	DiscoveryTimeout time.Duration
	// RetryBackoff is how long a request whose inventory could not be read
	// waits before its next delivery; it doubles with every delivery up to
	// MaxRetryBackoff. Defaults 1s and 30s. On the consumer's last delivery
	// the request is rejected as "inventory unavailable".
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// DBPath is the SQLite file recording each request id with the digest
	// of its request, so that ids stay single-use beyond the broker's
	// duplicate window, and the record of rollouts learned from the events
	// (lifecycles, history, promotions). Required.
	DBPath string
	// InlinePlanLimit is the largest encoded plan sent inside its planned
	// event; a larger one goes to the plans object store and the event
	// carries a reference (contracts.PlanRef). Default
	// contracts.PlanInlineLimit; negative sends every plan by reference.
	InlinePlanLimit int
}

const (
	// publishTimeout bounds one publish and one ack.
	publishTimeout = 5 * time.Second
	// pullBuffer is how many requests the consumer holds ahead of the one
	// being planned: enough to keep busy, few enough that a stopping
	// planner hands little back.
	pullBuffer = 64
	// resubscribeDelay paces attempts to consume again after the
	// subscription ended on its own (consumer deleted, server lost).
	resubscribeDelay = 2 * time.Second
)

// Service is the planner service.
type Service struct {
	cfg      Config
	nc       *nats.Conn
	js       jetstream.JetStream
	log      *slog.Logger
	tp       trace.TracerProvider
	tracer   trace.Tracer
	clock    clock.Clock
	metrics  *metrics
	planning *planning
	store    *requests.Store
	releases *releases.Store
	follow   *follower
	// chains and sequence run multi-application requests (chain.go).
	chains   *chains.Store
	sequence *sequencer
	gate     natsx.Gate
	// plans holds the plans too large for their planned event.
	plans jetstream.ObjectStore

	mu       sync.Mutex
	started  bool
	stopping bool
	iter     jetstream.MessagesContext
	server   *natsx.Server
	cancel   context.CancelFunc
	done     chan struct{}
}

var _ service.Service = (*Service)(nil)

// New returns a planner; Start makes it consume.
func New(deps service.Deps, cfg Config) (*Service, error) {
	if deps.NC == nil || deps.JS == nil {
		return nil, errors.New("planner: deps.NC and deps.JS are required")
	}
	if cfg.Source == "" {
		cfg.Source = "rollwave/planner"
	}
	if cfg.DiscoveryTimeout == 0 {
		cfg.DiscoveryTimeout = 5 * time.Second
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = time.Second
	}
	if cfg.MaxRetryBackoff == 0 {
		cfg.MaxRetryBackoff = 30 * time.Second
	}
	if cfg.InlinePlanLimit == 0 {
		cfg.InlinePlanLimit = contracts.PlanInlineLimit
	}
	switch {
	case cfg.DBPath == "":
		return nil, errors.New("planner: DBPath is required")
	case cfg.DiscoveryTimeout < 0:
		return nil, fmt.Errorf("planner: DiscoveryTimeout must be positive, got %s", cfg.DiscoveryTimeout)
	case cfg.RetryBackoff < 0 || cfg.MaxRetryBackoff < cfg.RetryBackoff:
		return nil, fmt.Errorf("planner: need 0 < RetryBackoff (%s) <= MaxRetryBackoff (%s)", cfg.RetryBackoff, cfg.MaxRetryBackoff)
	}
	deps = deps.WithDefaults()
	s := &Service{cfg: cfg, nc: deps.NC, js: deps.JS, log: deps.Log.With("service", "planner"), tp: deps.Tracer, clock: deps.Clock}
	s.tracer = s.tp.Tracer("rollwave/planner")
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.planning = &planning{inventory: discoveryClient{nc: deps.NC, timeout: cfg.DiscoveryTimeout}, clock: s.clock,
		calendar: calendarClient{nc: deps.NC, timeout: min(cfg.DiscoveryTimeout, previewCalendarTimeout)}}
	return s, nil
}

// Name returns "planner".
func (s *Service) Name() string { return "planner" }

// Start makes the streams and the planner's consumer, answers previews
// and consumes deploy requests in the background until Stop.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("planner: already started")
	}
	if err := natsx.EnsureStreams(ctx, s.js, contracts.Streams(), 1); err != nil {
		return fmt.Errorf("planner: %w", err)
	}
	plans, err := planstore.Ensure(ctx, s.js, 1)
	if err != nil {
		return fmt.Errorf("planner: %w", err)
	}
	s.plans = plans
	store, err := requests.Open(ctx, s.cfg.DBPath)
	if err != nil {
		return fmt.Errorf("planner: %w", err)
	}
	s.store = store
	rel, err := releases.Open(ctx, s.cfg.DBPath)
	if err != nil {
		_ = store.Close()
		return fmt.Errorf("planner: %w", err)
	}
	follow := &follower{js: s.js, store: rel, log: s.log, clock: s.clock, retry: s.cfg.RetryBackoff}
	if err := follow.start(ctx); err != nil {
		_ = rel.Close()
		_ = store.Close()
		return fmt.Errorf("planner: %w", err)
	}
	s.releases, s.follow = rel, follow
	s.planning.releases, s.planning.runs = completions{store: rel, follow: follow}, rel
	s.planning.deployed = rel
	if err := s.startChains(ctx); err != nil {
		follow.stop()
		_ = rel.Close()
		_ = store.Close()
		return fmt.Errorf("planner: %w", err)
	}
	closeAll := func() {
		s.stopChains()
		follow.stop()
		_ = rel.Close()
		_ = store.Close()
	}
	iter, err := s.subscribe(ctx)
	if err != nil {
		closeAll()
		return fmt.Errorf("planner: %w", err)
	}
	s.gate.Service = "planner"
	s.gate.Open()
	server := natsx.NewServer(s.nc, "planner", natsx.WithTracer(s.tp), natsx.WithLogger(s.log))
	for _, h := range append([]natsx.Handler{previewHandler(s.planning), graphHandler(s.planning), claimHandler(claimer{store: store, svc: s}, s.gate.Middleware)},
		s.recordHandlers()...) {
		if err := server.Handle(h); err != nil {
			server.Close()
			iter.Stop()
			closeAll()
			return fmt.Errorf("planner: %w", err)
		}
	}
	// The work outlives Start's context; Stop ends it.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.started, s.iter, s.server, s.cancel, s.done = true, iter, server, cancel, make(chan struct{})
	go s.run(runCtx, iter)
	s.log.Info("planner started", "consumer", contracts.PlannerConsumer().Durable)
	return nil
}

func (s *Service) subscribe(ctx context.Context) (jetstream.MessagesContext, error) {
	cons, err := natsx.EnsureConsumer(ctx, s.js, contracts.PlannerConsumer())
	if err != nil {
		return nil, err
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(pullBuffer))
	if err != nil {
		return nil, fmt.Errorf("consume deploy requests: %w", err)
	}
	return iter, nil
}

// Stop stops taking requests: previews drain, the consumer stops pulling
// and the requests already pulled are planned. When ctx ends first, work
// in flight is cancelled and what remains is handed back to the stream
// for another planner.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	s.server.Close()
	s.iter.Drain()
	done, cancel := s.done, s.cancel
	s.mu.Unlock()

	var err error
	select {
	case <-done:
		cancel()
	case <-ctx.Done():
		cancel()
		<-done
		err = fmt.Errorf("planner: stop: %w", ctx.Err())
	}
	// The consumer is done; claims in flight finish before the record closes.
	if gerr := s.gate.CloseWithin(ctx); gerr != nil && err == nil {
		err = fmt.Errorf("planner: stop: %w", gerr)
	}
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("planner: close request record: %w", cerr)
	}
	s.stopChains()
	s.follow.stop()
	if cerr := s.releases.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("planner: close rollout record: %w", cerr)
	}
	if err == nil {
		s.log.Info("planner stopped")
	}
	return err
}

// run consumes until Stop, subscribing again if the subscription ends on
// its own, so that a deleted consumer or a lost server does not leave a
// running planner that plans nothing.
func (s *Service) run(ctx context.Context, iter jetstream.MessagesContext) {
	defer close(s.done)
	for {
		s.consume(ctx, iter)
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		s.log.Error("deploy request subscription ended; subscribing again", "in", resubscribeDelay)
		select {
		case <-s.clock.After(resubscribeDelay):
		case <-ctx.Done():
			return
		}
		sctx, cancel := context.WithTimeout(ctx, publishTimeout)
		next, err := s.subscribe(sctx)
		cancel()
		if err != nil {
			s.log.Error("subscribe to deploy requests", "err", err)
			iter = closedIter{}
			continue
		}
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			next.Stop()
			return
		}
		s.iter, iter = next, next
		s.mu.Unlock()
	}
}

func (s *Service) consume(ctx context.Context, iter jetstream.MessagesContext) {
	for {
		// The context ends only when Stop runs out of time; without it a
		// drain that never completes would hold Stop forever.
		msg, err := iter.Next(jetstream.NextContext(ctx))
		switch {
		case errors.Is(err, jetstream.ErrMsgIteratorClosed), ctx.Err() != nil && err != nil:
			return
		case err != nil:
			s.log.Warn("receive deploy request", "err", err)
			continue
		}
		if ctx.Err() != nil {
			// Stopping past its deadline: hand the request back at once.
			_ = msg.Nak()
			continue
		}
		s.handle(ctx, msg)
	}
}

// closedIter stands in for a subscription that could not be made.
type closedIter struct{}

func (closedIter) Next(...jetstream.NextOpt) (jetstream.Msg, error) {
	return nil, jetstream.ErrMsgIteratorClosed
}
func (closedIter) Stop()  {}
func (closedIter) Drain() {}

// retryDelay is the delay before delivery n+1 of a request whose inventory
// could not be read: base doubling with each delivery, capped.
func retryDelay(delivered uint64, base, limit time.Duration) time.Duration {
	d := base
	for i := uint64(1); i < delivered && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
