package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/scheduler/internal/admission"
	"github.com/rollwave/rollwave/services/scheduler/internal/inbound"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
	"github.com/rollwave/rollwave/services/scheduler/internal/store"
)

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
		}
		s.processRechecks()
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
}

// batch is the staging area of one apply: rollouts as changed so far, the
// effects in the order they happened, and the cursors reached.
type batch struct {
	s       *Service
	now     time.Time
	staged  map[string]*staged
	order   []string
	effects []stagedEffect
	cursors map[string]uint64
	replies []pendingReply
}

type staged struct {
	// saved is the rollout as last committed; nil for a new one.
	saved *rollout.Rollout
	rec   store.Record
}

type stagedEffect struct {
	rollout string
	effect  rollout.Effect
}

type pendingReply struct {
	req *controlRequest
	id  string
	err error
}

// apply runs a batch of inputs through the state machine, commits the
// result in one transaction, then publishes what was committed.
func (s *Service) apply(items []work, verdicts []admission.Verdict) {
	started := time.Now()
	defer func() { s.m.applySeconds.Observe(time.Since(started).Seconds()) }()
	b := &batch{s: s, now: s.deps.Clock.Now(), staged: map[string]*staged{}, cursors: map[string]uint64{}}
	if s.broken {
		// Stream inputs come again once the database is back; commands
		// are refused.
		for _, it := range items {
			if it.cmd != nil {
				it.cmd.reply <- controlReply{err: contracts.Errorf(contracts.CodeUnavailable, "the scheduler's database is failing")}
			}
		}
		return
	}
	var err error
	for _, it := range items {
		if err = b.add(it); err != nil {
			break
		}
	}
	for i := 0; err == nil && i < len(verdicts); i++ {
		err = b.verdict(verdicts[i])
	}
	if err != nil {
		s.fail(b, err)
		return
	}
	if len(b.staged) == 0 && len(b.cursors) == 0 {
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

// fail drops a batch that could not be committed: the state is read again
// from the database and the consumers restart from the stored cursors, so
// the batch's stream inputs are applied again.
func (s *Service) fail(b *batch, err error) {
	s.log.Error("apply batch failed; reloading state and replaying inputs", "err", err)
	b.answer(contracts.Errorf(contracts.CodeUnavailable, "the scheduler could not record the transition; retry"))
	s.reload()
}

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
	for _, id := range b.order {
		st := b.staged[id]
		r := st.rec.Rollout
		var before contracts.State
		if st.saved != nil {
			before = st.saved.State
		}
		if before != r.State {
			s.m.transition(before, r.State)
			s.recheck[r.Environment()] = true
		}
		if r.State.Terminal() {
			delete(s.live, id)
		} else {
			s.live[id] = &liveRollout{r: r, traceparent: st.rec.Traceparent}
		}
	}
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

// answer sends the replies of the control requests of the batch. err, if
// set, is the reply of those that succeeded in the state machine.
func (b *batch) answer(err error) {
	for _, p := range b.replies {
		switch {
		case p.err != nil:
			p.req.reply <- controlReply{err: p.err}
		case err != nil:
			p.req.reply <- controlReply{err: err}
		default:
			p.req.reply <- controlReply{summary: b.staged[p.id].rec.Rollout.Summary()}
		}
	}
	b.replies = nil
}

// get returns the rollout as staged in this batch, loading it from memory
// or, for ended rollouts, from the database; nil when there is none.
func (b *batch) get(id string) (*staged, error) {
	if st, ok := b.staged[id]; ok {
		return st, nil
	}
	if l, ok := b.s.live[id]; ok {
		saved := l.r
		st := &staged{saved: &saved, rec: store.Record{Rollout: l.r, Traceparent: l.traceparent}}
		return st, nil
	}
	rec, ok, err := b.s.store.Load(b.s.workCtx, id)
	if err != nil || !ok {
		return nil, err
	}
	saved := rec.Rollout
	return &staged{saved: &saved, rec: rec}, nil
}

// step runs one input and stages the result.
func (b *batch) step(st *staged, in rollout.Input) error {
	next, effects, err := rollout.Step(st.rec.Rollout, in, b.now)
	if err != nil {
		return err
	}
	if effects == nil && st.saved != nil {
		return nil // nothing changed
	}
	id := next.ID()
	if _, ok := b.staged[id]; !ok {
		b.staged[id] = st
		b.order = append(b.order, id)
	}
	st.rec.Rollout = next
	for _, e := range effects {
		b.effects = append(b.effects, stagedEffect{rollout: id, effect: e})
	}
	return nil
}

// add applies one input. Bad inputs are logged and skipped; only failures
// to read the database are returned.
func (b *batch) add(it work) error {
	if it.cmd != nil {
		return b.command(it.cmd)
	}
	f := b.s.feed(it.stream)
	if f == nil || it.gen != f.gen.Load() {
		return nil // from a consumer that has been replaced
	}
	meta, err := it.msg.Metadata()
	if err != nil {
		b.s.log.Warn("message without JetStream metadata", "stream", it.stream, "err", err)
		return nil
	}
	seq := meta.Sequence.Stream
	if seq <= max(b.cursors[it.stream], b.s.cursors[it.stream]) {
		return nil // already applied
	}
	b.cursors[it.stream] = seq
	switch it.stream {
	case contracts.StreamEvents:
		return b.planned(it.msg, seq)
	case contracts.StreamResults:
		return b.result(it.msg, seq)
	}
	return nil
}

func (b *batch) planned(msg jetstream.Msg, seq uint64) error {
	log := b.s.log.With("stream", contracts.StreamEvents, "seq", seq, "subject", msg.Subject())
	ev, err := inbound.Planned(msg.Subject(), msg.Data())
	if err != nil {
		b.s.m.rejected.WithLabelValues(contracts.StreamEvents).Inc()
		log.Warn("planned event refused", "rollout", ev.Rollout, "err", err)
		return nil
	}
	log = log.With("rollout", ev.Rollout)
	st, err := b.get(ev.Rollout)
	if err != nil {
		return err
	}
	if st != nil {
		log.Info("planned event for a known rollout ignored", "state", st.rec.Rollout.State)
		return nil
	}
	st = &staged{rec: store.Record{Traceparent: b.s.traceparentOf(msg, ev.Rollout)}}
	if err := b.step(st, rollout.Input{Planned: &rollout.Planned{Plan: *ev.Plan, Order: seq}}); err != nil {
		b.s.m.rejected.WithLabelValues(contracts.StreamEvents).Inc()
		log.Warn("planned event refused", "err", err)
	}
	return nil
}

func (b *batch) result(msg jetstream.Msg, seq uint64) error {
	log := b.s.log.With("stream", contracts.StreamResults, "seq", seq, "subject", msg.Subject())
	res, err := inbound.Result(msg.Subject(), msg.Data())
	if err != nil {
		b.s.m.rejected.WithLabelValues(contracts.StreamResults).Inc()
		log.Warn("host result refused", "rollout", res.Rollout, "err", err)
		return nil
	}
	st, err := b.get(res.Rollout)
	if err != nil {
		return err
	}
	if st == nil {
		log.Info("result for an unknown rollout ignored", "rollout", res.Rollout, "action", res.ActionID)
		return nil
	}
	if err := b.step(st, rollout.Input{Result: &res}); err != nil {
		log.Warn("host result not applied", "rollout", res.Rollout, "action", res.ActionID, "err", err)
	}
	return nil
}

func (b *batch) command(req *controlRequest) error {
	st, err := b.get(req.rollout)
	if err != nil {
		req.reply <- controlReply{err: contracts.Errorf(contracts.CodeUnavailable, "the scheduler could not read rollout %s", req.rollout)}
		return err
	}
	if st == nil {
		b.replies = append(b.replies, pendingReply{req: req, err: contracts.Errorf(contracts.CodeNotFound, "no rollout %q", req.rollout)})
		return nil
	}
	if err := b.step(st, rollout.Input{Command: &req.cmd}); err != nil {
		b.replies = append(b.replies, pendingReply{req: req, err: err})
		return nil
	}
	if _, ok := b.staged[req.rollout]; !ok {
		// Allowed but nothing changed: answer with the current state.
		b.staged[req.rollout] = st
		b.order = append(b.order, req.rollout)
	}
	b.replies = append(b.replies, pendingReply{req: req, id: req.rollout})
	return nil
}

func (b *batch) verdict(v admission.Verdict) error {
	st, err := b.get(v.Rollout)
	if err != nil || st == nil {
		return err
	}
	in := rollout.Input{Admission: &rollout.Admission{Allowed: v.Allowed, Until: v.Until, Reason: v.Reason}}
	if err := b.step(st, in); err != nil {
		b.s.log.Warn("admission verdict not applied", "rollout", v.Rollout, "err", err)
	}
	return nil
}

// phaseSpan is a phase span to record once its end is committed.
type phaseSpan struct {
	traceparent string
	end         rollout.PhaseEnded
}

// admissionSpan is an admission span to record once committed.
type admissionSpan struct {
	traceparent string
	rollout     string
	queuedAt    time.Time
}

type spans struct {
	phases     []phaseSpan
	admissions []admissionSpan
}

// change builds the transaction: the rollouts to save, the messages of
// every effect in order, and the cursors.
func (b *batch) change() (store.Change, spans, error) {
	var c store.Change
	var sp spans
	c.Cursors = b.cursors
	for _, id := range b.order {
		st := b.staged[id]
		c.Writes = append(c.Writes, store.NewWrite(st.saved, st.rec))
	}
	for _, e := range b.effects {
		st := b.staged[e.rollout]
		r := st.rec.Rollout
		planCtx := planContext(st.rec.Traceparent)
		switch eff := e.effect.(type) {
		case rollout.Emit:
			id := contracts.EventMsgID(r.ID(), eff.Event.Seq)
			m, err := natsx.EnvelopeMsg(planCtx, contracts.EventSubject(r.Environment(), r.ID(), eff.Type),
				contracts.EventTypeID(eff.Type), id, b.s.cfg.Source, r.ID(), b.now, eff.Event)
			if err != nil {
				return c, sp, fmt.Errorf("encode event %s: %w", id, err)
			}
			c.Outbox = append(c.Outbox, store.OutboxRow{Subject: m.Subject, MsgID: id, Data: m.Data, Header: m.Header})
			if eff.Type == contracts.EventStarted {
				sp.admissions = append(sp.admissions, admissionSpan{traceparent: st.rec.Traceparent, rollout: r.ID(), queuedAt: r.CreatedAt})
			}
		case rollout.Dispatch:
			a := eff.Action
			ctx := phaseContext(planCtx, a.Phase.Index)
			m, err := natsx.EnvelopeMsg(ctx, contracts.ActionSubject(eff.Pool, a.Environment), contracts.TypeHostAction,
				a.ID, b.s.cfg.Source, a.Host.Name, b.now, a)
			if err != nil {
				return c, sp, fmt.Errorf("encode action %s: %w", a.ID, err)
			}
			c.Outbox = append(c.Outbox, store.OutboxRow{Subject: m.Subject, MsgID: a.ID, Data: m.Data, Header: m.Header})
		case rollout.PhaseEnded:
			sp.phases = append(sp.phases, phaseSpan{traceparent: st.rec.Traceparent, end: eff})
		}
	}
	return c, sp, nil
}

func (s *Service) feed(stream string) *feed {
	for _, f := range s.feeds {
		if f.stream == stream {
			return f
		}
	}
	return nil
}

// checkAdmission decides about the waiting rollouts of the given
// environments (all when nil): verdicts that need no calendar are applied
// at once, and the calendar is asked about the head of each free
// environment.
func (s *Service) checkAdmission(envs map[string]bool) {
	if s.broken {
		return
	}
	d := admission.Decide(s.entries(envs), s.deps.Clock.Now(), nil)
	if len(d.Verdicts) > 0 {
		s.apply(nil, d.Verdicts)
	}
	for _, a := range d.Ask {
		s.ask(a)
	}
}

// processRechecks looks again at environments whose rollouts changed
// state: one may have freed up, or a new rollout arrived.
func (s *Service) processRechecks() {
	for i := 0; len(s.recheck) > 0 && i < 8; i++ {
		envs := s.recheck
		s.recheck = map[string]bool{}
		s.checkAdmission(envs)
	}
}

func (s *Service) entries(envs map[string]bool) []admission.Entry {
	var out []admission.Entry
	for _, id := range slices.Sorted(maps.Keys(s.live)) {
		r := s.live[id].r
		if envs != nil && !envs[r.Environment()] {
			continue
		}
		out = append(out, admission.Entry{Rollout: id, Environment: r.Environment(), Order: r.Order,
			State: r.State, Admitted: r.Admitted, StartAt: r.Plan.StartAt})
	}
	return out
}

// ask puts the question to the calendar in the background, at most one
// per environment at a time. A calendar that cannot be reached refuses.
func (s *Service) ask(a admission.Ask) {
	if s.asking[a.Environment] {
		return
	}
	s.asking[a.Environment] = true
	at := s.deps.Clock.Now()
	var tp string
	if l, ok := s.live[a.Rollout]; ok {
		tp = l.traceparent
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.runCtx, s.cfg.AdmitTimeout)
		defer cancel()
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(planContext(tp)))
		adm, err := natsx.Request[contracts.Admission](ctx, s.deps.NC, contracts.APICalendarAdmit,
			contracts.AdmitQuery{Environment: a.Environment, At: at})
		ans := admission.FromCalendar(a.Rollout, adm)
		if err != nil {
			if s.runCtx.Err() != nil {
				return
			}
			s.log.Warn("calendar unavailable; admission refused until it answers", "environment", a.Environment,
				"rollout", a.Rollout, "err", err)
			ans = admission.Unavailable(a.Rollout)
		}
		select {
		case s.answers <- calendarAnswer{env: a.Environment, answer: ans}:
		case <-s.runCtx.Done():
		}
	}()
}

func (s *Service) onAnswer(ans calendarAnswer) {
	delete(s.asking, ans.env)
	if s.broken {
		return
	}
	envs := map[string]bool{ans.env: true}
	d := admission.Decide(s.entries(envs), s.deps.Clock.Now(), map[string]admission.Answer{ans.env: ans.answer})
	if len(d.Verdicts) > 0 {
		s.apply(nil, d.Verdicts)
	}
	for _, a := range d.Ask {
		s.ask(a)
	}
}
