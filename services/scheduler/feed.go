package scheduler

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/pkg/natsx"
)

// feed reads one input stream with an ordered consumer that starts after
// the last sequence the loop committed, and hands messages to the loop.
type feed struct {
	stream  string
	filters []string
	// gen numbers the consumer the feed runs; the loop drops messages of
	// an older consumer, so that after a reset nothing is applied out of
	// order or twice.
	gen atomic.Uint64
	// applied is the last stream sequence the loop committed.
	applied atomic.Uint64
	reset   chan struct{}
}

func newFeed(stream string, filters []string) *feed {
	return &feed{stream: stream, filters: filters, reset: make(chan struct{}, 1)}
}

// restart makes the feed drop what it has in flight and consume again from
// the committed cursor. Called by the loop when a batch could not be
// committed.
func (f *feed) restart() {
	f.gen.Add(1)
	select {
	case f.reset <- struct{}{}:
	default:
	}
}

func (s *Service) runFeed(f *feed) {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for s.runCtx.Err() == nil {
		gen := f.gen.Add(1)
		err := s.consume(f, gen)
		if s.runCtx.Err() != nil {
			return
		}
		if errors.Is(err, errReset) {
			backoff = 100 * time.Millisecond
			continue
		}
		s.log.Warn("consumer failed; recreating it from the stored cursor", "stream", f.stream,
			"cursor", f.applied.Load(), "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-s.runCtx.Done():
			t.Stop()
			return
		case <-f.reset:
			t.Stop()
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

var errReset = errors.New("reset by the loop")

// consume runs one ordered consumer until it fails or the feed is reset.
func (s *Service) consume(f *feed, gen uint64) error {
	ctx, cancel := context.WithCancelCause(s.runCtx)
	defer cancel(nil)
	go func() {
		select {
		case <-ctx.Done():
		case <-f.reset:
			cancel(errReset)
		}
	}()
	cons, err := natsx.OrderedFrom(ctx, s.deps.JS, f.stream, f.filters, f.applied.Load())
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return cause
			}
			return err
		}
		select {
		case s.inputs <- work{stream: f.stream, gen: gen, msg: msg}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
