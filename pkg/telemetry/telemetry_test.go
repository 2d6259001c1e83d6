package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestFromEnvExportsOverOTLPWhenConfigured(t *testing.T) {
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")

	ctx := context.Background()
	tr, err := TracingFromEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider("planner").Tracer("t").Start(ctx, "plan")
	span.End()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Fatal("no spans reached the OTLP endpoint")
	}
}

func TestFromEnvWithoutEndpointRecordsLocallyOnly(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tr, err := TracingFromEnv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	_, span := tr.Provider("planner").Tracer("t").Start(context.Background(), "x")
	if !span.SpanContext().IsValid() {
		t.Fatal("spans must still get ids so trace context propagates")
	}
	span.End()
}

func TestDerivedSpanIDIsStableAndForced(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := NewTracerProvider("t", exp, true)
	defer tp.Shutdown(context.Background())
	ctx, root := tp.Tracer("t").Start(context.Background(), "root")
	tid := root.SpanContext().TraceID()
	id := DerivedSpanID(tid, "phase/0")
	if id != DerivedSpanID(tid, "phase/0") || id == DerivedSpanID(tid, "phase/1") {
		t.Fatal("derived ids must be a pure function of trace and key")
	}
	// A child started before its parent exists names the derived id.
	_, child := tp.Tracer("t").Start(RemoteParent(context.Background(), tid, id), "host web-01")
	child.End()
	_, phase := tp.Tracer("t").Start(WithSpanID(ctx, id), "phase canary")
	phase.End()
	root.End()
	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	if byName["phase canary"].SpanContext.SpanID() != id {
		t.Fatalf("phase span id %s, want %s", byName["phase canary"].SpanContext.SpanID(), id)
	}
	if byName["host web-01"].Parent.SpanID() != id || byName["host web-01"].SpanContext.TraceID() != tid {
		t.Fatal("child does not hang off the derived phase span")
	}
}
