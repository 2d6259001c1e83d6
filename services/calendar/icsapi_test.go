package calendar

import (
	"os"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestImportAllOrNothingAndExportFeed(t *testing.T) {
	e := newEnv(t)
	e.start()
	google, err := os.ReadFile("internal/ics/testdata/google.ics")
	if err != nil {
		t.Fatal(err)
	}
	// The last event lacks its end: refused naming its line, and the
	// events before it are not imported either.
	bad := strings.Replace(string(google), "DTEND:20261201T160000Z\r\n", "", 1)
	_, err = request[contracts.WindowList](e, contracts.APICalendarImport, contracts.CalendarImport{ICS: bad, Environments: []string{"production"}})
	wantCode(t, err, contracts.CodeInvalid, "ics")
	if !strings.Contains(err.Error(), "line 62") {
		t.Fatalf("error does not name the line: %v", err)
	}
	if got := e.list(contracts.WindowListQuery{}); len(got) != 0 {
		t.Fatalf("partly imported: %v", got)
	}
	// An event that is not a valid window (no environment given) names
	// the first event's line.
	_, err = request[contracts.WindowList](e, contracts.APICalendarImport, contracts.CalendarImport{ICS: string(google)})
	if err == nil || !strings.Contains(err.Error(), "line 26") || !strings.Contains(err.Error(), "environment") {
		t.Fatalf("import without environment: %v", err)
	}

	l, err := request[contracts.WindowList](e, contracts.APICalendarImport, contracts.CalendarImport{ICS: string(google),
		Environments: []string{"production"}, CreatedBy: "alice"})
	if err != nil || len(l.Windows) != 3 {
		t.Fatalf("import = %+v, %v", l, err)
	}
	// As reservations for a team, the same file conflicts with itself
	// once imported: refused whole, naming the line and the entry.
	_, err = request[contracts.WindowList](e, contracts.APICalendarImport, contracts.CalendarImport{ICS: string(google),
		Environments: []string{"qa"}, Kind: contracts.WindowReservation, Team: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = request[contracts.WindowList](e, contracts.APICalendarImport, contracts.CalendarImport{ICS: string(google),
		Environments: []string{"qa"}, Kind: contracts.WindowReservation, Team: "search"})
	wantCode(t, err, contracts.CodeConflict, "ics")
	if !strings.Contains(err.Error(), "line 26") || !strings.Contains(err.Error(), "team payments") {
		t.Fatalf("conflict = %v", err)
	}
	if got := e.list(contracts.WindowListQuery{Environment: "qa"}); len(got) != 3 {
		t.Fatalf("qa windows = %v", got)
	}

	feed, err := request[contracts.CalendarFeed](e, contracts.APICalendarExport, contracts.CalendarExport{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(feed.ICS, "BEGIN:VEVENT") != 3 || !strings.Contains(feed.ICS, "RRULE:FREQ=WEEKLY;BYDAY=FR") ||
		!strings.Contains(feed.ICS, "UID:"+l.Windows[0].ID+"@rollwave") {
		t.Fatalf("feed:\n%s", feed.ICS)
	}
	all, err := request[contracts.CalendarFeed](e, contracts.APICalendarExport, contracts.CalendarExport{})
	if err != nil || strings.Count(all.ICS, "BEGIN:VEVENT") != 6 {
		t.Fatalf("full feed: %v\n%s", err, all.ICS)
	}
}
