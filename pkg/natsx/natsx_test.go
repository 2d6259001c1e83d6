// Tests live in package natsx_test because natstest imports natsx.
package natsx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// spanContext returns ctx carrying a sampled remote span with fixed ids.
func spanContext(ctx context.Context) (context.Context, trace.SpanContext) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
	return trace.ContextWithSpanContext(ctx, sc), sc
}

// rawSubscriber speaks the NATS client protocol over a bare TCP connection,
// so that the test sees header bytes exactly as they travel.
type rawSubscriber struct {
	conn net.Conn
	r    *bufio.Reader
}

func subscribeRaw(t *testing.T, clientURL, subject string) *rawSubscriber {
	t.Helper()
	u, err := url.Parse(clientURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	rs := &rawSubscriber{conn: conn, r: bufio.NewReader(conn)}
	if greeting, err := rs.r.ReadString('\n'); err != nil || !strings.HasPrefix(greeting, "INFO ") {
		t.Fatalf("server greeted with %q, %v", greeting, err)
	}
	fmt.Fprintf(conn, "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\nSUB %s 1\r\nPING\r\n", subject)
	// The PONG comes after the SUB has been processed.
	if line := rs.line(t); line != "PONG" {
		t.Fatalf("want PONG, got %q", line)
	}
	return rs
}

// line reads the next protocol line, skipping the server's asynchronous
// INFO updates and answering its PINGs.
func (rs *rawSubscriber) line(t *testing.T) string {
	t.Helper()
	for {
		s, err := rs.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		s = strings.TrimRight(s, "\r\n")
		switch {
		case strings.HasPrefix(s, "INFO "):
		case s == "PING":
			fmt.Fprint(rs.conn, "PONG\r\n")
		default:
			return s
		}
	}
}

// next returns the raw header block and payload of the next message.
func (rs *rawSubscriber) next(t *testing.T) (header, payload string) {
	t.Helper()
	line := rs.line(t)
	f := strings.Fields(line) // HMSG <subject> <sid> <header bytes> <total bytes>
	if len(f) != 5 || f[0] != "HMSG" {
		t.Fatalf("want HMSG, got %q", line)
	}
	hdrLen, _ := strconv.Atoi(f[3])
	total, _ := strconv.Atoi(f[4])
	buf := make([]byte, total+2)
	if _, err := io.ReadFull(rs.r, buf); err != nil {
		t.Fatal(err)
	}
	return string(buf[:hdrLen]), string(buf[hdrLen:total])
}

func TestTraceparentStaysLowerCaseOnTheWire(t *testing.T) {
	s := natstest.RunServer(t)
	nc := natstest.Connect(t, s)
	raw := subscribeRaw(t, s.ClientURL(), "rollwave.test.trace")

	ctx, sc := spanContext(context.Background())
	m := natsx.NewMsg(ctx, "rollwave.test.trace", "msg-1", []byte("hello"))
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	header, payload := raw.next(t)
	want := fmt.Sprintf("\r\ntraceparent: 00-%s-%s-01\r\n", sc.TraceID(), sc.SpanID())
	if !strings.Contains(header, want) {
		t.Fatalf("header block %q lacks %q", header, want)
	}
	if strings.Contains(header, "Traceparent") {
		t.Fatalf("header key was canonicalised: %q", header)
	}
	if !strings.Contains(header, "\r\nNats-Msg-Id: msg-1\r\n") || payload != "hello" {
		t.Fatalf("header %q payload %q", header, payload)
	}
}

func TestHeaderCarrierIsCaseSensitive(t *testing.T) {
	h := nats.Header{}
	c := natsx.HeaderCarrier(h)
	c.Set("traceparent", "a")
	c.Set("Traceparent", "b")
	if c.Get("traceparent") != "a" || c.Get("Traceparent") != "b" || c.Get("TRACEPARENT") != "" {
		t.Fatalf("carrier %v", h)
	}
	if keys := c.Keys(); len(keys) != 2 {
		t.Fatalf("keys %v", keys)
	}
}

func TestTraceContextCrossesTheBroker(t *testing.T) {
	s := natstest.RunServer(t)
	nc := natstest.Connect(t, s)
	sub, err := nc.SubscribeSync("rollwave.test.trace")
	if err != nil {
		t.Fatal(err)
	}
	ctx, sc := spanContext(context.Background())
	if err := nc.PublishMsg(natsx.NewMsg(ctx, "rollwave.test.trace", "", nil)); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := trace.SpanContextFromContext(natsx.ExtractTrace(context.Background(), m.Header))
	if got.TraceID() != sc.TraceID() || got.SpanID() != sc.SpanID() || !got.IsSampled() || !got.IsRemote() {
		t.Fatalf("extracted %+v, want %+v", got, sc)
	}
	if natsx.ExtractTrace(context.Background(), nil) == nil {
		t.Fatal("nil header must give back ctx")
	}
}

func TestEnvelopeMsg(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	m, err := natsx.EnvelopeMsg(context.Background(), contracts.EventSubject("qa", "r1", contracts.EventStarted),
		contracts.EventTypeID(contracts.EventStarted), contracts.EventMsgID("r1", 1), "rollwave/test", "r1", at,
		contracts.Event{Rollout: "r1", Environment: "qa", State: contracts.StateRunning})
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(nats.MsgIdHdr) != "r1/event-1" {
		t.Fatalf("Nats-Msg-Id %q", m.Header.Get(nats.MsgIdHdr))
	}
	env, ev, err := contracts.DecodeEvent(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != "r1/event-1" || env.Subject != "r1" || !env.Time.Equal(at) || ev.State != contracts.StateRunning {
		t.Fatalf("envelope %+v event %+v", env, ev)
	}
	if _, err := natsx.EnvelopeMsg(context.Background(), "s", "t", "i", "src", "", at, func() {}); err == nil {
		t.Fatal("data that cannot be encoded must fail")
	}
}

type greetRequest struct {
	Name string `json:"name"`
}

type greetReply struct {
	Greeting string `json:"greeting"`
}

func TestServerAndRequest(t *testing.T) {
	s := natstest.RunServer(t)
	serverConn := natstest.Connect(t, s)
	nc := natstest.Connect(t, s)

	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	release := make(chan struct{})
	greet := func(ctx context.Context, req any) (any, error) {
		r := req.(greetRequest)
		switch r.Name {
		case "":
			return nil, contracts.Invalid("name", "is required")
		case "boom":
			return nil, errors.New("dial db: password hunter2 rejected")
		case "slow":
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, ctx.Err()
		}
		return greetReply{Greeting: "hello " + r.Name}, nil
	}
	subject := contracts.APISubject("test", "greet")
	srv := natsx.NewServer(serverConn, "test", natsx.WithTracer(tp))
	if err := srv.Handle(natsx.Handler{Subject: subject, Decode: natsx.DecodeJSON[greetRequest](), Endpoint: endpoint.Endpoint(greet)}); err != nil {
		t.Fatal(err)
	}
	// Handle returns before the server has the subscription; until Handle
	// flushes, a request from another connection could find no responders.
	if err := serverConn.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // runs first: frees the slow handler

	t.Run("success", func(t *testing.T) {
		got, err := natsx.Request[greetReply](testContext(t), nc, subject, greetRequest{Name: "ops"})
		if err != nil || got.Greeting != "hello ops" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("typed error keeps its field", func(t *testing.T) {
		_, err := natsx.Request[greetReply](testContext(t), nc, subject, greetRequest{})
		var e *contracts.Error
		if !errors.As(err, &e) || e.Code != contracts.CodeInvalid || e.Field != "name" || e.Message != "is required" {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("decode error names the unknown field", func(t *testing.T) {
		_, err := natsx.Request[greetReply](testContext(t), nc, subject, map[string]string{"nmae": "ops"})
		var e *contracts.Error
		if !errors.As(err, &e) || e.Code != contracts.CodeInvalid || e.Field != "nmae" || !strings.Contains(e.Message, "not a known field") {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("decode error names the mistyped field", func(t *testing.T) {
		_, err := natsx.Request[greetReply](testContext(t), nc, subject, map[string]int{"name": 5})
		if e := contracts.AsError(err); e.Code != contracts.CodeInvalid || e.Field != "name" {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("internal errors do not leak", func(t *testing.T) {
		_, err := natsx.Request[greetReply](testContext(t), nc, subject, greetRequest{Name: "boom"})
		if !contracts.IsCode(err, contracts.CodeInternal) || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("empty body decodes as the zero request", func(t *testing.T) {
		resp, err := nc.Request(subject, nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var reply contracts.Reply[greetReply]
		if err := json.Unmarshal(resp.Data, &reply); err != nil {
			t.Fatal(err)
		}
		if reply.Error == nil || reply.Error.Field != "name" {
			t.Fatalf("got %s", resp.Data)
		}
	})
	t.Run("no responders", func(t *testing.T) {
		_, err := natsx.Request[greetReply](testContext(t), nc, contracts.APISubject("test", "nobody"), greetRequest{Name: "x"})
		if !contracts.IsCode(err, contracts.CodeUnavailable) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("server span is a child of the caller", func(t *testing.T) {
		ctx, client := tp.Tracer("test").Start(testContext(t), "client")
		if _, err := natsx.Request[greetReply](ctx, nc, subject, greetRequest{Name: "traced"}); err != nil {
			t.Fatal(err)
		}
		client.End()
		natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
			for _, sp := range recorder.Ended() {
				if sp.Name() == subject && sp.Parent().SpanID() == client.SpanContext().SpanID() {
					if sp.SpanContext().TraceID() != client.SpanContext().TraceID() || sp.SpanKind() != trace.SpanKindServer {
						return fmt.Errorf("server span %v in the wrong trace or of kind %v", sp.SpanContext(), sp.SpanKind())
					}
					return nil
				}
			}
			return errors.New("no server span with the client span as parent yet")
		})
	})
	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := natsx.Request[greetReply](ctx, nc, subject, greetRequest{Name: "slow"})
		if !contracts.IsCode(err, contracts.CodeTimeout) {
			t.Fatalf("got %v", err)
		}
	})
	// natsx.Server runs the handlers of one subject one after the other, so
	// the slow handler must be let go before anything else is asked.
	releaseOnce()
}

func TestRequestWithoutDeadlineGetsOne(t *testing.T) {
	if testing.Short() {
		t.Skipf("waits the full default timeout of %v", natsx.DefaultRequestTimeout)
	}
	s := natstest.RunServer(t)
	nc := natstest.Connect(t, s)
	// A subscriber that never answers: only the default deadline ends the
	// request. It must end with a timeout, not hang.
	sub, err := nc.Subscribe("rollwave.api.test.silent", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	start := time.Now()
	_, err = natsx.Request[greetReply](context.Background(), nc, "rollwave.api.test.silent", greetRequest{})
	if !contracts.IsCode(err, contracts.CodeTimeout) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d < natsx.DefaultRequestTimeout-time.Second || d > natsx.DefaultRequestTimeout+5*time.Second {
		t.Fatalf("took %v, want about %v", d, natsx.DefaultRequestTimeout)
	}
}

func TestEnsureStreamsIsIdempotent(t *testing.T) {
	s := natstest.RunServer(t)
	nc := natstest.Connect(t, s)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	specs := contracts.Streams()
	for range 2 {
		if err := natsx.EnsureStreams(ctx, js, specs, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, spec := range specs {
		st, err := js.Stream(ctx, spec.Name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := st.CachedInfo().Config
		wantRetention, wantDiscard := jetstream.LimitsPolicy, jetstream.DiscardOld
		if spec.Retention == contracts.RetentionWorkQueue {
			wantRetention, wantDiscard = jetstream.WorkQueuePolicy, jetstream.DiscardNew
		}
		if strings.Join(cfg.Subjects, " ") != strings.Join(spec.Subjects, " ") || cfg.Retention != wantRetention ||
			cfg.Discard != wantDiscard || cfg.MaxAge != spec.MaxAge || cfg.Duplicates != spec.Duplicates ||
			cfg.AllowDirect != spec.AllowDirect || cfg.Storage != jetstream.FileStorage || cfg.Replicas != 1 {
			t.Errorf("%s has config %+v, want %+v", spec.Name, cfg, spec)
		}
	}

	// Messages survive a second EnsureStreams, and the duplicate window
	// drops a repeated message id.
	for range 2 {
		if _, err := js.PublishMsg(ctx, natsx.NewMsg(ctx, contracts.SubjectDeployRequest, "req-1", []byte(`{}`))); err != nil {
			t.Fatal(err)
		}
	}
	if err := natsx.EnsureStreams(ctx, js, specs, 1); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, contracts.StreamRequests)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}

	// A changed definition updates the stream in place.
	changed := contracts.Streams()
	changed[0].MaxAge = time.Hour
	if err := natsx.EnsureStreams(ctx, js, changed, 1); err != nil {
		t.Fatal(err)
	}
	if info, err = st.Info(ctx); err != nil || info.Config.MaxAge != time.Hour || info.State.Msgs != 1 {
		t.Fatalf("after update: %+v, %v", info, err)
	}
}

func TestEnsureConsumerAndOrderedFrom(t *testing.T) {
	s := natstest.RunServer(t)
	nc := natstest.Connect(t, s)
	js := natstest.JetStream(t, nc)
	ctx := testContext(t)

	spec := contracts.PlannerConsumer()
	for range 2 {
		if _, err := natsx.EnsureConsumer(ctx, js, spec); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.Consumer(ctx, spec.Stream, spec.Durable)
	if err != nil {
		t.Fatal(err)
	}
	cfg := cons.CachedInfo().Config
	if cfg.AckPolicy != jetstream.AckExplicitPolicy || cfg.AckWait != spec.AckWait || cfg.MaxDeliver != spec.MaxDeliver ||
		cfg.FilterSubject != spec.FilterSubject || cfg.MaxAckPending != spec.MaxAckPending {
		t.Fatalf("consumer config %+v, want %+v", cfg, spec)
	}

	for i := 1; i <= 3; i++ {
		if _, err := js.PublishMsg(ctx, natsx.NewMsg(ctx, contracts.SubjectDeployRequest, fmt.Sprintf("r%d", i), []byte(strconv.Itoa(i)))); err != nil {
			t.Fatal(err)
		}
	}
	ordered, err := natsx.OrderedFrom(ctx, js, contracts.StreamRequests, []string{contracts.SubjectDeployRequest}, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ordered.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := m.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if meta.Sequence.Stream != 3 || string(m.Data()) != "3" {
		t.Fatalf("resumed at sequence %d (%q), want 3", meta.Sequence.Stream, m.Data())
	}
	from0, err := natsx.OrderedFrom(ctx, js, contracts.StreamRequests, []string{contracts.SubjectDeployRequest}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = from0.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil || string(m.Data()) != "1" {
		t.Fatalf("from the start: %v %v", m, err)
	}
}

func TestIsNoResponders(t *testing.T) {
	s := natstest.RunServer(t)
	nc := natstest.Connect(t, s)
	_, err := nc.Request("rollwave.api.test.none", nil, 5*time.Second)
	if !natsx.IsNoResponders(err) {
		t.Fatalf("got %v", err)
	}
	if natsx.IsNoResponders(errors.New("other")) || natsx.IsNoResponders(nil) {
		t.Fatal("false positive")
	}
}
