package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// maxReasons bounds the reasons one rejected event carries, so that a
// request with thousands of bad hosts still fits in a message.
const maxReasons = 100

// handle plans one deploy request and publishes the verdict. Every request
// ends in exactly one verdict event or, while the inventory cannot be read,
// in a delayed redelivery; nothing is dropped without an event.
func (s *Service) handle(ctx context.Context, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		// Not a JetStream delivery: there is nothing to ack or redeliver.
		s.log.Error("deploy request without JetStream metadata", "err", err)
		_ = msg.Term()
		return
	}
	ctx = natsx.ExtractTrace(ctx, msg.Headers())
	ctx, span := s.tracer.Start(ctx, "plan", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", msg.Subject()),
			attribute.Int64("messaging.jetstream.stream_sequence", int64(md.Sequence.Stream)),
			attribute.Int64("messaging.jetstream.delivered", int64(md.NumDelivered))))
	defer span.End()

	req, decodeErr := contracts.DecodeDeployRequest(msg.Data())
	ref := identify(req, msg.Data(), msg.Headers())
	log := s.log.With("rollout", ref.rollout, "environment", ref.env, "seq", md.Sequence.Stream, "delivered", md.NumDelivered)
	span.SetAttributes(attribute.String("rollwave.rollout", ref.rollout), attribute.String("rollwave.environment", ref.env))

	// Ids are single-use beyond the broker's duplicate window: a request
	// whose id is already decided or taken publishes nothing.
	if contracts.ValidToken(req.ID) {
		ok, err := s.admit(ctx, log, req)
		switch {
		case err != nil:
			log.Error("request record unavailable; retrying", "err", err)
			_ = msg.NakWithDelay(retryDelay(md.NumDelivered, s.cfg.RetryBackoff, s.cfg.MaxRetryBackoff))
			return
		case !ok:
			if err := msg.Ack(); err != nil {
				log.Warn("ack deploy request", "err", err)
			}
			return
		}
		ref.claimed = req.ID
	}

	if decodeErr != nil {
		reasons := contracts.AsFieldErrors(decodeErr)
		if reasons == nil {
			log.Error("decode deploy request", "err", decodeErr)
			reasons = contracts.FieldErrors{{Message: "the request could not be read"}}
		}
		s.reject(ctx, log, span, msg, md, ref, reasons, "")
		return
	}

	if len(req.Apps) > 0 {
		s.handleChain(ctx, log, span, msg, md, ref, req)
		return
	}
	p, reasons, err := s.planning.plan(ctx, req)
	switch {
	case err != nil && ctx.Err() != nil:
		// Stopping: another planner takes the request up.
		_ = msg.Nak()
	case err != nil:
		span.RecordError(err)
		if md.NumDelivered >= uint64(contracts.PlannerConsumer().MaxDeliver) {
			log.Error("inventory unavailable on the last delivery; rejecting", "err", err)
			s.reject(ctx, log, span, msg, md, ref, contracts.FieldErrors{{Field: "environment",
				Message: fmt.Sprintf("the inventory of environment %q could not be read after %d attempts: %s", req.Environment, md.NumDelivered, contracts.AsError(err).Message)}},
				"inventory unavailable")
			return
		}
		delay := retryDelay(md.NumDelivered, s.cfg.RetryBackoff, s.cfg.MaxRetryBackoff)
		log.Warn("inventory unavailable; retrying", "err", err, "in", delay)
		s.metrics.requests.WithLabelValues(outcomeRetried).Inc()
		if err := msg.NakWithDelay(delay); err != nil {
			log.Warn("nak deploy request", "err", err)
		}
	case reasons != nil:
		s.reject(ctx, log, span, msg, md, ref, reasons, "")
	default:
		s.planned(ctx, log, span, msg, md, req, p)
	}
}

func (s *Service) planned(ctx context.Context, log *slog.Logger, span trace.Span, msg jetstream.Msg, md *jetstream.MsgMetadata, req contracts.DeployRequest, p contracts.Plan) {
	ev := contracts.Event{
		Rollout: req.ID, Environment: req.Environment, App: req.App, Version: req.Version,
		State: contracts.StatePlanned, Plan: &p, Actor: req.RequestedBy, Reason: overrideNote(p),
	}
	if ev.Reason != "" {
		log.Warn("lifecycle overridden", "missing", p.LifecycleOverride.Missing, "reason", p.LifecycleOverride.Reason, "by", p.LifecycleOverride.By)
	}
	// Promotions reuse the request of a completed rollout.
	if !s.accept(ctx, log, msg, md, req) {
		return
	}
	if err := s.byReference(ctx, &ev); err != nil {
		delay := retryDelay(md.NumDelivered, s.cfg.RetryBackoff, s.cfg.MaxRetryBackoff)
		log.Error("store plan; retrying", "err", err, "in", delay)
		s.metrics.requests.WithLabelValues(outcomeRetried).Inc()
		_ = msg.NakWithDelay(delay)
		return
	}
	subject := contracts.EventSubject(req.Environment, req.ID, contracts.EventPlanned)
	// A planned request is valid, so its id was claimed.
	if !s.publish(ctx, log, msg, md, subject, contracts.EventPlanned, ev, req.ID) {
		return
	}
	span.SetAttributes(attribute.String("rollwave.outcome", outcomePlanned), attribute.Int("rollwave.hosts", p.TotalHosts()))
	s.metrics.requests.WithLabelValues(outcomePlanned).Inc()
	log.Info("rollout planned", "app", req.App, "version", req.Version, "phases", len(p.Phases), "hosts", p.TotalHosts())
}

