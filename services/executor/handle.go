package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/executor/internal/claim"
)

// decodeAction reads an action message. It accepts only actions whose
// result can be routed: an id, and a rollout and environment that can
// stand in a subject. Anything else about the action is checked when it
// runs, and reported in its result.
func decodeAction(b []byte) (contracts.HostAction, error) {
	env, err := contracts.DecodeEnvelope(b)
	if err != nil {
		return contracts.HostAction{}, err
	}
	var a contracts.HostAction
	if err := env.DecodeDataTolerant(contracts.TypeHostAction, &a); err != nil {
		return contracts.HostAction{}, err
	}
	var fe contracts.FieldErrors
	if a.ID == "" {
		fe.Add("data.id", "is required")
	}
	if !contracts.ValidToken(a.Rollout) {
		fe.Add("data.rollout", "must be 1-128 letters, digits, '-' or '_', got %q", a.Rollout)
	}
	if !contracts.ValidToken(a.Environment) {
		fe.Add("data.environment", "must be 1-128 letters, digits, '-' or '_', got %q", a.Environment)
	}
	if err := fe.Err(); err != nil {
		return contracts.HostAction{}, err
	}
	return a, nil
}

// delivery is one delivery of an action message.
type delivery struct {
	msg       jetstream.Msg
	action    contracts.HostAction
	seq       uint64
	delivered uint64
	log       *slog.Logger
}

// handle does one delivery of an action message. It never panics on bad
// input; on trouble it leaves the message for redelivery, which ends in the
// poison path after MaxDeliver tries.
func (s *Service) handle(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		s.reject(msg, fmt.Errorf("read delivery metadata: %w", err))
		return
	}
	if meta.NumDelivered > 1 {
		s.metrics.redeliveries.Inc()
	}
	a, err := decodeAction(msg.Data())
	if err != nil {
		s.reject(msg, err, "stream_seq", meta.Sequence.Stream)
		return
	}
	d := delivery{
		msg: msg, action: a, seq: meta.Sequence.Stream, delivered: meta.NumDelivered,
		log: s.log.With("rollout", a.Rollout, "action", a.ID, "host", a.Host.Name,
			"stream_seq", meta.Sequence.Stream, "delivery", meta.NumDelivered),
	}
	ctx := natsx.ExtractTrace(s.runCtx, msg.Headers())
	rev, ok := s.claim(ctx, d)
	if !ok {
		return
	}
	s.act(ctx, d, rev)
}

// reject ends a message that cannot be read: it would fail the same way on
// every delivery.
func (s *Service) reject(msg jetstream.Msg, err error, attrs ...any) {
	s.metrics.rejected.Inc()
	s.log.Error("rejected unreadable action message", append([]any{"subject", msg.Subject(), "err", err}, attrs...)...)
	if err := msg.TermWithReason("unreadable host action: " + clip(err.Error(), 200)); err != nil {
		s.log.Warn("terminate unreadable action message", "err", err)
	}
}

