// Package calhold decides which running rollouts the calendar stops and
// starts again: a freeze or a stop whose occurrence covers now pauses the
// running rollouts of its environments (a stop: of every environment) at
// the next batch boundary, or, for a freeze under the finish_phase
// policy, once the current phase has dispatched its last batch; when no
// such window covers now any more, the rollouts the calendar paused are
// resumed. A rollout an operator paused is never resumed here, and one an
// operator resumed while the calendar held it (an override) is left
// running until the window that held it is over. It is pure: the
// scheduler passes the calendar's published state and the holds it
// stored, and carries out the actions in its own transaction.
package calhold

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// State is where a hold stands.
type State string

const (
	// Paused: the calendar paused the rollout for Window and resumes it
	// when no freeze or stop covers the rollout's environment any more.
	Paused State = "paused"
	// Overridden: an operator resumed the rollout while the calendar held
	// it (an emergency override); the calendar leaves it running until
	// Window is over.
	Overridden State = "overridden"
	// Exempt: an operator overrode the calendar for a rollout before it
	// started (rollwave override); admission lets it start whatever the
	// calendar says, and the calendar leaves it running until no window
	// blocks its environment any more.
	Exempt State = "exempt"
)

// Hold is a rollout the calendar paused, or whose calendar pause an
// operator overrode.
type Hold struct {
	Rollout string
	// Window is the id of the window that holds the rollout; Label names
	// it for people ("freeze w-7 (year end)").
	Window string
	Label  string
	State  State
	Since  time.Time
	// OverrideActor and OverrideReason record who overrode the hold, and
	// why.
	OverrideActor  string
	OverrideReason string
}

// Run is a live rollout as the calendar sees it.
type Run struct {
	Rollout     string
	Environment string
	State       contracts.State
	Admitted    bool
	Policy      contracts.OnFreeze
	// AtPhaseBoundary says the current phase has dispatched its last
	// batch, or the rollout stands between phases: the point at which a
	// finish_phase rollout stops.
	AtPhaseBoundary bool
}

// Action is what to do to one rollout: pause or resume it (Verb, with
// Reason), and save its hold (Hold) or, when Hold is nil, delete it.
type Action struct {
	Rollout string
	Verb    contracts.Verb
	Reason  string
	Hold    *Hold
}

// Blocker is the window occurrence that stops rollouts of an environment
// now.
type Blocker struct {
	Window     contracts.Window
	Occurrence contracts.Occurrence
}

// Label names the window for people: its kind, id and reason.
func (b Blocker) Label() string {
	kind := cmp.Or(string(b.Window.Kind), string(contracts.WindowFreeze))
	if b.Window.Reason == "" {
		return kind + " " + b.Window.ID
	}
	return fmt.Sprintf("%s %s (%s)", kind, b.Window.ID, b.Window.Reason)
}

// PauseReason is the reason of the calendar's pause.
func (b Blocker) PauseReason() string {
	if b.Window.ID == contracts.LineStopWindowID {
		return b.Label() + " until the line is released"
	}
	return b.Label() + " until " + b.Occurrence.End.UTC().Format(time.RFC3339)
}

// ResumeReason is the reason of the calendar's resume after a hold.
func ResumeReason(h Hold) string { return h.Label + " ended" }

// Blocking returns the freeze or stop occurrence that covers now in env,
// from the calendar's published state: a stop before a freeze, and among
// equals the one that ends last. A window whose state does not reach now
// (beyond its Through) says nothing: nothing is invented.
func Blocking(states []contracts.WindowState, env string, now time.Time) (Blocker, bool) {
	var best Blocker
	found := false
	rank := func(k contracts.WindowKind) int {
		if k == contracts.WindowStop {
			return 2
		}
		return 1
	}
	for _, st := range states {
		w := st.Window
		if (w.Kind != contracts.WindowFreeze && w.Kind != contracts.WindowStop) || !AppliesTo(w, env) || now.After(st.Through) {
			continue
		}
		for _, o := range st.Occurrences {
			if now.Before(o.Start) || !now.Before(o.End) {
				continue
			}
			c := Blocker{Window: w, Occurrence: o}
			if !found || rank(w.Kind) > rank(best.Window.Kind) ||
				(rank(w.Kind) == rank(best.Window.Kind) && (o.End.After(best.Occurrence.End) ||
					(o.End.Equal(best.Occurrence.End) && w.ID < best.Window.ID))) {
				best, found = c, true
			}
		}
	}
	return best, found
}

// AppliesTo reports whether window w covers environment env. A stop
// covers every environment.
func AppliesTo(w contracts.Window, env string) bool {
	if w.Kind == contracts.WindowStop {
		return true
	}
	envs := w.Environments
	if w.Environment != "" {
		envs = []string{w.Environment}
	}
	return slices.Contains(envs, contracts.AllEnvironments) || slices.Contains(envs, env)
}

// Decide returns the actions for the given rollouts at now, in rollout
// order. holds are the stored holds; a hold of a rollout not in runs is
// left alone unless prune is set, when it is deleted (the rollout ended).
func Decide(runs []Run, holds map[string]Hold, states []contracts.WindowState, now time.Time, prune bool) []Action {
	var out []Action
	seen := make(map[string]bool, len(runs))
	blockers := map[string]*Blocker{}
	blocking := func(env string) (Blocker, bool) {
		if b, ok := blockers[env]; ok {
			return deref(b)
		}
		b, ok := Blocking(states, env, now)
		if ok {
			blockers[env] = &b
		} else {
			blockers[env] = nil
		}
		return b, ok
	}
	for _, r := range runs {
		seen[r.Rollout] = true
		h, held := holds[r.Rollout]
		b, blocked := blocking(r.Environment)
		switch {
		case r.State == contracts.StateRunning && r.Admitted:
			if !blocked {
				if held {
					out = append(out, Action{Rollout: r.Rollout}) // an override outlived its window
				}
				continue
			}
			if held && (h.State == Overridden && h.Window == b.Window.ID || h.State == Exempt) {
				continue // the operator's override stands while its window lasts
			}
			if b.Window.Kind != contracts.WindowStop && r.Policy == contracts.OnFreezeFinishPhase && !r.AtPhaseBoundary {
				continue // the current phase finishes first
			}
			out = append(out, Action{Rollout: r.Rollout, Verb: contracts.VerbPause, Reason: b.PauseReason(),
				Hold: &Hold{Rollout: r.Rollout, Window: b.Window.ID, Label: b.Label(), State: Paused, Since: now}})
		case r.State == contracts.StatePaused && held && h.State == Paused:
			if !blocked {
				out = append(out, Action{Rollout: r.Rollout, Verb: contracts.VerbResume, Reason: ResumeReason(h)})
				continue
			}
			if b.Window.ID != h.Window {
				// Another window holds it now: it is the one to end.
				nh := h
				nh.Window, nh.Label = b.Window.ID, b.Label()
				out = append(out, Action{Rollout: r.Rollout, Hold: &nh})
			}
		case held && h.State == Exempt && r.State == contracts.StateQueued:
			// Exempt until it starts.
		case held && !blocked:
			// Overridden and then paused by someone else, or no longer
			// running: the hold is over, and the rollout stays as it is.
			out = append(out, Action{Rollout: r.Rollout})
		}
	}
	if prune {
		var gone []string
		for id := range holds {
			if !seen[id] {
				gone = append(gone, id)
			}
		}
		slices.Sort(gone)
		for _, id := range gone {
			out = append(out, Action{Rollout: id})
		}
	}
	return out
}

func deref(b *Blocker) (Blocker, bool) {
	if b == nil {
		return Blocker{}, false
	}
	return *b, true
}
