package windows

import (
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func mustParse(t *testing.T, id string, in contracts.WindowInput) contracts.Window {
	t.Helper()
	w, err := Parse(in, func() string { return id })
	if err != nil {
		t.Fatalf("parse %s: %v", id, err)
	}
	return w
}

func starts(os []contracts.Occurrence) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.Start.Format(time.RFC3339)+"/"+o.End.Format(time.RFC3339))
	}
	return out
}

// Weekends Friday 16:00 to Monday 08:00 in Berlin around the change to
// summer time (2026-03-29) and back (2026-10-25), with one weekend
// excepted: the wall clock stays, the UTC instants move.
func TestRecurrenceBerlinAcrossDST(t *testing.T) {
	w := mustParse(t, "weekend", contracts.WindowInput{Environment: "production", Start: "2026-03-20T16:00", End: "2026-03-23T08:00",
		TimeZone: "Europe/Berlin", RRule: "FREQ=WEEKLY;BYDAY=FR", ExDates: []string{"2026-04-03T16:00"}})
	got := starts(Occurrences(w, utc("2026-03-20T00:00:00Z"), utc("2026-04-11T00:00:00Z")))
	want := []string{
		"2026-03-20T15:00:00Z/2026-03-23T07:00:00Z", // CET both ends
		"2026-03-27T15:00:00Z/2026-03-30T06:00:00Z", // clocks go forward on Sunday: Monday 08:00 CEST
		// 2026-04-03 excepted (Good Friday is on the holiday calendar).
		"2026-04-10T14:00:00Z/2026-04-13T06:00:00Z", // CEST both ends
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("occurrences\n got %v\nwant %v", got, want)
	}
	autumn := starts(Occurrences(w, utc("2026-10-23T00:00:00Z"), utc("2026-10-27T00:00:00Z")))
	if want := []string{"2026-10-23T14:00:00Z/2026-10-26T07:00:00Z"}; strings.Join(autumn, " ") != strings.Join(want, " ") {
		t.Fatalf("autumn occurrences %v, want %v", autumn, want)
	}
	// Inside the Easter exception production is open, and the answer says
	// until when: the next weekend's 16:00 CEST.
	a := Admit([]contracts.Window{w}, "production", utc("2026-04-04T12:00:00Z"))
	if !a.Allowed || a.Until == nil || !a.Until.Equal(utc("2026-04-10T14:00:00Z")) {
		t.Fatalf("admission in the excepted weekend = %+v", a)
	}
	a = Admit([]contracts.Window{w}, "production", utc("2026-03-29T12:00:00Z"))
	if a.Allowed || a.Window.ID != "weekend" || !a.Until.Equal(utc("2026-03-30T06:00:00Z")) ||
		!a.Occurrence.Start.Equal(utc("2026-03-27T15:00:00Z")) {
		t.Fatalf("admission on the DST Sunday = %+v", a)
	}
}

