package scheduler

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/admission"
	"github.com/rollwave/rollwave/services/scheduler/internal/calhold"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
	"github.com/rollwave/rollwave/services/scheduler/internal/store"
)

// work is one input for the loop: a stream message (with the generation
// of the consumer that read it) or a control request.
type work struct {
	stream string
	gen    uint64
	msg    jetstream.Msg
	cmd    *controlRequest
}

// run is the loop: the one goroutine that owns the scheduler's state.
func (s *Service) run() {
	defer close(s.loopDone)
	tick := s.deps.Clock.After(s.cfg.TickInterval)
	s.checkAdmission(nil)
	s.processRechecks()
	for {
		select {
		case <-s.stopCh:
			s.refuseQueued()
			return
		default:
		}
		select {
		case <-s.stopCh:
			s.refuseQueued()
			return
		case it := <-s.inputs:
			items := []work{it}
		drain:
			for len(items) < s.cfg.MaxBatch {
				select {
				case it := <-s.inputs:
					items = append(items, it)
				default:
					break drain
				}
			}
			s.apply(items, nil)
		case <-tick:
			tick = s.deps.Clock.After(s.cfg.TickInterval)
			s.onTick()
		case ans := <-s.answers:
			s.onAnswer(ans)
		case <-s.calChanged:
			s.checkHolds(nil)
		}
		s.processRechecks()
		s.processHolds()
	}
}

// refuseQueued answers control requests that arrived while stopping.
func (s *Service) refuseQueued() {
	for {
		select {
		case it := <-s.inputs:
			if it.cmd != nil {
				it.cmd.reply <- controlReply{err: contracts.Errorf(contracts.CodeUnavailable, "the scheduler is stopping")}
			}
		default:
			return
		}
	}
}

func (s *Service) onTick() {
	if s.broken {
		s.reload()
	}
	if len(s.pending) > 0 {
		if err := s.flushOutbox(); err != nil {
			s.log.Warn("publish outbox", "pending", len(s.pending), "err", err)
		}
	}
	s.checkAdmission(nil)
	s.fireTimers()
	s.checkHolds(nil)
	s.setFreezes(s.deps.Clock.Now())
}

// fireTimers sends a timer input to every live rollout whose next timer
// (deadline, end of a wait) has come. Timers are stored with the rollout, so after a restart the first
// tick fires those that came due while the scheduler was down.
func (s *Service) fireTimers() {
	if s.broken {
		return
	}
	now := s.deps.Clock.Now()
	var due []string
	for id, l := range s.live {
		if at := l.r.NextTimer(); !at.IsZero() && !now.Before(at) {
			due = append(due, id)
		}
	}
	if len(due) == 0 {
		return
	}
	slices.Sort(due)
	s.applyTimers(due)
}

// apply runs a batch of inputs through the state machine, commits the
// result in one transaction, then publishes what was committed.
func (s *Service) apply(items []work, verdicts []admission.Verdict) {
	s.applyAll(items, verdicts, nil, nil)
}

// applyTimers runs timer inputs for the given rollouts.
func (s *Service) applyTimers(ids []string) { s.applyAll(nil, nil, ids, nil) }

func (s *Service) applyAll(items []work, verdicts []admission.Verdict, timers []string, holds []calhold.Action) {
	started := time.Now()
	defer func() { s.m.applySeconds.Observe(time.Since(started).Seconds()) }()
	b := &batch{s: s, now: s.deps.Clock.Now(), staged: map[string]*staged{}, cursors: map[string]uint64{}}
	if s.broken {
		// Stream inputs come again after the reload; commands are
		// refused.
		for _, it := range items {
			if it.cmd != nil {
				it.cmd.reply <- controlReply{err: contracts.Errorf(contracts.CodeUnavailable, "the scheduler is recovering from a failed write; retry")}
			}
		}
		return
	}
	var err error
	for _, it := range items {
		switch {
		case err == nil:
			err = b.add(it)
		case it.cmd != nil:
			// The batch is lost; so is every command after the failure.
			it.cmd.reply <- controlReply{err: contracts.Errorf(contracts.CodeUnavailable, "the scheduler could not record the transition; retry")}
		}
	}
	for i := 0; err == nil && i < len(verdicts); i++ {
		err = b.verdict(verdicts[i])
	}
	for i := 0; err == nil && i < len(timers); i++ {
		err = b.timer(timers[i])
	}
	for i := 0; err == nil && i < len(holds); i++ {
		err = b.hold(holds[i])
	}
	if err != nil {
		s.fail(b, err)
		return
	}
	if len(b.staged) == 0 && len(b.cursors) == 0 && len(b.holds) == 0 {
		b.answer(nil)
		return
	}
	change, spans, err := b.change()
	if err != nil {
		s.fail(b, err)
		return
	}
	rows, err := s.store.Commit(s.workCtx, change)
	if err != nil {
		s.fail(b, err)
		return
	}
	if s.afterCommit != nil {
		s.afterCommit()
	}
	s.committed(b, rows)
	publishErr := s.flushOutbox()
	if publishErr != nil {
		s.log.Warn("publish committed messages; will retry", "pending", len(s.pending), "err", publishErr)
		publishErr = contracts.Errorf(contracts.CodeUnavailable, "the transition is committed but its events are not yet published; they will be")
	}
	s.emitSpans(b, spans)
	b.answer(publishErr)
}