func (s *Service) reject(ctx context.Context, log *slog.Logger, span trace.Span, msg jetstream.Msg, md *jetstream.MsgMetadata, ref reference, reasons contracts.FieldErrors, reason string) {
	if len(reasons) > maxReasons {
		more := len(reasons) - (maxReasons - 1)
		reasons = append(reasons[:maxReasons-1:maxReasons-1], contracts.FieldError{Message: fmt.Sprintf("and %d more problems", more)})
	}
	if reason == "" {
		reason = reasons.Error()
	}
	subject, rollout := contracts.RejectedSubject(ref.env, ref.rollout, md.Sequence.Stream)
	env, _, _, err := contracts.ParseEventSubject(subject)
	if err != nil {
		log.Error("rejected subject", "subject", subject, "err", err)
		return
	}
	ev := contracts.Event{
		Rollout: rollout, Environment: env, App: ref.app, Version: ref.version,
		State: contracts.StateRejected, Reasons: reasons, Reason: reason, Actor: s.cfg.Source,
	}
	if !s.publish(ctx, log, msg, md, subject, contracts.EventRejected, ev, ref.claimed) {
		return
	}
	span.SetAttributes(attribute.String("rollwave.outcome", outcomeRejected))
	s.metrics.requests.WithLabelValues(outcomeRejected).Inc()
	log.Info("request rejected", "subject", subject, "reason", reason)
}

// publish sends the verdict and then acks the request. The message id is
// the rollout's verdict id, so a redelivered request publishes nothing new.
// claimed is the request id to record as decided once the verdict is out,
// or "" when the request's id could not be claimed.
func (s *Service) publish(ctx context.Context, log *slog.Logger, msg jetstream.Msg, md *jetstream.MsgMetadata, subject string, t contracts.EventType, ev contracts.Event, claimed string) bool {
	m, err := natsx.EnvelopeMsg(ctx, subject, contracts.EventTypeID(t), contracts.PlannedMsgID(ev.Rollout), s.cfg.Source, ev.Rollout, s.clock.Now(), ev)
	if err != nil {
		log.Error("encode verdict", "err", err)
		_ = msg.NakWithDelay(s.cfg.MaxRetryBackoff)
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	ack, err := s.js.PublishMsg(pctx, m)
	if err != nil {
		if md.NumDelivered >= uint64(contracts.PlannerConsumer().MaxDeliver) {
			// JetStream gives up on the request after this delivery and
			// emits its max-deliveries advisory; say so where people look.
			log.Error("publish verdict on the last delivery: the request gets no verdict", "subject", subject, "err", err)
			_ = msg.Term()
			return false
		}
		delay := retryDelay(md.NumDelivered, s.cfg.RetryBackoff, s.cfg.MaxRetryBackoff)
		log.Error("publish verdict; retrying", "subject", subject, "err", err, "in", delay)
		s.metrics.requests.WithLabelValues(outcomeRetried).Inc()
		_ = msg.NakWithDelay(delay)
		return false
	}
	if ack.Duplicate {
		// Ids are single-use: a second request with this id, even a
		// different one, gets the verdict already published.
		log.Info("verdict already published for this rollout id", "subject", subject)
	}
	if claimed != "" {
		if err := s.store.Decide(pctx, claimed); err != nil {
			// The next delivery finds the id still open for this same
			// request and republishes the verdict, which the broker drops
			// as a duplicate within its window.
			log.Error("record verdict", "err", err)
			_ = msg.NakWithDelay(s.cfg.RetryBackoff)
			return false
		}
	}
	if err := msg.DoubleAck(pctx); err != nil {
		// The request comes back and its verdict is dropped as a duplicate.
		log.Warn("ack deploy request", "err", err)
	}
	return true
}

// reference names the request a verdict is about, as far as the request
// can be read: the rollout id and environment become subject tokens.
type reference struct {
	rollout, env, app, version string
	// claimed is the request id recorded for this request, if any.
	claimed string
}

// identify finds the rollout id and environment of a request for its
// verdict, falling back from the decoded request to a lenient read of the
// message (the request may be invalid) and to the Nats-Msg-Id header,
// which publishers set to the request id. What is still not a valid
// subject token is replaced by RejectedSubject.
func identify(req contracts.DeployRequest, data []byte, h nats.Header) reference {
	var loose struct {
		SpecVersion *string         `json:"specversion"`
		ID          string          `json:"id"`
		Environment string          `json:"environment"`
		App         string          `json:"app"`
		Version     string          `json:"version"`
		Data        json.RawMessage `json:"data"`
	}
	var envelopeID string
	// Type errors still fill the other fields, so errors are ignored here.
	_ = json.Unmarshal(data, &loose)
	if loose.SpecVersion != nil {
		envelopeID = loose.ID
		inner := loose.Data
		loose.ID, loose.Environment, loose.App, loose.Version = "", "", "", ""
		_ = json.Unmarshal(inner, &loose)
	}
	return reference{
		rollout: firstToken(req.ID, loose.ID, envelopeID, h.Get(nats.MsgIdHdr)),
		env:     firstToken(req.Environment, loose.Environment),
		app:     clip(firstNonEmpty(req.App, loose.App)),
		version: clip(firstNonEmpty(req.Version, loose.Version)),
	}
}

func firstToken(candidates ...string) string {
	for _, c := range candidates {
		if contracts.ValidToken(c) {
			return c
		}
	}
	return ""
}

func firstNonEmpty(candidates ...string) string {
	for _, c := range candidates {
		if c != "" {
			return c
		}
	}
	return ""
}

// clip bounds an unchecked value copied into an event.
func clip(s string) string {
	const limit = 128
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
