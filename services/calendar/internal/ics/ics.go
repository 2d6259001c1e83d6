// Package ics reads iCalendar (RFC 5545) files into window inputs and
// writes windows as an iCalendar feed. Parsing is github.com/arran4/
// golang-ical's; this package adds line numbers to errors, maps events to
// windows and keeps recurring events recurring (RRULE and EXDATE are
// carried, never expanded).
package ics

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	ical "github.com/arran4/golang-ical"

	"github.com/rollwave/rollwave/contracts"
)

// MaxSize bounds an imported file.
const MaxSize = 512 << 10

// maxEvents bounds the events of one import.
const maxEvents = 2000

// Options say what the events of a file become.
type Options struct {
	Environments []string
	Kind         contracts.WindowKind
	Team, Label  string
	// TimeZone reads floating times and all-day dates when the file names
	// no zone (X-WR-TIMEZONE); UTC when empty.
	TimeZone  string
	CreatedBy string
}

// Event is a window input with the line of the event it came from.
type Event struct {
	Line  int
	UID   string
	Input contracts.WindowInput
}

// LineError names the line of a problem.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func lineErr(line int, format string, args ...any) error {
	return &LineError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

type logical struct {
	line int
	text string
}

// scan unfolds content lines (RFC 5545 3.1), remembering where each
// starts, and checks that each is a property and that BEGIN and END nest.
func scan(data []byte) ([]logical, []int, error) {
	var out []logical
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxSize+1)
	n := 0
	for sc.Scan() {
		n++
		t := strings.TrimSuffix(sc.Text(), "\r")
		if t == "" {
			continue
		}
		if (t[0] == ' ' || t[0] == '\t') && len(out) > 0 {
			out[len(out)-1].text += t[1:]
			continue
		}
		out = append(out, logical{line: n, text: t})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, lineErr(n+1, "%s", err)
	}
	var stack []string
	var events []int
	for _, l := range out {
		p, err := ical.ParseProperty(ical.ContentLine(l.text))
		if err != nil || p == nil {
			return nil, nil, lineErr(l.line, "not an iCalendar property line (NAME[;PARAM=...]:VALUE): %q", clip(l.text))
		}
		switch strings.ToUpper(p.IANAToken) {
		case "BEGIN":
			v := strings.ToUpper(p.Value)
			if len(stack) == 0 && v != "VCALENDAR" {
				return nil, nil, lineErr(l.line, "the file must start with BEGIN:VCALENDAR, got BEGIN:%s", clip(p.Value))
			}
			if len(stack) == 1 && v == "VEVENT" {
				events = append(events, l.line)
			}
			stack = append(stack, v)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != strings.ToUpper(p.Value) {
				want := "nothing"
				if len(stack) > 0 {
					want = "END:" + stack[len(stack)-1]
				}
				return nil, nil, lineErr(l.line, "END:%s does not close what is open (want %s)", clip(p.Value), want)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				return nil, nil, lineErr(l.line, "property %s outside BEGIN:VCALENDAR", clip(p.IANAToken))
			}
		}
	}
	if len(out) == 0 {
		return nil, nil, lineErr(1, "empty file: want BEGIN:VCALENDAR")
	}
	if len(stack) > 0 {
		return nil, nil, lineErr(n, "END:%s is missing at the end of the file", stack[len(stack)-1])
	}
	return out, events, nil
}

