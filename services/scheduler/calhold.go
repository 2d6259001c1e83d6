package scheduler

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/calhold"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
	"github.com/rollwave/rollwave/services/scheduler/internal/store"
)

// Calendar holds: a freeze or stop that begins while rollouts run pauses
// them (actor calendar) through the state machine's own pause command, and
// resumes them when it ends. The holds are stored with the transition, so
// a restarted scheduler knows which pauses are the calendar's. The
// decisions are calhold.Decide's; this file feeds it and applies them.

// checkHolds looks at the given live rollouts (all when ids is nil) against
// the calendar's published state. It runs on every tick (a window's start
// or end is a time), when the state bucket changes (a stop or freeze added
// or removed takes effect at once, not at the next tick) and after commits
// (a finish_phase rollout reaching its phase boundary).
func (s *Service) checkHolds(ids []string) {
	if s.broken {
		return
	}
	states, ok := s.calState.ready()
	if !ok {
		return // before the first full view of the bucket nothing is known
	}
	now := s.deps.Clock.Now()
	if ids != nil && len(s.holds) == 0 && !anyBlocking(states, now) {
		return // the common case after a commit: nothing to do
	}
	all := ids == nil
	if all {
		ids = slices.Sorted(maps.Keys(s.live))
	}
	runs := make([]calhold.Run, 0, len(ids))
	for _, id := range ids {
		l, ok := s.live[id]
		if !ok {
			continue
		}
		runs = append(runs, runOf(l.r))
	}
	actions := calhold.Decide(runs, s.holds, states, now, all)
	if len(actions) > 0 {
		s.applyAll(nil, nil, nil, actions)
	}
}

// processHolds checks the rollouts that commits changed.
func (s *Service) processHolds() {
	if len(s.holdDirty) == 0 {
		return
	}
	ids := slices.Sorted(maps.Keys(s.holdDirty))
	clear(s.holdDirty)
	s.checkHolds(ids)
}

// anyBlocking reports whether a freeze or stop covers now anywhere.
func anyBlocking(states []contracts.WindowState, now time.Time) bool {
	for _, st := range states {
		if st.Window.Kind != contracts.WindowFreeze && st.Window.Kind != contracts.WindowStop {
			continue
		}
		for _, o := range st.Occurrences {
			if !now.Before(o.Start) && now.Before(o.End) {
				return true
			}
		}
	}
	return false
}

func runOf(r rollout.Rollout) calhold.Run {
	boundary := r.Batch == 0
	if r.Phase >= len(r.Plan.Phases) || r.Batch >= len(r.Plan.Phases[r.Phase].Batches) {
		boundary = true
	}
	return calhold.Run{Rollout: r.ID(), Environment: r.Environment(), State: r.State, Admitted: r.Admitted,
		Policy: r.Plan.OnFreeze, AtPhaseBoundary: boundary}
}

// hold applies one calendar action in the batch: the pause or resume (by
// the calendar) and the hold it leaves. A transition the state machine
// refuses (the rollout moved on meanwhile) leaves the hold as it was.
func (b *batch) hold(a calhold.Action) error {
	if a.Verb != "" {
		st, err := b.get(a.Rollout)
		if err != nil || st == nil {
			return err
		}
		cmd := rollout.Command{Verb: a.Verb, Actor: ActorCalendar, Reason: a.Reason}
		if err := b.step(st, rollout.Input{Command: &cmd}); err != nil {
			b.s.log.Warn("calendar "+string(a.Verb)+" not applied", "rollout", a.Rollout, "err", err)
			return nil
		}
	}
	b.holds = append(b.holds, store.HoldChange{Rollout: a.Rollout, Hold: a.Hold})
	return nil
}

// calendarCommand lets an operator's command on a rollout the calendar
// holds say what it means, before the state machine sees it: resume (or
// retry) is an emergency override and needs a reason, recorded with its
// actor, and the calendar then leaves the rollout running until the window
// that held it is over; pause makes the calendar's pause the operator's,
// so it is not resumed when the window ends. handled reports that the
// command was answered here.
func (b *batch) calendarCommand(req *controlRequest, st *staged) (handled bool) {
	if req.cmd.Verb == contracts.VerbOverride {
		b.override(req, st)
		return true
	}
	h, ok := b.heldNow(req.rollout)
	if !ok || h.State != calhold.Paused {
		return false
	}
	switch req.cmd.Verb {
	case contracts.VerbResume, contracts.VerbRetry:
		if strings.TrimSpace(req.cmd.Reason) == "" {
			b.replies = append(b.replies, pendingReply{req: req, err: contracts.Invalid("reason",
				"rollout %s is held by the calendar (%s): resuming it is an emergency override and needs a reason", req.rollout, h.Label)})
			return true
		}
		if err := b.step(st, rollout.Input{Command: &req.cmd}); err != nil {
			b.replies = append(b.replies, pendingReply{req: req, err: err})
			return true
		}
		h.State, h.OverrideActor, h.OverrideReason = calhold.Overridden, actorOf(req.cmd), req.cmd.Reason
		b.holds = append(b.holds, store.HoldChange{Rollout: req.rollout, Hold: &h})
		b.s.log.Warn("calendar hold overridden", "rollout", req.rollout, "window", h.Window, "actor", h.OverrideActor,
			"reason", h.OverrideReason)
	case contracts.VerbPause:
		// Already paused: the state machine would refuse. The pause is
		// the operator's from now on.
		b.holds = append(b.holds, store.HoldChange{Rollout: req.rollout})
		if _, ok := b.staged[req.rollout]; !ok {
			b.staged[req.rollout] = st
			b.order = append(b.order, req.rollout)
		}
		b.s.log.Info("calendar hold taken over by an operator's pause", "rollout", req.rollout, "window", h.Window,
			"actor", actorOf(req.cmd))
	default:
		return false
	}
	b.replies = append(b.replies, pendingReply{req: req, id: req.rollout})
	return true
}

