// Package telemetry sets up tracing and logging for Rollwave's services.
package telemetry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"log/slog"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Rollwave emits long-lived spans (a phase may outlast a scheduler process)
// when they end, with their recorded start time. Children must know their
// parent's span id before the parent is emitted, so those ids are derived
// from the trace id and a stable key (DerivedSpanID) and handed to the SDK
// through the context (WithSpanID).

type spanIDKey struct{}

// WithSpanID makes the next span started with ctx use id.
func WithSpanID(ctx context.Context, id trace.SpanID) context.Context {
	return context.WithValue(ctx, spanIDKey{}, id)
}

// DerivedSpanID returns a span id that is a pure function of the trace and
// key, so a restarted process finds the same id again.
func DerivedSpanID(tid trace.TraceID, key string) trace.SpanID {
	h := sha256.New()
	h.Write(tid[:])
	h.Write([]byte(key))
	var id trace.SpanID
	copy(id[:], h.Sum(nil))
	if !id.IsValid() {
		id[7] = 1
	}
	return id
}

// RemoteParent returns a context whose parent span is the given (already
// known, possibly not yet emitted) span of the trace.
func RemoteParent(ctx context.Context, tid trace.TraceID, sid trace.SpanID) context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// IDGenerator generates random ids, or the span id WithSpanID put in ctx.
type IDGenerator struct{ mu sync.Mutex }

func (g *IDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	for !tid.IsValid() {
		_, _ = rand.Read(tid[:])
	}
	return tid, g.NewSpanID(ctx, tid)
}

func (g *IDGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if id, ok := ctx.Value(spanIDKey{}).(trace.SpanID); ok && id.IsValid() {
		return id
	}
	var sid trace.SpanID
	for !sid.IsValid() {
		var b [8]byte
		_, _ = rand.Read(b[:])
		binary.BigEndian.PutUint64(sid[:], binary.BigEndian.Uint64(b[:]))
	}
	return sid
}

// NewTracerProvider returns an SDK tracer provider for the service that
// exports to exp (batched unless sync is set, for tests).
func NewTracerProvider(service string, exp sdktrace.SpanExporter, sync bool) *sdktrace.TracerProvider {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithIDGenerator(&IDGenerator{}),
		sdktrace.WithResource(serviceResource(service)),
	}
	if exp != nil {
		if sync {
			opts = append(opts, sdktrace.WithSyncer(exp))
		} else {
			opts = append(opts, sdktrace.WithBatcher(exp))
		}
	}
	return sdktrace.NewTracerProvider(opts...)
}

// NewLogger returns a structured logger writing JSON (or text) to w.
func NewLogger(w io.Writer, level slog.Level, json bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
