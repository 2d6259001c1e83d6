package executor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
)

func TestConfigDefaults(t *testing.T) {
	var c Config
	if err := c.applyDefaults(); err != nil {
		t.Fatal(err)
	}
	if c.Pool != contracts.DefaultPool || c.Concurrency != 64 || c.AckWait != DefaultAckWait || c.OutputTail != 4096 ||
		c.Source != "rollwave/executor" || len(c.ExecEnv) != 1 || !strings.HasPrefix(c.ExecEnv[0], "PATH=") ||
		!strings.Contains(c.ID, "-") {
		t.Fatalf("defaults = %+v", c)
	}
	bad := Config{Pool: "a.b", Concurrency: -1, AckWait: -time.Second, OutputTail: -1}
	err := bad.applyDefaults()
	for _, field := range []string{"pool", "concurrency", "ack_wait", "output_tail"} {
		if err == nil || !strings.Contains(fieldsOf(err), field) {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}

func fieldsOf(err error) string {
	fe, ok := err.(contracts.FieldErrors)
	if !ok {
		return err.Error()
	}
	var s []string
	for _, f := range fe {
		s = append(s, f.Field)
	}
	return strings.Join(s, ",")
}

// TestActionWithCheck runs an exec action with an HTTP check end to end and
// looks at the result, its message, the spans and the metrics.
func TestActionWithCheck(t *testing.T) {
	h := newHarness(t)
	var hits atomic.Int32
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz/web-01" || hits.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(web.Close)

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reg := prometheus.NewRegistry()
	ex := h.start(Config{ID: "exec-1", AckWait: 5 * time.Second}, execOpts{tracer: tp, metrics: reg})

	a := action("r1", "web-01", execDriver("exit", "0"))
	a.Checks = []contracts.NamedCheck{{Name: "healthz", Spec: contracts.CheckSpec{HTTP: &contracts.HTTPCheck{
		URL: web.URL + "/healthz/{{.Host.Name}}", Interval: contracts.Duration(10 * time.Millisecond)}}}}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "scheduler dispatch")
	h.publish(ctx, contracts.DefaultPool, a, "msg-1")
	parent.End()

	got := h.waitResults("r1", 1, 10*time.Second)
	r := got[0]
	if r.Status != contracts.ResultSucceeded || r.Error != "" {
		t.Fatalf("result = %+v", r.HostResult)
	}
	if r.msgID != contracts.ResultMsgID(a.ID) || r.env.Type != contracts.TypeHostResult || r.env.Source != "rollwave/executor" {
		t.Fatalf("message id %q, envelope %+v", r.msgID, r.env)
	}
	if r.ActionID != a.ID || r.Host != "web-01" || r.Executor != "exec-1" || r.Deliveries != 1 || r.Attempt != 1 ||
		r.Phase != a.Phase || r.Version != "2.4.1" || r.ExitCode == nil || *r.ExitCode != 0 ||
		!strings.Contains(r.Output, "failing on purpose") || r.FinishedAt.Before(r.StartedAt) {
		t.Fatalf("result = %+v", r.HostResult)
	}
	if len(r.Checks) != 1 || r.Checks[0].Name != "healthz" || r.Checks[0].Status != contracts.ResultSucceeded || r.Checks[0].Attempts != 3 {
		t.Fatalf("checks = %+v", r.Checks)
	}

	var host, chk sdktrace.ReadOnlySpan
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, s := range rec.Ended() {
			switch s.Name() {
			case "host.deploy":
				host = s
			case "check.run":
				chk = s
			}
		}
		if host == nil || chk == nil {
			return context.DeadlineExceeded
		}
		return nil
	})
	if host.Parent().SpanID() != parent.SpanContext().SpanID() || host.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("host span parent = %v, want the publisher's span %v", host.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if chk.Parent().SpanID() != host.SpanContext().SpanID() {
		t.Fatal("check span is not a child of the host span")
	}
	kind := ""
	for _, kv := range chk.Attributes() {
		if kv.Key == "rollwave.check.kind" {
			kind = kv.Value.AsString()
		}
	}
	if kind != "http" {
		t.Fatalf("check span kind %q, want http", kind)
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range host.Attributes() {
		attrs[kv.Key] = kv.Value
	}
	if attrs["rollwave.rollout"].AsString() != "r1" || attrs["rollwave.host"].AsString() != "web-01" ||
		attrs["rollwave.version"].AsString() != "2.4.1" || attrs["rollwave.attempt"].AsInt64() != 1 ||
		attrs["rollwave.action.id"].AsString() != a.ID || attrs["messaging.system"].AsString() != "nats" {
		t.Fatalf("host span attributes = %v", host.Attributes())
	}

	if v := testutil.ToFloat64(ex.metrics.actions.WithLabelValues("exec", "prod", "succeeded")); v != 1 {
		t.Fatalf("actions_total = %v", v)
	}
	if n, err := testutil.GatherAndCount(reg, "rollwave_executor_action_seconds", "rollwave_executor_inflight",
		"rollwave_executor_redeliveries_total"); err != nil || n != 3 {
		t.Fatalf("gathered %d series, %v", n, err)
	}
	h.waitIdle(contracts.DefaultPool)
	if n := h.poolMessages(contracts.DefaultPool); n != 0 {
		t.Fatalf("%d actions left in the work queue", n)
	}
}

// TestFailedActions checks that every way an action can fail becomes a
// failed result that says why.
func TestFailedActions(t *testing.T) {
	h := newHarness(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(web.Close)
	ex := h.start(Config{ID: "exec-1", Pool: "edge"}, execOpts{})

	failingCheck := action("r2", "h-check", simDriver())
	failingCheck.Checks = []contracts.NamedCheck{
		{Name: "healthz", Spec: contracts.CheckSpec{HTTP: &contracts.HTTPCheck{URL: web.URL,
			Interval: contracts.Duration(10 * time.Millisecond), Deadline: contracts.Duration(50 * time.Millisecond)}}},
		{Name: "never-run", Spec: contracts.CheckSpec{HTTP: &contracts.HTTPCheck{URL: web.URL}}},
	}
	badCheckURL := action("r2", "h-check-url", simDriver())
	badCheckURL.Checks = []contracts.NamedCheck{{Name: "ping", Spec: contracts.CheckSpec{HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Nope}}/"}}}}
	noCheckVariant := action("r2", "h-check-empty", simDriver())
	noCheckVariant.Checks = []contracts.NamedCheck{{Name: "empty"}}
	simFail := action("r2", "h-sim", contracts.DriverSpec{Sim: &contracts.SimDriver{FailHosts: []string{"h-sim"}}})
	noHost := action("r2", "x", simDriver())
	noHost.Host.Name = ""
	noHost.ID = "r2/0/nohost/attempt-1"

	tests := []struct {
		a        contracts.HostAction
		wantErr  string
		wantCode int
	}{
		{a: action("r2", "h-exit", execDriver("exit", "7")), wantErr: "exec: exited with code 7", wantCode: 7},
		{a: action("r2", "h-template", execDriver("{{.Host.Params.missing}}")), wantErr: `template driver.exec.command[1]`},
		{a: action("r2", "h-nodriver", contracts.DriverSpec{}), wantErr: "driver: exactly one of sim, exec, ssh, agent must be set"},
		{a: simFail, wantErr: "sim: simulated failure: host is in fail_hosts"},
		{a: failingCheck, wantErr: "check healthz: deadline 50ms passed"},
		{a: badCheckURL, wantErr: "check ping: template checks[0].spec.http.url"},
		{a: noCheckVariant, wantErr: "check empty: checks[0].spec: must set exactly one of: http, tcp, command, prometheus, nats"},
		{a: noHost, wantErr: "host.name: is required"},
	}
	for i, tt := range tests {
		h.publish(context.Background(), "edge", tt.a, "m-"+string(rune('a'+i)))
	}
	got := h.waitResults("r2", len(tests), 20*time.Second)
	byID := map[string]result{}
	for _, r := range got {
		byID[r.ActionID] = r
	}
	for _, tt := range tests {
		r, ok := byID[tt.a.ID]
		if !ok {
			t.Errorf("%s: no result", tt.a.ID)
			continue
		}
		if r.Status != contracts.ResultFailed || !strings.Contains(r.Error, tt.wantErr) {
			t.Errorf("%s: status %s error %q, want failure %q", tt.a.ID, r.Status, r.Error, tt.wantErr)
		}
		if tt.wantCode != 0 && (r.ExitCode == nil || *r.ExitCode != tt.wantCode) {
			t.Errorf("%s: exit code %v, want %d", tt.a.ID, r.ExitCode, tt.wantCode)
		}
	}
	if r := byID[failingCheck.ID]; len(r.Checks) != 1 || r.Checks[0].Attempts < 1 {
		t.Errorf("checks after the failing one ran or attempts missing: %+v", r.Checks)
	}
	if v := testutil.ToFloat64(ex.metrics.actions.WithLabelValues("exec", "prod", "failed")); v != 2 {
		t.Errorf("failed exec actions = %v, want 2", v)
	}
}

// TestUnreadableMessages checks that messages that cannot be read are
// terminated and counted, and the executor carries on.
func TestUnreadableMessages(t *testing.T) {
	h := newHarness(t)
	ex := h.start(Config{ID: "exec-1"}, execOpts{})
	subject := contracts.ActionSubject(contracts.DefaultPool, "prod")
	ctx := context.Background()
	bad := [][]byte{
		[]byte("not json"),
		[]byte(`{"specversion":"1.0","type":"io.rollwave.deploy.request.v1","id":"x","source":"t","data":{}}`),
	}
	noRollout := action("r3", "h", simDriver())
	noRollout.Rollout = "bad.rollout"
	b, _ := contracts.Marshal(contracts.TypeHostAction, "x2", "t", "", time.Now(), noRollout)
	bad = append(bad, b)
	for _, body := range bad {
		if _, err := h.js.Publish(ctx, subject, body); err != nil {
			t.Fatal(err)
		}
	}
	h.publish(ctx, contracts.DefaultPool, action("r3", "good", simDriver()), "good")
	got := h.waitResults("r3", 1, 10*time.Second)
	if got[0].Host != "good" || got[0].Status != contracts.ResultSucceeded {
		t.Fatalf("result = %+v", got[0].HostResult)
	}
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if v := testutil.ToFloat64(ex.metrics.rejected); v != float64(len(bad)) {
			return context.DeadlineExceeded
		}
		return nil
	})
	h.waitIdle(contracts.DefaultPool)
}

// TestSimWaitsOnInjectedClock checks that the sim driver's latency follows
// the service's clock: no result until the fake clock passes it.
func TestSimWaitsOnInjectedClock(t *testing.T) {
	h := newHarness(t)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	h.start(Config{ID: "exec-1"}, execOpts{clock: fake})
	a := action("r11", "web-01", contracts.DriverSpec{Sim: &contracts.SimDriver{Median: contracts.Duration(time.Hour)}})
	h.publish(context.Background(), contracts.DefaultPool, a, "m1")
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if fake.Waiters() == 0 {
			return errors.New("sim not waiting on the clock")
		}
		return nil
	})
	if got := h.results("r11"); len(got) != 0 {
		t.Fatalf("result before the latency passed: %+v", got)
	}
	fake.Advance(time.Hour)
	r := h.waitResults("r11", 1, 10*time.Second)[0]
	if r.Status != contracts.ResultSucceeded || !r.StartedAt.Equal(start) || !r.FinishedAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("result = %+v", r.HostResult)
	}
}
