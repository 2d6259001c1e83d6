package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/services/scheduler/internal/store"
)

// publishChunk bounds the asynchronous publishes in flight at once, below
// the client's default limit of 4000.
const publishChunk = 1000

// flushOutbox publishes every committed message not yet acknowledged, in
// commit order, and deletes those JetStream acknowledged. Each message
// carries its deterministic Nats-Msg-Id, so one published before a crash
// and published again is dropped by the stream.
func (s *Service) flushOutbox() error {
	if len(s.pending) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.workCtx, s.cfg.PublishTimeout)
	defer cancel()
	acked := map[int64]bool{}
	var firstErr error
	for chunk := range slices.Chunk(s.pending, publishChunk) {
		type inflight struct {
			id int64
			f  jetstream.PubAckFuture
		}
		var futures []inflight
		for _, row := range chunk {
			m := &nats.Msg{Subject: row.Subject, Data: row.Data, Header: nats.Header(row.Header)}
			f, err := s.deps.JS.PublishMsgAsync(m)
			if err != nil {
				firstErr = fmt.Errorf("publish %s: %w", row.MsgID, err)
				break
			}
			futures = append(futures, inflight{id: row.ID, f: f})
		}
		for _, in := range futures {
			select {
			case <-in.f.Ok():
				acked[in.id] = true
			case err := <-in.f.Err():
				if firstErr == nil {
					firstErr = fmt.Errorf("publish %s: %w", in.f.Msg().Header.Get(nats.MsgIdHdr), err)
				}
			case <-ctx.Done():
				if firstErr == nil {
					firstErr = fmt.Errorf("wait for acknowledgements: %w", ctx.Err())
				}
			}
		}
		if firstErr != nil {
			break
		}
	}
	if len(acked) > 0 {
		ids := make([]int64, 0, len(acked))
		for id := range acked {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		// Deleting is bookkeeping: a row left behind is published again
		// after a restart and dropped as a duplicate.
		dctx, dcancel := context.WithTimeout(s.workCtx, 5*time.Second)
		if err := s.store.DeleteOutbox(dctx, ids); err != nil {
			firstErr = errors.Join(firstErr, err)
		}
		dcancel()
		s.pending = slices.DeleteFunc(s.pending, func(r store.OutboxRow) bool { return acked[r.ID] })
	}
	s.m.outbox.Set(float64(len(s.pending)))
	return firstErr
}
