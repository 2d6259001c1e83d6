// Package discovery serves the inventory: the environments and hosts of a
// static YAML file, joined to the versions that host results report each
// host to run. The versions are a SQLite read model of the RESULTS stream
// that records, with each batch it applies, the stream sequence it reached,
// so a restart resumes and a deleted database rebuilds from the stream.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/discovery/internal/inventory"
	"github.com/rollwave/rollwave/services/discovery/internal/plugin"
)

// Config configures the discovery service.
type Config struct {
	// InventoryPath is the YAML inventory file. Exactly one of
	// InventoryPath and Inventory is set.
	InventoryPath string
	// Inventory is the YAML inventory itself, for embedding.
	Inventory []byte
	// DBPath is the SQLite file of the version inventory. Required.
	DBPath string
	// BatchSize is the most results applied in one transaction. Default 256.
	BatchSize int
	// RetryDelay is how long to wait before retrying a batch the database
	// refused. Default 1s.
	RetryDelay time.Duration
	// Sources are discovery sources given outside the YAML inventory; with
	// them, the YAML inventory is optional.
	Sources []EnvSource
	// SourceInterval and SourceTimeout are the defaults of sources that
	// set none: 1m and 30s.
	SourceInterval time.Duration
	SourceTimeout  time.Duration
	// SourceMaxBytes bounds a source's output. Default 4 MiB.
	SourceMaxBytes int
	// ReloadInterval is how often the YAML file is checked for changes,
	// on the injected clock. Default 5s.
	ReloadInterval time.Duration
	// OfflineAfter is how long a host's agent may stay silent before the
	// host is offline. Default 30s.
	OfflineAfter time.Duration
	// SourcePool and SourceDriver are the pool and driver defaults of
	// environments that only Sources name (the YAML inventory gives its
	// own environments' defaults).
	SourcePool   string
	SourceDriver *contracts.DriverSpec
}

const (
	defaultBatchSize  = 256
	defaultRetryDelay = time.Second
	// queue is the queue group of the request handlers, so that several
	// instances share the queries.
	queue = "discovery"
)

