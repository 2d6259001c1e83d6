// Package scheduler runs rollouts: it takes planned rollouts from the
// EVENTS stream, admits them (calendar, one active rollout per
// environment, start time), dispatches their host actions batch by batch,
// applies host results from the RESULTS stream, and obeys pause, resume and
// abort. The decisions are made by the pure state machine in
// internal/rollout; this package owns the single goroutine that feeds it,
// the SQLite read model and the transactional outbox that makes every
// event and host action published exactly once across crashes.
package scheduler

import (
	"cmp"
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
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/planstore"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/scheduler/internal/calhold"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
	"github.com/rollwave/rollwave/services/scheduler/internal/store"
)

// Name is the service name.
const Name = "scheduler"

// queueGroup is the queue group of the control and query subscriptions.
const queueGroup = "scheduler"

// Config configures the scheduler. Zero values take the defaults noted.
type Config struct {
	// DBPath is the SQLite file of the read model. Required.
	DBPath string
	// TickInterval is how often waiting rollouts are looked at again and
	// unpublished messages retried (default 1s).
	TickInterval time.Duration
	// Source is the envelope source of published messages (default
	// "rollwave/scheduler").
	Source string
	// AdmitTimeout bounds one question to the calendar (default 2s).
	AdmitTimeout time.Duration
	// PublishTimeout bounds waiting for JetStream to acknowledge the
	// messages of one batch (default 10s).
	PublishTimeout time.Duration
	// ControlTimeout bounds how long a control request waits for its
	// transition to be committed and published (default 10s).
	ControlTimeout time.Duration
	// MaxBatch is the most inputs applied in one transaction (default 256).
	MaxBatch int
	// StreamReplicas is the replica count used when Start ensures the
	// streams exist (default 1; 3 on a production cluster).
	StreamReplicas int
}

func (c *Config) defaults() error {
	if c.DBPath == "" {
		return contracts.Invalid("DBPath", "is required")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TickInterval", c.TickInterval}, {"AdmitTimeout", c.AdmitTimeout}, {"PublishTimeout", c.PublishTimeout}, {"ControlTimeout", c.ControlTimeout}} {
		if d.v < 0 {
			return contracts.Invalid(d.name, "must not be negative, got %v", d.v)
		}
	}
	if c.MaxBatch < 0 {
		return contracts.Invalid("MaxBatch", "must not be negative, got %d", c.MaxBatch)
	}
	if c.StreamReplicas < 0 {
		return contracts.Invalid("StreamReplicas", "must not be negative, got %d", c.StreamReplicas)
	}
	c.TickInterval = cmp.Or(c.TickInterval, time.Second)
	c.AdmitTimeout = cmp.Or(c.AdmitTimeout, 2*time.Second)
	c.PublishTimeout = cmp.Or(c.PublishTimeout, 10*time.Second)
	c.ControlTimeout = cmp.Or(c.ControlTimeout, 10*time.Second)
	c.MaxBatch = cmp.Or(c.MaxBatch, 256)
	c.StreamReplicas = cmp.Or(c.StreamReplicas, 1)
	if c.Source == "" {
		c.Source = "rollwave/scheduler"
	}
	return nil
}

// Service is the scheduler. Create it with New.
type Service struct {
	deps   service.Deps
	cfg    Config
	log    *slog.Logger
	tracer trace.Tracer
	m      *metrics

	mu       sync.Mutex
	started  bool
	stopped  bool
	store    *store.Store
	feeds    []*feed
	ctlSub   *nats.Subscription
	api      *natsx.Server
	inputs   chan work
	answers  chan calendarAnswer
	stopCh   chan struct{}
	loopDone chan struct{}
	wg       sync.WaitGroup
	// calState is the calendar's published windows, the fallback when
	// the calendar cannot be asked.
	calState *calendarState
	// calChanged wakes the loop when calState changes.
	calChanged chan struct{}
	// plans holds the plans too large for their planned event.
	plans jetstream.ObjectStore

	// runCtx ends when Stop begins: feeders, calendar questions and control
	// requests give up. workCtx ends only if Stop's deadline passes: the
	// loop uses it to finish the batch in hand.
	runCtx     context.Context
	cancelRun  context.CancelFunc
	workCtx    context.Context
	cancelWork context.CancelFunc

	// Owned by the loop goroutine once started.
	live map[string]*liveRollout
	// liveByEnv indexes live rollouts by environment for admission.
	liveByEnv map[string]map[string]struct{}
	cursors   map[string]uint64
	pending   []store.OutboxRow
	asking    map[string]bool
	recheck   map[string]bool
	broken    bool
	// holds are the rollouts the calendar paused (calhold.go), and
	// holdDirty the rollouts to look at again after a commit.
	holds     map[string]calhold.Hold
	holdDirty map[string]bool

	// afterCommit, when set by tests, runs right after each commit and
	// before its messages are published: it simulates crashes there.
	afterCommit func()
}

// liveRollout is a rollout that has not ended, held in memory.
type liveRollout struct {
	r           rollout.Rollout
	traceparent string
}

var _ service.Service = (*Service)(nil)

