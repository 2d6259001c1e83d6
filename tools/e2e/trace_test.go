package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/telemetry"
)

// (g) One trace covers the rollout: request -> plan -> admission and
// phases -> host actions -> checks, across every service.
func TestTraceTreeCoversRollout(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "")
	exp := tracetest.NewInMemoryExporter()
	tracing := telemetry.NewTracing(exp, true)
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })
	tp := tracing.Provider("e2e")
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(health.Close)

	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {}}"), tracers: tracing.Provider})
	req := threePhases("r-traced")
	req.Phases = req.Phases[:2]
	req.Phases[0].Checks = []string{"healthz"}
	req.Checks = map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{URL: health.URL + "/healthz?host={{.Host.Name}}", Interval: contracts.Duration(10 * time.Millisecond)}}}

	ctx, root := tp.Tracer("e2e").Start(context.Background(), "deploy.request")
	h.deploy(ctx, req)
	root.End()
	h.waitState("r-traced", contracts.StateCompleted)

	tid := root.SpanContext().TraceID()
	var spans tracetest.SpanStubs
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		spans = nil
		for _, s := range exp.GetSpans() {
			if s.SpanContext.TraceID() == tid {
				spans = append(spans, s)
			}
		}
		if n := count(spans, "phase.run"); n != 2 {
			return fmt.Errorf("%d phase spans", n)
		}
		if n := count(spans, "host.deploy"); n != 5 {
			return fmt.Errorf("%d host spans", n)
		}
		if n := count(spans, "rollout"); n != 1 {
			return fmt.Errorf("%d rollout spans", n)
		}
		return nil
	})
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	parent := func(s tracetest.SpanStub) string {
		p, ok := byID[s.Parent.SpanID()]
		if !ok {
			return "<missing " + s.Parent.SpanID().String() + ">"
		}
		return label(p)
	}
	// Every span of the trace hangs off the tree rooted at the request.
	var edges []string
	for _, s := range spans {
		if s.Name == "deploy.request" {
			continue
		}
		switch s.Name {
		case "plan", "rollout", "admission", contracts.APICalendarAdmit, "phase.run", "host.deploy", "check.run":
			edges = append(edges, parent(s)+" -> "+label(s))
		}
	}
	sort.Strings(edges)
	edges = slices.Compact(edges)
	want := []string{
		"admission -> " + contracts.APICalendarAdmit,
		"deploy.request -> plan",
		"host web-01 -> check healthz",
		"phase canary -> host web-01",
		"phase east -> host web-02",
		"phase east -> host web-03",
		"phase east -> host web-04",
		"phase east -> host web-05",
		"plan -> rollout",
		"rollout -> admission",
		"rollout -> phase canary",
		"rollout -> phase east",
	}
	if !slices.Equal(edges, want) {
		t.Fatalf("trace tree:\n got %s\nwant %s", strings.Join(edges, "\n     "), strings.Join(want, "\n     "))
	}
	// Each service reports under its own name.
	wantService := map[string]string{"plan": "rollwave-planner", "rollout": "rollwave-scheduler", "admission": "rollwave-scheduler",
		contracts.APICalendarAdmit: "rollwave-calendar",
		"phase.run":                "rollwave-scheduler", "host.deploy": "rollwave-executor", "check.run": "rollwave-executor"}
	for _, s := range spans {
		// Span names are few and fixed: what varies is in attributes.
		if _, known := wantService[s.Name]; !known && s.Name != "deploy.request" && !strings.Contains(s.Name, ".") {
			t.Errorf("span name %q is not one of the fixed operation names", s.Name)
		}
		if s.Name == "plan" || s.Name == contracts.APICalendarAdmit {
			// NATS spans follow OpenTelemetry's messaging conventions.
			for k, want := range map[string]string{"messaging.system": "nats", "messaging.operation.type": "process"} {
				if got := attr(s, k); got != want {
					t.Errorf("%s span: %s = %q, want %q", s.Name, k, got, want)
				}
			}
		}
		if s.Name == "host.deploy" {
			for _, k := range []string{"rollwave.app", "rollwave.version", "rollwave.environment", "rollwave.rollout",
				"rollwave.action.id", "messaging.system", "messaging.destination.name"} {
				if attr(s, k) == "" {
					t.Errorf("host span %s lacks %s", label(s), k)
				}
			}
		}
		for prefix, want := range wantService {
			if s.Name == prefix {
				if got := s.Resource.Set().Encoded(attribute.DefaultEncoder()); !strings.Contains(got, "service.name="+want) {
					t.Errorf("span %q: resource %s, want service.name %s", s.Name, got, want)
				}
			}
		}
	}
	for _, s := range spans {
		if s.Name == "phase.run" && !s.EndTime.After(s.StartTime) {
			t.Fatalf("%s has no duration", s.Name)
		}
	}
	// The rollout span lasts as long as the rollout: it holds every phase.
	rs := spans[slices.IndexFunc(spans, func(s tracetest.SpanStub) bool { return s.Name == "rollout" })]
	for _, s := range spans {
		if (s.Name == "phase.run" || s.Name == "admission") && (s.StartTime.Before(rs.StartTime) || s.EndTime.After(rs.EndTime)) {
			t.Errorf("%s [%s, %s] outside the rollout span [%s, %s]", label(s), s.StartTime, s.EndTime, rs.StartTime, rs.EndTime)
		}
	}
	if got := attr(rs, "rollwave.rollout.state"); got != "completed" {
		t.Errorf("rollout span state %q", got)
	}
}

