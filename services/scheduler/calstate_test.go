package scheduler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/admission"
)

// publishState fills the calendar's state bucket as the calendar does
// before it goes away.
func (e *env) publishState(states ...contracts.WindowState) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	kv, err := e.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: contracts.CalendarStateBucket, History: 1,
		Description: "calendar windows with their occurrences, watched by schedulers"})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, st := range states {
		b, _ := json.Marshal(st)
		if _, err := kv.Put(ctx, contracts.CalendarStateKey(st.Window.ID), b); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := kv.Put(ctx, contracts.CalendarStateSyncedKey, []byte(t0.Format(time.RFC3339))); err != nil {
		e.t.Fatal(err)
	}
}

// With the calendar down, a freeze it published keeps holding rollouts,
// which start when it ends; an environment it published nothing for is
// not frozen by invention.
func TestCalendarDownKnownFreezeStillApplies(t *testing.T) {
	e := newEnv(t)
	end := t0.Add(30 * time.Second)
	e.publishState(contracts.WindowState{
		Window:      contracts.Window{ID: "w-prod", Environment: "prod", Kind: contracts.WindowFreeze, Start: t0.Add(-time.Hour), End: end, Reason: "release freeze"},
		Occurrences: []contracts.Occurrence{{WindowID: "w-prod", Start: t0.Add(-time.Hour), End: end}},
		Through:     t0.Add(30 * 24 * time.Hour),
	})
	e.start()
	// No calendar answers on its subject.
	e.publishPlanned(newPlan("r1", "prod", [][]string{{"h1"}}))
	evs := e.tickUntil("r1", contracts.EventQueued, 1)
	q := evs[len(evs)-1]
	want := "freeze: release freeze until 2026-03-01T12:00:30Z" + admission.StaleSuffix
	for i := 0; q.Reason != want && i < 50; i++ {
		// The first answer may precede the watch's first delivery.
		evs = e.tickUntil("r1", contracts.EventQueued, len(ofType(evs, contracts.EventQueued))+1)
		q = evs[len(evs)-1]
	}
	if q.Reason != want || q.Until == nil || !q.Until.Equal(end) {
		t.Fatalf("queued = %+v", q.Event)
	}
	e.publishPlanned(newPlan("r2", "qa", [][]string{{"q1"}}))
	e.tickUntil("r2", contracts.EventStarted, 1)
	// When the freeze ends, the waiting rollout starts by itself.
	if n := len(ofType(e.events("r1"), contracts.EventStarted)); n != 0 {
		t.Fatal("r1 started during the freeze")
	}
	e.tickUntil("r1", contracts.EventStarted, 1)
	if now := e.clock.Now(); now.Before(end) {
		t.Fatalf("r1 started at %s, before the freeze ended at %s", now, end)
	}
	if strings.Contains(q.Reason, "calendar unavailable;") == false {
		t.Fatal("reason does not say the calendar was unavailable")
	}
}
