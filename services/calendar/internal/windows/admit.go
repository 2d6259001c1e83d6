package windows

import (
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// ReasonOutsideMaintenance is the refusal of an environment that has
// maintenance windows when none is open.
const ReasonOutsideMaintenance = "outside every maintenance window"

// Query is a rollout as the calendar sees it: where, when, and who.
type Query struct {
	Environment string
	At          time.Time
	Team        string
	Labels      map[string]string
}

// holds reports whether the reservation w is held for the rollout q.
func holds(w contracts.Window, q Query) bool { return w.HeldFor(q.Team, q.Labels) }

// state is whether the environment is open at an instant, and why.
type state struct {
	open   bool
	decide *contracts.Occurrence
	reason string
}

// later picks the occurrence that ends last, then the earliest-starting,
// then the smallest id: a stable choice among overlapping windows.
func later(a *contracts.Occurrence, b contracts.Occurrence) *contracts.Occurrence {
	if a == nil || b.End.After(a.End) ||
		(b.End.Equal(a.End) && (b.Start.Before(a.Start) || (b.Start.Equal(a.Start) && b.WindowID < a.WindowID))) {
		return &b
	}
	return a
}

// stateAt decides at one instant. A freeze closes; else a reservation
// held for someone else closes unless one held for this rollout is open
// too (a forced overlap shares the environment); else, where maintenance
// windows exist, only inside one is open.
func stateAt(occs []contracts.Occurrence, byID map[string]contracts.Window, q Query, at time.Time, maintained bool) state {
	var freeze, foreign, held, maint *contracts.Occurrence
	for _, o := range occs {
		if at.Before(o.Start) || !at.Before(o.End) {
			continue
		}
		w := byID[o.WindowID]
		switch w.Kind {
		case contracts.WindowReservation:
			if holds(w, q) {
				held = later(held, o)
			} else {
				foreign = later(foreign, o)
			}
		case contracts.WindowMaintenance:
			maint = later(maint, o)
		default: // freeze and stop; a kind this code does not know closes too
			freeze = later(freeze, o)
		}
	}
	switch {
	case freeze != nil:
		return state{decide: freeze}
	case foreign != nil && held == nil:
		return state{decide: foreign}
	case maintained && maint == nil:
		return state{reason: ReasonOutsideMaintenance}
	case held != nil:
		return state{open: true, decide: held}
	}
	return state{open: true, decide: maint}
}

// timeline is the windows of one environment expanded over a span.
type timeline struct {
	occs       []contracts.Occurrence
	byID       map[string]contracts.Window
	maintained bool
	// bounds are the instants at which the answer can change, sorted.
	bounds []time.Time
}

func newTimeline(ws []contracts.Window, env string, from, to time.Time) timeline {
	tl := timeline{byID: map[string]contracts.Window{}}
	for _, w := range ws {
		if !AppliesTo(w, env) {
			continue
		}
		tl.byID[w.ID] = w
		if w.Kind == contracts.WindowMaintenance {
			tl.maintained = true
		}
		tl.occs = append(tl.occs, Occurrences(w, from, to)...)
	}
	for _, o := range tl.occs {
		tl.bounds = append(tl.bounds, o.Start, o.End)
	}
	slices.SortFunc(tl.bounds, func(a, b time.Time) int { return a.Compare(b) })
	tl.bounds = slices.CompactFunc(tl.bounds, time.Time.Equal)
	return tl
}

func (tl timeline) at(q Query, t time.Time) state {
	return stateAt(tl.occs, tl.byID, q, t, tl.maintained)
}

// change returns the first bound after t at which openness differs from
// open, and the state there.
func (tl timeline) change(q Query, t time.Time, open bool) (time.Time, state, bool) {
	for _, b := range tl.bounds {
		if !b.After(t) {
			continue
		}
		if st := tl.at(q, b); st.open != open {
			return b, st, true
		}
	}
	return time.Time{}, state{}, false
}

// Decide answers whether the rollout q may start at q.At, with the window
// that decides and until when the answer holds: when refused, the first
// instant at which the rollout may start; when allowed, the instant the
// environment closes for it. Until is nil when the answer does not change
// within the horizon.
func Decide(ws []contracts.Window, q Query) contracts.Admission {
	tl := newTimeline(ws, q.Environment, q.At, q.At.Add(Horizon))
	st := tl.at(q, q.At)
	var a contracts.Admission
	a.Allowed = st.open
	a.Reason = st.reason
	if st.decide != nil {
		w := tl.byID[st.decide.WindowID]
		o := *st.decide
		a.Window, a.Occurrence = &w, &o
	}
	if b, next, ok := tl.change(q, q.At, st.open); ok {
		u := b
		a.Until = &u
		// Outside maintenance, the window that opens is the one to name.
		if !st.open && a.Window == nil && next.decide != nil {
			w := tl.byID[next.decide.WindowID]
			o := *next.decide
			a.Window, a.Occurrence = &w, &o
		}
	}
	return a
}

// Admit decides for a rollout with no team or labels.
func Admit(ws []contracts.Window, env string, at time.Time) contracts.Admission {
	return Decide(ws, Query{Environment: env, At: at})
}

// NextSlot finds the first span of d, starting at or after q.At, during
// which the environment stays open for the rollout q. The slot runs until
// the environment next closes (End is zero when that is past the horizon).
func NextSlot(ws []contracts.Window, q Query, d time.Duration) contracts.Slot {
	tl := newTimeline(ws, q.Environment, q.At, q.At.Add(Horizon+d))
	limit := q.At.Add(Horizon)
	starts := append([]time.Time{q.At}, tl.bounds...)
	for _, s := range starts {
		if s.Before(q.At) || s.After(limit) || !tl.at(q, s).open {
			continue
		}
		closes, _, ok := tl.change(q, s, true)
		if !ok {
			return contracts.Slot{Found: true, Start: s}
		}
		if closes.Sub(s) >= d {
			return contracts.Slot{Found: true, Start: s, End: closes}
		}
	}
	return contracts.Slot{}
}
