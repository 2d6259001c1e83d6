package planner

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/planner/internal/chains"
	"github.com/rollwave/rollwave/services/planner/internal/deps"
	"github.com/rollwave/rollwave/services/planner/internal/requests"
)

// A request naming several applications (DeployRequest.Apps) becomes a
// chain of single-application requests in the order of their requires,
// one rollout each (contracts.MemberRolloutID). The planner records the
// chain in its SQLite file, publishes the first member's request on
// REQUESTS, and the sequencer publishes each next one when it sees the
// one before complete on EVENTS; when one ends otherwise, it rejects the
// rest naming it. Members go through the ordinary request path (claim,
// plan, lifecycle, requirements, retries), so nothing about planning is
// special to chains.

// chainMembers orders req's applications by their requires and returns
// the single-application requests in rollout order. A requirement on
// another application of the request must be satisfied by the version the
// request rolls out (it is then met when that member completes, so it is
// dropped from the member's own requires); requirements on others stay
// and are checked when the member is planned.
func chainMembers(req contracts.DeployRequest) ([]contracts.DeployRequest, contracts.FieldErrors) {
	apps := make([]deps.App, len(req.Apps))
	index := map[string]int{}
	for i, a := range req.Apps {
		index[a.App] = i
		apps[i] = deps.App{Name: a.App, Version: a.Version}
		for _, r := range a.Requires {
			apps[i].Requires = append(apps[i].Requires, deps.Requirement{App: r.App, Constraint: r.Version})
		}
	}
	var reasons contracts.FieldErrors
	order, err := deps.Order(apps)
	if err != nil {
		reasons.Add("apps", "%v", err)
		return nil, reasons
	}
	members := make([]contracts.DeployRequest, 0, len(order))
	for _, name := range order {
		i := index[name]
		a := req.Apps[i]
		var outside []contracts.Requirement
		for j, r := range a.Requires {
			c, err := deps.ParseConstraint(r.Version)
			if err != nil {
				reasons.Add(fmt.Sprintf("apps[%d].requires[%d].version", i, j), "%v", err)
				continue
			}
			k, inside := index[r.App]
			if !inside {
				outside = append(outside, r)
				continue
			}
			if v := req.Apps[k].Version; !deps.Satisfied(c, []string{v}) {
				reasons.Add(fmt.Sprintf("apps[%d].requires[%d]", i, j), "requires %s %s, but this request rolls out %s %s (apps[%d])", r.App, r.Version, r.App, v, k)
			}
		}
		a.Requires = outside
		members = append(members, req.Member(a))
	}
	if reasons != nil {
		return nil, reasons
	}
	return members, nil
}

