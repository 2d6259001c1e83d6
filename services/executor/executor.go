// Package executor does host actions: it pulls them from its pool's work
// queue, claims each by idempotency key, runs its driver and checks, and
// publishes the result. Executors are stateless; any number of them share a
// pool's durable consumer.
package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/executor/internal/check"
	"github.com/rollwave/rollwave/services/executor/internal/claim"
	"github.com/rollwave/rollwave/services/executor/internal/driver"
)

// Config configures an executor. Zero values take the documented defaults.
type Config struct {
	// Pool is the executor pool whose actions this executor pulls
	// (default contracts.DefaultPool).
	Pool string
	// Concurrency is how many actions run at once (default 64).
	Concurrency int
	// AckWait is how long an executor may go without extending its lease
	// on an action before the action is redelivered to another executor
	// (default 3s). A live executor extends it every AckWait/3.
	AckWait time.Duration
	// ID names this executor in claims and results (default
	// "<hostname>-<pid>").
	ID string
	// OutputTail is how many bytes of a program's output a result keeps
	// (default 4096).
	OutputTail int
	// Source is the envelope source of results (default "rollwave/executor").
	Source string
	// ExecEnv is the base environment of programs the exec driver runs
	// (default: PATH of this process only).
	ExecEnv []string
	// Replicas is the replica count of the claims bucket and the advisory
	// stream when this executor creates them (default 1; 3 on a cluster).
	// Existing ones keep theirs.
	Replicas int
}

// Defaults.
const (
	DefaultConcurrency = 64
	// DefaultAckWait is short so that an action held by an executor that
	// died is redelivered within seconds; a live one extends its lease
	// every AckWait/3, and the heartbeat decides whether the holder is dead.
	DefaultAckWait    = 3 * time.Second
	DefaultOutputTail = 4096
	DefaultSource     = "rollwave/executor"
)

// claimsTTL is how long a claim is kept: longer than an action can sit in
// the work queue (its MaxAge), so a late duplicate still finds it.
const claimsTTL = 7 * 24 * time.Hour

// opTimeout bounds one key-value, publish or ack call.
const opTimeout = 10 * time.Second

