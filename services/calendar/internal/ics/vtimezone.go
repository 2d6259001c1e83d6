package ics

import (
	"fmt"
	"time"

	ical "github.com/arran4/golang-ical"
)

// addTimezone writes a VTIMEZONE for an IANA zone, from the rules Go's
// time zone database has for the given year: one STANDARD and, for a zone
// with daylight-saving time, one DAYLIGHT sub-component, each recurring
// yearly on the weekday of the month its change falls on (the last Sunday
// of March, the second Sunday of March, ...), as Outlook and Google write
// them. Applications that know the IANA name ignore it; those that do not
// (Outlook among them) need it to place TZID times.
func addTimezone(cal *ical.Calendar, zone string, year int) error {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return err
	}
	tz := cal.AddTimezone(zone)
	changes := transitions(loc, year)
	if len(changes) == 0 {
		// No change that year: one standard observance from then on.
		name, off := time.Date(year, 1, 1, 0, 0, 0, 0, loc).Zone()
		observance(tz, false, name, off, off, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "")
		return nil
	}
	for _, c := range changes {
		at := c.at.In(loc)
		name, to := at.Zone()
		_, from := c.at.Add(-time.Second).In(loc).Zone()
		// DTSTART is the local time of the change, read in the offset in
		// force before it (RFC 5545 3.6.5), moved to the year before by its
		// rule, so that the observances cover every time of the year.
		local := c.at.Add(time.Duration(from) * time.Second).UTC()
		observance(tz, to > from, name, from, to, yearBefore(local, at), yearlyRule(at))
	}
	return nil
}

type change struct{ at time.Time }

// transitions finds the instants in year at which loc's offset changes,
// to the second: day by day, then by bisection.
func transitions(loc *time.Location, year int) []change {
	var out []change
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	offset := func(t time.Time) int { _, o := t.In(loc).Zone(); return o }
	for t := start; t.Before(end); t = t.Add(24 * time.Hour) {
		next := t.Add(24 * time.Hour)
		if offset(t) == offset(next) {
			continue
		}
		lo, hi := t, next // offset(lo) != offset(hi)
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if offset(mid) == offset(lo) {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, change{at: hi})
	}
	return out
}

// yearlyRule recurs a change on the same weekday of the same month: the
// last one when it falls in the month's last seven days, else the n-th.
func yearlyRule(at time.Time) string {
	day := [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}[at.Weekday()]
	n := (at.Day()-1)/7 + 1
	if at.AddDate(0, 0, 7).Month() != at.Month() {
		n = -1
	}
	return fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", int(at.Month()), n, day)
}

func observance(tz *ical.VTimezone, daylight bool, name string, from, to int, local time.Time, rule string) {
	c := ical.ComponentBase{}
	c.SetProperty(ical.ComponentPropertyDtStart, local.Format("20060102T150405"))
	c.SetProperty(ical.ComponentProperty(ical.PropertyTzoffsetfrom), utcOffset(from))
	c.SetProperty(ical.ComponentProperty(ical.PropertyTzoffsetto), utcOffset(to))
	c.SetProperty(ical.ComponentProperty(ical.PropertyTzname), name)
	if rule != "" {
		c.SetProperty(ical.ComponentPropertyRrule, rule)
	}
	if daylight {
		tz.Components = append(tz.Components, &ical.Daylight{ComponentBase: c})
	} else {
		tz.Components = append(tz.Components, &ical.Standard{ComponentBase: c})
	}
}

// utcOffset writes seconds east of UTC as RFC 5545's utc-offset: +0100,
// -0500, +053000 when there are seconds.
func utcOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

// yearBefore returns the local time of day of local on the same weekday
// of the same month a year earlier, as yearlyRule counts it from at.
func yearBefore(local, at time.Time) time.Time {
	y, m := local.Year()-1, local.Month()
	n := (at.Day()-1)/7 + 1
	last := at.AddDate(0, 0, 7).Month() != at.Month()
	first := time.Date(y, m, 1, local.Hour(), local.Minute(), local.Second(), 0, time.UTC)
	d := first.AddDate(0, 0, (int(at.Weekday())-int(first.Weekday())+7)%7)
	if last {
		for d.AddDate(0, 0, 7).Month() == m {
			d = d.AddDate(0, 0, 7)
		}
		return d
	}
	return d.AddDate(0, 0, 7*(n-1))
}
