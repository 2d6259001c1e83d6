package windows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/rollwave/rollwave/contracts"
)

// Horizon bounds how far ahead recurring windows are expanded when a
// question ("until when?", "next slot?") looks into the future.
const Horizon = 400 * 24 * time.Hour

// maxExDates bounds the exceptions of one window.
const maxExDates = 1000

// parseRule checks an RFC 5545 RRULE value (with or without the "RRULE:"
// prefix). DTSTART comes from the window's start, so the rule must not
// carry one; frequencies below a day are refused because a window that
// recurs more than daily is better written as a longer window.
func parseRule(s string) (*rrule.ROption, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "RRULE:")
	if strings.Contains(strings.ToUpper(s), "DTSTART") {
		return nil, fmt.Errorf("must not carry DTSTART: the window's start is the first occurrence")
	}
	opt, err := rrule.StrToROption(s)
	if err != nil {
		return nil, fmt.Errorf("is not an RFC 5545 RRULE such as \"FREQ=WEEKLY;BYDAY=FR\": %s", clipErr(err))
	}
	switch opt.Freq {
	case rrule.DAILY, rrule.WEEKLY, rrule.MONTHLY, rrule.YEARLY:
	default:
		return nil, fmt.Errorf("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
	}
	return opt, nil
}

func clipErr(err error) string { return clip(err.Error()) }

// ruleSet builds the recurrence of a window, its DTSTART being the
// window's start in its zone so that later occurrences keep the local
// wall-clock time across daylight-saving changes.
func ruleSet(w contracts.Window) (*rrule.Set, *time.Location, error) {
	loc, err := location(zoneOf(w))
	if err != nil {
		return nil, nil, err
	}
	opt, err := parseRule(w.RRule)
	if err != nil {
		return nil, nil, err
	}
	opt.Dtstart = w.Start.In(loc)
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, nil, fmt.Errorf("rrule: %s", clipErr(err))
	}
	set := &rrule.Set{}
	set.RRule(r)
	for _, ex := range w.ExDates {
		set.ExDate(ex.In(loc))
	}
	return set, loc, nil
}

func zoneOf(w contracts.Window) string {
	if w.TimeZone == "" {
		return "UTC"
	}
	return w.TimeZone
}

// wallOf reads the wall clock of t in its location as a UTC time, so that
// wall-clock spans can be computed and added without zone arithmetic.
func wallOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Occurrences returns the occurrences of w that overlap [from, to), in
// order. A recurring window's occurrence ends at the same local wall-clock
// distance from its start as the first one does (Friday 16:00 to Monday
// 08:00 stays so when the clocks change over the weekend). A window whose
// rule cannot be read has no occurrences; Parse refuses such rules, so
// only a damaged store reaches here.
func Occurrences(w contracts.Window, from, to time.Time) []contracts.Occurrence {
	if w.RRule == "" {
		if w.Start.Before(to) && w.End.After(from) {
			return []contracts.Occurrence{{WindowID: w.ID, Start: w.Start, End: w.End}}
		}
		return nil
	}
	set, loc, err := ruleSet(w)
	if err != nil {
		return nil
	}
	ws, we := wallOf(w.Start.In(loc)), wallOf(w.End.In(loc))
	span := we.Sub(ws)
	// An occurrence starting up to span (plus a DST shift) before from
	// can still overlap it.
	var out []contracts.Occurrence
	for _, s := range set.Between(from.Add(-span-3*time.Hour), to, true) {
		e := wallOf(s).Add(span)
		end := time.Date(e.Year(), e.Month(), e.Day(), e.Hour(), e.Minute(), e.Second(), e.Nanosecond(), loc)
		if !end.After(s) {
			continue
		}
		if s.Before(to) && end.After(from) {
			out = append(out, contracts.Occurrence{WindowID: w.ID, Start: s.UTC(), End: end.UTC()})
		}
	}
	return out
}

// Environments returns the environments a window applies to; "*" stands
// for all.
func Environments(w contracts.Window) []string {
	if w.Environment != "" {
		return []string{w.Environment}
	}
	return w.Environments
}

// AppliesTo reports whether w applies to env.
func AppliesTo(w contracts.Window, env string) bool {
	envs := Environments(w)
	return slices.Contains(envs, contracts.AllEnvironments) || slices.Contains(envs, env)
}

// sharesEnvironment reports whether two windows apply to a common
// environment.
func sharesEnvironment(a, b contracts.Window) bool {
	ea, eb := Environments(a), Environments(b)
	if slices.Contains(ea, contracts.AllEnvironments) || slices.Contains(eb, contracts.AllEnvironments) {
		return len(ea) > 0 && len(eb) > 0
	}
	for _, e := range ea {
		if slices.Contains(eb, e) {
			return true
		}
	}
	return false
}

// Conflicts returns the reservations among ws that share an environment
// with the reservation w and overlap it within the horizon after from.
// Other kinds never conflict: freezes and maintenance windows layer.
func Conflicts(ws []contracts.Window, w contracts.Window, from time.Time) []contracts.Window {
	if w.Kind != contracts.WindowReservation {
		return nil
	}
	to := from.Add(Horizon)
	mine := Occurrences(w, from, to)
	var out []contracts.Window
	for _, o := range ws {
		if o.ID == w.ID || o.Kind != contracts.WindowReservation || !sharesEnvironment(o, w) {
			continue
		}
		theirs := Occurrences(o, from, to)
		if overlapAny(mine, theirs) {
			out = append(out, o)
		}
	}
	return out
}

func overlapAny(a, b []contracts.Occurrence) bool {
	// Both are sorted by start: a merge walk finds any overlap.
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i].Start.Before(b[j].End) && b[j].Start.Before(a[i].End) {
			return true
		}
		if a[i].End.Before(b[j].End) {
			i++
		} else {
			j++
		}
	}
	return false
}

// hasOccurrence reports whether a recurring window occurs at all.
func hasOccurrence(w contracts.Window) bool {
	set, _, err := ruleSet(w)
	if err != nil {
		return false
	}
	return !set.After(w.Start.Add(-time.Nanosecond), true).IsZero()
}

// ActiveAt reports whether w can still block or open anything at or after
// at: a single window not yet over, a recurring one with an occurrence
// ahead within the horizon or starting later.
func ActiveAt(w contracts.Window, at time.Time) bool {
	if w.End.After(at) {
		return true
	}
	return w.RRule != "" && len(Occurrences(w, at, at.Add(Horizon))) > 0
}
