package windows

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func fixedID() string { return "win-000000000001" }

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name       string
		in         contracts.WindowInput
		start, end string // RFC 3339, compared as instants
		zone       string
	}{
		{"rfc3339 instants", contracts.WindowInput{Environment: "production", Start: "2026-12-24T00:00:00Z", End: "2026-12-27T00:00:00+01:00"},
			"2026-12-24T00:00:00Z", "2026-12-26T23:00:00Z", "UTC"},
		{"fraction", contracts.WindowInput{Environment: "qa", Start: "2026-12-24T00:00:00.5Z", End: "2026-12-24T00:00:01.25+00:00"},
			"2026-12-24T00:00:00.5Z", "2026-12-24T00:00:01.25Z", "UTC"},
		{"local minutes in UTC by default", contracts.WindowInput{Environment: "qa", Start: "2026-12-24T00:00", End: "2026-12-24T18:30"},
			"2026-12-24T00:00:00Z", "2026-12-24T18:30:00Z", "UTC"},
		{"local seconds in Berlin winter", contracts.WindowInput{Environment: "qa", Start: "2026-12-24T00:00:00", End: "2026-12-24T12:00:30", TimeZone: "Europe/Berlin"},
			"2026-12-23T23:00:00Z", "2026-12-24T11:00:30Z", "Europe/Berlin"},
		{"dates in Berlin summer", contracts.WindowInput{Environment: "qa", Start: "2026-07-01", End: "2026-07-02", TimeZone: "Europe/Berlin"},
			"2026-06-30T22:00:00Z", "2026-07-01T22:00:00Z", "Europe/Berlin"},
		{"instants ignore the zone", contracts.WindowInput{Environment: "qa", Start: "2026-07-01T00:00:00Z", End: "2026-07-02", TimeZone: "America/New_York"},
			"2026-07-01T00:00:00Z", "2026-07-02T04:00:00Z", "America/New_York"},
		// Berlin moves from CET (+1) to CEST (+2) at 02:00 on 2026-03-29:
		// a local day of 23 hours.
		{"spring forward day is 23 hours", contracts.WindowInput{Environment: "qa", Start: "2026-03-29", End: "2026-03-30", TimeZone: "Europe/Berlin"},
			"2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", "Europe/Berlin"},
		// And back at 03:00 on 2026-10-25: 02:30 happens twice. A start
		// takes the first, an end the second, so the freeze covers both.
		{"fall back ambiguous start and end", contracts.WindowInput{Environment: "qa", Start: "2026-10-25T02:30", End: "2026-10-25T02:30:00", TimeZone: "Europe/Berlin"},
			"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "Europe/Berlin"},
		{"fall back day is 25 hours", contracts.WindowInput{Environment: "qa", Start: "2026-10-25", End: "2026-10-26", TimeZone: "Europe/Berlin"},
			"2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", "Europe/Berlin"},
		// Beirut skips midnight on 2026-03-29: that day starts at 01:00.
		{"skipped midnight", contracts.WindowInput{Environment: "qa", Start: "2026-03-29", End: "2026-03-30", TimeZone: "Asia/Beirut"},
			"2026-03-28T22:00:00Z", "2026-03-29T21:00:00Z", "Asia/Beirut"},
		{"freeze kind", contracts.WindowInput{Environment: "qa", Kind: contracts.WindowFreeze, Start: "2026-01-01", End: "2026-01-02"},
			"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Reason, tt.in.CreatedBy = "holidays", "alice"
			w, err := Parse(tt.in, fixedID)
			if err != nil {
				t.Fatal(err)
			}
			if !w.Start.Equal(utc(tt.start)) || !w.End.Equal(utc(tt.end)) {
				t.Fatalf("window %s .. %s, want %s .. %s", w.Start.Format(time.RFC3339Nano), w.End.Format(time.RFC3339Nano), tt.start, tt.end)
			}
			if w.Start.Location() != time.UTC || w.End.Location() != time.UTC {
				t.Fatal("instants not in UTC")
			}
			want := contracts.Window{ID: "win-000000000001", Environment: tt.in.Environment, Kind: contracts.WindowFreeze,
				Start: w.Start, End: w.End, TimeZone: tt.zone, Reason: "holidays", CreatedBy: "alice"}
			if !reflect.DeepEqual(w, want) {
				t.Fatalf("window = %+v, want %+v", w, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	ok := contracts.WindowInput{Environment: "qa", Start: "2026-12-24", End: "2026-12-25"}
	with := func(f func(*contracts.WindowInput)) contracts.WindowInput {
		in := ok
		f(&in)
		return in
	}
	tests := []struct {
		name string
		in   contracts.WindowInput
		want []string // "field: message" prefixes, in order
	}{
		{"everything missing", contracts.WindowInput{}, []string{"environment: is required", "start: is required", "end: is required"}},
		{"bad environment", with(func(in *contracts.WindowInput) { in.Environment = "prod.*" }), []string{`environment: must be 1-128 letters`}},
		{"unknown kind", with(func(in *contracts.WindowInput) { in.Kind = "blackout" }), []string{`kind: must be "freeze", "reservation", "maintenance" or "stop", got "blackout"`}},
		{"reservation without holder", with(func(in *contracts.WindowInput) { in.Kind = "reservation" }), []string{`team: a reservation is held for a team or a label`}},
		{"unknown zone", with(func(in *contracts.WindowInput) { in.TimeZone = "Mars/Olympus" }), []string{`timezone: unknown time zone "Mars/Olympus"`}},
		{"path as zone", with(func(in *contracts.WindowInput) { in.TimeZone = "../../etc/passwd" }), []string{`timezone: unknown time zone`}},
		{"local zone", with(func(in *contracts.WindowInput) { in.TimeZone = "Local" }), []string{`timezone: "Local" depends on the server's settings`}},
		{"garbage start", with(func(in *contracts.WindowInput) { in.Start = "tomorrow" }), []string{`start: must be an RFC 3339 instant`}},
		{"garbage end", with(func(in *contracts.WindowInput) { in.End = "2026-13-01" }), []string{`end: must be an RFC 3339 instant`}},
		{"space separator", with(func(in *contracts.WindowInput) { in.Start = "2026-12-24 00:00" }), []string{`start: must be an RFC 3339 instant`}},
		{"end before start", with(func(in *contracts.WindowInput) { in.End = "2026-12-23" }), []string{`end: must be after start (2026-12-24T00:00:00Z), got 2026-12-23T00:00:00Z`}},
		{"empty window", with(func(in *contracts.WindowInput) { in.End = in.Start }), []string{`end: must be after start`}},
		{"skipped local time", with(func(in *contracts.WindowInput) {
			in.TimeZone, in.Start, in.End = "Europe/Berlin", "2026-03-29T02:30", "2026-03-30"
		}), []string{`start: "2026-03-29T02:30" does not exist in Europe/Berlin: the clocks skip it`}},
		{"year out of range", with(func(in *contracts.WindowInput) { in.Start = "0000-01-01T00:00:00+01:00" }), []string{`start: must be between the years 1970 and 9999`}},
		{"year before 1970", with(func(in *contracts.WindowInput) { in.Start = "1969-12-31" }), []string{`start: must be between the years 1970 and 9999`}},
		{"long reason", with(func(in *contracts.WindowInput) { in.Reason = strings.Repeat("x", 1001) }), []string{`reason: must be at most 1000 bytes, got 1001`}},
		{"long author", with(func(in *contracts.WindowInput) { in.CreatedBy = strings.Repeat("x", 201) }), []string{`created_by: must be at most 200 bytes, got 201`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			_, err := Parse(tt.in, func() string { called = true; return "x" })
			var fe contracts.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want FieldErrors", err)
			}
			if len(fe) != len(tt.want) {
				t.Fatalf("got %d problems %v, want %d", len(fe), fe, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(fe[i].String(), w) {
					t.Errorf("problem %d = %q, want prefix %q", i, fe[i].String(), w)
				}
			}
			if called {
				t.Fatal("an id was drawn for an invalid window")
			}
		})
	}
}

func win(id, env, start, end string) contracts.Window {
	return contracts.Window{ID: id, Environment: env, Kind: contracts.WindowFreeze, Start: utc(start), End: utc(end)}
}

func TestAdmit(t *testing.T) {
	berlin, err := Parse(contracts.WindowInput{Environment: "prod", Start: "2026-10-24T22:00", End: "2026-10-25T02:30", TimeZone: "Europe/Berlin"},
		func() string { return "dst" })
	if err != nil {
		t.Fatal(err)
	}
	ws := []contracts.Window{
		win("a", "prod", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"),
		// b overlaps a, c is adjacent to b, d starts after a gap.
		win("b", "prod", "2026-12-01T12:00:00Z", "2026-12-03T00:00:00Z"),
		win("c", "prod", "2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"),
		win("d", "prod", "2026-12-04T00:00:01Z", "2026-12-05T00:00:00Z"),
		win("e", "qa", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
		// f lies inside b and ends earlier: it never blocks alone.
		win("f", "prod", "2026-12-01T18:00:00Z", "2026-12-02T06:00:00Z"),
		berlin,
	}
	tests := []struct {
		name   string
		env    string
		at     string
		window string // "" when allowed
		until  string
	}{
		{"before everything", "prod", "2026-11-30T23:59:59Z", "", ""},
		{"at start is blocked", "prod", "2026-12-01T00:00:00Z", "a", "2026-12-04T00:00:00Z"},
		{"overlap picks the longest", "prod", "2026-12-01T13:00:00Z", "b", "2026-12-04T00:00:00Z"},
		{"nested window", "prod", "2026-12-01T19:00:00Z", "b", "2026-12-04T00:00:00Z"},
		{"adjacent chain", "prod", "2026-12-03T00:00:00Z", "c", "2026-12-04T00:00:00Z"},
		{"at end is allowed", "prod", "2026-12-04T00:00:00Z", "", ""},
		{"a gap breaks the chain", "prod", "2026-12-04T00:00:01Z", "d", "2026-12-05T00:00:00Z"},
		{"other environment", "staging", "2026-12-01T13:00:00Z", "", ""},
		{"qa has its own", "qa", "2026-12-01T13:00:00Z", "e", "2027-01-01T00:00:00Z"},
		// 22:00 CEST = 20:00 UTC; 02:30 on the 25th is read late (CET),
		// 01:30 UTC: the window lasts five and a half hours, not four and a half.
		{"dst window before its start", "prod", "2026-10-24T19:59:59Z", "", ""},
		{"dst window at its start", "prod", "2026-10-24T20:00:00Z", "dst", "2026-10-25T01:30:00Z"},
		{"dst window in the repeated hour", "prod", "2026-10-25T01:15:00Z", "dst", "2026-10-25T01:30:00Z"},
		{"dst window at its end", "prod", "2026-10-25T01:30:00Z", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Admit(ws, tt.env, utc(tt.at))
			if tt.window == "" {
				if !got.Allowed || got.Window != nil {
					t.Fatalf("admission = %+v, want allowed", got)
				}
				return
			}
			if got.Allowed || got.Window == nil || got.Window.ID != tt.window || got.Until == nil || !got.Until.Equal(utc(tt.until)) {
				t.Fatalf("admission = allowed %v window %+v until %v; want blocked by %s until %s", got.Allowed, got.Window, got.Until, tt.window, tt.until)
			}
		})
	}
}

func TestAdmitFreezeWinsOverHeldReservationInAnyOrder(t *testing.T) {
	a := win("a", "prod", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")
	b := win("b", "prod", "2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z")
	other := win("r", "prod", "2026-12-01T00:00:00Z", "2026-12-09T00:00:00Z")
	other.Kind, other.Team = contracts.WindowReservation, "payments"
	at := utc("2026-12-01T06:00:00Z")
	for _, ws := range [][]contracts.Window{{a, b, other}, {b, other, a}, {other, b, a}} {
		got := Decide(ws, Query{Environment: "prod", At: at, Team: "payments"})
		if got.Allowed || got.Window.ID != "a" || !got.Until.Equal(b.End) {
			t.Fatalf("admission = %+v", got)
		}
	}
	// Two windows that block equally: the earlier start, then the lower id.
	c := win("c", "prod", "2026-11-30T00:00:00Z", "2026-12-02T00:00:00Z")
	d := win("0", "prod", "2026-11-30T00:00:00Z", "2026-12-02T00:00:00Z")
	if got := Admit([]contracts.Window{a, c, d}, "prod", at); got.Window.ID != "0" {
		t.Fatalf("tie broken to %s", got.Window.ID)
	}
}
