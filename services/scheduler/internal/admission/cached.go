package admission

import (
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// StaleSuffix marks a refusal decided from the calendar's last published
// state while the calendar could not be asked.
const StaleSuffix = " (calendar unavailable; from its last published state)"

// FromState decides about a rollout from the windows the calendar last
// published, for when it cannot be asked. Only what the calendar said is
// used: a freeze it published keeps applying, nothing is invented, and an
// instant past what it published (Through) is not known, so admission
// fails closed there. The scheduler asks as a rollout without team or
// labels, so any reservation covering the instant holds it back.
func FromState(rollout string, states []contracts.WindowState, env string, at time.Time, team string, labels map[string]string) Answer {
	var occs []contracts.Occurrence
	byID := map[string]contracts.Window{}
	maintained := false
	for _, st := range states {
		if !appliesTo(st.Window, env) {
			continue
		}
		if at.After(st.Through) {
			return Unavailable(rollout)
		}
		byID[st.Window.ID] = st.Window
		maintained = maintained || st.Window.Kind == contracts.WindowMaintenance
		occs = append(occs, st.Occurrences...)
	}
	blocked := func(t time.Time) (*contracts.Occurrence, bool) {
		inMaint := false
		var blocker *contracts.Occurrence
		for i, o := range occs {
			if t.Before(o.Start) || !t.Before(o.End) {
				continue
			}
			w := byID[o.WindowID]
			switch w.Kind {
			case contracts.WindowMaintenance:
				inMaint = true
			case contracts.WindowReservation:
				if w.HeldFor(team, labels) {
					continue
				}
				if blocker == nil || o.End.After(blocker.End) {
					blocker = &occs[i]
				}
			default: // freeze, reservation, and kinds this scheduler does not know
				if blocker == nil || o.End.After(blocker.End) {
					blocker = &occs[i]
				}
			}
		}
		return blocker, blocker != nil || (maintained && !inMaint)
	}
	blocker, closed := blocked(at)
	if !closed {
		return Answer{Rollout: rollout, Allowed: true}
	}
	var bounds []time.Time
	for _, o := range occs {
		bounds = append(bounds, o.Start, o.End)
	}
	slices.SortFunc(bounds, func(a, b time.Time) int { return a.Compare(b) })
	var until *time.Time
	for _, b := range bounds {
		if b.After(at) {
			if _, c := blocked(b); !c {
				u := b
				until = &u
				break
			}
		}
	}
	a := contracts.Admission{Until: until}
	if blocker != nil {
		w := byID[blocker.WindowID]
		a.Window = &w
	} else {
		a.Reason = "outside every maintenance window"
	}
	ans := FromCalendar(rollout, a)
	ans.Reason += StaleSuffix
	return ans
}

func appliesTo(w contracts.Window, env string) bool {
	envs := w.Environments
	if w.Environment != "" {
		envs = []string{w.Environment}
	}
	return slices.Contains(envs, contracts.AllEnvironments) || slices.Contains(envs, env)
}
