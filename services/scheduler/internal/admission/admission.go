// Package admission decides which waiting rollouts may start: one active
// rollout per environment, waiting rollouts in arrival order, a start time
// in the future keeps a rollout out of the line until it is due, and the
// calendar has the last word on the rollout at the head of the line. It is
// pure: the caller asks the calendar and passes the answers back in.
package admission

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// ReasonCalendarUnavailable is the wait reason when the calendar cannot be
// asked: admission fails closed.
const ReasonCalendarUnavailable = "calendar unavailable"

// Entry is a rollout as admission sees it.
type Entry struct {
	Rollout     string
	Environment string
	// Order is the arrival order of the planned event.
	Order    uint64
	State    contracts.State
	Admitted bool
	StartAt  *time.Time
	// Exempt is an operator's emergency override of the calendar: at the
	// head of a free line the rollout starts without asking it.
	Exempt bool
}

// active reports whether the entry holds its environment.
func (e Entry) active() bool {
	return e.Admitted && (e.State == contracts.StateRunning || e.State == contracts.StatePaused)
}

// Answer is the calendar's answer about the head of an environment's line.
type Answer struct {
	// Rollout is the head the calendar was asked about; an answer about
	// another rollout than the current head is stale and is asked again.
	Rollout string
	Allowed bool
	Until   *time.Time
	Reason  string
	// Blocked says a calendar window refused (not a calendar that could
	// not be asked).
	Blocked bool
}

// Verdict tells one rollout whether it starts now, or why it waits.
type Verdict struct {
	Rollout string
	Allowed bool
	Until   *time.Time
	Reason  string
	// Blocked is set on the verdict of the rollout the calendar was asked
	// about and refused by a window: its on_blocked policy applies. The
	// rollouts behind it wait for the same reason but are asked about
	// themselves once they are at the head.
	Blocked bool
	// Override says the rollout starts by an operator's override of the
	// calendar, not because the calendar admitted it.
	Override bool
}

// Ask is a calendar question to put for the head of an environment.
type Ask struct {
	Environment string
	Rollout     string
}

// Decision is what Decide concluded.
type Decision struct {
	Verdicts []Verdict
	Ask      []Ask
}

// Decide looks at every queued rollout. Rollouts not due yet wait for
// their start time; due rollouts in an environment with an active rollout
// wait for it; in a free environment the calendar decides about the
// earliest due rollout (an Ask when answers has nothing about it), and if
// it starts the others wait for it, else they all wait for the same
// reason. Environments and verdicts come out in a stable order.
func Decide(entries []Entry, now time.Time, answers map[string]Answer) Decision {
	byEnv := map[string][]Entry{}
	for _, e := range entries {
		byEnv[e.Environment] = append(byEnv[e.Environment], e)
	}
	var d Decision
	for _, env := range slices.Sorted(maps.Keys(byEnv)) {
		list := byEnv[env]
		slices.SortFunc(list, func(a, b Entry) int {
			return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Rollout, b.Rollout))
		})
		var holder string
		var due []Entry
		for _, e := range list {
			switch {
			case e.active():
				holder = e.Rollout
			case e.State != contracts.StateQueued:
			case e.StartAt != nil && e.StartAt.After(now):
				at := e.StartAt.UTC()
				d.Verdicts = append(d.Verdicts, Verdict{Rollout: e.Rollout, Until: &at, Reason: StartAtReason(at)})
			default:
				due = append(due, e)
			}
		}
		if len(due) == 0 {
			continue
		}
		if holder != "" {
			for _, e := range due {
				d.Verdicts = append(d.Verdicts, Verdict{Rollout: e.Rollout, Reason: BusyReason(env)})
			}
			continue
		}
		head := due[0]
		if head.Exempt {
			d.Verdicts = append(d.Verdicts, Verdict{Rollout: head.Rollout, Allowed: true, Override: true})
			for _, e := range due[1:] {
				d.Verdicts = append(d.Verdicts, Verdict{Rollout: e.Rollout, Reason: BusyReason(env)})
			}
			continue
		}
		ans, ok := answers[env]
		if !ok || ans.Rollout != head.Rollout {
			d.Ask = append(d.Ask, Ask{Environment: env, Rollout: head.Rollout})
			continue
		}
		if ans.Allowed {
			d.Verdicts = append(d.Verdicts, Verdict{Rollout: head.Rollout, Allowed: true})
			for _, e := range due[1:] {
				d.Verdicts = append(d.Verdicts, Verdict{Rollout: e.Rollout, Reason: BusyReason(env)})
			}
			continue
		}
		reason := ans.Reason
		if reason == "" {
			reason = ReasonCalendarUnavailable
		}
		for i, e := range due {
			d.Verdicts = append(d.Verdicts, Verdict{Rollout: e.Rollout, Until: ans.Until, Reason: reason, Blocked: i == 0 && ans.Blocked})
		}
	}
	return d
}

// StartAtReason is the wait reason of a rollout whose start time is ahead.
func StartAtReason(at time.Time) string { return "start_at " + at.UTC().Format(time.RFC3339) }

// BusyReason is the wait reason of a rollout behind another in its
// environment. It names the environment, not the rollout ahead, so that a
// rollout deep in the queue is not reported as waiting again each time the
// queue moves: its reason has not changed, only its position (which
// get and list show).
func BusyReason(env string) string { return "environment " + env + " is busy with another rollout" }

// FromCalendar turns the calendar's answer about a rollout into an Answer.
// A refusal reads "freeze: <window reason> until <t>".
func FromCalendar(rollout string, a contracts.Admission) Answer {
	if a.Allowed {
		return Answer{Rollout: rollout, Allowed: true}
	}
	kind, why := string(contracts.WindowFreeze), "the calendar refuses admission"
	if a.Window != nil {
		if a.Window.Kind != "" {
			kind = string(a.Window.Kind)
		}
		why = a.Window.Reason
		if why == "" {
			why = "window " + a.Window.ID
		}
	}
	reason := kind + ": " + why
	if a.Reason != "" {
		// No window blocks by itself (outside every maintenance window).
		reason = a.Reason
	}
	var until *time.Time
	if a.Until != nil {
		u := a.Until.UTC()
		until = &u
		reason += " until " + u.Format(time.RFC3339)
	}
	return Answer{Rollout: rollout, Until: until, Reason: reason, Blocked: true}
}

// Unavailable is the answer when the calendar could not be asked.
func Unavailable(rollout string) Answer {
	return Answer{Rollout: rollout, Reason: ReasonCalendarUnavailable}
}