// New checks the configuration and returns a scheduler ready to Start.
func New(deps service.Deps, cfg Config) (*Service, error) {
	if deps.NC == nil || deps.JS == nil {
		return nil, errors.New("scheduler: Deps.NC and Deps.JS are required")
	}
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("scheduler config: %w", err)
	}
	deps = deps.WithDefaults()
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("scheduler metrics: %w", err)
	}
	return &Service{
		deps:   deps,
		cfg:    cfg,
		log:    deps.Log.With("service", Name),
		tracer: deps.Tracer.Tracer("rollwave/scheduler"),
		m:      m,
	}, nil
}

// Name returns "scheduler".
func (s *Service) Name() string { return Name }

// Start opens the database, loads the rollouts that have not ended,
// republishes messages committed but not acknowledged before a stop or
// crash, resumes consuming planned events and results after the stored
// cursors, and starts answering control requests and queries.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("scheduler: already started")
	}
	if err := natsx.EnsureStreams(ctx, s.deps.JS, contracts.Streams(), s.cfg.StreamReplicas); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	plans, err := planstore.Ensure(ctx, s.deps.JS, s.cfg.StreamReplicas)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	s.plans = plans
	st, err := store.Open(ctx, s.cfg.DBPath)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	s.store = st
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.workCtx, s.cancelWork = context.WithCancel(context.Background())
	s.inputs = make(chan work, 2*s.cfg.MaxBatch)
	s.answers = make(chan calendarAnswer, 16)
	s.stopCh = make(chan struct{})
	s.loopDone = make(chan struct{})
	s.asking = map[string]bool{}
	s.recheck = map[string]bool{}
	s.calState = &calendarState{windows: map[string]contracts.WindowState{}}
	s.calChanged = make(chan struct{}, 1)
	s.holdDirty = map[string]bool{}
	s.feeds = []*feed{
		newFeed(contracts.StreamEvents, []string{contracts.EventFilter("", "", contracts.EventPlanned)}),
		newFeed(contracts.StreamResults, []string{contracts.ResultsWildcard()}),
	}
	fail := func(err error) error {
		s.cancelRun()
		s.cancelWork()
		st.Close()
		return fmt.Errorf("scheduler: %w", err)
	}
	if err := s.load(ctx); err != nil {
		return fail(err)
	}
	if err := s.flushOutbox(); err != nil {
		s.log.Warn("messages from before the restart not yet published; will retry", "err", err)
	}

	s.api = natsx.NewServer(s.deps.NC, queueGroup, natsx.WithTracer(s.deps.Tracer), natsx.WithLogger(s.log))
	if err := serveQueries(s.api, queryService{store: st}); err != nil {
		s.api.Close()
		return fail(err)
	}
	sub, err := s.deps.NC.QueueSubscribe(contracts.ControlWildcard(), queueGroup, s.handleControl)
	if err != nil {
		s.api.Close()
		return fail(fmt.Errorf("subscribe to control commands: %w", err))
	}
	s.ctlSub = sub
	// Make sure the server has the subscriptions before Start returns.
	if err := s.deps.NC.FlushWithContext(ctx); err != nil {
		s.api.Close()
		_ = sub.Unsubscribe()
		return fail(fmt.Errorf("flush subscriptions: %w", err))
	}

	s.started = true
	s.log.Info("scheduler starting", "live_rollouts", len(s.live), "outbox", len(s.pending),
		"events_cursor", s.cursors[contracts.StreamEvents], "results_cursor", s.cursors[contracts.StreamResults])
	// From here on the loop owns the state.
	go s.run()
	for _, f := range s.feeds {
		s.wg.Add(1)
		go s.runFeed(f)
	}
	s.wg.Add(1)
	go s.watchCalendar()
	return nil
}

// load reads the state the loop starts from.
func (s *Service) load(ctx context.Context) error {
	cursors, err := s.store.Cursors(ctx)
	if err != nil {
		return err
	}
	recs, err := s.store.Live(ctx)
	if err != nil {
		return err
	}
	pending, err := s.store.Outbox(ctx)
	if err != nil {
		return err
	}
	holds, err := s.store.Holds(ctx)
	if err != nil {
		return err
	}
	s.holds = holds
	counts, err := s.store.CountByState(ctx)
	if err != nil {
		return err
	}
	s.cursors = cursors
	s.live = make(map[string]*liveRollout, len(recs))
	s.liveByEnv = map[string]map[string]struct{}{}
	for _, rec := range recs {
		s.remember(&liveRollout{r: rec.Rollout, traceparent: rec.Traceparent})
	}
	s.pending = pending
	for _, f := range s.feeds {
		f.applied.Store(cursors[f.stream])
	}
	s.m.setStates(counts)
	s.m.outbox.Set(float64(len(pending)))
	return s.loadSREMetrics(ctx)
}

// Stop stops taking work: control requests and queries are refused,
// consumers stop, the batch being applied is committed and published, and
// the database is closed. Inputs not yet applied are consumed again after
// the next Start. ctx bounds how long the batch in hand may take.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.stopped {
		return nil
	}
	s.stopped = true
	if err := s.ctlSub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		s.log.Warn("drain control subscription", "err", err)
	}
	s.api.Close()
	s.cancelRun()
	close(s.stopCh)
	var err error
	select {
	case <-s.loopDone:
	case <-ctx.Done():
		err = fmt.Errorf("scheduler: stop: batch in hand abandoned: %w", ctx.Err())
		s.cancelWork()
		<-s.loopDone
	}
	s.cancelWork()
	s.wg.Wait()
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("scheduler: close database: %w", cerr)
	}
	s.log.Info("scheduler stopped")
	return err
}
