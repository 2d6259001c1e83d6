package ics

import (
	"os"
	"strconv"
	"testing"

	"github.com/rollwave/rollwave/contracts"

	"github.com/rollwave/rollwave/services/calendar/internal/windows"
)

// FuzzParse feeds arbitrary files to the importer: it must not panic, and
// what it accepts must either parse as windows or be refused cleanly.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"google.ics", "outlook.ics", "holidays.ics"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:d\r\nDTSTART;TZID=Europe/Berlin:20260328T120000\r\nDURATION:P1DT2H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261224\r\nDURATION:P1W\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := Parse(data, Options{Environments: []string{"qa"}})
		if err != nil {
			return
		}
		var ws []contracts.Window
		for _, e := range evs {
			if w, err := windows.Parse(e.Input, func() string { return "f" + strconv.Itoa(len(ws)) }); err == nil {
				_ = windows.Occurrences(w, w.Start, w.Start.Add(windows.Horizon))
				ws = append(ws, w)
			}
		}
		// What is accepted exports, with its VTIMEZONEs, into a file that
		// imports again.
		out := Export(ws, "x")
		back, err := Parse([]byte(out), Options{})
		if err != nil {
			t.Fatalf("exported file does not import: %v\n%s", err, out)
		}
		if len(back) != len(ws) {
			t.Fatalf("%d windows exported, %d imported", len(ws), len(back))
		}
	})
}
