package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/pkg/telemetry"
	"github.com/rollwave/rollwave/services/scheduler"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const wait = 10 * time.Second

// env is one test's world: an embedded JetStream, a fake clock, a tracer
// that records spans, and a pull consumer standing in for executors.
type env struct {
	t       *testing.T
	srv     *server.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	clock   *clock.Fake
	db      string
	reg     *prometheus.Registry
	spans   *tracetest.InMemoryExporter
	tp      *sdktrace.TracerProvider
	actions jetstream.Consumer

	mu   sync.Mutex
	seen map[string]int
	// headers of every action taken, by action id
	actionHeaders map[string]nats.Header
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	js := natstest.JetStream(t, nc)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(ctx, contracts.StreamActions, jetstream.ConsumerConfig{
		Durable: "test-executor", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "rollwave.actions.>",
	})
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := telemetry.NewTracerProvider("scheduler-test", exp, true)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &env{
		t: t, srv: srv, nc: nc, js: js, clock: clock.NewFake(t0), db: filepath.Join(t.TempDir(), "scheduler.db"),
		reg: prometheus.NewRegistry(), spans: exp, tp: tp, actions: cons,
		seen: map[string]int{}, actionHeaders: map[string]nats.Header{},
	}
}

// sched is a running scheduler with its own NATS connection, so a test can
// cut it off.
type sched struct {
	svc *scheduler.Service
	nc  *nats.Conn
}

