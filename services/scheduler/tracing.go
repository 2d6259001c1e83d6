package scheduler

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/telemetry"
)

// One trace per rollout: the planned event's trace context is kept with
// the rollout (as its traceparent, so it survives restarts). Admission and
// each phase are spans of that trace; a phase's span id is derived from the
// trace id and the phase index, so host actions can name it as their
// parent before the phase span is recorded at the phase's end.

const traceparentHeader = "traceparent"

// traceparentOf returns the traceparent of a planned event, or of a new
// root span when the publisher sent none, so every rollout has a trace.
func (s *Service) traceparentOf(msg jetstream.Msg, rollout string) string {
	ctx := natsx.ExtractTrace(context.Background(), msg.Headers())
	if !trace.SpanContextFromContext(ctx).IsValid() {
		var span trace.Span
		ctx, span = s.tracer.Start(context.Background(), "rollout", trace.WithNewRoot(),
			trace.WithAttributes(attribute.String("rollwave.rollout", rollout)))
		span.End()
	}
	m := nats.NewMsg("_")
	natsx.InjectTrace(ctx, m)
	return m.Header.Get(traceparentHeader)
}

// planContext returns a context whose remote parent is the planned event's
// span; the background context when there is none.
func planContext(traceparent string) context.Context {
	if traceparent == "" {
		return context.Background()
	}
	return natsx.ExtractTrace(context.Background(), nats.Header{traceparentHeader: {traceparent}})
}

// phaseSpanID is the span id of a phase of the rollout's trace.
// The span id derives from the step id, never the step's position.
func phaseSpanID(tid trace.TraceID, step string) trace.SpanID {
	return telemetry.DerivedSpanID(tid, "step/"+step)
}

// phaseContext returns a context whose parent is the phase's span.
func phaseContext(planCtx context.Context, step string) context.Context {
	sc := trace.SpanContextFromContext(planCtx)
	if !sc.IsValid() {
		return planCtx
	}
	return telemetry.RemoteParent(planCtx, sc.TraceID(), phaseSpanID(sc.TraceID(), step))
}

// emitSpans records the admission and phase spans of a committed batch.
func (s *Service) emitSpans(b *batch, sp spans) {
	for _, a := range sp.admissions {
		ctx := planContext(a.traceparent)
		if !trace.SpanContextFromContext(ctx).IsValid() {
			continue
		}
		_, span := s.tracer.Start(ctx, "admission", trace.WithTimestamp(a.queuedAt),
			trace.WithAttributes(attribute.String("rollwave.rollout", a.rollout)))
		span.End(trace.WithTimestamp(b.now))
	}
	for _, p := range sp.phases {
		ctx := planContext(p.traceparent)
		sc := trace.SpanContextFromContext(ctx)
		if !sc.IsValid() {
			continue
		}
		ctx = telemetry.WithSpanID(ctx, phaseSpanID(sc.TraceID(), p.end.Phase.ID))
		_, span := s.tracer.Start(ctx, "phase.run", trace.WithTimestamp(p.end.StartedAt),
			trace.WithAttributes(
				attribute.String("rollwave.rollout", p.rollout),
				attribute.String("rollwave.phase.name", p.end.Phase.Name),
				attribute.Int("rollwave.phase.index", p.end.Phase.Index),
				attribute.String("rollwave.step.id", p.end.Phase.ID),
				attribute.String("rollwave.phase.state", string(p.end.State)),
			))
		span.End(trace.WithTimestamp(p.end.EndedAt))
	}
}
