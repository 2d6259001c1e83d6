package ics

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ical "github.com/arran4/golang-ical"
	"github.com/teambition/rrule-go"

	"github.com/rollwave/rollwave/contracts"
)

// onset is one change of offset that a VTIMEZONE says happens.
type onset struct {
	at     time.Time
	offset int
}

func parseOffset(t *testing.T, s string) int {
	t.Helper()
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:5])
	sec := 0
	if len(s) == 7 {
		sec, _ = strconv.Atoi(s[5:7])
	}
	return sign * (h*3600 + m*60 + sec)
}

// offsetsOf reads the exported VTIMEZONEs back and expands each
// observance's RRULE with rrule-go, as a calendar application does.
func offsetsOf(t *testing.T, exported string) map[string][]onset {
	t.Helper()
	cal, err := ical.ParseCalendar(strings.NewReader(exported))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]onset{}
	for _, tz := range cal.Timezones() {
		id := tz.GetProperty(ical.ComponentPropertyTzid).Value
		for _, c := range tz.Components {
			var props []ical.IANAProperty
			switch o := c.(type) {
			case *ical.Standard:
				props = o.Properties
			case *ical.Daylight:
				props = o.Properties
			default:
				t.Fatalf("%s: unexpected component %T", id, c)
			}
			get := func(name string) string {
				for _, p := range props {
					if p.IANAToken == name {
						return p.Value
					}
				}
				return ""
			}
			from, to := parseOffset(t, get("TZOFFSETFROM")), parseOffset(t, get("TZOFFSETTO"))
			wall, err := time.Parse("20060102T150405", get("DTSTART"))
			if err != nil {
				t.Fatal(err)
			}
			starts := []time.Time{wall}
			if r := get("RRULE"); r != "" {
				opt, err := rrule.StrToROption(r)
				if err != nil {
					t.Fatal(err)
				}
				opt.Dtstart = wall
				rr, err := rrule.NewRRule(*opt)
				if err != nil {
					t.Fatal(err)
				}
				starts = rr.Between(wall, time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), true)
			}
			for _, s := range starts {
				out[id] = append(out[id], onset{at: s.Add(-time.Duration(from) * time.Second), offset: to})
			}
		}
		slices.SortFunc(out[id], func(a, b onset) int { return a.at.Compare(b.at) })
	}
	return out
}

// The VTIMEZONE written for each named zone gives, at every hour of the
// windows' year, the offset Go's time zone database gives: the rules are
// those of the zone, for zones with and without daylight-saving time on
// both hemispheres.
func TestExportWritesVTimezones(t *testing.T) {
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "Asia/Kolkata"}
	var ws []contracts.Window
	for i, z := range zones {
		start := time.Date(2026, 3, 27, 15, 0, 0, 0, time.UTC)
		ws = append(ws, contracts.Window{ID: "w" + strconv.Itoa(i), Environment: "prod", Kind: contracts.WindowFreeze,
			Start: start, End: start.Add(63 * time.Hour), TimeZone: z, RRule: "FREQ=WEEKLY"})
	}
	ws = append(ws, contracts.Window{ID: "utc", Environment: "prod", Kind: contracts.WindowFreeze,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)})
	out := Export(ws, "Rollwave")
	if n := strings.Count(out, "BEGIN:VTIMEZONE"); n != len(zones) {
		t.Fatalf("%d VTIMEZONEs for %d zones (UTC needs none):\n%s", n, len(zones), out)
	}
	if strings.Index(out, "BEGIN:VTIMEZONE") > strings.Index(out, "BEGIN:VEVENT") {
		t.Fatal("a VTIMEZONE comes after the events")
	}
	got := offsetsOf(t, out)
	for _, z := range zones {
		loc, _ := time.LoadLocation(z)
		onsets := got[z]
		if len(onsets) == 0 {
			t.Fatalf("no VTIMEZONE for %s", z)
		}
		for at := time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC); at.Year() == 2026; at = at.Add(time.Hour) {
			i := -1
			for j, o := range onsets {
				if !o.at.After(at) {
					i = j
				}
			}
			if i < 0 {
				t.Fatalf("%s: the VTIMEZONE says nothing about %s", z, at)
			}
			if _, want := at.In(loc).Zone(); onsets[i].offset != want {
				t.Fatalf("%s at %s: VTIMEZONE offset %d, Go %d", z, at, onsets[i].offset, want)
			}
		}
	}
	// What Rollwave exports still imports into the same windows.
	back, err := Parse([]byte(out), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again := toWindows(t, back); len(again) != len(ws) || !again[1].Start.Equal(ws[1].Start) || again[1].TimeZone != "America/New_York" {
		t.Fatalf("round trip: %+v", again)
	}
}

func TestUTCOffset(t *testing.T) {
	for sec, want := range map[int]string{3600: "+0100", -18000: "-0500", 19800: "+0530", 0: "+0000", -(3600 + 30*60 + 15): "-013015"} {
		if got := utcOffset(sec); got != want {
			t.Errorf("utcOffset(%d) = %q, want %q", sec, got, want)
		}
	}
}
