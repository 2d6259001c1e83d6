package ics

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := []struct {
		in   string
		want Duration
	}{
		{"P1W", Duration{Days: 7}},
		{"P2D", Duration{Days: 2}},
		{"+P1DT12H", Duration{Days: 1, Exact: 12 * time.Hour}},
		{"PT90M", Duration{Exact: 90 * time.Minute}},
		{"PT1H30M15S", Duration{Exact: time.Hour + 30*time.Minute + 15*time.Second}},
		{"PT1H15S", Duration{Exact: time.Hour + 15*time.Second}},
		{"pt15m", Duration{Exact: 15 * time.Minute}},
	}
	for _, g := range good {
		if got, err := ParseDuration(g.in); err != nil || got != g.want {
			t.Errorf("ParseDuration(%q) = %+v, %v; want %+v", g.in, got, err, g.want)
		}
	}
	bad := map[string]string{
		"":           "not a DURATION",
		"P":          "not a DURATION",
		"1D":         "not a DURATION",
		"PT":         "nothing after T",
		"P1M":        "unit M is not allowed",
		"P1Y":        "unit Y is not allowed",
		"PT1D":       "unit D is not allowed",
		"P1H":        "unit H is not allowed",
		"PT30M1H":    "unit H is not allowed",
		"P1W2D":      "weeks has no other parts",
		"P1DT":       "nothing after T",
		"P1DTT1H":    "T twice",
		"P1.5D":      "unit . is not allowed",
		"-PT1H":      "negative",
		"P0D":        "zero",
		"PT1234567S": "more than 6 digits",
		"PT1H1H":     "unit H is not allowed",
	}
	for in, want := range bad {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func calendarWith(event string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e1\r\nSUMMARY:freeze\r\n" + event + "END:VEVENT\r\nEND:VCALENDAR\r\n")
}

// DURATION instead of DTEND: days are nominal (the wall-clock time is kept
// across a daylight-saving change), hours exact.
func TestImportDuration(t *testing.T) {
	tests := []struct {
		name, event string
		start, end  time.Time
	}{
		{"utc minutes", "DTSTART:20261224T080000Z\r\nDURATION:PT90M\r\n",
			utc("2026-12-24T08:00:00Z"), utc("2026-12-24T09:30:00Z")},
		{"a nominal day across the spring change", "DTSTART;TZID=Europe/Berlin:20260328T120000\r\nDURATION:P1D\r\n",
			utc("2026-03-28T11:00:00Z"), utc("2026-03-29T10:00:00Z")}, // 23 hours
		{"exact hours across the spring change", "DTSTART;TZID=Europe/Berlin:20260329T013000\r\nDURATION:PT2H\r\n",
			utc("2026-03-29T00:30:00Z"), utc("2026-03-29T02:30:00Z")}, // 04:30 CEST
		{"a week across the autumn change", "DTSTART;TZID=America/New_York:20261030T170000\r\nDURATION:P1W\r\n",
			utc("2026-10-30T21:00:00Z"), utc("2026-11-06T22:00:00Z")}, // 17:00 EST
		{"all-day", "DTSTART;VALUE=DATE:20261224\r\nDURATION:P3D\r\n",
			utc("2026-12-24T00:00:00Z"), utc("2026-12-27T00:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := Parse(calendarWith(tt.event), Options{Environments: []string{"qa"}})
			if err != nil {
				t.Fatal(err)
			}
			w := toWindows(t, evs)[0]
			if !w.Start.Equal(tt.start) || !w.End.Equal(tt.end) {
				t.Fatalf("window %s - %s, want %s - %s", w.Start, w.End, tt.start, tt.end)
			}
		})
	}
}

func TestImportDurationErrors(t *testing.T) {
	for name, c := range map[string]struct{ event, msg string }{
		"both":          {"DTSTART:20261224T080000Z\r\nDTEND:20261224T090000Z\r\nDURATION:PT1H\r\n", "both DTEND and DURATION"},
		"months":        {"DTSTART:20261224T080000Z\r\nDURATION:P1M\r\n", "DURATION: \"P1M\": unit M is not allowed"},
		"negative":      {"DTSTART:20261224T080000Z\r\nDURATION:-PT1H\r\n", "negative"},
		"hours all-day": {"DTSTART;VALUE=DATE:20261224\r\nDURATION:PT12H\r\n", "all-day event's DURATION must be in days"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(calendarWith(c.event), Options{Environments: []string{"qa"}})
			var le *LineError
			if !errors.As(err, &le) || le.Line != 3 || !strings.Contains(le.Msg, c.msg) {
				t.Fatalf("err = %v, want line 3: ...%s", err, c.msg)
			}
		})
	}
}

// FuzzParseDuration: no panic, and an accepted duration is positive and
// within bounds.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"P1W", "P1DT12H", "PT90M", "PT1H30M15S", "-P1D", "P", "PT999999H999999M999999S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d.Days < 0 || d.Exact < 0 || (d.Days == 0 && d.Exact == 0) {
			t.Fatalf("ParseDuration(%q) = %+v", s, d)
		}
	})
}
