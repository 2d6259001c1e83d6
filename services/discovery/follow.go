package discovery

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/discovery/internal/versions"
)

// follow starts applying the RESULTS stream from the recorded cursor.
// Messages go from the consumer's callback through a channel to one
// applier, which takes whatever has arrived (up to BatchSize) into each
// transaction: one message at a time when idle, large batches under load.
func (s *Service) follow(ctx context.Context) error {
	applied, err := s.store.cursor(ctx, contracts.StreamResults)
	if err != nil {
		return err
	}
	applied, err = s.checkCursor(ctx, applied)
	if err != nil {
		return err
	}
	cons, err := natsx.OrderedFrom(ctx, s.deps.JS, contracts.StreamResults, []string{contracts.ResultsWildcard()}, applied)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.quit = make(chan struct{})
	s.done = make(chan struct{})
	s.msgs = make(chan jetstream.Msg, 2*s.cfg.BatchSize)
	quit, msgs := s.quit, s.msgs
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-quit:
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		s.log.Warn("results consumer", "err", err)
	}))
	if err != nil {
		cancel()
		close(s.done)
		return fmt.Errorf("follow %s: %w", contracts.StreamResults, err)
	}
	s.consume = cc
	go s.applyLoop(runCtx, applied)
	s.log.Info("following results", "from_seq", applied+1)
	return nil
}

// checkCursor guards against a stream that was deleted and created again:
// its sequence restarts, and a cursor beyond its end would wait forever.
// Versions already recorded are kept; the new stream is applied from its
// start.
func (s *Service) checkCursor(ctx context.Context, applied uint64) (uint64, error) {
	if applied == 0 {
		return 0, nil
	}
	st, err := s.deps.JS.Stream(ctx, contracts.StreamResults)
	if err != nil {
		return 0, fmt.Errorf("look up %s: %w", contracts.StreamResults, err)
	}
	if last := st.CachedInfo().State.LastSeq; last < applied {
		s.log.Warn("results stream is behind the recorded cursor; it was recreated, applying it from the start",
			"cursor", applied, "last_seq", last)
		return 0, nil
	}
	return applied, nil
}

// stopFollowing ends the applier after the batch it is applying, then the
// consumer. When ctx ends first, the batch's transaction is cancelled.
func (s *Service) stopFollowing(ctx context.Context) error {
	if s.quit == nil {
		return nil
	}
	close(s.quit)
	if s.consume != nil {
		s.consume.Stop()
	}
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		err = fmt.Errorf("discovery: applying results: %w", ctx.Err())
		s.cancel()
		<-s.done
	}
	s.cancel()
	s.quit = nil
	return err
}

func (s *Service) applyLoop(ctx context.Context, applied uint64) {
	defer close(s.done)
	batch := make([]jetstream.Msg, 0, s.cfg.BatchSize)
	for {
		batch = batch[:0]
		select {
		case <-s.quit:
			return
		case m := <-s.msgs:
			batch = append(batch, m)
		}
	fill:
		for len(batch) < s.cfg.BatchSize {
			select {
			case m := <-s.msgs:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		for {
			next, err := s.applyBatch(ctx, batch, applied)
			if err == nil {
				applied = next
				break
			}
			// Nothing was committed: retry the same batch, or leave it to
			// the next start, which reads it again from the stream.
			s.log.Error("apply results; will retry", "err", err, "retry_in", s.cfg.RetryDelay)
			select {
			case <-s.quit:
				return
			case <-s.clock.After(s.cfg.RetryDelay):
			}
		}
	}
}

// applyBatch records the versions of a batch of results and the sequence
// of its last message in one transaction, and returns that sequence.
func (s *Service) applyBatch(ctx context.Context, batch []jetstream.Msg, applied uint64) (uint64, error) {
	var (
		updates []versions.Update
		links   []trace.Link
		failed  int
		invalid int
	)
	last := applied
	for _, m := range batch {
		meta, err := m.Metadata()
		if err != nil {
			s.log.Warn("result without JetStream metadata", "subject", m.Subject(), "err", err)
			continue
		}
		seq := meta.Sequence.Stream
		if seq <= last {
			continue // already applied
		}
		last = seq
		u, ok, err := versions.FromMessage(m.Data())
		switch {
		case err != nil:
			invalid++
			s.log.Warn("skipping unreadable result", "subject", m.Subject(), "seq", seq, "err", err)
			continue
		case !ok:
			failed++
			continue
		}
		updates = append(updates, u)
		if sc := trace.SpanContextFromContext(natsx.ExtractTrace(ctx, m.Headers())); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	if last == applied {
		return applied, nil
	}
	ctx, span := s.tracer.Start(ctx, "discovery.apply_results", trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.Int("rollwave.results", len(batch)),
			attribute.Int("rollwave.versions", len(updates)),
			attribute.Int64("messaging.sequence", int64(last))))
	defer span.End()
	if err := s.store.apply(ctx, contracts.StreamResults, last, updates); err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "apply results")
		return applied, err
	}
	s.metrics.applied.Add(float64(len(updates)))
	s.metrics.ignored.WithLabelValues("failed").Add(float64(failed))
	s.metrics.ignored.WithLabelValues("invalid").Add(float64(invalid))
	for _, u := range updates {
		s.log.Debug("version recorded", "rollout", u.Rollout, "environment", u.Environment,
			"host", u.Host, "app", u.App, "version", u.Version)
	}
	return last, nil
}
