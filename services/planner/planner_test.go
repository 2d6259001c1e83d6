package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
)

var start = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const wait = 10 * time.Second

type harness struct {
	t     *testing.T
	srv   string
	nc    *nats.Conn
	js    jetstream.JetStream
	reg   *prometheus.Registry
	exp   *tracetest.InMemoryExporter
	tp    *sdktrace.TracerProvider
	clock *clock.Fake
	deps  service.Deps
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	h := &harness{
		t: t, srv: srv.ClientURL(), nc: nc, js: natstest.JetStream(t, nc),
		reg: prometheus.NewRegistry(), exp: tracetest.NewInMemoryExporter(), clock: clock.NewFake(start),
	}
	h.tp = telemetry.NewTracerProvider("planner-test", h.exp, true)
	h.deps = service.Deps{
		NC: nc, JS: h.js, Tracer: h.tp, Metrics: h.reg, Clock: h.clock,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	return h
}

// startPlanner starts a planner that stops when the test ends.
func (h *harness) startPlanner(cfg Config) *Service {
	h.t.Helper()
	if cfg.DBPath == "" {
		cfg.DBPath = filepath.Join(h.t.TempDir(), "planner.db")
	}
	svc, err := New(h.deps, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = svc.Stop(ctx)
	})
	return svc
}

// inventory of the stand-in discovery: environment prod with web-01..04.
func prod() contracts.Environment {
	e := contracts.Environment{Name: "prod", Params: map[string]string{"region": "eu"}}
	for i := 1; i <= 4; i++ {
		e.Hosts = append(e.Hosts, contracts.Host{
			Name: fmt.Sprintf("web-%02d", i), Address: fmt.Sprintf("10.0.0.%d", i),
			Groups: []string{"web"}, Driver: &contracts.DriverSpec{Sim: &contracts.SimDriver{}},
			Versions: map[string]contracts.HostVersion{"web": {Version: "2.4.0"}},
		})
	}
	return e
}

// serveDiscovery answers target queries on its own connection, as the
// discovery service would: the known environments, not_found otherwise.
func (h *harness) serveDiscovery(envs ...contracts.Environment) *nats.Subscription {
	h.t.Helper()
	nc, err := nats.Connect(h.srv)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(nc.Close)
	sub, err := nc.Subscribe(contracts.APIDiscoveryTargets, func(m *nats.Msg) {
		var q contracts.TargetsQuery
		var reply contracts.Reply[contracts.Environment]
		if err := json.Unmarshal(m.Data, &q); err != nil {
			reply.Error = contracts.Invalid("", "bad query")
		}
		for _, e := range envs {
			if e.Name == q.Environment {
				reply.Data = &e
			}
		}
		if reply.Data == nil && reply.Error == nil {
			reply.Error = contracts.Errorf(contracts.CodeNotFound, "no environment %q", q.Environment)
		}
		b, _ := json.Marshal(reply)
		_ = m.Respond(b)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		h.t.Fatal(err)
	}
	return sub
}

func deployRequest(id string) contracts.DeployRequest {
	return contracts.DeployRequest{
		ID: id, App: "web", Version: "2.5.0", Environment: "prod", RequestedBy: "ci",
		Phases: []contracts.PhaseSpec{
			{Name: "canary", Hosts: []string{"web-02"}},
			{Name: "rest", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 2}}}},
		},
	}
}

// publishRequest publishes a request envelope as publishers do, with the
// request id as Nats-Msg-Id, and returns its stream sequence.
func (h *harness) publishRequest(ctx context.Context, req contracts.DeployRequest) *jetstream.PubAck {
	h.t.Helper()
	m, err := natsx.EnvelopeMsg(ctx, contracts.SubjectDeployRequest, contracts.TypeDeployRequest, req.ID, "test", "", start, req)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.publish(m)
}

func (h *harness) publish(m *nats.Msg) *jetstream.PubAck {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ack, err := h.js.PublishMsg(ctx, m)
	if err != nil {
		h.t.Fatal(err)
	}
	return ack
}