// Pause, resume and abort are events of the rollout span, with the actor
// and the reason, in the order they happened.
func TestTraceRolloutSpanEvents(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tracing := telemetry.NewTracing(exp, true)
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })
	tp := tracing.Provider("e2e")
	// One host at a time: web-02 and web-03 fail, which pauses the
	// rollout; after a resume, web-05 and web-06 pause it again.
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {fail_hosts: [web-02, web-03, web-05, web-06]}}"), tracers: tracing.Provider})
	ctx := context.Background()
	req := contracts.DeployRequest{
		ID: "r-events", App: "web", Version: "2.4.1", Environment: "prod",
		Phases:  []contracts.PhaseSpec{{Name: "all", Selector: &contracts.Selector{Group: "web"}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}},
		Failure: contracts.FailurePolicy{MaxFailed: contracts.Size{Count: 1}, OnFailure: contracts.OnFailurePause},
	}
	rctx, root := tp.Tracer("e2e").Start(ctx, "deploy.request")
	h.deploy(rctx, req)
	root.End()
	h.waitState("r-events", contracts.StatePaused)
	control := func(verb contracts.Verb, actor, reason string) {
		t.Helper()
		if _, err := natsx.Request[contracts.RolloutSummary](ctx, h.st.NC, contracts.ControlSubject("r-events", verb),
			contracts.ControlCommand{Actor: actor, Reason: reason}); err != nil {
			t.Fatalf("%s: %v", verb, err)
		}
	}
	control(contracts.VerbResume, "alice", "known flaky hosts")
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		v, err := h.rollout("r-events")
		if err != nil {
			return err
		}
		if v.State != contracts.StatePaused || v.Counts.Failed != 4 {
			return fmt.Errorf("state %s, %d failed", v.State, v.Counts.Failed)
		}
		return nil
	})
	control(contracts.VerbAbort, "bob", "rolling forward instead")
	h.waitState("r-events", contracts.StateAborted)

	var rs tracetest.SpanStub
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		for _, s := range exp.GetSpans() {
			if s.Name == "rollout" && s.SpanContext.TraceID() == root.SpanContext().TraceID() {
				rs = s
				return nil
			}
		}
		return fmt.Errorf("no rollout span yet")
	})
	var got []string
	for _, e := range rs.Events {
		var actor, reason string
		for _, kv := range e.Attributes {
			switch kv.Key {
			case "rollwave.actor":
				actor = kv.Value.AsString()
			case "rollwave.reason":
				reason = kv.Value.AsString()
			}
		}
		if e.Name == "paused" && actor != "alice" && actor != "bob" {
			// The failure policy paused it: its reason names the threshold.
			if !strings.Contains(reason, "threshold") {
				t.Errorf("pause reason %q", reason)
			}
			got = append(got, "paused by "+actor)
			continue
		}
		got = append(got, e.Name+" by "+actor+": "+reason)
	}
	want := []string{"paused by scheduler", "resumed by alice: known flaky hosts", "paused by scheduler", "aborted by bob: rolling forward instead"}
	if !slices.Equal(got, want) {
		t.Fatalf("rollout span events:\n got %q\nwant %q", got, want)
	}
	if rs.Status.Code != codes.Error {
		t.Errorf("an aborted rollout's span has status %v", rs.Status)
	}
}

func count(spans tracetest.SpanStubs, name string) int {
	n := 0
	for _, s := range spans {
		if s.Name == name {
			n++
		}
	}
	return n
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// label names a span with what it is about: "host web-01", "phase canary".
func label(s tracetest.SpanStub) string {
	switch s.Name {
	case "phase.run":
		return "phase " + attr(s, "rollwave.phase.name")
	case "host.deploy":
		return "host " + attr(s, "rollwave.host")
	case "check.run":
		return "check " + attr(s, "rollwave.check.name")
	}
	return s.Name
}