// fail drops a batch that could not be committed. Until the next tick the
// scheduler takes no input; then it reads its state again from the
// database and the consumers restart from the stored cursors, so the
// batch's stream inputs are applied again. Waiting for the tick keeps an
// input that always fails from spinning the loop.
func (s *Service) fail(b *batch, err error) {
	s.log.Error("apply batch failed; reloading state and replaying inputs at the next tick", "err", err)
	b.answer(contracts.Errorf(contracts.CodeUnavailable, "the scheduler could not record the transition; retry"))
	s.m.failures.Inc()
	s.broken = true
}

// reload reads the state from the database and restarts the consumers
// from the stored cursors.
func (s *Service) reload() {
	ctx, cancel := context.WithTimeout(s.workCtx, 10*time.Second)
	defer cancel()
	if err := s.load(ctx); err != nil {
		s.broken = true
		s.log.Error("reload state from the database", "err", err)
		return
	}
	s.broken = false
	for _, f := range s.feeds {
		f.restart()
	}
}

// committed updates the in-memory state and metrics after a commit.
func (s *Service) committed(b *batch, rows []store.OutboxRow) {
	for stream, seq := range b.cursors {
		s.cursors[stream] = seq
		for _, f := range s.feeds {
			if f.stream == stream {
				f.applied.Store(seq)
			}
		}
	}
	s.holdsCommitted(b.holds)
	envs := map[string]bool{}
	for _, id := range b.order {
		st := b.staged[id]
		r := st.rec.Rollout
		s.holdDirty[id] = true
		var before contracts.State
		if st.saved != nil {
			before = st.saved.State
		}
		if before != r.State {
			s.m.transition(before, r.State)
			s.observeTransition(st, b.now)
			s.recheck[r.Environment()] = true
			envs[r.Environment()] = true
		}
		r.Changed = nil // saved
		if r.State.Terminal() {
			s.forget(id)
		} else {
			s.remember(&liveRollout{r: r, traceparent: st.rec.Traceparent})
		}
	}
	s.countLive(envs)
	for _, e := range b.effects {
		switch eff := e.effect.(type) {
		case rollout.Emit:
			s.m.events.WithLabelValues(string(eff.Type)).Inc()
			level := slog.LevelInfo
			if eff.Type == contracts.EventHostSucceeded || eff.Type == contracts.EventHostFailed {
				level = slog.LevelDebug
			}
			s.log.Log(context.Background(), level, "rollout "+string(eff.Type), "rollout", e.rollout,
				"environment", eff.Event.Environment, "seq", eff.Event.Seq, "state", eff.Event.State,
				"reason", eff.Event.Reason, "actor", eff.Event.Actor)
		case rollout.Dispatch:
			s.m.dispatched.Inc()
		}
	}
	s.pending = append(s.pending, rows...)
	s.m.outbox.Set(float64(len(s.pending)))
}

// remember indexes a live rollout by id and environment.
func (s *Service) remember(l *liveRollout) {
	id, env := l.r.ID(), l.r.Environment()
	s.live[id] = l
	if s.liveByEnv[env] == nil {
		s.liveByEnv[env] = map[string]struct{}{}
	}
	s.liveByEnv[env][id] = struct{}{}
}

// forget drops a rollout that is no longer live.
func (s *Service) forget(id string) {
	l, ok := s.live[id]
	if !ok {
		return
	}
	delete(s.live, id)
	env := l.r.Environment()
	delete(s.liveByEnv[env], id)
	if len(s.liveByEnv[env]) == 0 {
		delete(s.liveByEnv, env)
	}
}
