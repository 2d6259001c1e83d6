package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestCalendarOccurrencesWeekImportExport(t *testing.T) {
	a := startAPI(t)
	mon := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	weekend := contracts.Window{ID: "w-1", Environment: "prod", Kind: contracts.WindowFreeze, Start: mon.Add(-68 * time.Hour), End: mon.Add(8 * time.Hour),
		TimeZone: "UTC", RRule: "FREQ=WEEKLY;BYDAY=FR", Reason: "weekend"}
	res := contracts.Window{ID: "w-2", Environments: []string{"qa", "staging"}, Kind: contracts.WindowReservation, Team: "payments",
		Start: mon.Add(9 * time.Hour), End: mon.Add(12 * time.Hour)}
	var listQ []string
	a.respond(contracts.APICalendarList, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.WindowListQuery
		_ = json.Unmarshal(m.Data, &q)
		listQ = append(listQ, string(m.Data))
		l := contracts.WindowList{Windows: []contracts.Window{weekend, res}}
		if q.From != nil {
			l.Occurrences = []contracts.Occurrence{
				{WindowID: "w-1", Start: weekend.Start, End: weekend.End},
				{WindowID: "w-2", Start: res.Start, End: res.End},
				{WindowID: "w-1", Start: weekend.Start.AddDate(0, 0, 7), End: weekend.End.AddDate(0, 0, 7)},
			}
		}
		return l, nil
	})
	var imported contracts.CalendarImport
	a.respond(contracts.APICalendarImport, func(m *nats.Msg) (any, *contracts.Error) {
		_ = json.Unmarshal(m.Data, &imported)
		return contracts.WindowList{Windows: []contracts.Window{weekend}}, nil
	})
	a.respond(contracts.APICalendarExport, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.CalendarExport
		_ = json.Unmarshal(m.Data, &q)
		return contracts.CalendarFeed{ICS: "BEGIN:VCALENDAR\r\nX-WR-CALNAME:Rollwave " + q.Environment + "\r\nEND:VCALENDAR\r\n"}, nil
	})

	code, out, errOut := a.run("calendar", "list", "--env", "prod", "--from", "2026-11-27", "--to", "2026-12-07")
	if code != 0 || strings.Count(out, "w-1") != 2 || !strings.Contains(out, "qa,staging") ||
		!strings.Contains(out, "2026-11-27T04:00:00Z  2026-11-30T08:00:00Z  weekend") {
		t.Fatalf("list occurrences: code %d, out:\n%s\nstderr %s", code, out, errOut)
	}
	if q := listQ[len(listQ)-1]; !strings.Contains(q, `"from":"2026-11-27T00:00:00Z"`) || !strings.Contains(q, `"environment":"prod"`) {
		t.Fatalf("list query %s", q)
	}
	code, _, errOut = a.run("calendar", "list", "--from", "2026-11-27")
	if code != exitUsage || !strings.Contains(errOut, "--from and --to go together") {
		t.Fatalf("from alone: %d %s", code, errOut)
	}

	code, out, _ = a.run("calendar", "week", "--start", "2026-11-30")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "         Mon 30   Tue 01") {
		t.Fatalf("week: code %d, out:\n%s", code, out)
	}
	// prod: frozen Monday until 08:00 (cells 00-03, 03-06, 06-09), open,
	// frozen again from Friday 04:00 (cell 03-06 on) through the weekend.
	if lines[1] != "prod     FFF..... ........ ........ ........ .FFFFFFF FFFFFFFF FFFFFFFF " {
		t.Fatalf("prod row %q", lines[1])
	}
	if lines[2] != "qa       ...R.... ........ ........ ........ ........ ........ ........ " {
		t.Fatalf("qa row %q", lines[2])
	}

	dir := t.TempDir()
	ics := filepath.Join(dir, "team.ics")
	if err := os.WriteFile(ics, []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = a.run("calendar", "import", ics, "--env", "prod,qa", "--kind", "freeze")
	if code != 0 || !strings.Contains(out, "imported 1 windows") || strings.Join(imported.Environments, ",") != "prod,qa" ||
		imported.Kind != contracts.WindowFreeze || !strings.HasPrefix(imported.ICS, "BEGIN:VCALENDAR") {
		t.Fatalf("import: code %d, out %q, stderr %q, sent %+v", code, out, errOut, imported)
	}
	code, out, _ = a.run("calendar", "export", "--env", "prod")
	if code != 0 || !strings.Contains(out, "X-WR-CALNAME:Rollwave prod") {
		t.Fatalf("export: code %d, out %q", code, out)
	}
	file := filepath.Join(dir, "out.ics")
	if code, _, errOut = a.run("calendar", "export", "-f", file); code != 0 {
		t.Fatalf("export to file: %d %s", code, errOut)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "X-WR-CALNAME:Rollwave \r\n") {
		t.Fatalf("exported file %q, %v", b, err)
	}
}