// A daily 09:00-09:30 New York maintenance window across both US changes
// (2026-03-08 and 2026-11-01), and a freeze overlapping one occurrence.
func TestRecurrenceNewYorkMaintenanceAndOverlappingFreeze(t *testing.T) {
	m := mustParse(t, "maint", contracts.WindowInput{Environment: "production", Kind: contracts.WindowMaintenance,
		Start: "2026-03-06T09:00", End: "2026-03-06T09:30", TimeZone: "America/New_York",
		RRule: "RRULE:FREQ=DAILY;COUNT=400", ExDates: []string{"2026-11-02T09:00"}})
	f := mustParse(t, "freeze", contracts.WindowInput{Environment: "production", Start: "2026-03-09T09:15", End: "2026-03-09T12:00",
		TimeZone: "America/New_York"})
	other := mustParse(t, "qa", contracts.WindowInput{Environment: "qa", Start: "2026-01-01", End: "2027-01-01"})
	ws := []contracts.Window{m, f, other}
	tests := []struct {
		name, at string
		allowed  bool
		window   string
		until    string
	}{
		{"EST morning inside", "2026-03-07T14:10:00Z", true, "maint", "2026-03-07T14:30:00Z"},
		{"EST morning outside waits for the next one", "2026-03-07T15:00:00Z", false, "maint", "2026-03-08T13:00:00Z"},
		// After the change 09:00 is 13:00 UTC.
		{"EDT morning inside", "2026-03-08T13:05:00Z", true, "maint", "2026-03-08T13:30:00Z"},
		{"EDT at the old hour is outside", "2026-03-08T14:05:00Z", false, "maint", "2026-03-09T13:00:00Z"},
		{"freeze overlapping the window closes it early", "2026-03-09T13:20:00Z", false, "freeze", "2026-03-10T13:00:00Z"},
		{"open until the freeze starts", "2026-03-09T13:05:00Z", true, "maint", "2026-03-09T13:15:00Z"},
		// Back to EST on 2026-11-01; 2026-11-02 is excepted.
		{"EST again", "2026-11-01T14:10:00Z", true, "maint", "2026-11-01T14:30:00Z"},
		{"exdate skips a day", "2026-11-01T15:00:00Z", false, "maint", "2026-11-03T14:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Admit(ws, "production", utc(tt.at))
			if a.Allowed != tt.allowed || a.Window == nil || a.Window.ID != tt.window || a.Until == nil || !a.Until.Equal(utc(tt.until)) {
				t.Fatalf("admission = allowed %v window %v until %v reason %q; want %v %s %s", a.Allowed, a.Window, a.Until, a.Reason, tt.allowed, tt.window, tt.until)
			}
			if !tt.allowed && tt.window == "maint" && a.Reason != ReasonOutsideMaintenance {
				t.Fatalf("reason = %q", a.Reason)
			}
		})
	}
	// Maintenance of production says nothing about qa, frozen all year.
	if a := Admit(ws, "staging", utc("2026-03-07T15:00:00Z")); !a.Allowed {
		t.Fatalf("staging = %+v", a)
	}
}

func TestReservationsAndEnvironmentSets(t *testing.T) {
	res := mustParse(t, "res", contracts.WindowInput{Environments: []string{"staging", "production", "staging"},
		Kind: contracts.WindowReservation, Team: "payments", Start: "2026-12-01T08:00:00Z", End: "2026-12-01T18:00:00Z"})
	if res.Environment != "" || strings.Join(res.Environments, ",") != "production,staging" {
		t.Fatalf("environments = %q %v", res.Environment, res.Environments)
	}
	lab := mustParse(t, "lab", contracts.WindowInput{Environment: "qa", Kind: contracts.WindowReservation, Label: "release=2026.12",
		Start: "2026-12-01T08:00:00Z", End: "2026-12-01T18:00:00Z"})
	stop := mustParse(t, "stop", contracts.WindowInput{Environments: []string{"qa", "*"}, Start: "2026-12-01T16:00:00Z", End: "2026-12-01T17:00:00Z"})
	if stop.Environment != "*" {
		t.Fatalf("all environments = %q", stop.Environment)
	}
	ws := []contracts.Window{res, lab, stop}
	at := utc("2026-12-01T09:00:00Z")
	cases := []struct {
		name    string
		q       Query
		allowed bool
		window  string
		until   string
	}{
		{"holder team", Query{Environment: "production", Team: "payments"}, true, "res", "2026-12-01T16:00:00Z"},
		{"other team waits", Query{Environment: "staging", Team: "search"}, false, "res", "2026-12-01T18:00:00Z"},
		{"no team waits", Query{Environment: "production"}, false, "res", "2026-12-01T18:00:00Z"},
		{"label holder", Query{Environment: "qa", Labels: map[string]string{"release": "2026.12"}}, true, "lab", "2026-12-01T16:00:00Z"},
		{"other label value", Query{Environment: "qa", Labels: map[string]string{"release": "2027.01"}}, false, "lab", "2026-12-01T18:00:00Z"},
		{"unreserved environment is open until the global stop", Query{Environment: "dev"}, true, "", "2026-12-01T16:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.At = at
			a := Decide(ws, c.q)
			id := ""
			if a.Window != nil {
				id = a.Window.ID
			}
			if a.Allowed != c.allowed || id != c.window || a.Until == nil || !a.Until.Equal(utc(c.until)) {
				t.Fatalf("admission = %v %q until %v", a.Allowed, id, a.Until)
			}
		})
	}
	// The stop freezes every environment, the holder's too.
	if a := Decide(ws, Query{Environment: "production", Team: "payments", At: utc("2026-12-01T16:30:00Z")}); a.Allowed || a.Window.ID != "stop" {
		t.Fatalf("holder during the stop = %+v", a)
	}
}

