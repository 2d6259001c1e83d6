package calendar

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestRecurringReservationsPersistConflictAndAdmitByTeam(t *testing.T) {
	e := newEnv(t)
	s := e.start()
	weekly := e.add(contracts.WindowInput{Environments: []string{"production", "staging"}, Kind: contracts.WindowReservation,
		Team: "payments", Start: "2026-12-07T09:00", End: "2026-12-07T12:00", TimeZone: "Europe/Berlin",
		RRule: "FREQ=WEEKLY;BYDAY=MO", ExDates: []string{"2026-12-28T09:00"}, Reason: "payments release train", CreatedBy: "alice"})

	// Search's one-off reservation on a Monday overlaps: refused, naming
	// the weekly one; nothing stored.
	clash := contracts.WindowInput{Environment: "staging", Kind: contracts.WindowReservation, Team: "search",
		Start: "2026-12-21T11:00", End: "2026-12-21T13:00", TimeZone: "Europe/Berlin", CreatedBy: "bob"}
	_, err := request[contracts.Window](e, contracts.APICalendarAdd, clash)
	wantCode(t, err, contracts.CodeConflict, "start")
	if !strings.Contains(err.Error(), weekly.ID) || !strings.Contains(err.Error(), "team payments") {
		t.Fatalf("conflict does not list the reservation: %v", err)
	}
	if got := e.list(contracts.WindowListQuery{}); len(got) != 1 {
		t.Fatalf("a refused reservation was stored: %v", got)
	}
	// On the excepted Monday there is no conflict.
	free := clash
	free.Start, free.End = "2026-12-28T11:00", "2026-12-28T13:00"
	e.add(free)
	// Forced with a reason, it is stored with the reason.
	clash.Force, clash.ForceReason = true, "incident 123 needs staging"
	forced := e.add(clash)
	if forced.ForceReason != "incident 123 needs staging" {
		t.Fatalf("force reason not kept: %+v", forced)
	}

	// Restart: the rule, exceptions and holder come back as stored.
	stop(t, s)
	e.start()
	l, err := request[contracts.WindowList](e, contracts.APICalendarList, contracts.WindowListQuery{Environment: "production"})
	if err != nil || len(l.Windows) != 1 || !reflect.DeepEqual(l.Windows[0], weekly) {
		t.Fatalf("production windows after restart = %+v, %v; want %+v", l.Windows, err, weekly)
	}
	// A recurring window whose first occurrence is over is still listed
	// as active.
	later := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	if got := e.list(contracts.WindowListQuery{Environment: "production", ActiveAt: &later}); len(got) != 1 {
		t.Fatalf("recurring window not active later: %v", got)
	}

	// Monday 2027-01-04 09:30 Berlin (08:30 UTC): payments goes (and
	// production stays open to it after), others wait.
	at := time.Date(2027, 1, 4, 8, 30, 0, 0, time.UTC)
	a, err := request[contracts.Admission](e, contracts.APICalendarAdmit, contracts.AdmitQuery{Environment: "production", At: at, Team: "payments"})
	if err != nil || !a.Allowed || a.Window == nil || a.Window.ID != weekly.ID || a.Until != nil {
		t.Fatalf("holder admission = %+v (%+v), %v", a, a.Window, err)
	}
	a, err = request[contracts.Admission](e, contracts.APICalendarAdmit, contracts.AdmitQuery{Environment: "production", At: at, Team: "search"})
	if err != nil || a.Allowed || a.Window.ID != weekly.ID || !a.Occurrence.Start.Equal(time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("other team admission = %+v, %v", a, err)
	}
	slot, err := request[contracts.Slot](e, contracts.APICalendarSlot, contracts.SlotQuery{Environment: "production", After: at,
		Duration: contracts.Duration(2 * time.Hour), Team: "search"})
	if err != nil || !slot.Found || !slot.Start.Equal(time.Date(2027, 1, 4, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("slot = %+v, %v", slot, err)
	}
	_, err = request[contracts.Slot](e, contracts.APICalendarSlot, contracts.SlotQuery{Environment: "production", After: at})
	wantCode(t, err, contracts.CodeInvalid, "duration")
}

func TestListExpandsOccurrences(t *testing.T) {
	e := newEnv(t)
	e.start()
	w := e.add(contracts.WindowInput{Environment: "production", Start: "2026-10-23T16:00", End: "2026-10-26T08:00", TimeZone: "Europe/Berlin",
		RRule: "FREQ=WEEKLY;BYDAY=FR", ExDates: []string{"2026-10-30T16:00"}})
	e.add(contracts.WindowInput{Environment: "qa", Start: "2026-10-24T00:00:00Z", End: "2026-10-25T00:00:00Z"})
	from, to := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	l, err := request[contracts.WindowList](e, contracts.APICalendarList, contracts.WindowListQuery{Environment: "production", From: &from, To: &to})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range l.Occurrences {
		if o.WindowID != w.ID {
			t.Fatalf("occurrence of another window: %+v", o)
		}
		got = append(got, o.Start.Format(time.RFC3339)+"/"+o.End.Format(time.RFC3339))
	}
	// Oct 23 CEST to Oct 26 CET; Oct 30 excepted; Nov 6 CET.
	if want := "2026-10-23T14:00:00Z/2026-10-26T07:00:00Z 2026-11-06T15:00:00Z/2026-11-09T07:00:00Z"; strings.Join(got, " ") != want {
		t.Fatalf("occurrences %v, want %s", got, want)
	}
	_, err = request[contracts.WindowList](e, contracts.APICalendarList, contracts.WindowListQuery{From: &from})
	wantCode(t, err, contracts.CodeInvalid, "to")
}
