// Package stack assembles Rollwave's services into one process: the
// composition root shared by `rollwave dev`, `rollwave serve`, the load tool
// and the end-to-end tests. Services never import each other; only this
// package knows them all.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/buildinfo"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsembed"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/planstore"
	"github.com/rollwave/rollwave/pkg/promreg"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/calendar"
	"github.com/rollwave/rollwave/services/discovery"
	"github.com/rollwave/rollwave/services/executor"
	"github.com/rollwave/rollwave/services/gateway"
	"github.com/rollwave/rollwave/services/planner"
	"github.com/rollwave/rollwave/services/scheduler"
)

// Names lists every service in start order: those that answer queries come
// before those that ask them.
var Names = []string{"discovery", "calendar", "planner", "scheduler", "executor", "gateway"}

// Options configures a stack.
type Options struct {
	// Services to run; empty means all.
	Services []string
	// NATSURL connects to an external NATS; empty embeds a server.
	NATSURL string
	// NATSCreds is a credentials file for the external NATS, if any.
	NATSCreds string
	// DataDir holds the embedded server's store and every SQLite file.
	DataDir string
	// NATSPort of the embedded server; 0 picks a free port, -1 too.
	NATSPort int
	// SyncAlways makes the embedded server sync every write to disk.
	SyncAlways bool
	// Replicas of the streams created (1 for a single server).
	Replicas int

	// Sources are --inventory ENV=SOURCE values for discovery, and the
	// pool and driver of environments that only they name.
	Sources      []discovery.EnvSource
	SourcePool   string
	SourceDriver *contracts.DriverSpec

	InventoryPath string
	Inventory     []byte
	GatewayAddr   string
	// MetricsAddr, when set, serves /metrics on its own listener, for
	// processes that run no gateway (which serves /metrics itself).
	MetricsAddr string

	Executor executor.Config
	// SchedulerTick is how often queued rollouts are looked at again.
	SchedulerTick time.Duration

	Log *slog.Logger
	// Tracer serves every service; Tracers, when set, gives each service
	// its own provider (and so its own service.name) instead.
	Tracer  trace.TracerProvider
	Tracers func(service string) trace.TracerProvider
	Clock   clock.Clock
	Metrics *prometheus.Registry
}

// Stack is a running set of services.
type Stack struct {
	Server   *server.Server // nil with an external NATS
	NC       *nats.Conn
	JS       jetstream.JetStream
	Gateway  *gateway.Service
	Registry *prometheus.Registry
	running  []service.Service
	metrics  *http.Server
	// MetricsAddr is the bound address of the metrics listener, if any.
	MetricsAddr string
	log         *slog.Logger
}

// Start starts the stack; on error everything started is stopped again.
func Start(ctx context.Context, o Options) (st *Stack, err error) {
	if len(o.Services) == 0 {
		o.Services = Names
	}
	for _, n := range o.Services {
		if !slices.Contains(Names, n) {
			return nil, fmt.Errorf("unknown service %q (known: %s)", n, strings.Join(Names, ", "))
		}
	}
	if o.DataDir == "" {
		return nil, errors.New("a data directory is required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
		o.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			buildinfo.Read().Collector())
	}
	st = &Stack{Registry: o.Metrics, log: o.Log}
	defer func() {
		if err != nil {
			st.Stop(context.Background())
		}
	}()

	url := o.NATSURL
	if url == "" {
		port := o.NATSPort
		if port == 0 {
			port = -1
		}
		st.Server, err = natsembed.Start(natsembed.Options{Port: port, StoreDir: filepath.Join(o.DataDir, "jetstream"), SyncAlways: o.SyncAlways})
		if err != nil {
			return st, err
		}
		url = st.Server.ClientURL()
	}
	natsOpts := []nats.Option{nats.Name("rollwave"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second)}
	if o.NATSCreds != "" {
		natsOpts = append(natsOpts, nats.UserCredentials(o.NATSCreds))
	}
	st.NC, err = nats.Connect(url, natsOpts...)
	if err != nil {
		return st, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	st.JS, err = jetstream.New(st.NC, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return st, fmt.Errorf("jetstream: %w", err)
	}
	if err := natsx.EnsureStreams(ctx, st.JS, contracts.Streams(), max(1, o.Replicas)); err != nil {
		return st, err
	}
	if _, err := planstore.Ensure(ctx, st.JS, max(1, o.Replicas)); err != nil {
		return st, err
	}
	var streams []string
	for _, s := range contracts.Streams() {
		streams = append(streams, s.Name)
	}
	if _, err := promreg.Register(o.Metrics, natsx.NewStreamCollector(st.JS, streams)); err != nil {
		return st, fmt.Errorf("stream metrics: %w", err)
	}

	if o.MetricsAddr != "" {
		ln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			return st, fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{}))
		st.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = st.metrics.Serve(ln) }()
		st.MetricsAddr = ln.Addr().String()
		o.Log.Info("metrics listening", "addr", st.MetricsAddr)
	}

	// Each service tags its own logger with its name.
	deps := service.Deps{NC: st.NC, JS: st.JS, Log: o.Log, Tracer: o.Tracer, Metrics: o.Metrics, Clock: o.Clock}
	db := func(name string) string { return filepath.Join(o.DataDir, name+".db") }
	for _, name := range Names {
		if !slices.Contains(o.Services, name) {
			continue
		}
		var svc service.Service
		deps := deps
		if o.Tracers != nil {
			deps.Tracer = o.Tracers(name)
		}
		switch name {
		case "discovery":
			svc, err = discovery.New(deps, discovery.Config{InventoryPath: o.InventoryPath, Inventory: o.Inventory, Sources: o.Sources,
				SourcePool: o.SourcePool, SourceDriver: o.SourceDriver, DBPath: db(name)})
		case "calendar":
			svc, err = calendar.New(deps, calendar.Config{DBPath: db(name)})
		case "planner":
			svc, err = planner.New(deps, planner.Config{DBPath: db(name)})
		case "scheduler":
			svc, err = scheduler.New(deps, scheduler.Config{DBPath: db(name), TickInterval: o.SchedulerTick, StreamReplicas: max(1, o.Replicas)})
		case "executor":
			ex := o.Executor
			if ex.Replicas == 0 {
				ex.Replicas = max(1, o.Replicas)
			}
			svc, err = executor.New(deps, ex)
		case "gateway":
			var gw *gateway.Service
			gw, err = gateway.New(deps, gateway.Config{Addr: o.GatewayAddr, Metrics: o.Metrics})
			st.Gateway, svc = gw, gw
		}
		if err != nil {
			return st, fmt.Errorf("create %s: %w", name, err)
		}
		if err := svc.Start(ctx); err != nil {
			return st, fmt.Errorf("start %s: %w", name, err)
		}
		st.running = append(st.running, svc)
		o.Log.Info("service started", "service", name)
	}
	return st, nil
}

// Stop stops the services in reverse order, then NATS. ctx bounds the
// whole shutdown.
func (st *Stack) Stop(ctx context.Context) {
	for i := len(st.running) - 1; i >= 0; i-- {
		svc := st.running[i]
		if err := svc.Stop(ctx); err != nil {
			st.log.Warn("service stop", "service", svc.Name(), "err", err)
		}
	}
	st.running = nil
	if st.metrics != nil {
		_ = st.metrics.Shutdown(ctx)
		st.metrics = nil
	}
	if st.NC != nil {
		_ = st.NC.Drain()
		st.NC = nil
	}
	if st.Server != nil {
		st.Server.Shutdown()
		st.Server.WaitForShutdown()
		st.Server = nil
	}
}
