package planner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/planner/internal/releases"
)

// followBatch bounds the events applied in one transaction.
const followBatch = 256

// catchUpTimeout bounds the wait for the rollout record to apply a
// completion already in the stream.
const catchUpTimeout = 10 * time.Second

// followedEvents are the event types the rollout record keeps.
var followedEvents = []contracts.EventType{contracts.EventPlanned, contracts.EventStarted,
	contracts.EventCompleted, contracts.EventFailed, contracts.EventAborted}

// follower applies the rollouts' planned, started and terminal events to
// the rollout record, from the sequence the record has applied, with an
// ordered consumer: each event is applied exactly once because the
// sequence is stored in the transaction that applies it (as the scheduler
// and discovery do).
type follower struct {
	js    jetstream.JetStream
	store *releases.Store
	log   *slog.Logger
	clock clock.Clock
	retry time.Duration

	mu      sync.Mutex
	applied uint64
	moved   chan struct{} // closed and replaced whenever applied grows

	consume jetstream.ConsumeContext
	msgs    chan jetstream.Msg
	quit    chan struct{}
	done    chan struct{}
}

func followFilters() []string {
	out := make([]string, len(followedEvents))
	for i, t := range followedEvents {
		out[i] = contracts.EventFilter("", "", t)
	}
	return out
}

// start resumes from the stored sequence.
func (f *follower) start(ctx context.Context) error {
	applied, err := f.store.Cursor(ctx, contracts.StreamEvents)
	if err != nil {
		return err
	}
	if applied > 0 {
		st, err := f.js.Stream(ctx, contracts.StreamEvents)
		if err != nil {
			return fmt.Errorf("look up %s: %w", contracts.StreamEvents, err)
		}
		if last := st.CachedInfo().State.LastSeq; last < applied {
			// The stream was deleted and made again: its sequence restarted.
			f.log.Warn("events stream is behind the rollout record's cursor; it was recreated, applying it from the start",
				"cursor", applied, "last_seq", last)
			applied = 0
		}
	}
	cons, err := natsx.OrderedFrom(ctx, f.js, contracts.StreamEvents, followFilters(), applied)
	if err != nil {
		return err
	}
	f.applied, f.moved = applied, make(chan struct{})
	f.msgs, f.quit, f.done = make(chan jetstream.Msg, 2*followBatch), make(chan struct{}), make(chan struct{})
	msgs, quit := f.msgs, f.quit
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-quit:
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		f.log.Warn("rollout events consumer", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("follow %s: %w", contracts.StreamEvents, err)
	}
	f.consume = cc
	go f.loop(applied)
	return nil
}

// stop ends the consumer and the applier after the batch it is applying.
func (f *follower) stop() {
	if f.quit == nil {
		return
	}
	close(f.quit)
	f.consume.Stop()
	<-f.done
	f.quit = nil
}

func (f *follower) loop(applied uint64) {
	defer close(f.done)
	// The applier's work outlives no one: stop waits for the batch.
	ctx := context.Background()
	batch := make([]jetstream.Msg, 0, followBatch)
	for {
		batch = batch[:0]
		select {
		case <-f.quit:
			return
		case m := <-f.msgs:
			batch = append(batch, m)
		}
	fill:
		for len(batch) < followBatch {
			select {
			case m := <-f.msgs:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		for {
			next, err := f.apply(ctx, batch, applied)
			if err == nil {
				applied = next
				break
			}
			// Nothing was committed: try the same batch again.
			f.log.Error("apply rollout events; will retry", "err", err, "retry_in", f.retry)
			select {
			case <-f.quit:
				return
			case <-f.clock.After(f.retry):
			}
		}
	}
}

func (f *follower) apply(ctx context.Context, batch []jetstream.Msg, applied uint64) (uint64, error) {
	var changes []releases.Change
	last := applied
	for _, m := range batch {
		meta, err := m.Metadata()
		if err != nil {
			continue
		}
		seq := meta.Sequence.Stream
		if seq <= last {
			continue
		}
		last = seq
		env, ev, err := contracts.DecodeEvent(m.Data())
		if err != nil {
			f.log.Warn("skipping unreadable event", "subject", m.Subject(), "seq", seq, "err", err)
			continue
		}
		t, err := contracts.ParseEventTypeID(env.Type)
		if err != nil {
			continue
		}
		if c, ok := releases.FromEvent(t, env.Time, ev); ok {
			changes = append(changes, c)
		}
	}
	if last == applied {
		return applied, nil
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if err := f.store.Apply(ctx, contracts.StreamEvents, last, changes); err != nil {
		return applied, err
	}
	f.mu.Lock()
	f.applied = last
	close(f.moved)
	f.moved = make(chan struct{})
	f.mu.Unlock()
	return last, nil
}

// caughtUp waits until the record has applied the last event on subject
// that exists now, so that a completion already in the stream is never
// missed for lag; a subject without events needs no wait.
func (f *follower) caughtUp(ctx context.Context, subject string) error {
	st, err := f.js.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		return fmt.Errorf("look up %s: %w", contracts.StreamEvents, err)
	}
	msg, err := st.GetLastMsgForSubject(ctx, subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("last event on %s: %w", subject, err)
	}
	for {
		f.mu.Lock()
		applied, moved := f.applied, f.moved
		f.mu.Unlock()
		if applied >= msg.Sequence {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("the rollout record has not caught up with %s/%d: %w", contracts.StreamEvents, msg.Sequence, ctx.Err())
		}
	}
}

// completions answers whether a release completed in an environment from
// the rollout record, catching up with the stream before saying no.
type completions struct {
	store  *releases.Store
	follow *follower
}

func (c completions) Completed(ctx context.Context, app, version, env string) (bool, error) {
	ok, err := c.store.Completed(ctx, app, version, env)
	if err != nil || ok {
		return ok, err
	}
	// Bounded: a record that cannot apply must not hold the consumer; the
	// request is retried later.
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	if err := c.follow.caughtUp(ctx, contracts.EventFilter(env, "", contracts.EventCompleted)); err != nil {
		return false, err
	}
	return c.store.Completed(ctx, app, version, env)
}
