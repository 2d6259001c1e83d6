// Package gateway is Rollwave's HTTP API: it turns HTTP requests into deploy
// requests on the REQUESTS stream, request/reply queries and commands on
// the other services' subjects, and follows the EVENTS stream as
// Server-Sent Events. It keeps no state of its own.
//
// Layers: API (one method per operation, over NATS) -> go-kit endpoints
// (timeouts, error classification, metrics) -> HTTP transport (decoding,
// JSON errors {"code","message","field"} with the status of the code).
// /v1/events is a plain handler, as a stream does not fit an endpoint.
//
// Routes (JSON bodies of at most 1 MiB, unknown fields rejected):
//
//	POST   /v1/rollouts                 DeployRequest or its envelope -> 202 {rollout, stream_seq, duplicate}; 409 conflict when the id names another request
//	GET    /v1/rollouts?environment=&state=&limit=
//	GET    /v1/rollouts/{id}
//	POST   /v1/rollouts/{id}/{verb}     pause|resume|abort, body {actor, reason} optional
//	POST   /v1/plan                     as POST /v1/rollouts -> 200 PreviewReply, 422 with reasons
//	GET    /v1/inventory?environment=
//	GET    /v1/discovery/status
//	GET    /v1/inventory/history?environment=&host=&app=&limit=
//	GET    /v1/history?app=&environment=&limit=   past rollouts, newest first (the planner's record)
//	POST   /v1/promote                  PromoteRequest {app, version, to, reason, override} -> 202 {rollout, stream_seq, duplicate, from, from_environment}; 422 with reasons; 404 no completed rollout
//	POST   /v1/graph                  {"environment", "apps": [{"app", "version", "requires"}]}
//	GET    /v1/calendar/windows?environment=
//	POST   /v1/calendar/windows         WindowInput -> 201 Window
//	DELETE /v1/calendar/windows/{id}    -> 204
//	GET    /v1/calendar.ics?env=          iCalendar feed (text/calendar)
//	POST   /v1/calendar/import          CalendarImport -> 201 WindowList
//	GET    /v1/calendar/slot?env=&after=&duration=&team=  -> Slot
//	GET    /v1/events?environment=&rollout=&type=&since=&snapshot=
//	GET|PUT|DELETE /v1/stop          the line stop (linestop.go)
//	GET    /healthz, GET /metrics
//
// /v1/events sends Server-Sent Events (id = stream sequence, event = event
// type, data = envelope JSON) starting with new events, or after the
// sequence in Last-Event-ID or since (0 = from the first event). With
// snapshot=true it ends once the events that existed when it was asked
// for have been sent: `rollwave events` without --follow uses that.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
)

// Config configures the gateway.
type Config struct {
	// Addr is the address to listen on; default "127.0.0.1:8080". Port 0
	// picks a free port (see Service.Addr).
	Addr string
	// Metrics, when set, is served at /metrics.
	Metrics prometheus.Gatherer
	// RequestTimeout bounds each call to another service; default 5s.
	RequestTimeout time.Duration
}

// Defaults.
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultRequestTimeout = 5 * time.Second
)

// Service is the HTTP gateway.
type Service struct {
	deps    service.Deps
	cfg     Config
	log     *slog.Logger
	clock   clock.Clock
	metrics *metrics
	handler http.Handler

	mu       sync.Mutex
	srv      *http.Server
	ln       net.Listener
	served   chan struct{}
	stopping chan struct{}
}

var _ service.Service = (*Service)(nil)

