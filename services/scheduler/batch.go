package scheduler

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/scheduler/internal/admission"
	"github.com/rollwave/rollwave/services/scheduler/internal/inbound"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
	"github.com/rollwave/rollwave/services/scheduler/internal/store"
)

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
	// holds are the calendar holds set or ended (calhold.go).
	holds []store.HoldChange
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
	if err := b.s.resolvePlan(&ev); errors.Is(err, errPlanRefused) {
		b.s.m.rejected.WithLabelValues(contracts.StreamEvents).Inc()
		log.Error("planned event refused: its stored plan cannot be used", "err", err)
		return nil
	} else if err != nil {
		return fmt.Errorf("read the stored plan of %s: %w", ev.Rollout, err)
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
	if b.calendarCommand(req, st) {
		return nil
	}
	if err := b.undoAllowed(st, req.cmd); err != nil {
		b.replies = append(b.replies, pendingReply{req: req, err: err})
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
	if v.Blocked && st.rec.Rollout.Plan.OnBlocked == contracts.OnBlockedReject {
		in = rejectBlocked(v)
	}
	if err := b.step(st, in); err != nil {
		b.s.log.Warn("admission verdict not applied", "rollout", v.Rollout, "err", err)
		return nil
	}
	if v.Override {
		b.overrideStarted(st)
	}
	return nil
}

// timer applies the clock reaching a rollout's deadline.
func (b *batch) timer(id string) error {
	st, err := b.get(id)
	if err != nil || st == nil {
		return err
	}
	if err := b.step(st, rollout.Input{Timer: &rollout.Timer{}}); err != nil {
		b.s.log.Warn("timer not applied", "rollout", id, "err", err)
	}
	return nil
}

// phaseSpan is a phase span to record once its end is committed.
type phaseSpan struct {
	traceparent string
	rollout     string
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
	c.Holds = b.holds
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
			// An event's consumers see the rollout span as its parent.
			m, err := natsx.EnvelopeMsg(childOf(planCtx, st.rec.Traceparent, rolloutSpanID), contracts.EventSubject(r.Environment(), r.ID(), eff.Type),
				contracts.EventTypeID(eff.Type), id, b.s.cfg.Source, r.ID(), b.now, boundHosts(eff.Event))
			if err != nil {
				return c, sp, fmt.Errorf("encode event %s: %w", id, err)
			}
			c.Outbox = append(c.Outbox, store.OutboxRow{Subject: m.Subject, MsgID: id, Data: m.Data, Header: m.Header})
			if eff.Type == contracts.EventStarted {
				sp.admissions = append(sp.admissions, admissionSpan{traceparent: st.rec.Traceparent, rollout: r.ID(), queuedAt: r.CreatedAt})
			}
		case rollout.Dispatch:
			a := eff.Action
			ctx := phaseContext(planCtx, a.Phase.ID)
			m, err := natsx.EnvelopeMsg(ctx, contracts.ActionSubject(eff.Pool, a.Environment), contracts.TypeHostAction,
				a.ID, b.s.cfg.Source, a.Host.Name, b.now, a)
			if err != nil {
				return c, sp, fmt.Errorf("encode action %s: %w", a.ID, err)
			}
			c.Outbox = append(c.Outbox, store.OutboxRow{Subject: m.Subject, MsgID: a.ID, Data: m.Data, Header: m.Header})
		case rollout.PhaseEnded:
			sp.phases = append(sp.phases, phaseSpan{traceparent: st.rec.Traceparent, rollout: st.rec.Rollout.ID(), end: eff})
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
