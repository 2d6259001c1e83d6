package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler"
)

// A rollout whose plan says on_blocked: reject ends at once when the
// calendar blocks it, with the window named and the calendar as actor; a
// rollout with the default policy in the same environment waits.
func TestOnBlockedRejectEndsTheRolloutAtOnce(t *testing.T) {
	e := newEnv(t)
	cal := e.calendar()
	cal.freezeUntil("prod", "year-end freeze", t0.Add(time.Hour))
	e.start()

	p := newPlan("r-reject", "prod", [][]string{{"h1"}})
	p.OnBlocked = contracts.OnBlockedReject
	e.publishPlanned(p)
	evs := e.waitFor("r-reject", contracts.EventRejected, 1)
	ab := ofType(evs, contracts.EventRejected)[0]
	if ab.Actor != scheduler.ActorCalendar || !strings.Contains(ab.Reason, "on_blocked: reject") ||
		!strings.Contains(ab.Reason, "freeze: year-end freeze until 2026-03-01T13:00:00Z") {
		t.Fatalf("rejected by %q: %q", ab.Actor, ab.Reason)
	}
	if n := len(ofType(evs, contracts.EventQueued)); n != 0 {
		t.Fatalf("a rejected rollout was queued %d times first: %v", n, typesOf(evs))
	}
	if v := e.get("r-reject"); v.State != contracts.StateRejected {
		t.Fatalf("r-reject is %s", v.State)
	}

	e.publishPlanned(newPlan("r-wait", "prod", [][]string{{"h2"}}))
	q := ofType(e.waitFor("r-wait", contracts.EventQueued, 1), contracts.EventQueued)[0]
	if !strings.Contains(q.Reason, "year-end freeze") {
		t.Fatalf("r-wait queued for %q", q.Reason)
	}
	e.clock.Advance(time.Hour)
	e.tickUntil("r-wait", contracts.EventStarted, 1)
}
