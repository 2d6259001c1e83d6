package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func serviceNames(exp *tracetest.InMemoryExporter) map[string]string {
	names := map[string]string{}
	for _, s := range exp.GetSpans() {
		for _, kv := range s.Resource.Attributes() {
			if kv.Key == "service.name" {
				names[s.Name] = kv.Value.AsString()
			}
		}
	}
	return names
}

func TestEachServiceReportsItsOwnName(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	exp := tracetest.NewInMemoryExporter()
	tr := NewTracing(exp, true)
	ctx := context.Background()
	for _, svc := range []string{"planner", "scheduler", "planner"} {
		_, span := tr.Provider(svc).Tracer("t").Start(ctx, svc+".op")
		span.End()
	}
	got := serviceNames(exp)
	if got["planner.op"] != "rollwave-planner" || got["scheduler.op"] != "rollwave-scheduler" {
		t.Fatalf("service names: %v", got)
	}
	for _, s := range exp.GetSpans() {
		found := false
		for _, kv := range s.Resource.Attributes() {
			found = found || (kv.Key == "deployment.environment.name" && kv.Value.AsString() == "test")
		}
		if !found {
			t.Fatalf("span %s lacks OTEL_RESOURCE_ATTRIBUTES: %v", s.Name, s.Resource.Attributes())
		}
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown of a shared exporter: %v", err)
	}
}

func TestOTELServiceNameWins(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "payments-deployer")
	exp := tracetest.NewInMemoryExporter()
	tr := NewTracing(exp, true)
	_, span := tr.Provider("gateway").Tracer("t").Start(context.Background(), "http")
	span.End()
	if got := serviceNames(exp)["http"]; got != "payments-deployer" {
		t.Fatalf("service.name %q, want OTEL_SERVICE_NAME", got)
	}
}

// A provider says whether its spans go anywhere, so services can skip work
// that only feeds spans; with no exporter its spans still get ids.
func TestProviderSaysWhetherItExports(t *testing.T) {
	type exporter interface{ Exports() bool }
	none := NewTracing(nil, false)
	defer none.Shutdown(context.Background())
	p, ok := none.Provider("scheduler").(exporter)
	if !ok || p.Exports() {
		t.Fatalf("a provider without an exporter: %T says it exports (%v)", none.Provider("scheduler"), ok)
	}
	_, span := none.Provider("scheduler").Tracer("t").Start(context.Background(), "x")
	if !span.SpanContext().IsValid() {
		t.Fatal("spans must still get ids so trace context propagates")
	}
	span.End()
	some := NewTracing(tracetest.NewInMemoryExporter(), true)
	defer some.Shutdown(context.Background())
	for range 2 { // new, then the one already made
		if p, ok := some.Provider("scheduler").(exporter); !ok || !p.Exports() {
			t.Fatal("a provider with an exporter says it does not export")
		}
	}
}