// claim takes the action's claim for this delivery, or settles the
// delivery without acting. It returns the claim's revision and whether to
// act.
func (s *Service) claim(ctx context.Context, d delivery) (uint64, bool) {
	key := claim.Key(d.action.ID)
	mine := claim.Claim{State: claim.Running, Executor: s.cfg.ID, Instance: s.currentInstance(), At: s.clock.Now().UTC(),
		StreamSeq: d.seq, Delivery: d.delivered}
	// Each round either settles the delivery or loses a race that changed
	// the claim; a few rounds cover any realistic contention.
	for range 5 {
		rev, err := withOp(ctx, func(ctx context.Context) (uint64, error) { return s.kv.Create(ctx, key, mine.Encode()) })
		if err == nil {
			return rev, true
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			s.retryLater(d, "create claim", err)
			return 0, false
		}
		entry, err := withOp(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) { return s.kv.Get(ctx, key) })
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted or expired since Create: try again
		}
		if err != nil {
			s.retryLater(d, "read claim", err)
			return 0, false
		}
		held, err := claim.Decode(entry.Value())
		if err != nil {
			d.log.Warn("unreadable claim; treating it as running", "err", err)
			held = claim.Claim{State: claim.Running}
		}
		switch claim.Decide(held, d.seq, d.delivered) {
		case claim.Republish:
			d.log.Info("action already done; publishing its result again", "by", held.Executor)
			s.settle(ctx, d, *held.Result)
			return 0, false
		case claim.AckDuplicate:
			d.log.Info("duplicate action message; another is being worked on", "by", held.Executor, "held_seq", held.StreamSeq)
			if err := withOpErr(ctx, d.msg.DoubleAck); err != nil {
				d.log.Warn("ack duplicate action", "err", err)
			}
			return 0, false
		case claim.Ignore:
			d.log.Info("older delivery of an action held by a newer one; leaving it", "by", held.Executor, "held_delivery", held.Delivery)
			return 0, false
		case claim.Act:
			alive, err := s.holderAlive(ctx, held.Instance)
			if err != nil {
				s.retryLater(d, "read holder heartbeat", err)
				return 0, false
			}
			if alive {
				// The holder lives but its lease lapsed: taking over would run
				// the action twice at once. Keep this delivery and wait for
				// the holder to finish or die.
				d.log.Warn("action held by a live executor; waiting for it", "by", held.Instance)
				if !s.awaitHolder(ctx, d, key, entry.Revision(), held.Instance) {
					return 0, false
				}
				continue
			}
			rev, err := withOp(ctx, func(ctx context.Context) (uint64, error) {
				return s.kv.Update(ctx, key, mine.Encode(), entry.Revision())
			})
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				continue
			}
			if err != nil {
				s.retryLater(d, "take over claim", err)
				return 0, false
			}
			d.log.Warn("took over action from a dead executor", "from", held.Instance, "held_delivery", held.Delivery)
			return rev, true
		}
	}
	s.retryLater(d, "claim", errors.New("claim kept changing"))
	return 0, false
}

// awaitHolder holds delivery d while the live instance holder keeps the
// claim at revision rev. It returns true once the claim changed or the
// holder's heartbeat ended, and false when the executor stops. It extends
// the delivery's lease meanwhile, so waiting spends no delivery.
func (s *Service) awaitHolder(ctx context.Context, d delivery, key string, rev uint64, holder string) bool {
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
		if err := d.msg.InProgress(); err != nil {
			d.log.Debug("extend lease while waiting", "err", err)
		}
		entry, err := withOp(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) { return s.kv.Get(ctx, key) })
		if err != nil || entry.Revision() != rev {
			return true // changed or gone: decide again
		}
		if alive, err := s.holderAlive(ctx, holder); err == nil && !alive {
			return true
		}
	}
}

// retryLater leaves the delivery to be redelivered after a pause.
func (s *Service) retryLater(d delivery, what string, err error) {
	if s.runCtx.Err() != nil {
		return // stopping: the message is redelivered after its ack wait
	}
	delay := time.Duration(d.delivered) * time.Second
	d.log.Warn("action will be retried", "step", what, "err", err, "delay", delay)
	if err := d.msg.NakWithDelay(delay); err != nil {
		d.log.Warn("nak action", "err", err)
	}
}

// settle publishes a result and acknowledges the delivery, in that order:
// a crash between the two republishes the same result (same message id)
// on redelivery.
func (s *Service) settle(ctx context.Context, d delivery, res contracts.HostResult) {
	if err := s.publishResult(ctx, res); err != nil {
		s.retryLater(d, "publish result", err)
		return
	}
	if err := withOpErr(ctx, d.msg.DoubleAck); err != nil {
		d.log.Warn("ack action", "err", err)
	}
}

// publishResult publishes a result. The envelope time is the result's
// finish time, so a republished result is the same message.
func (s *Service) publishResult(ctx context.Context, res contracts.HostResult) error {
	m, err := natsx.EnvelopeMsg(ctx, contracts.ResultSubject(res.Environment, res.Rollout), contracts.TypeHostResult,
		contracts.ResultMsgID(res.ActionID), s.cfg.Source, res.ActionID, res.FinishedAt, res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = withOp(ctx, func(ctx context.Context) (*jetstream.PubAck, error) { return s.deps.JS.PublishMsg(ctx, m) })
	if err != nil {
		return fmt.Errorf("publish result: %w", err)
	}
	return nil
}

// withOp runs one broker call with the default deadline.
func withOp[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return f(ctx)
}

func withOpErr(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return f(ctx)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