// Parse reads a file into window inputs, one per event, failing on the
// first problem with its line. Cancelled events are left out; a modified
// occurrence (RECURRENCE-ID) becomes its own window and an exception of
// its series.
func Parse(data []byte, opt Options) ([]Event, error) {
	if len(data) > MaxSize {
		return nil, lineErr(1, "file is %d bytes, more than the %d allowed", len(data), MaxSize)
	}
	_, lines, err := scan(data)
	if err != nil {
		return nil, err
	}
	cal, err := ical.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("ics: %w", err)
	}
	defZone := opt.TimeZone
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == "X-WR-TIMEZONE" && defZone == "" {
			defZone = p.Value
		}
	}
	if defZone == "" {
		defZone = "UTC"
	}
	evs := cal.Events()
	if len(evs) != len(lines) {
		return nil, lineErr(1, "found %d events but %d BEGIN:VEVENT lines", len(evs), len(lines))
	}
	if len(evs) > maxEvents {
		return nil, lineErr(lines[maxEvents], "more than %d events", maxEvents)
	}
	var out []Event
	series := map[string]int{} // UID -> index in out of the recurring event
	var modified []Event
	for i, ev := range evs {
		line := lines[i]
		if p := ev.GetProperty(ical.ComponentPropertyStatus); p != nil && strings.EqualFold(p.Value, "CANCELLED") {
			continue
		}
		e, recID, err := event(ev, line, defZone, opt)
		if err != nil {
			return nil, err
		}
		if recID != "" {
			e.Input.ExDates = []string{recID} // carried to the series below
			modified = append(modified, e)
			continue
		}
		if e.Input.RRule != "" {
			series[e.UID] = len(out)
		}
		out = append(out, e)
	}
	for _, m := range modified {
		i, ok := series[m.UID]
		if !ok {
			return nil, lineErr(m.Line, "RECURRENCE-ID of UID %q, which has no recurring event in this file", clip(m.UID))
		}
		out[i].Input.ExDates = append(out[i].Input.ExDates, m.Input.ExDates...)
		m.Input.ExDates = nil
		out = append(out, m)
	}
	return out, nil
}

func event(ev *ical.VEvent, line int, defZone string, opt Options) (Event, string, error) {
	uid := ""
	if p := ev.GetProperty(ical.ComponentPropertyUniqueId); p != nil {
		uid = p.Value
	}
	if uid == "" {
		return Event{}, "", lineErr(line, "event has no UID")
	}
	in := contracts.WindowInput{Environments: slices.Clone(opt.Environments), Kind: opt.Kind, Team: opt.Team, Label: opt.Label,
		CreatedBy: opt.CreatedBy}
	if p := ev.GetProperty(ical.ComponentPropertySummary); p != nil {
		in.Reason = unescape(p.Value)
	}
	// A file Rollwave exported says what each event was; the options win.
	if p := ev.GetProperty(propReason); p != nil {
		in.Reason = unescape(p.Value)
	}
	if p := ev.GetProperty(propKind); p != nil && in.Kind == "" {
		in.Kind = contracts.WindowKind(p.Value)
	}
	if p := ev.GetProperty(propEnvs); p != nil && len(in.Environments) == 0 {
		in.Environments = strings.Split(p.Value, ",")
	}
	if in.Team == "" && in.Label == "" && in.Kind == contracts.WindowReservation {
		if p := ev.GetProperty(propTeam); p != nil {
			in.Team = p.Value
		}
		if p := ev.GetProperty(propLabel); p != nil {
			in.Label = p.Value
		}
	}
	start := ev.GetProperty(ical.ComponentPropertyDtStart)
	if start == nil {
		return Event{}, "", lineErr(line, "event %q has no DTSTART", clip(uid))
	}
	s, zone, allDay, err := when(start, defZone)
	if err != nil {
		return Event{}, "", lineErr(line, "event %q: DTSTART: %s", clip(uid), err)
	}
	in.Start, in.TimeZone = s, zone
	dur := ev.GetProperty(ical.ComponentPropertyDuration)
	if dur != nil && ev.GetProperty(ical.ComponentPropertyDtEnd) != nil {
		return Event{}, "", lineErr(line, "event %q has both DTEND and DURATION; RFC 5545 allows one", clip(uid))
	}
	if dur != nil {
		d, err := ParseDuration(dur.Value)
		if err != nil {
			return Event{}, "", lineErr(line, "event %q: DURATION: %s", clip(uid), err)
		}
		if in.End, err = endAfter(s, zone, allDay, d); err != nil {
			return Event{}, "", lineErr(line, "event %q: DURATION: %s", clip(uid), err)
		}
	} else if end := ev.GetProperty(ical.ComponentPropertyDtEnd); end != nil {
		e, ezone, _, err := when(end, defZone)
		if err != nil {
			return Event{}, "", lineErr(line, "event %q: DTEND: %s", clip(uid), err)
		}
		if ezone != zone && !strings.HasSuffix(e, "Z") && !strings.HasSuffix(s, "Z") {
			return Event{}, "", lineErr(line, "event %q: DTSTART and DTEND are in different zones (%s, %s)", clip(uid), zone, ezone)
		}
		in.End = e
	} else if allDay {
		d, _ := time.Parse("2006-01-02", s)
		in.End = d.AddDate(0, 0, 1).Format("2006-01-02")
	} else {
		return Event{}, "", lineErr(line, "event %q has neither DTEND nor DURATION", clip(uid))
	}
	for _, p := range ev.Properties {
		switch p.IANAToken {
		case string(ical.ComponentPropertyRrule):
			if in.RRule != "" {
				return Event{}, "", lineErr(line, "event %q has more than one RRULE", clip(uid))
			}
			in.RRule = p.Value
		case string(ical.ComponentPropertyExdate):
			for _, v := range strings.Split(p.Value, ",") {
				bp := p.BaseProperty
				bp.Value = v
				x, _, _, err := when(&ical.IANAProperty{BaseProperty: bp}, zone)
				if err != nil {
					return Event{}, "", lineErr(line, "event %q: EXDATE: %s", clip(uid), err)
				}
				in.ExDates = append(in.ExDates, x)
			}
		}
	}
	recID := ""
	if p := ev.GetProperty(ical.ComponentPropertyRecurrenceId); p != nil {
		r, _, _, err := when(p, zone)
		if err != nil {
			return Event{}, "", lineErr(line, "event %q: RECURRENCE-ID: %s", clip(uid), err)
		}
		recID = r
		if in.RRule != "" {
			return Event{}, "", lineErr(line, "event %q: a modified occurrence cannot recur itself", clip(uid))
		}
	}
	return Event{Line: line, UID: uid, Input: in}, recID, nil
}

