package calendar

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

func TestWindowStateIsPublished(t *testing.T) {
	e := newEnv(t)
	s := e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := e.js.KeyValue(ctx, contracts.CalendarStateBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, contracts.CalendarStateSyncedKey); err != nil {
		t.Fatalf("bucket not marked synced: %v", err)
	}
	// The calendar's clock stands at 2030-01-01: a weekly freeze is
	// expanded around it.
	w := e.add(contracts.WindowInput{Environment: "production", Start: "2029-12-07T16:00", End: "2029-12-10T08:00",
		TimeZone: "Europe/Berlin", RRule: "FREQ=WEEKLY;BYDAY=FR"})
	ent, err := kv.Get(ctx, contracts.CalendarStateKey(w.ID))
	if err != nil {
		t.Fatal(err)
	}
	var st contracts.WindowState
	if err := json.Unmarshal(ent.Value(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Window.ID != w.ID || len(st.Occurrences) != 6 || !st.Occurrences[0].Start.Equal(time.Date(2029, 12, 28, 15, 0, 0, 0, time.UTC)) ||
		!st.Through.Equal(time.Date(2030, 2, 5, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("state = %+v", st)
	}
	if _, err := request[contracts.Window](e, contracts.APICalendarRemove, contracts.WindowRemove{ID: w.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, contracts.CalendarStateKey(w.ID)); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("removed window still published: %v", err)
	}
	// A key left over from windows that are gone is dropped when the
	// calendar starts again.
	if _, err := kv.Put(ctx, contracts.CalendarStateKey("win-stale"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	// The line stop is not the calendar's: it stays.
	if _, err := kv.Put(ctx, contracts.LineStopKey, []byte(`{"reason":"incident 9","since":"2030-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	stop(t, s)
	e.start()
	if _, err := kv.Get(ctx, contracts.CalendarStateKey("win-stale")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("stale state kept: %v", err)
	}
	if _, err := kv.Get(ctx, contracts.LineStopKey); err != nil {
		t.Fatalf("the line stop was dropped by the calendar: %v", err)
	}
}