// heldNow returns the rollout's hold as this batch leaves it.
func (b *batch) heldNow(id string) (calhold.Hold, bool) {
	for i := len(b.holds) - 1; i >= 0; i-- {
		if b.holds[i].Rollout == id {
			if b.holds[i].Hold == nil {
				return calhold.Hold{}, false
			}
			return *b.holds[i].Hold, true
		}
	}
	h, ok := b.s.holds[id]
	return h, ok
}

func actorOf(c rollout.Command) string {
	if a := strings.TrimSpace(c.Actor); a != "" {
		return a
	}
	return rollout.ActorUnknown
}

// holdsCommitted updates the loop's holds after a commit.
func (s *Service) holdsCommitted(changes []store.HoldChange) {
	for _, c := range changes {
		if c.Hold == nil {
			delete(s.holds, c.Rollout)
			continue
		}
		s.holds[c.Rollout] = *c.Hold
		if l, ok := s.live[c.Rollout]; ok && c.Hold.State == calhold.Exempt {
			s.recheck[l.r.Environment()] = true // it may start now
		}
	}
}

// overrideReasonPrefix marks the reason of a transition an override caused.
const overrideReasonPrefix = "emergency override: "

// override is rollwave override: an operator's emergency override of the
// calendar, with a reason, recorded with the actor. A rollout the calendar
// paused runs again (resumed, actor the operator); a queued rollout is
// exempt from the calendar, so it starts when it is at the head of a free
// line, and its started event carries the actor and reason.
func (b *batch) override(req *controlRequest, st *staged) {
	reply := func(err error) {
		if err != nil {
			b.replies = append(b.replies, pendingReply{req: req, err: err})
			return
		}
		if _, ok := b.staged[req.rollout]; !ok {
			b.staged[req.rollout] = st
			b.order = append(b.order, req.rollout)
		}
		b.replies = append(b.replies, pendingReply{req: req, id: req.rollout})
	}
	reason := strings.TrimSpace(req.cmd.Reason)
	if reason == "" {
		reply(contracts.Invalid("reason", "an emergency override needs a reason"))
		return
	}
	actor := actorOf(req.cmd)
	r := st.rec.Rollout
	h, held := b.heldNow(req.rollout)
	switch {
	case held && h.State == calhold.Paused:
		cmd := rollout.Command{Verb: contracts.VerbResume, Actor: actor, Reason: overrideReasonPrefix + reason}
		if err := b.step(st, rollout.Input{Command: &cmd}); err != nil {
			reply(err)
			return
		}
		h.State, h.OverrideActor, h.OverrideReason = calhold.Overridden, actor, reason
	case r.State == contracts.StateQueued:
		h = calhold.Hold{Rollout: req.rollout, State: calhold.Exempt, Since: b.now, OverrideActor: actor, OverrideReason: reason}
	default:
		reply(contracts.Errorf(contracts.CodeInvalidState, "nothing to override: rollout %s is %s and the calendar does not hold it", req.rollout, r.State))
		return
	}
	b.holds = append(b.holds, store.HoldChange{Rollout: req.rollout, Hold: &h})
	b.s.log.Warn("calendar overridden", "rollout", req.rollout, "state", r.State, "actor", actor, "reason", reason)
	reply(nil)
}

// overrideStarted records on a rollout that an override started, and on
// its started event, who overrode the calendar and why.
func (b *batch) overrideStarted(st *staged) {
	h, ok := b.heldNow(st.rec.Rollout.ID())
	if !ok || h.State != calhold.Exempt {
		return
	}
	reason := overrideReasonPrefix + h.OverrideReason
	for i := len(b.effects) - 1; i >= 0; i-- {
		em, isEmit := b.effects[i].effect.(rollout.Emit)
		if b.effects[i].rollout != st.rec.Rollout.ID() || !isEmit || em.Type != contracts.EventStarted {
			continue
		}
		em.Event.Actor, em.Event.Reason = h.OverrideActor, reason
		b.effects[i].effect = em
		break
	}
	st.rec.Rollout.Actor, st.rec.Rollout.Reason = h.OverrideActor, reason
}