func (e *env) start(setup ...func(*scheduler.Service, *nats.Conn)) *sched {
	e.t.Helper()
	nc, err := nats.Connect(e.srv.ClientURL(), nats.Name("scheduler"), nats.MaxReconnects(-1))
	if err != nil {
		e.t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		e.t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(e.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	svc, err := scheduler.New(service.Deps{NC: nc, JS: js, Log: log, Tracer: e.tp, Metrics: e.reg, Clock: e.clock},
		scheduler.Config{DBPath: e.db})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range setup {
		f(svc, nc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	s := &sched{svc: svc, nc: nc}
	e.t.Cleanup(func() { s.stop(e.t) })
	return s
}

func (s *sched) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.svc.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
	s.nc.Close()
}

// calendar is a stand-in for the calendar service: it refuses admission
// in the environments in freeze while the asked instant is before until.
type calendar struct {
	mu     sync.Mutex
	freeze map[string]contracts.Window
	asked  int
}

func (e *env) calendar() *calendar {
	e.t.Helper()
	c := &calendar{freeze: map[string]contracts.Window{}}
	srv := natsx.NewServer(e.nc, "calendar")
	err := srv.Handle(natsx.Handler{Subject: contracts.APICalendarAdmit, Decode: natsx.DecodeJSON[contracts.AdmitQuery](),
		Endpoint: func(_ context.Context, req any) (any, error) {
			q := req.(contracts.AdmitQuery)
			c.mu.Lock()
			defer c.mu.Unlock()
			c.asked++
			if w, ok := c.freeze[q.Environment]; ok && q.At.Before(w.End) {
				until := w.End
				return contracts.Admission{Until: &until, Window: &w}, nil
			}
			return contracts.Admission{Allowed: true}, nil
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(srv.Close)
	return c
}

func (c *calendar) freezeUntil(envName, reason string, end time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.freeze[envName] = contracts.Window{ID: "w-" + envName, Environment: envName, Kind: contracts.WindowFreeze,
		Start: t0.Add(-time.Hour), End: end, Reason: reason}
}

// newPlan lays out phases of batches of host names in an environment.
func newPlan(id, envName string, phases ...[][]string) contracts.Plan {
	p := contracts.Plan{Rollout: id, App: "web", Version: "2.0.0", Environment: envName, Strategy: contracts.StrategyRolling,
		Hosts: map[string]contracts.PlannedHost{}, OnFailure: contracts.OnFailurePause, RequestedBy: "ci"}
	for i, batches := range phases {
		p.Phases = append(p.Phases, contracts.PlannedPhase{Name: fmt.Sprintf("phase%d", i), Batches: batches})
		for _, b := range batches {
			for _, h := range b {
				p.Hosts[h] = contracts.PlannedHost{Name: h, Address: h + ".example", Pool: "pool1",
					Driver: contracts.DriverSpec{Sim: &contracts.SimDriver{}}, PreviousVersion: "1.0.0"}
			}
		}
	}
	return p
}

// plan3 is the three-phase plan of the tests: [h1]; [h2 h3] [h4]; [h5 h6].
func plan3(id string) contracts.Plan {
	p := newPlan(id, "prod", [][]string{{"h1"}}, [][]string{{"h2", "h3"}, {"h4"}}, [][]string{{"h5", "h6"}})
	p.Phases[0].Name, p.Phases[1].Name, p.Phases[2].Name = "canary", "east", "rest"
	return p
}

// publishPlanned publishes a planned event as the planner would, inside a
// span of the test's tracer, and returns that span's context.
func (e *env) publishPlanned(p contracts.Plan) trace.SpanContext {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ctx, span := e.tp.Tracer("test").Start(ctx, "plan "+p.Rollout)
	defer span.End()
	ev := contracts.Event{Rollout: p.Rollout, Environment: p.Environment, App: p.App, Version: p.Version,
		State: contracts.StatePlanned, Plan: &p}
	m, err := natsx.EnvelopeMsg(ctx, contracts.EventSubject(p.Environment, p.Rollout, contracts.EventPlanned),
		contracts.EventTypeID(contracts.EventPlanned), contracts.PlannedMsgID(p.Rollout), "rollwave/planner", p.Rollout, t0, ev)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.js.PublishMsg(ctx, m); err != nil {
		e.t.Fatal(err)
	}
	return span.SpanContext()
}

// take pulls n host actions as an executor would, acknowledging them.
func (e *env) take(n int) []contracts.HostAction {
	e.t.Helper()
	var out []contracts.HostAction
	natstest.CheckFor(e.t, wait, 5*time.Millisecond, func() error {
		batch, err := e.actions.Fetch(n-len(out), jetstream.FetchMaxWait(50*time.Millisecond))
		if err != nil {
			return err
		}
		for m := range batch.Messages() {
			envl, err := contracts.DecodeEnvelope(m.Data())
			if err != nil {
				e.t.Fatal(err)
			}
			var a contracts.HostAction
			if err := envl.DecodeData(contracts.TypeHostAction, &a); err != nil {
				e.t.Fatal(err)
			}
			if id := m.Headers().Get(nats.MsgIdHdr); id != a.ID || envl.ID != a.ID {
				e.t.Fatalf("action %s published with msg id %q, envelope id %q", a.ID, id, envl.ID)
			}
			if want := contracts.ActionSubject("pool1", a.Environment); m.Subject() != want {
				e.t.Fatalf("action on %s, want %s", m.Subject(), want)
			}
			e.mu.Lock()
			e.seen[a.ID]++
			e.actionHeaders[a.ID] = m.Headers()
			e.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			err = m.DoubleAck(ctx)
			cancel()
			if err != nil {
				e.t.Fatal(err)
			}
			out = append(out, a)
		}
		if len(out) < n {
			return fmt.Errorf("took %d of %d actions", len(out), n)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b contracts.HostAction) int { return strings.Compare(a.Host.Name, b.Host.Name) })
	return out
}

// result publishes the outcome of an action as an executor would.
func (e *env) result(a contracts.HostAction, ok bool) {
	e.t.Helper()
	st, errText := contracts.ResultSucceeded, ""
	if !ok {
		st, errText = contracts.ResultFailed, "exit status 1"
	}
	res := contracts.HostResult{ActionID: a.ID, Rollout: a.Rollout, Environment: a.Environment, App: a.App,
		Version: a.Version, Phase: a.Phase, Batch: a.Batch, Host: a.Host.Name, Attempt: a.Attempt, Status: st,
		Error: errText, StartedAt: t0, FinishedAt: t0.Add(time.Second), Executor: "test"}
	e.publishResult(res)
}

func (e *env) publishResult(res contracts.HostResult) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := natsx.EnvelopeMsg(ctx, contracts.ResultSubject(res.Environment, res.Rollout), contracts.TypeHostResult,
		contracts.ResultMsgID(res.ActionID), "rollwave/executor", res.Host, t0, res)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.js.PublishMsg(ctx, m); err != nil {
		e.t.Fatal(err)
	}
}

// finish answers every action of the rollout with success, batch by batch.
func (e *env) finish(sizes ...int) {
	e.t.Helper()
	for _, n := range sizes {
		for _, a := range e.take(n) {
			e.result(a, true)
		}
	}
}

// event is a rollout event read back from the EVENTS stream.
type event struct {
	contracts.Event
	Type   contracts.EventType
	MsgID  string
	Header nats.Header
}

// events reads every scheduler event of a rollout from the stream, in
// stream order, checking each one's envelope and message id.
func (e *env) events(rollout string) []event {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	str, err := e.js.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []event
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		raw, err := str.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		_, id, typ, err := contracts.ParseEventSubject(raw.Subject)
		if err != nil || id != rollout || typ == contracts.EventPlanned {
			continue
		}
		envl, err := contracts.DecodeEnvelope(raw.Data)
		if err != nil {
			e.t.Fatal(err)
		}
		var ev contracts.Event
		if err := envl.DecodeData(contracts.EventTypeID(typ), &ev); err != nil {
			e.t.Fatal(err)
		}
		msgID := raw.Header.Get(nats.MsgIdHdr)
		if want := contracts.EventMsgID(rollout, ev.Seq); msgID != want || envl.ID != want || envl.Source != "rollwave/scheduler" {
			e.t.Fatalf("event %s seq %d: msg id %q, envelope id %q, source %q", typ, ev.Seq, msgID, envl.ID, envl.Source)
		}
		out = append(out, event{Event: ev, Type: typ, MsgID: msgID, Header: raw.Header})
	}
	return out
}

// waitFor waits until the rollout has emitted n events of a type and
// returns all its events.
func (e *env) waitFor(rollout string, typ contracts.EventType, n int) []event {
	e.t.Helper()
	var evs []event
	natstest.CheckFor(e.t, wait, 5*time.Millisecond, func() error {
		evs = e.events(rollout)
		if got := len(ofType(evs, typ)); got < n {
			return fmt.Errorf("rollout %s has %d %s events, want %d (events: %v)", rollout, got, typ, n, typesOf(evs))
		}
		return nil
	})
	return evs
}

// tickUntil advances the fake clock a second at a time until the rollout
// has emitted n events of a type.
func (e *env) tickUntil(rollout string, typ contracts.EventType, n int) []event {
	e.t.Helper()
	var evs []event
	natstest.CheckFor(e.t, wait, 5*time.Millisecond, func() error {
		evs = e.events(rollout)
		if got := len(ofType(evs, typ)); got < n {
			e.clock.Advance(time.Second)
			return fmt.Errorf("rollout %s has %d %s events, want %d (events: %v)", rollout, got, typ, n, typesOf(evs))
		}
		return nil
	})
	return evs
}

func ofType(evs []event, typ contracts.EventType) []event {
	var out []event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func typesOf(evs []event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, string(ev.Type))
	}
	return out
}

// checkSeqs checks that a rollout's events are numbered 1..n, each once.
func checkSeqs(t *testing.T, evs []event) {
	t.Helper()
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d (%s) has seq %d: events %v", i, ev.Type, ev.Seq, typesOf(evs))
		}
	}
}

// checkActionsOnce checks that the ACTIONS stream received exactly the
// given number of messages, each action exactly once.
func (e *env) checkActionsOnce(want int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	str, err := e.js.Stream(ctx, contracts.StreamActions)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if info.State.LastSeq != uint64(want) {
		e.t.Fatalf("ACTIONS stored %d messages, want %d", info.State.LastSeq, want)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) != want {
		e.t.Fatalf("took %d distinct actions, want %d", len(e.seen), want)
	}
	for id, n := range e.seen {
		if n != 1 {
			e.t.Fatalf("action %s delivered %d times", id, n)
		}
	}
}

func (e *env) control(id string, verb contracts.Verb, actor string) (contracts.RolloutSummary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return natsx.Request[contracts.RolloutSummary](ctx, e.nc, contracts.ControlSubject(id, verb),
		contracts.ControlCommand{Actor: actor, Reason: "test " + string(verb)})
}

// metric reads a counter or gauge from the registry.
func (e *env) metric(name string, labels ...string) float64 {
	e.t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// parentOf returns the parent span id in a message's traceparent header.
func parentOf(t *testing.T, h nats.Header) (trace.TraceID, trace.SpanID) {
	t.Helper()
	parts := strings.Split(h.Get("traceparent"), "-")
	if len(parts) != 4 {
		t.Fatalf("traceparent = %q", h.Get("traceparent"))
	}
	tid, err := trace.TraceIDFromHex(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	return tid, sid
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// get reads one rollout through the query API.
func (e *env) get(id string) contracts.RolloutView {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	v, err := natsx.Request[contracts.RolloutView](ctx, e.nc, contracts.APISchedulerGet, contracts.RolloutQuery{Rollout: id})
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return v
}

// list reads rollouts through the query API.
func (e *env) list(q contracts.RolloutListQuery) contracts.RolloutList {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	l, err := natsx.Request[contracts.RolloutList](ctx, e.nc, contracts.APISchedulerList, q)
	if err != nil {
		e.t.Fatalf("list: %v", err)
	}
	return l
}