// event waits for the last event on subject and decodes it.
func (h *harness) event(subject string) (*jetstream.RawStreamMsg, contracts.Envelope, contracts.Event) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	stream, err := h.js.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		h.t.Fatal(err)
	}
	var raw *jetstream.RawStreamMsg
	natstest.CheckFor(h.t, wait, 10*time.Millisecond, func() error {
		raw, err = stream.GetLastMsgForSubject(ctx, subject)
		return err
	})
	env, ev, err := contracts.DecodeEvent(raw.Data)
	if err != nil {
		h.t.Fatalf("event on %s: %v", subject, err)
	}
	return raw, env, ev
}

// settled waits until the planner has acked every request.
func (h *harness) settled() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	natstest.CheckFor(h.t, wait, 10*time.Millisecond, func() error {
		cons, err := h.js.Consumer(ctx, contracts.StreamRequests, contracts.PlannerConsumer().Durable)
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumPending > 0 || info.NumAckPending > 0 {
			return fmt.Errorf("%d pending, %d unacked", info.NumPending, info.NumAckPending)
		}
		return nil
	})
}

// eventCount counts the events on subjects matching filter.
func (h *harness) eventCount(filter string) uint64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	stream, err := h.js.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		h.t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

func (h *harness) requests(outcome string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rollwave_planner_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func reasonsText(ev contracts.Event) string {
	var parts []string
	for _, r := range ev.Reasons {
		parts = append(parts, r.String())
	}
	return strings.Join(parts, "; ")
}

func TestPlannedEvent(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	h.publishRequest(context.Background(), deployRequest("r1"))

	subject := contracts.EventSubject("prod", "r1", contracts.EventPlanned)
	raw, env, ev := h.event(subject)
	if got := raw.Header.Get(nats.MsgIdHdr); got != contracts.PlannedMsgID("r1") {
		t.Errorf("Nats-Msg-Id = %q", got)
	}
	if env.Type != contracts.EventTypeID(contracts.EventPlanned) || env.Source != "rollwave/planner" || env.ID != contracts.PlannedMsgID("r1") || !env.Time.Equal(start) {
		t.Errorf("envelope = %+v", env)
	}
	if ev.Rollout != "r1" || ev.Environment != "prod" || ev.App != "web" || ev.Version != "2.5.0" || ev.State != contracts.StatePlanned || ev.Actor != "ci" {
		t.Errorf("event = %+v", ev)
	}
	p := ev.Plan
	if p == nil || len(p.Phases) != 2 {
		t.Fatalf("plan = %+v", p)
	}
	if fmt.Sprint(p.Phases[0].Batches) != "[[web-02]]" || fmt.Sprint(p.Phases[1].Batches) != "[[web-01 web-03] [web-04]]" {
		t.Errorf("batches = %v %v", p.Phases[0].Batches, p.Phases[1].Batches)
	}
	if h2 := p.Hosts["web-02"]; h2.PreviousVersion != "2.4.0" || h2.Params["region"] != "eu" || h2.Pool != contracts.DefaultPool || h2.Driver.Sim == nil {
		t.Errorf("web-02 = %+v", h2)
	}
	h.settled()
	if h.requests(outcomePlanned) != 1 || h.requests(outcomeRejected) != 0 {
		t.Errorf("metrics: planned %v rejected %v", h.requests(outcomePlanned), h.requests(outcomeRejected))
	}
}

func TestRejectedUnknownHost(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	req := deployRequest("r2")
	req.Phases[0].Hosts = []string{"web-02", "web-99"}
	h.publishRequest(context.Background(), req)

	raw, env, ev := h.event(contracts.EventSubject("prod", "r2", contracts.EventRejected))
	if raw.Header.Get(nats.MsgIdHdr) != contracts.PlannedMsgID("r2") || env.Type != contracts.EventTypeID(contracts.EventRejected) {
		t.Errorf("header %v envelope %+v", raw.Header, env)
	}
	if ev.State != contracts.StateRejected || ev.Plan != nil || len(ev.Reasons) != 1 {
		t.Fatalf("event = %+v", ev)
	}
	if r := ev.Reasons[0]; r.Field != "phases[0].hosts[1]" || r.Message != `unknown host "web-99" in environment "prod"` {
		t.Errorf("reason = %v", r)
	}
	if ev.Reason == "" || ev.App != "web" || ev.Version != "2.5.0" {
		t.Errorf("event = %+v", ev)
	}
	h.settled()
	if h.eventCount(contracts.EventFilter("", "", contracts.EventPlanned)) != 0 {
		t.Error("a rejected request was also planned")
	}
}

func TestRejectedUnknownEnvironment(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	req := deployRequest("r3")
	req.Environment = "nowhere"
	h.publishRequest(context.Background(), req)
	_, _, ev := h.event(contracts.EventSubject("nowhere", "r3", contracts.EventRejected))
	if len(ev.Reasons) != 1 || ev.Reasons[0].Field != "environment" || !strings.Contains(ev.Reasons[0].Message, `unknown environment "nowhere"`) {
		t.Errorf("reasons = %s", reasonsText(ev))
	}
}

func TestRejectedMalformed(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})

	// Garbage without any id: named after its stream sequence.
	garbage := nats.NewMsg(contracts.SubjectDeployRequest)
	garbage.Data = []byte("this is not JSON {")
	ack := h.publish(garbage)
	_, _, ev := h.event(fmt.Sprintf("rollwave.events._unknown._invalid-%d.rejected", ack.Sequence))
	if ev.Rollout != fmt.Sprintf("_invalid-%d", ack.Sequence) || ev.Environment != "_unknown" || len(ev.Reasons) == 0 {
		t.Errorf("event = %+v", ev)
	}

	// Garbage with a Nats-Msg-Id: named after it.
	tagged := nats.NewMsg(contracts.SubjectDeployRequest)
	tagged.Data = []byte{0xff, 0x00, 0x13}
	tagged.Header.Set(nats.MsgIdHdr, "req-77")
	h.publish(tagged)
	h.event("rollwave.events._unknown.req-77.rejected")

	// A readable request whose id and environment cannot be subject
	// tokens: every problem reported, the rest of the request kept.
	bad := deployRequest("no good")
	bad.Environment = "pro.d"
	bad.Version = "latest;rm"
	body, _ := contracts.Marshal(contracts.TypeDeployRequest, "no good", "test", "", start, bad)
	m := nats.NewMsg(contracts.SubjectDeployRequest)
	m.Data = body
	ack = h.publish(m)
	_, _, ev = h.event(fmt.Sprintf("rollwave.events._unknown._invalid-%d.rejected", ack.Sequence))
	fields := map[string]bool{}
	for _, r := range ev.Reasons {
		fields[r.Field] = true
	}
	if !fields["id"] || !fields["environment"] || !fields["version"] || ev.App != "web" {
		t.Errorf("event = %+v, reasons %s", ev, reasonsText(ev))
	}

	// Valid JSON with an unknown field: strict decoding names it.
	typo := []byte(`{"id": "r4", "app": "web", "version": "1.0.0", "environment": "prod", "phases": [{"name": "all"}], "batchsize": 2}`)
	m = nats.NewMsg(contracts.SubjectDeployRequest)
	m.Data = typo
	h.publish(m)
	_, _, ev = h.event(contracts.EventSubject("prod", "r4", contracts.EventRejected))
	if len(ev.Reasons) != 1 || ev.Reasons[0].Field != "batchsize" {
		t.Errorf("reasons = %s", reasonsText(ev))
	}
	h.settled()
	if h.requests(outcomeRejected) != 4 {
		t.Errorf("rejected = %v", h.requests(outcomeRejected))
	}
}

