package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/telemetry"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

// One trace per rollout: the planned event's trace context is kept with
// the rollout (as its traceparent, so it survives restarts). Under it, a
// "rollout" span lasts from the planned event to the terminal state, and
// admission and each phase are its children. A rollout, its admission and
// its phases outlive scheduler processes, so their spans are emitted when
// they end, with their recorded start times, under span ids derived from
// the trace id (telemetry.DerivedSpanID): a child (a host action, the
// calendar call) names its parent before the parent is emitted.

const traceparentHeader = "traceparent"

// traceparentOf returns the traceparent of a planned event, or of a new
// root span when the publisher sent none, so every rollout has a trace.
func (s *Service) traceparentOf(msg jetstream.Msg, rollout string) string {
	ctx := natsx.ExtractTrace(context.Background(), msg.Headers())
	if !trace.SpanContextFromContext(ctx).IsValid() {
		// The span stands in for the request span the publisher did not
		// send.
		var span trace.Span
		ctx, span = s.tracer.Start(context.Background(), "deploy.request", trace.WithNewRoot(),
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

// rolloutSpanID, admissionSpanID and phaseSpanID are the span ids of a
// rollout's own spans. A phase's derives from its step id, never the
// step's position.
func rolloutSpanID(tid trace.TraceID) trace.SpanID {
	return telemetry.DerivedSpanID(tid, "rollout")
}

func admissionSpanID(tid trace.TraceID) trace.SpanID {
	return telemetry.DerivedSpanID(tid, "admission")
}

func phaseSpanID(tid trace.TraceID, step string) trace.SpanID {
	return telemetry.DerivedSpanID(tid, "step/"+step)
}

// childOf returns ctx with the span of the trace of traceparent that id
// derives as its parent; ctx unchanged when there is no trace.
func childOf(ctx context.Context, traceparent string, id func(trace.TraceID) trace.SpanID) context.Context {
	sc := trace.SpanContextFromContext(planContext(traceparent))
	if !sc.IsValid() {
		return ctx
	}
	return telemetry.RemoteParent(ctx, sc.TraceID(), id(sc.TraceID()))
}

// phaseContext returns a context whose parent is the phase's span.
func phaseContext(planCtx context.Context, step string) context.Context {
	sc := trace.SpanContextFromContext(planCtx)
	if !sc.IsValid() {
		return planCtx
	}
	return telemetry.RemoteParent(planCtx, sc.TraceID(), phaseSpanID(sc.TraceID(), step))
}

// startDerived starts the span that id derives for the trace of
// traceparent, as a child of parent; ok is false when there is no trace.
func (s *Service) startDerived(traceparent string, parent, id func(trace.TraceID) trace.SpanID, name string,
	opts ...trace.SpanStartOption) (trace.Span, bool) {
	ctx := planContext(traceparent)
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil, false
	}
	if parent != nil {
		ctx = telemetry.RemoteParent(ctx, sc.TraceID(), parent(sc.TraceID()))
	}
	ctx = telemetry.WithSpanID(ctx, id(sc.TraceID()))
	_, span := s.tracer.Start(ctx, name, opts...)
	return span, true
}

// emitSpans records the spans that a committed batch ended: admissions,
// phases, and rollouts that reached a terminal state.
func (s *Service) emitSpans(b *batch, sp spans) {
	for _, a := range sp.admissions {
		s.emitAdmission(a.traceparent, a.rollout, a.queuedAt, b.now, "admitted")
	}
	for _, p := range sp.phases {
		step := p.end.Phase.ID
		span, ok := s.startDerived(p.traceparent, rolloutSpanID,
			func(tid trace.TraceID) trace.SpanID { return phaseSpanID(tid, step) }, "phase.run",
			trace.WithTimestamp(p.end.StartedAt),
			trace.WithAttributes(
				attribute.String("rollwave.rollout", p.rollout),
				attribute.String("rollwave.phase.name", p.end.Phase.Name),
				attribute.Int("rollwave.phase.index", p.end.Phase.Index),
				attribute.String("rollwave.step.id", p.end.Phase.ID),
				attribute.String("rollwave.phase.state", string(p.end.State)),
			))
		if ok {
			span.End(trace.WithTimestamp(p.end.EndedAt))
		}
	}
	for _, id := range b.order {
		st := b.staged[id]
		r := st.rec.Rollout
		if !r.State.Terminal() || (st.saved != nil && st.saved.State.Terminal()) {
			continue
		}
		if !r.Admitted {
			// It ended waiting: its admission ends with it.
			s.emitAdmission(st.rec.Traceparent, id, r.CreatedAt, b.now, string(r.State))
		}
		s.emitRollout(b, st.rec.Traceparent, r)
	}
}

func (s *Service) emitAdmission(traceparent, rollout string, queuedAt, now time.Time, outcome string) {
	span, ok := s.startDerived(traceparent, rolloutSpanID, admissionSpanID, "admission",
		trace.WithTimestamp(queuedAt),
		trace.WithAttributes(attribute.String("rollwave.rollout", rollout),
			attribute.String("rollwave.admission.outcome", outcome)))
	if ok {
		span.End(trace.WithTimestamp(now))
	}
}

// spanEventTypes are the rollout events recorded as events of the rollout
// span: what operators (and the failure policy) did to it, with the actor
// and the reason.
var spanEventTypes = []contracts.EventType{contracts.EventPaused, contracts.EventResumed, contracts.EventAborted,
	contracts.EventRetried, contracts.EventGateApproved, contracts.EventGateRejected}

// spanEvent is one rollout event for the rollout span.
type spanEvent struct {
	seq   int64
	typ   contracts.EventType
	at    time.Time
	actor string
	why   string
}

// emitRollout records the span of a rollout that has ended. Its pause,
// resume and abort events are read back from the EVENTS stream (the
// system of record: they may predate this process), in the background so
// the loop does not wait on it.
func (s *Service) emitRollout(b *batch, traceparent string, r rollout.Rollout) {
	span, ok := s.startDerived(traceparent, nil, rolloutSpanID, "rollout",
		trace.WithTimestamp(r.CreatedAt),
		trace.WithAttributes(
			attribute.String("rollwave.rollout", r.ID()),
			attribute.String("rollwave.app", r.Plan.App),
			attribute.String("rollwave.version", r.Plan.Version),
			attribute.String("rollwave.environment", r.Environment()),
			attribute.String("rollwave.rollout.state", string(r.State)),
			attribute.Int("rollwave.phases", len(r.Plan.Phases)),
		))
	if !ok {
		return
	}
	if r.State != contracts.StateCompleted {
		span.SetStatus(codes.Error, r.Reason)
	}
	end := b.now
	var evs []spanEvent
	for _, e := range b.effects {
		if em, isEmit := e.effect.(rollout.Emit); isEmit && e.rollout == r.ID() && slices.Contains(spanEventTypes, em.Type) {
			evs = append(evs, spanEvent{seq: em.Event.Seq, typ: em.Type, at: b.now, actor: em.Event.Actor, why: em.Event.Reason})
		}
	}
	if !span.IsRecording() || !s.exportsSpans() {
		span.End(trace.WithTimestamp(end))
		return
	}
	env, id := r.Environment(), r.ID()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
		defer cancel()
		stored, err := s.rolloutSpanEvents(ctx, env, id)
		if err != nil {
			s.log.Debug("rollout span without its earlier events", "rollout", id, "err", err)
		}
		for _, e := range stored {
			if !slices.ContainsFunc(evs, func(x spanEvent) bool { return x.seq == e.seq }) {
				evs = append(evs, e)
			}
		}
		slices.SortFunc(evs, func(a, b spanEvent) int { return int(a.seq - b.seq) })
		for _, e := range evs {
			span.AddEvent(string(e.typ), trace.WithTimestamp(e.at), trace.WithAttributes(
				attribute.String("rollwave.actor", e.actor), attribute.String("rollwave.reason", e.why),
				attribute.Int64("rollwave.event.seq", e.seq)))
		}
		span.End(trace.WithTimestamp(end))
	}()
}

// exporter is what a tracer provider may say about itself
// (telemetry.Tracing's do): whether its spans go anywhere.
type exporter interface{ Exports() bool }

// exportsSpans reports whether the scheduler's spans reach an exporter;
// true when the provider does not say.
func (s *Service) exportsSpans() bool {
	if e, ok := s.deps.Tracer.(exporter); ok {
		return e.Exports()
	}
	return true
}

// rolloutSpanEvents reads the rollout's events of spanEventTypes from the
// EVENTS stream, through a consumer of its own that it deletes after.
func (s *Service) rolloutSpanEvents(ctx context.Context, env, id string) ([]spanEvent, error) {
	filters := make([]string, 0, len(spanEventTypes))
	for _, t := range spanEventTypes {
		filters = append(filters, contracts.EventSubject(env, id, t))
	}
	cons, err := s.deps.JS.CreateConsumer(ctx, contracts.StreamEvents, jetstream.ConsumerConfig{
		FilterSubjects: filters, AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		MemoryStorage: true, InactiveThreshold: time.Minute, // gone even if the delete is lost
	})
	if err != nil {
		return nil, fmt.Errorf("consumer of %s's events: %w", id, err)
	}
	info := cons.CachedInfo()
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.deps.JS.DeleteConsumer(dctx, contracts.StreamEvents, info.Name)
	}()
	var out []spanEvent
	for left := info.NumPending; left > 0; {
		batch, err := cons.Fetch(int(min(left, 64)), jetstream.FetchContext(ctx))
		if err != nil {
			return out, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			envl, ev, err := contracts.DecodeEvent(m.Data())
			if err != nil {
				continue
			}
			typ, err := contracts.ParseEventTypeID(envl.Type)
			if err != nil {
				continue
			}
			out = append(out, spanEvent{seq: ev.Seq, typ: typ, at: envl.Time, actor: ev.Actor, why: ev.Reason})
		}
		if err := batch.Error(); err != nil {
			return out, err
		}
		if n == 0 {
			return out, errors.New("events of the rollout ended early")
		}
		left -= uint64(n)
	}
	return out, nil
}
