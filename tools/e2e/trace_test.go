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
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
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
		case "plan", "admission", "phase.run", "host.deploy", "check.run":
			edges = append(edges, parent(s)+" -> "+label(s))
		}
	}
	sort.Strings(edges)
	edges = slices.Compact(edges)
	want := []string{
		"deploy.request -> plan",
		"host web-01 -> check healthz",
		"phase canary -> host web-01",
		"phase east -> host web-02",
		"phase east -> host web-03",
		"phase east -> host web-04",
		"phase east -> host web-05",
		"plan -> admission",
		"plan -> phase canary",
		"plan -> phase east",
	}
	if !slices.Equal(edges, want) {
		t.Fatalf("trace tree:\n got %s\nwant %s", strings.Join(edges, "\n     "), strings.Join(want, "\n     "))
	}
	// Each service reports under its own name.
	wantService := map[string]string{"plan": "rollwave-planner", "admission": "rollwave-scheduler",
		"phase.run": "rollwave-scheduler", "host.deploy": "rollwave-executor", "check.run": "rollwave-executor"}
	for _, s := range spans {
		// Span names are few and fixed: what varies is in attributes.
		if _, known := wantService[s.Name]; !known && s.Name != "deploy.request" && !strings.Contains(s.Name, ".") {
			t.Errorf("span name %q is not one of the fixed operation names", s.Name)
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
