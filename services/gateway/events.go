package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/gateway/internal/input"
	"github.com/rollwave/rollwave/services/gateway/internal/sse"
)

// HeartbeatInterval is how often an idle event stream gets a comment, so
// that clients and proxies do not take it for dead.
const HeartbeatInterval = 15 * time.Second

// retryMillis is how long a browser waits before reconnecting.
const retryMillis = 3000

// writeTimeout bounds one write to an event stream client; a client that
// stops reading is dropped instead of holding the handler.
const writeTimeout = 30 * time.Second

// handleEvents streams rollout events as Server-Sent Events from an ordered
// consumer on the EVENTS stream. The consumer is set up before the 200, so
// a failure there is still a JSON error.
func (s *Service) handleEvents(w http.ResponseWriter, r *http.Request) {
	q, err := input.EventsQuery(r.URL.Query(), r.Header.Get(input.LastEventIDHeader))
	if err != nil {
		writeError(w, s.log, r, err)
		return
	}
	ctx := r.Context()
	feed, err := s.openFeed(ctx, q)
	if err != nil {
		writeError(w, s.log, r, err)
		return
	}
	defer feed.close()

	s.metrics.sseClients.Inc()
	defer s.metrics.sseClients.Dec()
	rc := http.NewResponseController(w)
	// ReadTimeout is for reading requests; a stream outlives it.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	send := func(frame []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(frame); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(sse.Hello(retryMillis, "rollwave events "+q.Filter())); err != nil {
		return
	}
	if feed.empty {
		return
	}
	heartbeat := s.clock.After(HeartbeatInterval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stopping:
			return
		case err := <-feed.errs:
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				s.log.Warn("event stream ended", "filter", q.Filter(), "err", err)
			}
			return
		case <-heartbeat:
			if send(sse.Comment("heartbeat")) != nil {
				return
			}
			heartbeat = s.clock.After(HeartbeatInterval)
		case m := <-feed.msgs:
			meta, err := m.Metadata()
			if err != nil {
				s.log.Warn("event without metadata", "subject", m.Subject(), "err", err)
				continue
			}
			_, _, typ, _ := contracts.ParseEventSubject(m.Subject())
			if send(sse.Event(meta.Sequence.Stream, string(typ), m.Data())) != nil {
				return
			}
			s.metrics.sseEvents.Inc()
			if q.Snapshot && (meta.NumPending == 0 || meta.Sequence.Stream >= feed.snapshotEnd) {
				return
			}
		}
	}
}

// feed delivers the messages of an ordered consumer on a channel so the
// handler can wait on them, the heartbeat and the client at once.
type feed struct {
	msgs  chan jetstream.Msg
	errs  chan error
	done  chan struct{}
	iter  jetstream.MessagesContext
	empty bool
	// snapshotEnd is the stream's last sequence when the request arrived.
	snapshotEnd uint64
}

func (s *Service) openFeed(ctx context.Context, q input.Events) (*feed, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	stream, err := s.deps.JS.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		return nil, upstream(fmt.Errorf("events stream: %w", err))
	}
	last := stream.CachedInfo().State.LastSeq
	after := q.After
	if q.FromNow {
		after = last
	}
	cons, err := natsx.OrderedFrom(ctx, s.deps.JS, contracts.StreamEvents, []string{q.Filter()}, after)
	if err != nil {
		return nil, upstream(err)
	}
	iter, err := cons.Messages()
	if err != nil {
		return nil, upstream(fmt.Errorf("follow events: %w", err))
	}
	f := &feed{msgs: make(chan jetstream.Msg), errs: make(chan error, 1), done: make(chan struct{}), iter: iter, snapshotEnd: last}
	if q.Snapshot {
		info := cons.CachedInfo()
		f.empty = after >= last || (info != nil && info.NumPending == 0)
	}
	go f.pump()
	return f, nil
}

func (f *feed) pump() {
	for {
		m, err := f.iter.Next()
		if err != nil {
			f.errs <- err
			return
		}
		select {
		case f.msgs <- m:
		case <-f.done:
			return
		}
	}
}

func (f *feed) close() {
	close(f.done)
	f.iter.Stop()
}

// upstream classifies a JetStream failure for the client.
func upstream(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &wrapped{typed: contracts.Errorf(contracts.CodeTimeout, "the event stream did not answer in time"), err: err}
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return &wrapped{typed: contracts.Errorf(contracts.CodeUnavailable, "the event stream does not exist yet"), err: err}
	}
	return &wrapped{typed: contracts.Errorf(contracts.CodeUnavailable, "the event stream is unavailable"), err: err}
}
