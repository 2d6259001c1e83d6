package ics

import (
	"maps"
	"slices"
	"strings"
	"time"

	ical "github.com/arran4/golang-ical"

	"github.com/rollwave/rollwave/contracts"
)

// Properties of Rollwave's own that make an exported file import back
// into the same windows.
const (
	propKind   = "X-ROLLWAVE-KIND"
	propEnvs   = "X-ROLLWAVE-ENVIRONMENTS"
	propTeam   = "X-ROLLWAVE-TEAM"
	propLabel  = "X-ROLLWAVE-LABEL"
	propReason = "X-ROLLWAVE-REASON"
)

// UID is the stable UID of a window's event: calendar applications match
// updates of a subscribed feed by it.
func UID(w contracts.Window) string { return w.ID + "@rollwave" }

// Export writes windows as an iCalendar file. A recurring window stays one
// event with its RRULE and EXDATEs; times are written in the window's zone
// (TZID with its IANA name, and a VTIMEZONE for each zone for the
// applications that do not know IANA names) so that applications keep the
// wall-clock time across daylight-saving changes. DTSTAMP is the window's start, so the
// same windows always export to the same bytes.
func Export(ws []contracts.Window, name string) string {
	cal := ical.NewCalendarFor("Rollwave")
	cal.SetMethod(ical.MethodPublish)
	cal.SetXWRCalName(name)
	// Each named zone gets its VTIMEZONE, before the events that use it,
	// with the rules of the year of its earliest window.
	years := map[string]int{}
	for _, w := range ws {
		if w.TimeZone == "" || w.TimeZone == "UTC" {
			continue
		}
		if y, ok := years[w.TimeZone]; !ok || w.Start.Year() < y {
			years[w.TimeZone] = w.Start.Year()
		}
	}
	for _, zone := range slices.Sorted(maps.Keys(years)) {
		// A zone Go cannot load was refused when the window was added;
		// its times are then written in UTC (timeValue), so it needs none.
		_ = addTimezone(cal, zone, years[zone])
	}
	for _, w := range ws {
		ev := cal.AddEvent(UID(w))
		ev.SetDtStampTime(w.Start)
		envs := strings.Join(environments(w), ",")
		summary := string(w.Kind) + " " + envs
		if w.Reason != "" {
			summary += ": " + w.Reason
		}
		ev.SetSummary(summary)
		zone := w.TimeZone
		if zone == "" {
			zone = "UTC"
		}
		setTime(ev, ical.ComponentPropertyDtStart, w.Start, zone)
		setTime(ev, ical.ComponentPropertyDtEnd, w.End, zone)
		if w.RRule != "" {
			ev.AddRrule(w.RRule)
		}
		for _, x := range w.ExDates {
			v, params := timeValue(x, zone)
			ev.AddProperty(ical.ComponentPropertyExdate, v, params...)
		}
		ev.SetProperty(propKind, string(w.Kind))
		ev.SetProperty(propEnvs, envs)
		if w.Team != "" {
			ev.SetProperty(propTeam, w.Team)
		}
		if w.Label != "" {
			ev.SetProperty(propLabel, w.Label)
		}
		if w.Reason != "" {
			ev.SetProperty(propReason, w.Reason)
		}
	}
	return cal.Serialize()
}

func environments(w contracts.Window) []string {
	if w.Environment != "" {
		return []string{w.Environment}
	}
	return w.Environments
}

func setTime(ev *ical.VEvent, p ical.ComponentProperty, t time.Time, zone string) {
	v, params := timeValue(t, zone)
	ev.SetProperty(p, v, params...)
}

func timeValue(t time.Time, zone string) (string, []ical.PropertyParameter) {
	loc, err := time.LoadLocation(zone)
	if zone == "UTC" || err != nil {
		return t.UTC().Format("20060102T150405Z"), nil
	}
	return t.In(loc).Format("20060102T150405"), []ical.PropertyParameter{ical.WithTZID(zone)}
}