func TestConflictsAndNextSlot(t *testing.T) {
	weekly := mustParse(t, "weekly", contracts.WindowInput{Environment: "production", Kind: contracts.WindowReservation, Team: "payments",
		Start: "2026-12-07T09:00", End: "2026-12-07T12:00", TimeZone: "Europe/Berlin", RRule: "FREQ=WEEKLY;BYDAY=MO"})
	other := mustParse(t, "other", contracts.WindowInput{Environments: []string{"production", "qa"}, Kind: contracts.WindowReservation, Team: "search",
		Start: "2026-12-21T11:00", End: "2026-12-21T13:00", TimeZone: "Europe/Berlin"})
	apart := mustParse(t, "apart", contracts.WindowInput{Environment: "qa", Kind: contracts.WindowReservation, Team: "search",
		Start: "2026-12-07T09:00", End: "2026-12-07T12:00", TimeZone: "Europe/Berlin"})
	freeze := mustParse(t, "freeze", contracts.WindowInput{Environment: "production", Start: "2026-12-21T00:00", End: "2026-12-22T00:00", TimeZone: "Europe/Berlin"})
	from := utc("2026-12-01T00:00:00Z")
	got := Conflicts([]contracts.Window{weekly, apart, freeze}, other, from)
	if len(got) != 1 || got[0].ID != "weekly" {
		t.Fatalf("conflicts = %v", got)
	}
	if got := Conflicts([]contracts.Window{weekly, other, freeze}, apart, from); len(got) != 0 {
		t.Fatalf("a reservation of another environment at the same time conflicts: %v", got)
	}
	if got := Conflicts([]contracts.Window{weekly}, freeze, from); len(got) != 0 {
		t.Fatalf("a freeze conflicts: %v", got)
	}

	// Search needs two hours on production from Monday 08:00 UTC: the
	// weekly payments reservation runs 08:00-11:00 UTC, so 11:00.
	ws := []contracts.Window{weekly, freeze}
	s := NextSlot(ws, Query{Environment: "production", Team: "search", At: utc("2026-12-14T08:00:00Z")}, 2*time.Hour)
	if !s.Found || !s.Start.Equal(utc("2026-12-14T11:00:00Z")) || !s.End.Equal(utc("2026-12-20T23:00:00Z")) {
		t.Fatalf("slot = %+v", s)
	}
	// Payments fits inside its own reservation.
	s = NextSlot(ws, Query{Environment: "production", Team: "payments", At: utc("2026-12-14T08:00:00Z")}, 2*time.Hour)
	if !s.Found || !s.Start.Equal(utc("2026-12-14T08:00:00Z")) {
		t.Fatalf("payments slot = %+v", s)
	}
	// A slot longer than any gap before the freeze starts after it.
	s = NextSlot(ws, Query{Environment: "production", Team: "search", At: utc("2026-12-20T22:00:00Z")}, 3*time.Hour)
	if !s.Found || !s.Start.Equal(utc("2026-12-21T23:00:00Z")) || !s.End.Equal(utc("2026-12-28T08:00:00Z")) {
		t.Fatalf("slot after the freeze = %+v", s)
	}
	// Forever frozen: none.
	forever := mustParse(t, "forever", contracts.WindowInput{Environment: "production", Start: "2026-01-01", End: "2099-01-01"})
	if s := NextSlot([]contracts.Window{forever}, Query{Environment: "production", At: from}, time.Hour); s.Found {
		t.Fatalf("slot in an endless freeze = %+v", s)
	}
}