func TestDuplicateRequestPlannedOnce(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	req := deployRequest("r5")
	first := h.publishRequest(context.Background(), req)
	again := h.publishRequest(context.Background(), req)
	if !again.Duplicate || again.Sequence != first.Sequence {
		t.Errorf("the REQUESTS stream took the same request twice: %+v %+v", first, again)
	}
	// The same request under another message id reaches the planner twice;
	// its verdict is still published once.
	m, _ := natsx.EnvelopeMsg(context.Background(), contracts.SubjectDeployRequest, contracts.TypeDeployRequest, "r5-resent", "test", "", start, req)
	h.publish(m)
	h.settled()
	if n := h.eventCount(contracts.EventFilter("prod", "r5", "")); n != 1 {
		t.Fatalf("%d events for r5, want 1", n)
	}
	h.event(contracts.EventSubject("prod", "r5", contracts.EventPlanned))
}

func TestTraceContinuesFromRequest(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})

	ctx, parent := h.tp.Tracer("test").Start(context.Background(), "deploy")
	h.publishRequest(ctx, deployRequest("r6"))
	parent.End()
	raw, _, _ := h.event(contracts.EventSubject("prod", "r6", contracts.EventPlanned))

	var plan sdktrace.ReadOnlySpan
	natstest.CheckFor(t, wait, 10*time.Millisecond, func() error {
		for _, s := range h.exp.GetSpans().Snapshots() {
			if s.Name() == "plan" {
				plan = s
				return nil
			}
		}
		return errors.New("no plan span yet")
	})
	tid := parent.SpanContext().TraceID()
	if plan.SpanContext().TraceID() != tid || plan.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("plan span in trace %s under %s, want trace %s under %s",
			plan.SpanContext().TraceID(), plan.Parent().SpanID(), tid, parent.SpanContext().SpanID())
	}
	if plan.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("kind = %v", plan.SpanKind())
	}
	// The planned event carries the plan span as its parent, exactly cased.
	want := fmt.Sprintf("00-%s-%s-01", tid, plan.SpanContext().SpanID())
	if got := raw.Header["traceparent"]; len(got) != 1 || got[0] != want {
		t.Errorf("event traceparent = %v, want %s", got, want)
	}
}