// Service is the discovery service.
type Service struct {
	cfg     Config
	inv     atomic.Pointer[inventory.Inventory]
	log     *slog.Logger
	tracer  trace.Tracer
	tp      trace.TracerProvider
	clock   clock.Clock
	deps    service.Deps
	metrics *metrics
	gate    natsx.Gate

	// refMu guards ref, which the refresh goroutine owns.
	refMu         sync.Mutex
	ref           refresher
	refreshCancel context.CancelFunc
	refreshDone   chan struct{}
	// kick asks the refresh loop for a round now (a new agent, or one
	// back online).
	kick      chan struct{}
	agentsSub *nats.Subscription

	mu      sync.Mutex
	started bool
	store   *store
	server  *natsx.Server
	consume jetstream.ConsumeContext
	msgs    chan jetstream.Msg
	quit    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

var _ service.Service = (*Service)(nil)

// New checks the configuration and reads the inventory. It does no network
// or database I/O; Start does.
func New(deps service.Deps, cfg Config) (*Service, error) {
	switch {
	case deps.NC == nil:
		return nil, errors.New("discovery: a NATS connection is required")
	case deps.JS == nil:
		return nil, errors.New("discovery: a JetStream context is required")
	case cfg.DBPath == "":
		return nil, errors.New("discovery: DBPath is required")
	case cfg.InventoryPath != "" && cfg.Inventory != nil:
		return nil, errors.New("discovery: set InventoryPath or Inventory, not both")
	case cfg.InventoryPath == "" && cfg.Inventory == nil && len(cfg.Sources) == 0:
		return nil, errors.New("discovery: InventoryPath, Inventory or Sources is required")
	case cfg.BatchSize < 0:
		return nil, fmt.Errorf("discovery: BatchSize must not be negative, got %d", cfg.BatchSize)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = defaultBatchSize
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = defaultRetryDelay
	}
	if cfg.SourceInterval <= 0 {
		cfg.SourceInterval = defaultSourceInterval
	}
	if cfg.SourceTimeout <= 0 {
		cfg.SourceTimeout = plugin.DefaultTimeout
	}
	if cfg.ReloadInterval <= 0 {
		cfg.ReloadInterval = defaultReloadInterval
	}
	if cfg.OfflineAfter <= 0 {
		cfg.OfflineAfter = defaultOfflineAfter
	}
	for i, src := range cfg.Sources {
		if err := contracts.CheckToken(fmt.Sprintf("sources[%d].environment", i), src.Env); err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		if src.Path == "" {
			return nil, fmt.Errorf("discovery: sources[%d]: a path is required", i)
		}
	}
	if cfg.SourcePool != "" {
		if err := contracts.CheckToken("source pool", cfg.SourcePool); err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
	}
	if cfg.SourceDriver != nil {
		if fe := cfg.SourceDriver.Validate("source driver"); len(fe) > 0 {
			return nil, fmt.Errorf("discovery: %w", fe)
		}
	}
	var inv inventory.Inventory
	var raw []byte
	var err error
	switch {
	case cfg.InventoryPath != "":
		raw, err = readBounded(cfg.InventoryPath, maxInventoryFile)
		if err == nil {
			inv, err = inventory.Parse(raw)
			if err != nil {
				err = fmt.Errorf("inventory %s: %w", cfg.InventoryPath, err)
			}
		}
	case cfg.Inventory != nil:
		raw = cfg.Inventory
		inv, err = inventory.Parse(cfg.Inventory)
		if err != nil {
			err = fmt.Errorf("inventory: %w", err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	deps = deps.WithDefaults()
	s := &Service{cfg: cfg, deps: deps, kick: make(chan struct{}, 1), log: deps.Log.With("service", "discovery"), tp: deps.Tracer, clock: deps.Clock}
	s.tracer = s.tp.Tracer("rollwave/discovery")
	s.metrics = newMetrics(deps.Metrics)
	s.initRefresher(inv, raw)
	s.updateMetrics(inv)
	return s, nil
}

// Name returns "discovery".
func (s *Service) Name() string { return "discovery" }

// Start opens the database, follows the RESULTS stream from the sequence
// it last applied and starts answering queries.
func (s *Service) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("discovery: already started")
	}
	if err := natsx.EnsureStreams(ctx, s.deps.JS, contracts.Streams(), 1); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	st, err := openStore(ctx, s.cfg.DBPath)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	defer func() {
		if err != nil {
			s.stopFollowing(context.Background())
			_ = st.close()
		}
	}()
	s.store = st
	if err := s.follow(ctx); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	s.gate.Service = "discovery"
	s.gate.Open()
	opts := []natsx.ServerOption{natsx.WithLogger(s.log), natsx.WithTracer(s.tp)}
	srv := natsx.NewServer(s.deps.NC, queue, opts...)
	for _, h := range handlers(s, s.gate.Middleware) {
		if err := srv.Handle(h); err != nil {
			srv.Close()
			return fmt.Errorf("discovery: %w", err)
		}
	}
	if err := s.deps.NC.FlushWithContext(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("discovery: flush subscriptions: %w", err)
	}
	s.server = srv
	if s.agentsSub, err = s.subscribeAgents(); err != nil {
		srv.Close()
		return fmt.Errorf("discovery: %w", err)
	}
	s.startRefresh(ctx)
	s.started = true
	s.log.Info("discovery started", "environments", len(s.inv.Load().Environments))
	return nil
}

// Stop stops answering, lets queries in flight finish, commits the batch
// being applied and closes the database. Results not yet applied are read
// again from the stream on the next start.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	s.started = false
	s.server.Close()
	_ = s.agentsSub.Unsubscribe()
	s.refreshCancel()
	<-s.refreshDone
	var err error
	if gerr := s.gate.CloseWithin(ctx); gerr != nil {
		err = fmt.Errorf("discovery: queries still running: %w", gerr)
	}
	if ferr := s.stopFollowing(ctx); ferr != nil && err == nil {
		err = ferr
	}
	if cerr := s.store.close(); cerr != nil && err == nil {
		err = fmt.Errorf("discovery: close database: %w", cerr)
	}
	return err
}