func TestParseRecurrenceErrors(t *testing.T) {
	base := contracts.WindowInput{Environment: "qa", Start: "2026-12-04T16:00", End: "2026-12-07T08:00", TimeZone: "Europe/Berlin"}
	cases := []struct {
		name  string
		edit  func(*contracts.WindowInput)
		field string
	}{
		{"bad rule", func(in *contracts.WindowInput) { in.RRule = "FREQ=FORTNIGHTLY" }, "rrule"},
		{"too frequent", func(in *contracts.WindowInput) { in.RRule = "FREQ=HOURLY" }, "rrule"},
		{"dtstart in rule", func(in *contracts.WindowInput) { in.RRule = "DTSTART=20261204T160000;FREQ=WEEKLY" }, "rrule"},
		{"exdate without rule", func(in *contracts.WindowInput) { in.ExDates = []string{"2026-12-11T16:00"} }, "exdates"},
		{"bad exdate", func(in *contracts.WindowInput) { in.RRule = "FREQ=WEEKLY"; in.ExDates = []string{"friday"} }, "exdates[0]"},
		{"all excluded", func(in *contracts.WindowInput) {
			in.RRule = "FREQ=WEEKLY;COUNT=1"
			in.ExDates = []string{"2026-12-04T16:00"}
		}, "rrule"},
		{"both env forms", func(in *contracts.WindowInput) { in.Environments = []string{"prod"} }, "environments"},
		{"bad env in list", func(in *contracts.WindowInput) { in.Environment = ""; in.Environments = []string{"prod", "no spaces"} }, "environments[1]"},
		{"team on a freeze", func(in *contracts.WindowInput) { in.Team = "payments" }, "team"},
		{"bad label", func(in *contracts.WindowInput) { in.Kind = contracts.WindowReservation; in.Label = "payments" }, "label"},
		{"force without reason", func(in *contracts.WindowInput) { in.Force = true }, "force_reason"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base
			c.edit(&in)
			_, err := Parse(in, fixedID)
			if err == nil || !strings.Contains(err.Error(), c.field+":") {
				t.Fatalf("err = %v, want one on %s", err, c.field)
			}
		})
	}
}

func TestStopTheLine(t *testing.T) {
	stop := mustParse(t, "stop", contracts.WindowInput{Kind: contracts.WindowStop, Start: "2026-12-01T10:00:00Z", End: "2026-12-01T11:00:00Z", Reason: "incident 123"})
	if stop.Environment != "*" {
		t.Fatalf("stop environment = %q", stop.Environment)
	}
	if _, err := Parse(contracts.WindowInput{Kind: contracts.WindowStop, Environment: "prod", Start: "2026-12-01", End: "2026-12-02"}, fixedID); err == nil ||
		!strings.Contains(err.Error(), "environment:") {
		t.Fatalf("stop for one environment: %v", err)
	}
	held := mustParse(t, "held", contracts.WindowInput{Environment: "prod", Kind: contracts.WindowReservation, Team: "payments",
		Start: "2026-12-01T00:00:00Z", End: "2026-12-02T00:00:00Z"})
	maint := mustParse(t, "maint", contracts.WindowInput{Environment: "db", Kind: contracts.WindowMaintenance,
		Start: "2026-12-01T09:00:00Z", End: "2026-12-01T12:00:00Z"})
	ws := []contracts.Window{held, maint, stop}
	at := utc("2026-12-01T10:30:00Z")
	for _, q := range []Query{{Environment: "prod", Team: "payments"}, {Environment: "db"}, {Environment: "anything"}} {
		q.At = at
		a := Decide(ws, q)
		if a.Allowed || a.Window.ID != "stop" || !a.Until.Equal(utc("2026-12-01T11:00:00Z")) {
			t.Fatalf("%s during the stop = %+v", q.Environment, a)
		}
	}
}
