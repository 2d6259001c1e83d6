package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/executor/internal/claim"
)

// maxDeliveriesSubject is where the server announces that a consumer gave
// up on a message after MaxDeliver deliveries. It is the server's subject,
// not Rollwave's, so it is built here rather than in contracts.
func maxDeliveriesSubject(stream, consumer string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumer
}

// The server sends a max-deliveries advisory once, as a plain message, when
// a pull finds the last delivery expired; that pull may be a dead
// executor's leftover request, with no executor of the pool listening.
// So the advisories are captured in a work-queue stream and consumed by a
// durable consumer per pool: none is lost, and handling is retried until
// it succeeds.
const advisoryStream = "ROLLWAVE_EXECUTOR_ADVISORIES"

func advisoryStreamSpec() contracts.StreamSpec {
	return contracts.StreamSpec{
		Name:      advisoryStream,
		Subjects:  []string{maxDeliveriesSubject(contracts.StreamActions, "*")},
		Retention: contracts.RetentionWorkQueue,
		MaxAge:    7 * 24 * time.Hour,
	}
}

func advisoryConsumerSpec(actions contracts.ConsumerSpec) contracts.ConsumerSpec {
	return contracts.ConsumerSpec{
		Stream:        advisoryStream,
		Durable:       actions.Durable + "-gave-up",
		FilterSubject: maxDeliveriesSubject(actions.Stream, actions.Durable),
		AckWait:       time.Minute,
		MaxAckPending: 64,
	}
}

// maxDeliveriesAdvisory is the part of the server's advisory we use.
type maxDeliveriesAdvisory struct {
	Type       string `json:"type"`
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

const maxDeliveriesType = "io.nats.jetstream.advisory.v1.max_deliver"

// parseAdvisory reads a max-deliveries advisory.
func parseAdvisory(b []byte) (maxDeliveriesAdvisory, error) {
	var adv maxDeliveriesAdvisory
	if err := json.Unmarshal(b, &adv); err != nil {
		return adv, fmt.Errorf("decode max deliveries advisory: %w", err)
	}
	switch {
	case adv.Type != maxDeliveriesType:
		return adv, fmt.Errorf("advisory type is %q, want %q", adv.Type, maxDeliveriesType)
	case adv.StreamSeq == 0:
		return adv, errors.New("advisory has no stream_seq")
	}
	return adv, nil
}

// onAdvisory handles one captured advisory: acked once the action has
// surfaced, retried later when that failed.
func (s *Service) onAdvisory(msg jetstream.Msg) {
	adv, err := parseAdvisory(msg.Data())
	if err != nil {
		s.log.Error("unreadable max deliveries advisory", "err", err)
		_ = msg.TermWithReason("unreadable advisory")
		return
	}
	if err := s.giveUp(adv); err != nil {
		s.log.Error("surface exhausted action; will retry", "stream_seq", adv.StreamSeq, "err", err)
		if s.runCtx.Err() == nil {
			_ = msg.NakWithDelay(5 * time.Second)
		}
		return
	}
	if err := withOpErr(s.runCtx, msg.DoubleAck); err != nil {
		s.log.Warn("ack advisory", "err", err)
	}
}

// giveUp surfaces an action its consumer stopped delivering: it publishes
// a failed result for it and deletes the message from the work queue. When
// the action did finish (and only the ack was lost), its real result is
// published instead.
func (s *Service) giveUp(adv maxDeliveriesAdvisory) error {
	ctx := s.runCtx
	log := s.log.With("stream_seq", adv.StreamSeq, "deliveries", adv.Deliveries)
	raw, err := withOp(ctx, func(ctx context.Context) (*jetstream.RawStreamMsg, error) { return s.stream.GetMsg(ctx, adv.StreamSeq) })
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		log.Debug("exhausted action already handled")
		return nil
	}
	if err != nil {
		return fmt.Errorf("read exhausted action: %w", err)
	}
	a, err := decodeAction(raw.Data)
	if err != nil {
		s.metrics.rejected.Inc()
		log.Error("exhausted action is unreadable; deleting it", "err", err)
		return s.deleteAction(ctx, adv.StreamSeq)
	}
	log = log.With("rollout", a.Rollout, "action", a.ID, "host", a.Host.Name)
	ctx, span := s.tracer.Start(natsx.ExtractTrace(ctx, raw.Header), spanHostDeploy,
		trace.WithAttributes(append(s.actionAttributes(a), attribute.Bool("rollwave.gave_up", true))...))
	defer span.End()

	now := s.clock.Now().UTC()
	res := contracts.HostResult{
		ActionID: a.ID, Rollout: a.Rollout, Environment: a.Environment, App: a.App, Version: a.Version,
		Phase: a.Phase, Batch: a.Batch, Host: a.Host.Name, Attempt: a.Attempt,
		Status:    contracts.ResultFailed,
		Error:     fmt.Sprintf("gave up after %d deliveries: no executor completed the action", adv.Deliveries),
		StartedAt: now, FinishedAt: now, Executor: s.cfg.ID, Deliveries: int(adv.Deliveries),
	}
	final, err := s.recordGaveUp(ctx, a.ID, adv.StreamSeq, adv.Deliveries, res)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("record exhausted action: %w", err)
	}
	if err := s.publishResult(ctx, final); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	if err := s.deleteAction(ctx, adv.StreamSeq); err != nil {
		return err
	}
	if final.Error == res.Error {
		s.metrics.gaveUp.Inc()
		span.SetStatus(codes.Error, res.Error)
		log.Error("gave up on host action", "error", res.Error)
	} else {
		log.Warn("exhausted action had finished; published its result", "status", final.Status)
	}
	return nil
}

// recordGaveUp marks the claim done with the given-up result, unless it is
// done already, in which case the stored result wins.
func (s *Service) recordGaveUp(ctx context.Context, actionID string, seq, deliveries uint64, res contracts.HostResult) (contracts.HostResult, error) {
	key := claim.Key(actionID)
	done := claim.Claim{State: claim.Done, Executor: s.cfg.ID, At: res.FinishedAt, StreamSeq: seq, Delivery: deliveries, Result: &res}
	for range 5 {
		_, err := withOp(ctx, func(ctx context.Context) (uint64, error) { return s.kv.Create(ctx, key, done.Encode()) })
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return res, fmt.Errorf("create claim: %w", err)
		}
		entry, err := withOp(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) { return s.kv.Get(ctx, key) })
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("read claim: %w", err)
		}
		if held, err := claim.Decode(entry.Value()); err == nil && held.State == claim.Done {
			return *held.Result, nil
		}
		_, err = withOp(ctx, func(ctx context.Context) (uint64, error) {
			return s.kv.Update(ctx, key, done.Encode(), entry.Revision())
		})
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return res, fmt.Errorf("update claim: %w", err)
		}
	}
	return res, errors.New("claim kept changing")
}

func (s *Service) deleteAction(ctx context.Context, seq uint64) error {
	err := withOpErr(ctx, func(ctx context.Context) error { return s.stream.DeleteMsg(ctx, seq) })
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete exhausted action from the work queue: %w", err)
	}
	return nil
}
