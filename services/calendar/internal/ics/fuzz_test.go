package ics

import (
	"os"
	"testing"

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
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := Parse(data, Options{Environments: []string{"qa"}})
		if err != nil {
			return
		}
		for _, e := range evs {
			if w, err := windows.Parse(e.Input, func() string { return "f" }); err == nil {
				_ = windows.Occurrences(w, w.Start, w.Start.Add(windows.Horizon))
				_ = Export(nil, "x")
			}
		}
	})
}
