// Package windows holds the calendar's decisions, free of I/O: reading a
// window as its author wrote it (local times in a time zone) and deciding
// whether the freezes of an environment admit a rollout at an instant.
package windows

import (
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
	// maxEnvironments bounds the list of one window.
	maxEnvironments = 100
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
	if in.Kind == contracts.WindowStop && in.Environment == "" && len(in.Environments) == 0 {
		in.Environment = contracts.AllEnvironments
	}
	env, envs := parseEnvironments(in, &fe)
	kind := in.Kind
	switch kind {
	case "":
		kind = contracts.WindowFreeze
	case contracts.WindowFreeze, contracts.WindowReservation, contracts.WindowMaintenance:
	case contracts.WindowStop:
		if env != contracts.AllEnvironments && (env != "" || len(envs) > 0) {
			fe.Add("environment", "a stop applies to every environment: give \"*\" or nothing")
		}
		env, envs = contracts.AllEnvironments, nil
	default:
		fe.Add("kind", "must be %q, %q, %q or %q, got %q", contracts.WindowFreeze, contracts.WindowReservation,
			contracts.WindowMaintenance, contracts.WindowStop, clip(string(kind)))
	}
	checkHolder(in, kind, &fe)
	if in.Force && strings.TrimSpace(in.ForceReason) == "" {
		fe.Add("force_reason", "is required when force is set: say why the conflicting reservations are overridden")
	}
	if len(in.ForceReason) > maxReason {
		fe.Add("force_reason", "must be at most %d bytes, got %d", maxReason, len(in.ForceReason))
	}
	if in.RRule != "" {
		if _, err := parseRule(in.RRule); err != nil {
			fe.Add("rrule", "%s", err)
		}
	}
	if len(in.ExDates) > 0 && in.RRule == "" {
		fe.Add("exdates", "need an rrule: only a recurring window has occurrences to skip")
	}
	if len(in.ExDates) > maxExDates {
		fe.Add("exdates", "must be at most %d, got %d", maxExDates, len(in.ExDates))
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
	var exdates []time.Time
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
		for i, ex := range in.ExDates {
			t, err := instant(ex, loc, false)
			if err != nil {
				fe.Add(fmt.Sprintf("exdates[%d]", i), "%s", err)
				continue
			}
			exdates = append(exdates, t)
		}
	}
	if err := fe.Err(); err != nil {
		return contracts.Window{}, err
	}
	w := contracts.Window{
		ID:           newID(),
		Environment:  env,
		Environments: envs,
		Kind:         kind,
		Start:        start,
		End:          end,
		TimeZone:     zone,
		Reason:       in.Reason,
		CreatedBy:    in.CreatedBy,
		RRule:        strings.TrimPrefix(strings.TrimSpace(in.RRule), "RRULE:"),
		ExDates:      exdates,
		Team:         in.Team,
		Label:        in.Label,
	}
	if in.Force {
		w.ForceReason = in.ForceReason
	}
	if w.RRule != "" && !hasOccurrence(w) {
		fe.Add("rrule", "has no occurrence: every one is excluded or the rule ends before it starts")
		return contracts.Window{}, fe.Err()
	}
	return w, nil
}

// parseEnvironments reads environment or environments: one name, a list,
// or "*" for all. A single name comes back in env, a list (sorted, without
// repeats) in envs, and "*" anywhere makes env "*".
func parseEnvironments(in contracts.WindowInput, fe *contracts.FieldErrors) (env string, envs []string) {
	const help = "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, or \"*\" for all"
	switch {
	case in.Environment != "" && len(in.Environments) > 0:
		fe.Add("environments", "give environment or environments, not both")
		return "", nil
	case in.Environment != "":
		if in.Environment != contracts.AllEnvironments && !contracts.ValidToken(in.Environment) {
			fe.Add("environment", "%s, got %q", help, clip(in.Environment))
		}
		return in.Environment, nil
	case len(in.Environments) == 0:
		fe.Add("environment", "is required (or environments, or \"*\" for all)")
		return "", nil
	case len(in.Environments) > maxEnvironments:
		fe.Add("environments", "must list at most %d, got %d", maxEnvironments, len(in.Environments))
		return "", nil
	}
	for i, e := range in.Environments {
		if e == contracts.AllEnvironments {
			return contracts.AllEnvironments, nil
		}
		if !contracts.ValidToken(e) {
			fe.Add(fmt.Sprintf("environments[%d]", i), "%s, got %q", help, clip(e))
		}
	}
	envs = slices.Compact(slices.Sorted(slices.Values(in.Environments)))
	if len(envs) == 1 {
		return envs[0], nil
	}
	return "", envs
}

// checkHolder checks that a reservation names exactly one holder, a team
// or a "key=value" label, and that other kinds name none.
func checkHolder(in contracts.WindowInput, kind contracts.WindowKind, fe *contracts.FieldErrors) {
	if kind != contracts.WindowReservation {
		if in.Team != "" {
			fe.Add("team", "only a reservation is held for a team")
		}
		if in.Label != "" {
			fe.Add("label", "only a reservation is held for a label")
		}
		return
	}
	switch {
	case in.Team == "" && in.Label == "":
		fe.Add("team", "a reservation is held for a team or a label: set one")
	case in.Team != "" && in.Label != "":
		fe.Add("label", "a reservation is held for a team or a label, not both")
	case in.Team != "" && !contracts.ValidToken(in.Team):
		fe.Add("team", "must be 1-128 letters, digits, '-' or '_', got %q", clip(in.Team))
	case in.Label != "":
		k, v, ok := strings.Cut(in.Label, "=")
		if !ok || k == "" || v == "" || len(in.Label) > maxCreatedBy {
			fe.Add("label", "must be key=value such as \"team=payments\", got %q", clip(in.Label))
		}
	}
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

// clip shortens text echoed back in an error.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