func TestInventoryUnavailableRetriesThenRejects(t *testing.T) {
	h := newHarness(t)
	// No discovery at all: every query finds no responders.
	h.startPlanner(Config{RetryBackoff: time.Millisecond, MaxRetryBackoff: 4 * time.Millisecond})
	h.publishRequest(context.Background(), deployRequest("r7"))
	_, _, ev := h.event(contracts.EventSubject("prod", "r7", contracts.EventRejected))
	if ev.Reason != "inventory unavailable" || len(ev.Reasons) != 1 || ev.Reasons[0].Field != "environment" {
		t.Errorf("event = %+v", ev)
	}
	h.settled()
	maxDeliver := float64(contracts.PlannerConsumer().MaxDeliver)
	if h.requests(outcomeRetried) != maxDeliver-1 || h.requests(outcomeRejected) != 1 {
		t.Errorf("retried %v rejected %v, want %v and 1", h.requests(outcomeRetried), h.requests(outcomeRejected), maxDeliver-1)
	}
}

func TestInventoryRecovers(t *testing.T) {
	h := newHarness(t)
	h.startPlanner(Config{RetryBackoff: 100 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond})
	h.publishRequest(context.Background(), deployRequest("r8"))
	natstest.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if h.requests(outcomeRetried) < 1 {
			return errors.New("not retried yet")
		}
		return nil
	})
	h.serveDiscovery(prod())
	_, _, ev := h.event(contracts.EventSubject("prod", "r8", contracts.EventPlanned))
	if ev.Plan == nil || ev.Plan.TotalHosts() != 4 {
		t.Errorf("event = %+v", ev)
	}
}

func TestPreview(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	req := deployRequest("")
	reply, err := natsx.Request[contracts.PreviewReply](ctx, h.nc, contracts.APIPlannerPreview, req)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Plan == nil || reply.Plan.Rollout != "preview" || reply.Plan.TotalHosts() != 4 || reply.Reasons != nil {
		t.Fatalf("reply = %+v", reply)
	}

	req.Phases[0].Hosts = []string{"web-42"}
	req.Version = "two words"
	reply, err = natsx.Request[contracts.PreviewReply](ctx, h.nc, contracts.APIPlannerPreview, req)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Plan != nil || len(reply.Reasons) != 1 || reply.Reasons[0].Field != "version" {
		t.Fatalf("static problems come first: %+v", reply)
	}
	req.Version = "2.5.0"
	reply, err = natsx.Request[contracts.PreviewReply](ctx, h.nc, contracts.APIPlannerPreview, req)
	if err != nil || len(reply.Reasons) != 1 || reply.Reasons[0].Field != "phases[0].hosts[0]" {
		t.Fatalf("reply = %+v, %v", reply, err)
	}

	req.Environment = "nowhere"
	reply, err = natsx.Request[contracts.PreviewReply](ctx, h.nc, contracts.APIPlannerPreview, req)
	if err != nil || len(reply.Reasons) != 1 || reply.Reasons[0].Field != "environment" {
		t.Fatalf("reply = %+v, %v", reply, err)
	}

	_, err = natsx.Request[contracts.PreviewReply](ctx, h.nc, contracts.APIPlannerPreview, json.RawMessage(`{"app": 5}`))
	if e := contracts.AsError(err); e == nil || e.Code != contracts.CodeInvalid || e.Field != "app" {
		t.Fatalf("err = %v", err)
	}
	if n := h.eventCount(contracts.EventsWildcard()); n != 0 {
		t.Fatalf("previews published %d events", n)
	}
}

