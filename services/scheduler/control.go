package scheduler

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/scheduler/internal/inbound"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

// controlRequest is an operator verb waiting for the loop.
type controlRequest struct {
	rollout string
	cmd     rollout.Command
	// reply has room for the one answer, so the loop never blocks on it.
	reply chan controlReply
}

type controlReply struct {
	summary contracts.RolloutSummary
	err     error
}

// handleControl answers a request on rollwave.control.<rollout>.<verb>
// once the transition is committed and its events are published.
func (s *Service) handleControl(m *nats.Msg) {
	ctx, cancel := context.WithTimeout(natsx.ExtractTrace(s.runCtx, m.Header), s.cfg.ControlTimeout)
	defer cancel()
	ctx, span := s.tracer.Start(ctx, "control", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", m.Subject)))
	defer span.End()

	var reply contracts.Reply[contracts.RolloutSummary]
	sum, err := s.control(ctx, m.Subject, m.Data)
	if err != nil {
		reply.Error = contracts.AsError(err)
		span.SetStatus(codes.Error, reply.Error.Message)
		if reply.Error.Code == contracts.CodeInternal {
			s.log.Error("control request failed", "subject", m.Subject, "err", err)
		}
	} else {
		reply.Data = &sum
	}
	if m.Reply == "" {
		return
	}
	body, err := json.Marshal(reply)
	if err != nil {
		s.log.Error("encode control reply", "err", err)
		return
	}
	if err := m.Respond(body); err != nil {
		s.log.Warn("send control reply", "subject", m.Subject, "err", err)
	}
}

func (s *Service) control(ctx context.Context, subject string, body []byte) (contracts.RolloutSummary, error) {
	id, verb, cmd, err := inbound.Command(subject, body)
	if err != nil {
		return contracts.RolloutSummary{}, err
	}
	if err := checkControlTargets(cmd); err != nil {
		return contracts.RolloutSummary{}, err
	}
	req := &controlRequest{rollout: id, cmd: rollout.Command{Verb: verb, Actor: cmd.Actor, Reason: cmd.Reason, Step: cmd.Step, Fast: cmd.Fast,
		Steps: cmd.Steps, Host: cmd.Host},
		reply: make(chan controlReply, 1)}
	select {
	case s.inputs <- work{cmd: req}:
	case <-ctx.Done():
		return contracts.RolloutSummary{}, waitError(ctx)
	}
	select {
	case r := <-req.reply:
		return r.summary, r.err
	case <-ctx.Done():
		return contracts.RolloutSummary{}, waitError(ctx)
	}
}

func waitError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return contracts.Errorf(contracts.CodeTimeout, "the scheduler did not apply the command in time; it may still apply it")
	}
	return contracts.Errorf(contracts.CodeUnavailable, "the scheduler is stopping")
}
