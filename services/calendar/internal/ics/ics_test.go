package ics

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/calendar/internal/windows"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func toWindows(t *testing.T, evs []Event) []contracts.Window {
	t.Helper()
	var out []contracts.Window
	for i, e := range evs {
		id := "ev-" + string(rune('a'+i))
		w, err := windows.Parse(e.Input, func() string { return id })
		if err != nil {
			t.Fatalf("event at line %d: %v", e.Line, err)
		}
		out = append(out, w)
	}
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestGoogleExport(t *testing.T) {
	evs, err := Parse(read(t, "google.ics"), Options{Environments: []string{"production"}})
	if err != nil {
		t.Fatal(err)
	}
	// The cancelled event is left out; the modified occurrence is its
	// own window, and an exception of its series.
	if len(evs) != 3 {
		t.Fatalf("events = %+v", evs)
	}
	if evs[0].Line != 26 || evs[0].UID != "5qk3c1v0o7b8n2m4l6j8h0g2f4@google.com" || evs[2].Line != 43 {
		t.Fatalf("lines/uids = %d %q, %d", evs[0].Line, evs[0].UID, evs[2].Line)
	}
	ws := toWindows(t, evs)
	weekend, migration, moved := ws[0], ws[1], ws[2]
	if weekend.RRule != "FREQ=WEEKLY;BYDAY=FR" || weekend.TimeZone != "Europe/Berlin" || len(weekend.ExDates) != 2 || weekend.Reason != "Weekend freeze" {
		t.Fatalf("weekend = %+v", weekend)
	}
	if migration.Reason != "Database migration, phase 2" || !migration.Start.Equal(utc("2026-12-01T14:00:00Z")) {
		t.Fatalf("migration = %+v", migration)
	}
	// April: the 3rd (Easter) excepted, the 17th moved to 12:00.
	var got []string
	for _, w := range []contracts.Window{weekend, moved} {
		for _, o := range windows.Occurrences(w, utc("2026-03-31T00:00:00Z"), utc("2026-04-25T00:00:00Z")) {
			got = append(got, o.Start.Format(time.RFC3339))
		}
	}
	want := []string{"2026-04-10T14:00:00Z", "2026-04-24T14:00:00Z", "2026-04-17T10:00:00Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("April starts %v, want %v", got, want)
	}
}

func TestOutlookExport(t *testing.T) {
	evs, err := Parse(read(t, "outlook.ics"), Options{Environments: []string{"production", "staging"}, Kind: contracts.WindowMaintenance})
	if err != nil {
		t.Fatal(err)
	}
	ws := toWindows(t, evs)
	nightly, thanks := ws[0], ws[1]
	if nightly.TimeZone != "America/New_York" || nightly.Kind != contracts.WindowMaintenance ||
		strings.Join(nightly.Environments, ",") != "production,staging" {
		t.Fatalf("nightly = %+v", nightly)
	}
	// 09:00 New York: EDT until Nov 1, then EST; Nov 2 excepted.
	var got []string
	for _, o := range windows.Occurrences(nightly, utc("2026-10-31T00:00:00Z"), utc("2026-11-04T00:00:00Z")) {
		got = append(got, o.Start.Format(time.RFC3339))
	}
	if want := "2026-10-31T13:00:00Z 2026-11-01T14:00:00Z 2026-11-03T14:00:00Z"; strings.Join(got, " ") != want {
		t.Fatalf("occurrences %v, want %s", got, want)
	}
	// An all-day event with no zone of its own is read in the import's.
	if !thanks.Start.Equal(utc("2026-11-26T00:00:00Z")) || !thanks.End.Equal(utc("2026-11-28T00:00:00Z")) {
		t.Fatalf("thanksgiving = %+v", thanks)
	}
}

func TestHolidayCalendar(t *testing.T) {
	evs, err := Parse(read(t, "holidays.ics"), Options{Environments: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	ws := toWindows(t, evs)
	if len(ws) != 6 {
		t.Fatalf("%d holidays", len(ws))
	}
	// X-WR-TIMEZONE makes the days German days.
	if ws[0].Reason != "Christmas Day" || ws[0].Environment != "*" || !ws[0].Start.Equal(utc("2026-12-24T23:00:00Z")) {
		t.Fatalf("christmas = %+v", ws[0])
	}
	a := windows.Admit(ws, "production", utc("2026-12-26T12:00:00Z"))
	if a.Allowed || a.Until == nil || !a.Until.Equal(utc("2026-12-26T23:00:00Z")) {
		t.Fatalf("admission on Boxing Day = %+v", a)
	}
}

// Export keeps recurrence as RRULE and EXDATE, UIDs stable, and reads
// back into the same windows.
func TestExportRoundTrip(t *testing.T) {
	for _, name := range []string{"google.ics", "outlook.ics", "holidays.ics"} {
		t.Run(name, func(t *testing.T) {
			evs, err := Parse(read(t, name), Options{Environments: []string{"production", "qa"}, Kind: contracts.WindowReservation, Team: "payments"})
			if err != nil {
				t.Fatal(err)
			}
			ws := toWindows(t, evs)
			out := Export(ws, "Rollwave")
			if out != Export(ws, "Rollwave") {
				t.Fatal("export is not stable")
			}
			for _, w := range ws {
				if !strings.Contains(out, "UID:"+w.ID+"@rollwave") {
					t.Fatalf("no stable UID for %s in\n%s", w.ID, out)
				}
				if w.RRule != "" && !strings.Contains(out, "RRULE:"+w.RRule) {
					t.Fatalf("rrule %q not kept in\n%s", w.RRule, out)
				}
			}
			back, err := Parse([]byte(out), Options{})
			if err != nil {
				t.Fatalf("exported file does not import: %v\n%s", err, out)
			}
			again := toWindows(t, back)
			if !reflect.DeepEqual(again, ws) {
				t.Fatalf("round trip\n got %+v\nwant %+v", again, ws)
			}
		})
	}
}

func TestMalformedNamesTheLine(t *testing.T) {
	good := string(read(t, "google.ics"))
	cases := []struct {
		name, from, to string
		line           int
		msg            string
	}{
		{"no colon", "SUMMARY:Weekend freeze\r\n", "SUMMARY Weekend freeze\r\n", 40, "not an iCalendar property line"},
		{"unbalanced", "END:VALARM\r\n", "END:VTODO\r\n", 72, "does not close"},
		{"bad date", "DTSTART:20261201T140000Z", "DTSTART:2026-12-01", 62, "DTSTART"},
		{"missing end", "DTEND:20261201T160000Z\r\n", "", 62, "neither DTEND nor DURATION"},
		{"no uid", "UID:9z8y7x6w5v@google.com\r\n", "", 62, "no UID"},
		{"truncated", "END:VCALENDAR\r\n", "", 73, "END:VCALENDAR is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(good, c.from, c.to, 1)
			if bad == good {
				t.Fatal("case does not change the file")
			}
			_, err := Parse([]byte(bad), Options{Environments: []string{"qa"}})
			var le *LineError
			if !errors.As(err, &le) || le.Line != c.line || !strings.Contains(le.Msg, c.msg) {
				t.Fatalf("err = %v, want line %d: ...%s", err, c.line, c.msg)
			}
		})
	}
	if _, err := Parse([]byte("hello"), Options{}); err == nil || !strings.HasPrefix(err.Error(), "line 1:") {
		t.Fatalf("not a calendar: %v", err)
	}
}