// handleChain records a multi-application request's chain and requests
// its first member. The request itself gets no verdict event of its own:
// each member gets one under its rollout id.
func (s *Service) handleChain(ctx context.Context, log *slog.Logger, span trace.Span, msg jetstream.Msg, md *jetstream.MsgMetadata, ref reference, req contracts.DeployRequest) {
	members, reasons := chainMembers(req)
	if reasons != nil {
		s.reject(ctx, log, span, msg, md, ref, reasons, "")
		return
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	span.SetAttributes(attribute.StringSlice("rollwave.chain", ids))
	// The members' ids are claimed now, so that none is found taken by
	// another request when its turn comes (which would stall the chain).
	switch taken, err := s.claimMembers(ctx, req, members); {
	case err != nil:
		log.Error("claim the rollout ids of a multi-application request; retrying", "err", err)
		_ = msg.NakWithDelay(retryDelay(md.NumDelivered, s.cfg.RetryBackoff, s.cfg.MaxRetryBackoff))
		return
	case taken != nil:
		s.reject(ctx, log, span, msg, md, ref, taken, "")
		return
	}
	if err := s.chains.Create(ctx, req.ID, members); err != nil {
		log.Error("record multi-application request; retrying", "err", err)
		_ = msg.NakWithDelay(retryDelay(md.NumDelivered, s.cfg.RetryBackoff, s.cfg.MaxRetryBackoff))
		return
	}
	if err := s.requestMember(ctx, members[0]); err != nil {
		log.Error("request first application; retrying", "err", err)
		_ = msg.NakWithDelay(retryDelay(md.NumDelivered, s.cfg.RetryBackoff, s.cfg.MaxRetryBackoff))
		return
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if err := s.store.Decide(pctx, req.ID); err != nil {
		log.Error("record request decided", "err", err)
		_ = msg.NakWithDelay(s.cfg.RetryBackoff)
		return
	}
	if err := msg.DoubleAck(pctx); err != nil {
		log.Warn("ack deploy request", "err", err)
	}
	log.Info("multi-application request ordered", "rollouts", ids)
}

// claimMembers records each member's rollout id for the member's request
// and returns a reason for each id another request already holds.
func (s *Service) claimMembers(ctx context.Context, req contracts.DeployRequest, members []contracts.DeployRequest) (contracts.FieldErrors, error) {
	var taken contracts.FieldErrors
	for _, m := range members {
		state, err := s.store.Claim(ctx, m.ID, contracts.RequestDigest(m), s.clock.Now())
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", m.ID, err)
		}
		if state == requests.Conflict {
			i := slices.IndexFunc(req.Apps, func(a contracts.AppRelease) bool { return a.App == m.App })
			taken.Add(fmt.Sprintf("apps[%d].app", i), "makes the rollout id %q, which another request already used: pick a new request id", m.ID)
		}
	}
	return taken, nil
}

// requestMember publishes a member's deploy request; its rollout id is
// the message id, so a repeat is dropped by the broker, and beyond the
// duplicate window by the request record (same id, same request).
func (s *Service) requestMember(ctx context.Context, m contracts.DeployRequest) error {
	nm, err := natsx.EnvelopeMsg(ctx, contracts.SubjectDeployRequest, contracts.TypeDeployRequest, m.ID, s.cfg.Source, m.ID, s.clock.Now(), m)
	if err != nil {
		return fmt.Errorf("encode request %s: %w", m.ID, err)
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if _, err := s.js.PublishMsg(pctx, nm); err != nil {
		return fmt.Errorf("publish request %s: %w", m.ID, err)
	}
	return nil
}

// rejectMember publishes the rejected verdict of a member that will not
// roll out, under its verdict id, so a repeat is dropped.
func (s *Service) rejectMember(ctx context.Context, m contracts.DeployRequest, reason string) error {
	subject, rollout := contracts.RejectedSubject(m.Environment, m.ID, 0)
	ev := contracts.Event{Rollout: rollout, Environment: m.Environment, App: m.App, Version: m.Version,
		State: contracts.StateRejected, Reasons: contracts.FieldErrors{{Field: "apps", Message: reason}}, Reason: reason, Actor: s.cfg.Source}
	nm, err := natsx.EnvelopeMsg(ctx, subject, contracts.EventTypeID(contracts.EventRejected), contracts.PlannedMsgID(rollout), s.cfg.Source, rollout, s.clock.Now(), ev)
	if err != nil {
		return fmt.Errorf("encode rejection of %s: %w", m.ID, err)
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if _, err := s.js.PublishMsg(pctx, nm); err != nil {
		return fmt.Errorf("publish rejection of %s: %w", m.ID, err)
	}
	s.metrics.requests.WithLabelValues(outcomeRejected).Inc()
	return nil
}

// chainApplyTimeout bounds the handling of one ending.
const chainApplyTimeout = time.Minute

// endings are the event types that end a rollout, and the state each means.
var endings = map[contracts.EventType]contracts.State{
	contracts.EventCompleted:  contracts.StateCompleted,
	contracts.EventFailed:     contracts.StateFailed,
	contracts.EventAborted:    contracts.StateAborted,
	contracts.EventRolledBack: contracts.StateRolledBack,
	contracts.EventRejected:   contracts.StateRejected,
}

// sequencer follows rollout endings on EVENTS from its stored sequence
// and moves chains on. Its effects (publishes) come before the commit of
// the sequence, so after a crash they are repeated, and dropped as
// duplicates; each chain event is committed on its own, so the next one
// sees its result.
type sequencer struct {
	svc   *Service
	store *chains.Store
	log   *slog.Logger
	clock clock.Clock
	retry time.Duration
	// unstored counts the endings applied since the cursor was stored.
	unstored int

	consume jetstream.ConsumeContext
	msgs    chan jetstream.Msg
	quit    chan struct{}
	done    chan struct{}
}

func (q *sequencer) start(ctx context.Context) error {
	applied, err := q.store.Cursor(ctx, contracts.StreamEvents)
	if err != nil {
		return err
	}
	if applied > 0 {
		st, err := q.svc.js.Stream(ctx, contracts.StreamEvents)
		if err != nil {
			return fmt.Errorf("look up %s: %w", contracts.StreamEvents, err)
		}
		if st.CachedInfo().State.LastSeq < applied {
			applied = 0 // the stream was made again
		}
	}
	var filters []string
	for _, t := range slices.Sorted(maps.Keys(endings)) {
		filters = append(filters, contracts.EventFilter("", "", t))
	}
	cons, err := natsx.OrderedFrom(ctx, q.svc.js, contracts.StreamEvents, filters, applied)
	if err != nil {
		return err
	}
	q.msgs, q.quit, q.done = make(chan jetstream.Msg, followBatch), make(chan struct{}), make(chan struct{})
	msgs, quit := q.msgs, q.quit
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-quit:
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		q.log.Warn("chain events consumer", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("follow %s for chains: %w", contracts.StreamEvents, err)
	}
	q.consume = cc
	go q.loop(applied)
	return nil
}

func (q *sequencer) stop() {
	if q.quit == nil {
		return
	}
	close(q.quit)
	q.consume.Stop()
	<-q.done
	q.quit = nil
}

func (q *sequencer) loop(applied uint64) {
	defer close(q.done)
	ctx := context.Background()
	for {
		var m jetstream.Msg
		select {
		case <-q.quit:
			return
		case m = <-q.msgs:
		}
		for {
			next, err := q.apply(ctx, m, applied)
			if err == nil {
				applied = next
				break
			}
			q.log.Error("apply chain event; will retry", "err", err, "retry_in", q.retry)
			select {
			case <-q.quit:
				return
			case <-q.clock.After(q.retry):
			}
		}
	}
}

// apply handles one ending. Endings of rollouts outside every chain only
// move the cursor, stored every followBatch of them or when the queue is
// empty.
func (q *sequencer) apply(ctx context.Context, m jetstream.Msg, applied uint64) (uint64, error) {
	meta, err := m.Metadata()
	if err != nil || meta.Sequence.Stream <= applied {
		return applied, nil
	}
	seq := meta.Sequence.Stream
	// Each publish has its own publishTimeout; this bounds the whole,
	// which may reject many members.
	ctx, cancel := context.WithTimeout(ctx, chainApplyTimeout)
	defer cancel()
	var updates []chains.Update
	if env, ev, err := contracts.DecodeEvent(m.Data()); err == nil {
		if t, err := contracts.ParseEventTypeID(env.Type); err == nil && endings[t] != "" && ev.Rollout != "" {
			chain, err := q.store.Of(ctx, ev.Rollout)
			if err != nil {
				return applied, err
			}
			e := chains.Decide(chain, ev.Rollout, endings[t], ev.Reason)
			if e.Request != nil {
				if err := q.svc.requestMember(ctx, *e.Request); err != nil {
					return applied, err
				}
				q.log.Info("next application of a multi-application request requested", "after", ev.Rollout, "rollout", e.Request.ID)
			}
			for _, r := range e.Reject {
				if err := q.svc.rejectMember(ctx, r, e.Reason); err != nil {
					return applied, err
				}
				q.log.Info("application of a multi-application request stopped", "rollout", r.ID, "after", ev.Rollout)
			}
			updates = e.Updates
		}
	}
	if updates == nil && q.unstored < followBatch && len(q.msgs) > 0 {
		// Not a chain event: the cursor is stored with a later one (a
		// replay of these after a crash changes nothing).
		q.unstored++
		return seq, nil
	}
	if err := q.store.Apply(ctx, contracts.StreamEvents, seq, updates); err != nil {
		return applied, err
	}
	q.unstored = 0
	return seq, nil
}

// startChains opens the chains' record and starts the sequencer.
func (s *Service) startChains(ctx context.Context) error {
	store, err := chains.Open(ctx, s.cfg.DBPath)
	if err != nil {
		return err
	}
	q := &sequencer{svc: s, store: store, log: s.log, clock: s.clock, retry: s.cfg.RetryBackoff}
	if err := q.start(ctx); err != nil {
		_ = store.Close()
		return err
	}
	s.chains, s.sequence = store, q
	return nil
}

// stopChains stops the sequencer after the event it is applying and
// closes the record.
func (s *Service) stopChains() {
	if s.sequence == nil {
		return
	}
	s.sequence.stop()
	if err := s.chains.Close(); err != nil {
		s.log.Warn("close chains record", "err", err)
	}
	s.sequence, s.chains = nil, nil
}