func (c *Config) applyDefaults() error {
	if c.Pool == "" {
		c.Pool = contracts.DefaultPool
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.ID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "executor"
		}
		c.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.OutputTail == 0 {
		c.OutputTail = DefaultOutputTail
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
	if c.ExecEnv == nil {
		c.ExecEnv = []string{"PATH=" + os.Getenv("PATH")}
	}
	var fe contracts.FieldErrors
	if !contracts.ValidToken(c.Pool) {
		fe.Add("pool", "must be 1-128 letters, digits, '-' or '_', got %q", c.Pool)
	}
	if c.Concurrency < 0 {
		fe.Add("concurrency", "must be at least 1, got %d", c.Concurrency)
	}
	if c.AckWait < 0 {
		fe.Add("ack_wait", "must be positive, got %v", c.AckWait)
	}
	if c.OutputTail < 0 {
		fe.Add("output_tail", "must not be negative, got %d", c.OutputTail)
	}
	return fe.Err()
}

// Service is an executor.
type Service struct {
	deps    service.Deps
	cfg     Config
	log     *slog.Logger
	clock   clock.Clock
	tracer  trace.Tracer
	metrics *metrics
	drivers map[string]driver.Driver
	checks  check.Runner

	mu       sync.Mutex
	state    int // 0 new, 1 started, 2 stopped
	kv       jetstream.KeyValue
	hb       jetstream.KeyValue
	events   jetstream.Stream
	abortSub *nats.Subscription
	// instance names this run of the executor in claims and heartbeats;
	// a fenced executor continues as a new instance (see heartbeat).
	instanceMu sync.Mutex
	instance   string
	running    running
	// afterRecord, when set by a test, runs between recording a result in
	// the claim and publishing it: the place to simulate a crash.
	afterRecord func()
	hbStop      chan struct{}
	hbDone      chan struct{}
	stream      jetstream.Stream
	iter        jetstream.MessagesContext
	advCons     jetstream.ConsumeContext
	slots       chan struct{}
	stopping    chan struct{}
	loopDone    chan struct{}
	// runCtx is the context of all work; Stop cancels it only when its own
	// deadline passes with work still in flight.
	runCtx    context.Context
	cancelRun context.CancelFunc
	work      sync.WaitGroup
}

var _ service.Service = (*Service)(nil)

// New returns an executor; Start starts it.
func New(deps service.Deps, cfg Config) (*Service, error) {
	if deps.NC == nil || deps.JS == nil {
		return nil, errors.New("executor: deps.NC and deps.JS are required")
	}
	if err := cfg.applyDefaults(); err != nil {
		return nil, fmt.Errorf("executor config: %w", err)
	}
	deps = deps.WithDefaults()
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("executor metrics: %w", err)
	}
	s := &Service{
		deps:    deps,
		cfg:     cfg,
		log:     deps.Log.With("service", "executor", "executor", cfg.ID, "pool", cfg.Pool),
		clock:   deps.Clock,
		tracer:  deps.Tracer.Tracer("rollwave/executor"),
		metrics: m,
		drivers: map[string]driver.Driver{
			"sim":   driver.Sim{Clock: deps.Clock},
			"exec":  driver.Exec{Env: cfg.ExecEnv, OutputTail: cfg.OutputTail},
			"agent": driver.Agent{NC: deps.NC, Source: cfg.Source},
			"ssh":   driver.SSH{OutputTail: cfg.OutputTail, Log: deps.Log.With("service", "executor", "executor", cfg.ID, "driver", "ssh")},
		},
		checks: check.Runner{
			HTTP: check.HTTP{Clock: deps.Clock, Client: &http.Client{
				// A check compares the status the URL itself answers with.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}},
			TCP:        check.TCP{Clock: deps.Clock},
			Command:    check.Command{Clock: deps.Clock, Env: cfg.ExecEnv},
			Prometheus: check.Prometheus{Clock: deps.Clock, Client: &http.Client{}},
			NATS:       check.NATS{Clock: deps.Clock, Conn: deps.NC},
		},
	}
	return s, nil
}

// Name implements service.Service.
func (s *Service) Name() string { return "executor" }

// Config returns the configuration with defaults applied.
func (s *Service) Config() Config { return s.cfg }

// Start sets up the streams, the claims bucket, the pool's consumer and the
// poison-message listener, then pulls actions in the background.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 0 {
		return errors.New("executor: Start called twice")
	}
	js := s.deps.JS
	if err := natsx.EnsureStreams(ctx, js, contracts.Streams(), 1); err != nil {
		return fmt.Errorf("executor start: %w", err)
	}
	kv, err := ensureClaims(ctx, js, max(1, s.cfg.Replicas))
	if err != nil {
		return fmt.Errorf("executor start: %w", err)
	}
	hb, err := ensureHeartbeats(ctx, js, max(1, s.cfg.Replicas))
	if err != nil {
		return fmt.Errorf("executor start: %w", err)
	}
	s.hb = hb
	s.setInstance(newInstance(s.cfg.ID))
	if err := s.beat(ctx); err != nil {
		return fmt.Errorf("executor start: heartbeat: %w", err)
	}
	beganAt := time.Now()
	if s.events, err = js.Stream(ctx, contracts.StreamEvents); err != nil {
		return fmt.Errorf("executor start: stream %s: %w", contracts.StreamEvents, err)
	}
	if s.abortSub, err = s.watchAborts(); err != nil {
		return fmt.Errorf("executor start: %w", err)
	}
	stream, err := js.Stream(ctx, contracts.StreamActions)
	if err != nil {
		return fmt.Errorf("executor start: stream %s: %w", contracts.StreamActions, err)
	}
	spec := contracts.ExecutorConsumer(s.cfg.Pool, s.cfg.AckWait)
	s.kv, s.stream = kv, stream
	s.runCtx, s.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	s.stopping = make(chan struct{})
	s.slots = make(chan struct{}, s.cfg.Concurrency)

	// Capture and handle give-up advisories before pulling, so none about
	// a message this executor helps exhaust is missed.
	if err := natsx.EnsureStreams(ctx, js, []contracts.StreamSpec{advisoryStreamSpec()}, max(1, s.cfg.Replicas)); err != nil {
		s.cancelRun()
		return fmt.Errorf("executor start: %w", err)
	}
	advCons, err := natsx.EnsureConsumer(ctx, js, advisoryConsumerSpec(spec))
	if err != nil {
		s.cancelRun()
		return fmt.Errorf("executor start: %w", err)
	}
	s.advCons, err = advCons.Consume(s.onAdvisory, jetstream.PullMaxMessages(8))
	if err != nil {
		s.cancelRun()
		return fmt.Errorf("executor start: consume advisories: %w", err)
	}
	cons, err := natsx.EnsureConsumer(ctx, js, spec)
	if err != nil {
		s.advCons.Stop()
		s.cancelRun()
		return fmt.Errorf("executor start: %w", err)
	}
	// One message per pull, requested only when a worker is free: a message
	// never waits in a client buffer while its ack wait runs out, which
	// would redeliver it and spend one of its deliveries for nothing.
	s.iter, err = cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		s.advCons.Stop()
		s.cancelRun()
		return fmt.Errorf("executor start: pull from %s: %w", spec.Durable, err)
	}
	s.hbStop, s.hbDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.hbDone)
		s.heartbeat(s.hbStop, beganAt)
	}()
	s.loopDone = make(chan struct{})
	go s.pull()
	s.state = 1
	s.log.Info("executor started", "instance", s.currentInstance(), "concurrency", s.cfg.Concurrency, "ack_wait", s.cfg.AckWait)
	return nil
}

