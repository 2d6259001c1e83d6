package ics

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDurationDigits bounds each number of a DURATION, so that the sum of
// its parts fits a time.Duration.
const maxDurationDigits = 6

// Duration is an RFC 5545 DURATION (3.3.6): Days counts nominal days (a
// week is 7), which keep the wall-clock time across daylight-saving
// changes; Exact is the hours, minutes and seconds, which are exact.
type Duration struct {
	Days  int
	Exact time.Duration
}

// ParseDuration reads a dur-value: "P1W", "P2D", "P1DT12H", "PT90M",
// "PT1H30M15S". Units come in the order of the grammar, each at most once;
// a week stands alone. The duration of an event must be positive, so a
// sign other than "+" and a zero duration are refused. (It is written here
// rather than taken from an ISO 8601 library, because those accept years,
// months and fractions, which RFC 5545 does not.)
func ParseDuration(s string) (Duration, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "+")
	if strings.HasPrefix(v, "-") {
		return Duration{}, fmt.Errorf("%q is negative: an event's DURATION must be positive", clip(s))
	}
	rest, ok := strings.CutPrefix(strings.ToUpper(v), "P")
	if !ok || rest == "" {
		return Duration{}, fmt.Errorf("%q is not a DURATION such as P1D, PT2H30M or P1W", clip(s))
	}
	var d Duration
	units := "WDTHMS"
	inTime := false
	seen := 0
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || strings.IndexByte(units, 'T') < 0 {
				return Duration{}, fmt.Errorf("%q has T twice or in the wrong place", clip(s))
			}
			inTime = true
			units = units[strings.IndexByte(units, 'T')+1:]
			rest = rest[1:]
			if rest == "" {
				return Duration{}, fmt.Errorf("%q has nothing after T", clip(s))
			}
			continue
		}
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n == len(rest) {
			return Duration{}, fmt.Errorf("%q is not a DURATION such as P1D, PT2H30M or P1W", clip(s))
		}
		if n > maxDurationDigits {
			return Duration{}, fmt.Errorf("%q has a number of more than %d digits", clip(s), maxDurationDigits)
		}
		num, _ := strconv.Atoi(rest[:n])
		unit := rest[n]
		i := strings.IndexByte(units, unit)
		timeUnit := unit == 'H' || unit == 'M' || unit == 'S'
		if i < 0 || timeUnit != inTime {
			return Duration{}, fmt.Errorf("%q: unit %c is not allowed there (P[nW] or P[nD][T[nH][nM][nS]])", clip(s), unit)
		}
		if unit == 'W' && len(rest) > n+1 {
			return Duration{}, fmt.Errorf("%q: a duration in weeks has no other parts", clip(s))
		}
		units = units[i+1:]
		rest = rest[n+1:]
		seen++
		switch unit {
		case 'W':
			d.Days = 7 * num
		case 'D':
			d.Days = num
		case 'H':
			d.Exact += time.Duration(num) * time.Hour
		case 'M':
			d.Exact += time.Duration(num) * time.Minute
		case 'S':
			d.Exact += time.Duration(num) * time.Second
		}
	}
	if seen == 0 {
		return Duration{}, fmt.Errorf("%q is not a DURATION such as P1D, PT2H30M or P1W", clip(s))
	}
	if d.Days == 0 && d.Exact == 0 {
		return Duration{}, fmt.Errorf("%q is zero: an event's DURATION must be positive", clip(s))
	}
	return d, nil
}

// endAfter returns the end of an event that starts at start (a value as
// when returns it, in zone) and lasts d, in a form the window parser reads:
// a date for an all-day start, else an instant, or a local time when the
// duration is in whole days (so the window parser resolves it as it
// resolves any local end).
func endAfter(start, zone string, allDay bool, d Duration) (string, error) {
	if allDay {
		if d.Exact != 0 {
			return "", fmt.Errorf("an all-day event's DURATION must be in days or weeks")
		}
		t, err := time.Parse("2006-01-02", start)
		if err != nil {
			return "", err
		}
		return t.AddDate(0, 0, d.Days).Format("2006-01-02"), nil
	}
	if t, err := time.Parse(time.RFC3339, start); err == nil {
		return t.AddDate(0, 0, d.Days).Add(d.Exact).UTC().Format(time.RFC3339), nil
	}
	wall, err := time.Parse("2006-01-02T15:04:05", start)
	if err != nil {
		return "", err
	}
	wall = wall.AddDate(0, 0, d.Days) // nominal days keep the wall-clock time
	if d.Exact == 0 {
		return wall.Format("2006-01-02T15:04:05"), nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return "", fmt.Errorf("unknown time zone %q", clip(zone))
	}
	at := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
	return at.Add(d.Exact).Format(time.RFC3339), nil
}
