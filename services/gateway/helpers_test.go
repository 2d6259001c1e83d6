package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/pkg/telemetry"
)

// harness is a gateway on 127.0.0.1:0 in front of a real embedded
// JetStream; tests answer the other services' subjects themselves.
type harness struct {
	t     testing.TB
	nc    *nats.Conn // the test's own connection
	gwNC  *nats.Conn // the gateway's
	js    jetstream.JetStream
	gw    *Service
	base  string
	spans *tracetest.InMemoryExporter
	reg   *prometheus.Registry
}

type option func(*Config, *service.Deps)

func withClock(c clock.Clock) option { return func(_ *Config, d *service.Deps) { d.Clock = c } }

func withRequestTimeout(d time.Duration) option {
	return func(c *Config, _ *service.Deps) { c.RequestTimeout = d }
}

func start(t testing.TB, opts ...option) *harness {
	t.Helper()
	srv := natstest.RunServer(t)
	h := &harness{t: t, nc: natstest.Connect(t, srv), gwNC: natstest.Connect(t, srv),
		spans: tracetest.NewInMemoryExporter(), reg: prometheus.NewRegistry()}
	h.js = natstest.JetStream(t, h.nc)
	gwJS, err := jetstream.New(h.gwNC)
	if err != nil {
		t.Fatal(err)
	}
	deps := service.Deps{
		NC: h.gwNC, JS: gwJS,
		Log:     slog.New(slog.DiscardHandler),
		Tracer:  telemetry.NewTracerProvider("gateway", h.spans, true),
		Metrics: h.reg,
		Clock:   clock.Real{},
	}
	cfg := Config{Addr: "127.0.0.1:0", Metrics: h.reg}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	gw, err := New(deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := gw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	h.gw, h.base = gw, "http://"+gw.Addr()
	return h
}

// do sends a request and returns the status, headers and body.
func (h *harness) do(method, path, body string, header ...string) (int, http.Header, []byte) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// errorOf decodes an error body, checking it is JSON with a code.
func errorOf(t *testing.T, hdr http.Header, b []byte) contracts.Error {
	t.Helper()
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, body %s", ct, b)
	}
	var e contracts.Error
	if err := json.Unmarshal(b, &e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("not an error body (%v): %s", err, b)
	}
	var shape map[string]any
	if err := json.Unmarshal(b, &shape); err != nil {
		t.Fatal(err)
	}
	if _, ok := shape["field"]; !ok {
		t.Fatalf("error body without field: %s", b)
	}
	return e
}

// respond answers requests on subject with fn's data or error.
func (h *harness) respond(subject string, fn func(m *nats.Msg) (any, *contracts.Error)) {
	h.t.Helper()
	sub, err := h.nc.Subscribe(subject, func(m *nats.Msg) {
		data, e := fn(m)
		reply := map[string]any{}
		if e != nil {
			reply["error"] = e
		} else {
			reply["data"] = data
		}
		b, _ := json.Marshal(reply)
		_ = m.Respond(b)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := h.nc.Flush(); err != nil {
		h.t.Fatal(err)
	}
}

// publishEvent puts a rollout event on the EVENTS stream and returns its
// stream sequence.
func (h *harness) publishEvent(env, rollout string, typ contracts.EventType, n int64) uint64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev := contracts.Event{Rollout: rollout, Environment: env, App: "web", Version: "1.0.0", Seq: n, State: contracts.StateRunning}
	b, err := contracts.Marshal(contracts.EventTypeID(typ), contracts.EventMsgID(rollout, n), "test", rollout, time.Now(), ev)
	if err != nil {
		h.t.Fatal(err)
	}
	ack, err := h.js.Publish(ctx, contracts.EventSubject(env, rollout, typ), b)
	if err != nil {
		h.t.Fatal(err)
	}
	return ack.Sequence
}

// frame is one Server-Sent Events frame; Comment is set for comments.
type frame struct {
	ID, Event, Data, Comment string
}

// stream is an open GET /v1/events.
type stream struct {
	t      testing.TB
	resp   *http.Response
	frames chan frame
	cancel context.CancelFunc
}

func (h *harness) events(query string, header ...string) *stream {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/v1/events"+query, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	s := &stream{t: h.t, resp: resp, frames: make(chan frame, 100), cancel: cancel}
	h.t.Cleanup(s.close)
	go s.read()
	return s
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

func (s *stream) read() {
	defer close(s.frames)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(nil, 1<<20)
	var f frame
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			s.frames <- f
			f = frame{}
		case strings.HasPrefix(line, ": "):
			f.Comment = strings.TrimPrefix(line, ": ")
		case strings.HasPrefix(line, "id: "):
			f.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			f.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			f.Data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// next returns the next frame that is not a comment, unless comments is set.
func (s *stream) next(comments bool) frame {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				s.t.Fatal("event stream ended")
			}
			if f.Comment != "" && !comments {
				continue
			}
			return f
		case <-timeout:
			s.t.Fatal("no event within 10s")
		}
	}
}

// ended waits for the server to end the stream, failing on any event.
func (s *stream) ended() {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return
			}
			if f.Comment == "" {
				s.t.Fatalf("unexpected event %+v", f)
			}
		case <-timeout:
			s.t.Fatal("stream did not end within 10s")
		}
	}
}

func serviceDepsWithoutNATS() service.Deps { return service.Deps{} }

func depsOf(nc *nats.Conn, js jetstream.JetStream) service.Deps {
	return service.Deps{NC: nc, JS: js}
}