// when reads a DATE-TIME or DATE value as the window input forms: an
// RFC 3339 instant for UTC ("...Z"), a local time with its zone (TZID, or
// def for floating times and dates).
func when(p *ical.IANAProperty, def string) (value, zone string, allDay bool, err error) {
	v := strings.TrimSpace(p.Value)
	zone = def
	if tz := p.ICalParameters[string(ical.ParameterTzid)]; len(tz) > 0 {
		zone = ianaZone(strings.Trim(tz[0], `"`))
	}
	isDate := false
	if vt := p.ICalParameters[string(ical.ParameterValue)]; len(vt) > 0 && strings.EqualFold(vt[0], "DATE") {
		isDate = true
	}
	if isDate || (len(v) == 8 && !strings.Contains(v, "T")) {
		t, err := time.Parse("20060102", v)
		if err != nil {
			return "", "", false, fmt.Errorf("%q is not a DATE such as 20261224", clip(v))
		}
		return t.Format("2006-01-02"), zone, true, nil
	}
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse("20060102T150405Z", v)
		if err != nil {
			return "", "", false, fmt.Errorf("%q is not a UTC DATE-TIME such as 20261224T080000Z", clip(v))
		}
		return t.Format(time.RFC3339), zone, false, nil
	}
	t, err := time.Parse("20060102T150405", v)
	if err != nil {
		return "", "", false, fmt.Errorf("%q is not a DATE-TIME such as 20261224T080000", clip(v))
	}
	return t.Format("2006-01-02T15:04:05"), zone, false, nil
}

// windowsZones maps the zone names Outlook writes to IANA names; an
// unknown name is passed on and refused, naming it, by the window parser.
var windowsZones = map[string]string{
	"W. Europe Standard Time":        "Europe/Berlin",
	"Romance Standard Time":          "Europe/Paris",
	"Central Europe Standard Time":   "Europe/Budapest",
	"Central European Standard Time": "Europe/Warsaw",
	"GMT Standard Time":              "Europe/London",
	"Eastern Standard Time":          "America/New_York",
	"Central Standard Time":          "America/Chicago",
	"Mountain Standard Time":         "America/Denver",
	"Pacific Standard Time":          "America/Los_Angeles",
	"Tokyo Standard Time":            "Asia/Tokyo",
	"India Standard Time":            "Asia/Kolkata",
	"AUS Eastern Standard Time":      "Australia/Sydney",
	"UTC":                            "UTC",
}

func ianaZone(name string) string {
	if z, ok := windowsZones[name]; ok {
		return z
	}
	return name
}

func unescape(s string) string {
	r := strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`)
	return r.Replace(s)
}

func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