// ensureClaims opens the claims bucket, creating it if it is missing.
func ensureClaims(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, contracts.ClaimsBucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("claims bucket: %w", err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      contracts.ClaimsBucket,
		Description: "host action claims of Rollwave executors, by idempotency key",
		History:     1,
		TTL:         claimsTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		// Another executor created it first.
		kv, err = js.KeyValue(ctx, contracts.ClaimsBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("create claims bucket: %w", err)
	}
	return kv, nil
}

// endHeartbeat stops refreshing the heartbeat and deletes it, so that
// actions this executor left unfinished are taken over at once.
func (s *Service) endHeartbeat(ctx context.Context) {
	if err := s.abortSub.Unsubscribe(); err != nil {
		s.log.Debug("unsubscribe from aborted events", "err", err)
	}
	close(s.hbStop)
	<-s.hbDone
	if err := withOpErr(context.WithoutCancel(ctx), func(ctx context.Context) error {
		return s.hb.Delete(ctx, claim.Key(s.currentInstance()))
	}); err != nil {
		s.log.Warn("delete heartbeat", "err", err)
	}
}

// pull hands messages to workers, at most Concurrency at a time.
func (s *Service) pull() {
	defer close(s.loopDone)
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.stopping:
			return
		}
		msg, err := s.iter.Next()
		if err != nil {
			<-s.slots
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				select {
				case <-s.stopping:
				default:
					s.log.Error("pulling actions stopped", "err", err)
				}
				return
			}
			s.log.Warn("pull actions", "err", err)
			continue
		}
		s.work.Add(1)
		go func() {
			defer s.work.Done()
			defer func() { <-s.slots }()
			s.handle(msg)
		}()
	}
}

// Stop stops pulling and lets actions in flight finish. When ctx ends
// first, the remaining actions are interrupted and left unacknowledged, so
// that they are redelivered to another executor.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state != 1 {
		s.state = 2
		s.mu.Unlock()
		return nil
	}
	s.state = 2
	s.mu.Unlock()

	close(s.stopping)
	s.iter.Stop()
	s.advCons.Stop()
	<-s.loopDone

	done := make(chan struct{})
	go func() {
		s.work.Wait()
		<-s.advCons.Closed()
		close(done)
	}()
	select {
	case <-done:
		s.endHeartbeat(ctx)
		s.cancelRun()
		s.log.Info("executor stopped")
		return nil
	case <-ctx.Done():
	}
	s.cancelRun()
	// Interrupted work returns promptly: programs are killed and every
	// call of a worker is bound to the cancelled run context.
	<-done
	s.endHeartbeat(context.Background())
	s.log.Warn("executor stopped with actions interrupted; they will be redelivered")
	return fmt.Errorf("executor stop: actions interrupted: %w", ctx.Err())
}
