// Package windows holds the calendar's decisions, free of I/O: reading a
// window as its author wrote it (local times in a time zone) and deciding
// whether the freezes of an environment admit a rollout at an instant.
package windows

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones work on hosts without a zoneinfo database

	"github.com/rollwave/rollwave/contracts"
)

// Limits on free text, so one window cannot bloat every admission reply.
const (
	maxReason    = 1000
	maxCreatedBy = 200
	minYear      = 1970
	maxYear      = 9999
)

// localLayouts are the local date-time forms accepted, read in the
// window's time zone. The seconds form accepts a fraction.
var localLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

const timeHelp = `must be an RFC 3339 instant such as "2026-12-24T00:00:00Z", or a local date-time such as ` +
	`"2026-12-24T00:00" or "2026-12-24" read in the window's time zone`

// Parse checks a window as given by a person and returns it with its
// instants resolved and the id newID returns. Local times are read in
// TimeZone (UTC when empty). A local time that occurs twice (when clocks go
// back) starts a window at its first occurrence and ends one at its second,
// so the freeze covers both; a local time that does not exist (when clocks
// go forward) is an error, except a bare date, which starts when that day
// does. All problems are returned together as contracts.FieldErrors.
func Parse(in contracts.WindowInput, newID func() string) (contracts.Window, error) {
	var fe contracts.FieldErrors
	switch {
	case in.Environment == "":
		fe.Add("environment", "is required")
	case !contracts.ValidToken(in.Environment):
		fe.Add("environment", "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got %q", clip(in.Environment))
	}
	kind := in.Kind
	switch kind {
	case "":
		kind = contracts.WindowFreeze
	case contracts.WindowFreeze:
	default:
		fe.Add("kind", "%q is not supported yet; only %q is", clip(string(kind)), contracts.WindowFreeze)
	}
	zone := in.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	loc, err := location(zone)
	if err != nil {
		fe.Add("timezone", "%s", err)
	}
	if len(in.Reason) > maxReason {
		fe.Add("reason", "must be at most %d bytes, got %d", maxReason, len(in.Reason))
	}
	if len(in.CreatedBy) > maxCreatedBy {
		fe.Add("created_by", "must be at most %d bytes, got %d", maxCreatedBy, len(in.CreatedBy))
	}
	var start, end time.Time
	var startErr, endErr error
	if loc != nil {
		start, startErr = instant(in.Start, loc, false)
		if startErr != nil {
			fe.Add("start", "%s", startErr)
		}
		end, endErr = instant(in.End, loc, true)
		if endErr != nil {
			fe.Add("end", "%s", endErr)
		}
		if startErr == nil && endErr == nil && !end.After(start) {
			fe.Add("end", "must be after start (%s), got %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
		}
	}
	if err := fe.Err(); err != nil {
		return contracts.Window{}, err
	}
	return contracts.Window{
		ID:          newID(),
		Environment: in.Environment,
		Kind:        kind,
		Start:       start,
		End:         end,
		TimeZone:    zone,
		Reason:      in.Reason,
		CreatedBy:   in.CreatedBy,
	}, nil
}

// location loads an IANA time zone. "Local" is refused: it means whatever
// the calendar's host is set to, not what the author meant.
func location(name string) (*time.Location, error) {
	const help = `use an IANA name such as "Europe/Berlin" or "UTC"`
	if name == "Local" {
		return nil, fmt.Errorf(`"Local" depends on the server's settings; %s`, help)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q; %s", clip(name), help)
	}
	return loc, nil
}

// instant reads an RFC 3339 instant or a local date-time in loc. late picks
// the second occurrence of an ambiguous local time.
func instant(s string, loc *time.Location, late bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("is required")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = local(s, loc, late)
	}
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	if y := t.Year(); y < minYear || y > maxYear {
		return time.Time{}, fmt.Errorf("must be between the years %d and %d, got %q", minYear, maxYear, clip(s))
	}
	return t, nil
}

func local(s string, loc *time.Location, late bool) (time.Time, error) {
	for i, layout := range localLayouts {
		wall, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		dateOnly := i == len(localLayouts)-1
		occurrences := resolve(wall, loc)
		switch {
		case len(occurrences) == 0 && dateOnly:
			// Midnight was skipped: the day starts when the clocks resume,
			// which is where time.Date moves a skipped wall time.
			return time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, loc), nil
		case len(occurrences) == 0:
			return time.Time{}, fmt.Errorf("%q does not exist in %s: the clocks skip it (daylight saving time)", s, loc)
		case late:
			return occurrences[len(occurrences)-1], nil
		}
		return occurrences[0], nil
	}
	return time.Time{}, fmt.Errorf("%s, got %q", timeHelp, clip(s))
}

// resolve returns, in order, the instants at which the clocks of loc show
// the wall time (read in UTC): none in a gap, two in an overlap.
func resolve(wall time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	// The offsets in force a day either side cover any one transition
	// around the wall time; zones do not change twice within a day.
	for _, probe := range []time.Duration{-24 * time.Hour, 0, 24 * time.Hour} {
		_, offset := wall.Add(probe).In(loc).Zone()
		t := wall.Add(-time.Duration(offset) * time.Second)
		if !sameWall(t.In(loc), wall) || slices.ContainsFunc(out, t.Equal) {
			continue
		}
		out = append(out, t.In(loc))
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

func sameWall(t, wall time.Time) bool {
	y, mo, d := t.Date()
	wy, wmo, wd := wall.Date()
	return y == wy && mo == wmo && d == wd && t.Hour() == wall.Hour() && t.Minute() == wall.Minute() &&
		t.Second() == wall.Second() && t.Nanosecond() == wall.Nanosecond()
}

// Admit decides whether a rollout may start in env at the instant at. A
// freeze of env with start <= at < end blocks it; Window is the blocking
// freeze that ends last (the earliest-starting one of those that tie), and
// Until is the end of the chain of overlapping or adjacent freezes that
// covers at: the first instant at which a rollout may start.
func Admit(ws []contracts.Window, env string, at time.Time) contracts.Admission {
	var freezes []contracts.Window
	var blocking *contracts.Window
	for _, w := range ws {
		if w.Environment != env || (w.Kind != contracts.WindowFreeze && w.Kind != "") {
			continue
		}
		freezes = append(freezes, w)
		if at.Before(w.Start) || !at.Before(w.End) {
			continue
		}
		if blocking == nil || w.End.After(blocking.End) ||
			(w.End.Equal(blocking.End) && (w.Start.Before(blocking.Start) || (w.Start.Equal(blocking.Start) && w.ID < blocking.ID))) {
			b := w
			blocking = &b
		}
	}
	if blocking == nil {
		return contracts.Admission{Allowed: true}
	}
	slices.SortFunc(freezes, func(a, b contracts.Window) int { return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.ID, b.ID)) })
	until := blocking.End
	for _, w := range freezes {
		if w.Start.After(until) {
			break
		}
		if w.End.After(until) {
			until = w.End
		}
	}
	return contracts.Admission{Allowed: false, Until: &until, Window: blocking}
}

// clip shortens text echoed back in an error.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