func TestPreviewInventoryUnavailable(t *testing.T) {
	h := newHarness(t)
	h.startPlanner(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := natsx.Request[contracts.PreviewReply](ctx, h.nc, contracts.APIPlannerPreview, deployRequest("p1"))
	if !contracts.IsCode(err, contracts.CodeUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

func TestStopHandsOver(t *testing.T) {
	h := newHarness(t)
	// Discovery that takes the first query and never answers it.
	var asked atomic.Int32
	nc, err := nats.Connect(h.srv)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	held := make(chan struct{}, 1)
	sub, err := nc.Subscribe(contracts.APIDiscoveryTargets, func(*nats.Msg) {
		if asked.Add(1) == 1 {
			held <- struct{}{}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()

	first, err := New(h.deps, Config{DiscoveryTimeout: time.Minute, DBPath: filepath.Join(t.TempDir(), "first.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.publishRequest(context.Background(), deployRequest("r9"))
	select {
	case <-held:
	case <-time.After(wait):
		t.Fatal("the planner never asked discovery")
	}
	// Stop cannot wait for the stuck query: its deadline cancels it, and
	// the request goes back to the stream rather than being rejected.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	if err := first.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want deadline exceeded", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	_ = sub.Unsubscribe()

	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	h.event(contracts.EventSubject("prod", "r9", contracts.EventPlanned))
	h.settled()
	if n := h.eventCount(contracts.EventFilter("prod", "r9", "")); n != 1 {
		t.Fatalf("%d events for r9", n)
	}
}

func TestStopIsClean(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	svc := h.startPlanner(Config{})
	h.publishRequest(context.Background(), deployRequest("r10"))
	h.event(contracts.EventSubject("prod", "r10", contracts.EventPlanned))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Stop(ctx); err != nil {
		t.Fatalf("second Stop = %v", err)
	}
	if err := svc.Start(ctx); err == nil {
		t.Fatal("a stopped planner started again")
	}
	if svc.Name() != "planner" {
		t.Fatalf("name = %q", svc.Name())
	}
}

func TestNewChecksConfig(t *testing.T) {
	h := newHarness(t)
	if _, err := New(service.Deps{}, Config{}); err == nil {
		t.Error("New without NATS succeeded")
	}
	if _, err := New(h.deps, Config{RetryBackoff: time.Minute, MaxRetryBackoff: time.Second}); err == nil {
		t.Error("backoff above its cap accepted")
	}
	if _, err := New(h.deps, Config{DiscoveryTimeout: -time.Second}); err == nil {
		t.Error("negative timeout accepted")
	}
	if _, err := New(h.deps, Config{}); err == nil {
		t.Error("planner without a request record accepted")
	}
	// Two planners in one process share the counter instead of failing.
	db := Config{DBPath: filepath.Join(t.TempDir(), "planner.db")}
	if _, err := New(h.deps, db); err != nil {
		t.Fatal(err)
	}
	if _, err := New(h.deps, db); err != nil {
		t.Fatalf("second planner on one registry: %v", err)
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tt := range []struct {
		delivered uint64
		want      time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {5, 16 * time.Second}, {6, 30 * time.Second}, {1000, 30 * time.Second}} {
		if got := retryDelay(tt.delivered, time.Second, 30*time.Second); got != tt.want {
			t.Errorf("retryDelay(%d) = %v, want %v", tt.delivered, got, tt.want)
		}
	}
}

func TestRejectedSubject(t *testing.T) {
	for _, tt := range []struct {
		env, rollout string
		seq          uint64
		subject      string
		token        string
	}{
		{"prod", "r1", 7, "rollwave.events.prod.r1.rejected", "r1"},
		{"", "r1", 7, "rollwave.events._unknown.r1.rejected", "r1"},
		{"pro.d", "", 7, "rollwave.events._unknown._invalid-7.rejected", "_invalid-7"},
		{"prod", "a b", 12, "rollwave.events.prod._invalid-12.rejected", "_invalid-12"},
		{"prod", "_invalid-3", 12, "rollwave.events.prod._invalid-12.rejected", "_invalid-12"},
		{"*", ">", 1, "rollwave.events._unknown._invalid-1.rejected", "_invalid-1"},
	} {
		subject, token := contracts.RejectedSubject(tt.env, tt.rollout, tt.seq)
		if subject != tt.subject || token != tt.token {
			t.Errorf("RejectedSubject(%q, %q, %d) = %s, %s", tt.env, tt.rollout, tt.seq, subject, token)
		}
	}
}

func TestIdentify(t *testing.T) {
	hdr := func(id string) nats.Header { h := nats.Header{}; h.Set(nats.MsgIdHdr, id); return h }
	for _, tt := range []struct {
		name         string
		req          contracts.DeployRequest
		data         string
		header       nats.Header
		rollout, env string
	}{
		{"decoded", contracts.DeployRequest{ID: "r1", Environment: "prod"}, "", nil, "r1", "prod"},
		{"bare JSON", contracts.DeployRequest{}, `{"id": "r2", "environment": "qa", "phases": 3}`, nil, "r2", "qa"},
		{"envelope", contracts.DeployRequest{}, `{"specversion": "1.0", "id": "e1", "data": {"environment": "qa", "app": 1}}`, nil, "e1", "qa"},
		{"envelope data id wins", contracts.DeployRequest{}, `{"specversion": "1.0", "id": "e1", "data": {"id": "d1"}}`, nil, "d1", ""},
		{"header", contracts.DeployRequest{}, `garbage`, hdr("h1"), "h1", ""},
		{"nothing valid", contracts.DeployRequest{ID: "a b"}, `{"id": "a b", "environment": "x.y"}`, hdr("a.b"), "", ""},
	} {
		ref := identify(tt.req, []byte(tt.data), tt.header)
		if ref.rollout != tt.rollout || ref.env != tt.env {
			t.Errorf("%s: %+v, want rollout %q env %q", tt.name, ref, tt.rollout, tt.env)
		}
	}
}

// FuzzIdentify: whatever arrives, the verdict has a subject made of valid
// tokens and bounded fields.
func FuzzIdentify(f *testing.F) {
	f.Add([]byte(`{"id": "r1", "environment": "prod", "app": "web"}`), "r1")
	f.Add([]byte(`{"specversion": "1.0", "id": "e", "data": {"id": 3, "environment": "p.q"}}`), "")
	f.Add([]byte("\xff\xfe"), "a b")
	f.Add([]byte(`{"app": "`+strings.Repeat("é", 200)+`"}`), "x")
	f.Fuzz(func(t *testing.T, data []byte, msgID string) {
		req, _ := contracts.DecodeDeployRequest(data)
		h := nats.Header{}
		h.Set(nats.MsgIdHdr, msgID)
		ref := identify(req, data, h)
		subject, token := contracts.RejectedSubject(ref.env, ref.rollout, 42)
		env, rollout, typ, err := contracts.ParseEventSubject(subject)
		if err != nil || typ != contracts.EventRejected || rollout != token {
			t.Fatalf("subject %q: %v", subject, err)
		}
		for _, tok := range []string{env, rollout} {
			if !contracts.ValidToken(strings.TrimPrefix(tok, "_")) {
				t.Fatalf("subject %q has an invalid token %q", subject, tok)
			}
		}
		if len(ref.app) > 131 || len(ref.version) > 131 {
			t.Fatalf("unbounded fields: %d %d", len(ref.app), len(ref.version))
		}
	})
}
