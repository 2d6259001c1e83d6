// Package calendar keeps the freeze windows of each environment and
// answers whether a rollout may start in an environment at an instant. The
// caller's instant decides, never the calendar's clock, so a scheduler
// driven by a fake clock gets consistent answers.
package calendar

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	_ "time/tzdata" // time zones work on hosts without a zoneinfo database

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
)

// Config configures the calendar service.
type Config struct {
	// DBPath is the SQLite file holding the windows. Required.
	DBPath string
	// StateReplicas is the replication of the window state bucket
	// (default 1; 3 in a cluster).
	StateReplicas int
}

// queue is the queue group of the request handlers.
const queue = "calendar"

// Service is the calendar service.
type Service struct {
	cfg     Config
	deps    service.Deps
	log     *slog.Logger
	tp      trace.TracerProvider
	tracer  trace.Tracer
	metrics *metrics
	gate    natsx.Gate
	newID   func() string

	addMu sync.Mutex // serialises conflict checks with inserts

	mu      sync.Mutex
	started bool
	store   *store
	server  *natsx.Server
	kv      jetstream.KeyValue
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	changed chan struct{}
}

var _ service.Service = (*Service)(nil)

// New checks the configuration. It does no I/O; Start does.
func New(deps service.Deps, cfg Config) (*Service, error) {
	switch {
	case deps.NC == nil:
		return nil, errors.New("calendar: a NATS connection is required")
	case deps.JS == nil:
		return nil, errors.New("calendar: a JetStream context is required")
	case cfg.DBPath == "":
		return nil, errors.New("calendar: DBPath is required")
	}
	deps = deps.WithDefaults()
	s := &Service{cfg: cfg, deps: deps, log: deps.Log.With("service", "calendar"), tp: deps.Tracer, newID: newID}
	s.tracer = s.tp.Tracer("rollwave/calendar")
	s.metrics = newMetrics(deps.Metrics)
	return s, nil
}

// newID returns "win-" and 12 random hex digits.
func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "win-" + hex.EncodeToString(b[:])
}

// Name returns "calendar".
func (s *Service) Name() string { return "calendar" }

// Start opens the database and starts answering.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("calendar: already started")
	}
	if err := natsx.EnsureStreams(ctx, s.deps.JS, contracts.Streams(), 1); err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	st, err := openStore(ctx, s.cfg.DBPath)
	if err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	s.store = st
	if err := s.refreshWindowCounts(ctx); err != nil {
		_ = st.close()
		return fmt.Errorf("calendar: %w", err)
	}
	kv, err := s.openState(ctx)
	if err != nil {
		_ = st.close()
		return fmt.Errorf("calendar: %w", err)
	}
	s.kv = kv
	if err := s.publishAll(ctx); err != nil {
		_ = st.close()
		return fmt.Errorf("calendar: publish window state: %w", err)
	}
	s.gate.Service = "calendar"
	s.gate.Open()
	srv := natsx.NewServer(s.deps.NC, queue, natsx.WithLogger(s.log), natsx.WithTracer(s.tp))
	for _, h := range handlers(s, s.gate.Middleware) {
		if err := srv.Handle(h); err != nil {
			srv.Close()
			_ = st.close()
			return fmt.Errorf("calendar: %w", err)
		}
	}
	if err := s.deps.NC.FlushWithContext(ctx); err != nil {
		srv.Close()
		_ = st.close()
		return fmt.Errorf("calendar: flush subscriptions: %w", err)
	}
	s.server = srv
	var runCtx context.Context
	runCtx, s.cancel = context.WithCancel(context.Background())
	s.changed = make(chan struct{}, 1)
	s.wg.Add(2)
	go s.refreshState(runCtx)
	go s.announce(runCtx)
	s.started = true
	s.log.Info("calendar started")
	return nil
}

// Stop stops answering, lets requests in flight finish and closes the
// database.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	s.started = false
	s.server.Close()
	s.cancel()
	s.wg.Wait()
	var err error
	if gerr := s.gate.CloseWithin(ctx); gerr != nil {
		err = fmt.Errorf("calendar: requests still running: %w", gerr)
	}
	if cerr := s.store.close(); cerr != nil && err == nil {
		err = fmt.Errorf("calendar: close database: %w", cerr)
	}
	return err
}

// refreshWindowCounts sets the windows gauge from the database, dropping
// environments that have none left.
func (s *Service) refreshWindowCounts(ctx context.Context) error {
	counts, err := s.store.counts(ctx)
	if err != nil {
		return err
	}
	s.metrics.windows.Reset()
	for env, n := range counts {
		s.metrics.windows.WithLabelValues(env).Set(float64(n))
	}
	return nil
}
