package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// ServicePrefix starts every service's service.name: rollwave-planner,
// rollwave-scheduler, and so on.
const ServicePrefix = "rollwave-"

// Tracing hands each service of a process its own tracer provider, so a
// trace backend tells the services apart even when one process (rollwave
// dev) runs them all. The providers share one exporter.
type Tracing struct {
	exp  sdktrace.SpanExporter // nil: spans get ids but go nowhere
	sync bool

	mu        sync.Mutex
	providers map[string]*sdktrace.TracerProvider
	shutdown  bool
}

// NewTracing exports the spans of every service to exp (nil records
// nothing), batched unless sync is set (tests).
func NewTracing(exp sdktrace.SpanExporter, sync bool) *Tracing {
	return &Tracing{exp: exp, sync: sync, providers: map[string]*sdktrace.TracerProvider{}}
}

// TracingFromEnv exports over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or
// the traces-specific variable) is set; the exporter honours the other
// OTEL_EXPORTER_OTLP_* variables itself.
func TracingFromEnv(ctx context.Context) (*Tracing, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return NewTracing(nil, false), nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	return NewTracing(exp, false), nil
}

// Provider returns the tracer provider of service (a short name such as
// "planner"), creating it on first use.
func (t *Tracing) Provider(service string) trace.TracerProvider {
	t.mu.Lock()
	defer t.mu.Unlock()
	var exp sdktrace.SpanExporter
	if t.exp != nil && !t.shutdown {
		// Each provider shuts its exporter down; the shared one must only
		// go once, after all of them (Shutdown).
		exp = keepOpen{t.exp}
	}
	if tp, ok := t.providers[service]; ok {
		return exportingProvider{tp, exp != nil}
	}
	tp := NewTracerProvider(ServicePrefix+service, exp, t.sync)
	t.providers[service] = tp
	return exportingProvider{tp, exp != nil}
}

// exportingProvider is a service's tracer provider that says whether its
// spans go anywhere. Spans always get ids, so trace context propagates to
// processes that do export; a service skips work that only feeds spans
// (reading history back for span events) when they go nowhere.
type exportingProvider struct {
	*sdktrace.TracerProvider
	exports bool
}

// Exports reports whether the provider's spans reach an exporter.
func (p exportingProvider) Exports() bool { return p.exports }

// Shutdown flushes and stops every provider, then the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.shutdown = true
	var errs []error
	for name, tp := range t.providers {
		if err := tp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("tracer of %s: %w", name, err))
		}
	}
	if t.exp != nil {
		if err := t.exp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("span exporter: %w", err))
		}
	}
	return errors.Join(errs...)
}

// keepOpen is an exporter whose Shutdown leaves the shared exporter open.
type keepOpen struct{ sdktrace.SpanExporter }

func (keepOpen) Shutdown(context.Context) error { return nil }

// serviceResource names the service and adds what OTEL_RESOURCE_ATTRIBUTES
// and OTEL_SERVICE_NAME say; as the OpenTelemetry specification requires,
// the environment wins, so OTEL_SERVICE_NAME renames every service of the
// process.
func serviceResource(service string) *resource.Resource {
	own := resource.NewSchemaless(semconv.ServiceName(service))
	merged, err := resource.Merge(own, resource.Environment())
	if err != nil {
		return own
	}
	return merged
}