// New checks the dependencies, applies defaults and builds the routes.
func New(deps service.Deps, cfg Config) (*Service, error) {
	if deps.NC == nil || deps.JS == nil {
		return nil, errors.New("gateway: NATS connection and JetStream are required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	deps = deps.WithDefaults()
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, err
	}
	s := &Service{
		deps:     deps,
		cfg:      cfg,
		log:      deps.Log.With("service", "gateway"),
		clock:    deps.Clock,
		metrics:  m,
		stopping: make(chan struct{}),
	}
	api := &natsAPI{nc: deps.NC, js: deps.JS, tracer: deps.Tracer.Tracer("rollwave/gateway"), clock: deps.Clock, log: s.log}
	s.handler = s.routes(MakeEndpoints(api, cfg.RequestTimeout, m))
	return s, nil
}

// Name is the service's name.
func (s *Service) Name() string { return "gateway" }

// Handler returns the gateway's HTTP handler, for embedding it in another
// server.
func (s *Service) Handler() http.Handler { return s.handler }

func (s *Service) routes(e Endpoints) http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, dec decodeFunc, ep endpoint.Endpoint, enc encodeFunc) {
		mux.Handle(pattern, server{decode: dec, endpoint: ep, encode: enc, log: s.log})
	}
	handle("POST /v1/rollouts", decodeDeploy, e.Deploy, jsonStatus(http.StatusAccepted))
	handle("GET /v1/rollouts", decodeListRollouts, e.ListRollouts, jsonStatus(http.StatusOK))
	handle("GET /v1/rollouts/{id}", decodeGetRollout, e.GetRollout, jsonStatus(http.StatusOK))
	handle("POST /v1/rollouts/{id}/{verb}", decodeControl, e.Control, jsonStatus(http.StatusOK))
	handle("POST /v1/plan", decodeDeploy, e.Preview, encodePreview)
	handle("GET /v1/inventory", decodeInventory, e.Inventory, jsonStatus(http.StatusOK))
	handle("GET /v1/discovery/status", decodeNothing, e.DiscoveryStatus, jsonStatus(http.StatusOK))
	handle("POST /v1/graph", decodeGraph, e.Graph, jsonStatus(http.StatusOK))
	handle("GET /v1/inventory/history", decodeHistory, e.History, jsonStatus(http.StatusOK))
	handle("GET /v1/history", decodeRolloutHistory, e.RolloutHistory, jsonStatus(http.StatusOK))
	handle("POST /v1/promote", decodePromote, e.Promote, encodePromote)
	handle("GET /v1/calendar/windows", decodeListWindows, e.ListWindows, jsonStatus(http.StatusOK))
	handle("POST /v1/calendar/windows", decodeAddWindow, e.AddWindow, jsonStatus(http.StatusCreated))
	handle("DELETE /v1/calendar/windows/{id}", decodeRemoveWindow, e.RemoveWindow, noContent)
	handle("GET /v1/calendar.ics", decodeCalendarFeed, e.CalendarFeed, encodeICS)
	handle("POST /v1/calendar/import", decodeCalendarImport, e.CalendarImport, jsonStatus(http.StatusCreated))
	handle("GET /v1/calendar/slot", decodeCalendarSlot, e.CalendarSlot, jsonStatus(http.StatusOK))
	mux.HandleFunc(eventsRoute, s.handleEvents)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		mux.HandleFunc(m+" /v1/stop", s.handleLineStop)
	}
	mux.HandleFunc("GET /healthz", s.handleHealth)
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{}))
	}
	return s.instrument(jsonErrors(mux, s.log))
}

// eventsRoute streams events for as long as the client stays.
const eventsRoute = "GET /v1/events"

func (s *Service) handleHealth(w http.ResponseWriter, r *http.Request) {
	if st := s.deps.NC.Status(); st != nats.CONNECTED {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{
			Code: contracts.CodeUnavailable, Message: "NATS connection is " + st.String()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Start makes sure the streams exist, listens and serves in the background.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("gateway: already started")
	}
	if err := natsx.EnsureStreams(ctx, s.deps.JS, contracts.Streams(), 1); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// No WriteTimeout: event streams live long; each of their writes
		// has its own deadline.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	s.log.Info("gateway listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address the gateway listens on, once started.
func (s *Service) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Stop ends event streams, stops accepting requests and waits, within ctx,
// for requests in flight.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	select {
	case <-s.stopping:
	default:
		close(s.stopping)
	}
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	<-served
	return nil
}
