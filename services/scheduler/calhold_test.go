package scheduler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/scheduler"
)

// windowState is a window as the calendar publishes it, with its one
// occurrence.
func windowState(id string, kind contracts.WindowKind, envs []string, from, to time.Time, reason string) contracts.WindowState {
	return contracts.WindowState{
		Window:      contracts.Window{ID: id, Kind: kind, Environments: envs, Start: from, End: to, Reason: reason},
		Occurrences: []contracts.Occurrence{{WindowID: id, Start: from, End: to}},
		Through:     t0.Add(30 * 24 * time.Hour),
	}
}

// unpublishState deletes a window from the calendar's state bucket, as
// the calendar does when the window is removed.
func (e *env) unpublishState(id string) {
	e.t.Helper()
	e.unpublishStateKey(contracts.CalendarStateKey(id))
}

func (e *env) unpublishStateKey(key string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	kv, err := e.js.KeyValue(ctx, contracts.CalendarStateBucket)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := kv.Delete(ctx, key); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) controlWith(id string, verb contracts.Verb, cmd contracts.ControlCommand) (contracts.RolloutSummary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return natsx.Request[contracts.RolloutSummary](ctx, e.nc, contracts.ControlSubject(id, verb), cmd)
}

// lastOf returns the last event of a type.
func lastOf(t *testing.T, evs []event, typ contracts.EventType) event {
	t.Helper()
	of := ofType(evs, typ)
	if len(of) == 0 {
		t.Fatalf("no %s event in %v", typ, typesOf(evs))
	}
	return of[len(of)-1]
}

// indexOf returns the position of the n-th (from 1) event of a type, -1
// when there is none.
func indexOf(evs []event, typ contracts.EventType, n int) int {
	for i, ev := range evs {
		if ev.Type == typ {
			if n--; n == 0 {
				return i
			}
		}
	}
	return -1
}

// A freeze that begins mid-rollout pauses it at the next batch boundary:
// the action in flight finishes, nothing new is dispatched. The pause is
// the calendar's, remembered across a restart of the scheduler, and it is
// resumed by the calendar when the freeze ends; a rollout an operator
// paused before the freeze is not resumed.
func TestFreezeMidRolloutPausesAndResumes(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.publishState() // the calendar has published: no windows
	s := e.start()
	e.publishPlanned(plan3("r1"))
	e.publishPlanned(newPlan("r2", "qa", [][]string{{"q1"}}, [][]string{{"q2"}}))
	e.waitFor("r1", contracts.EventStarted, 1)
	e.waitFor("r2", contracts.EventStarted, 1)
	inflight := e.take(2) // r1's canary h1 and r2's q1
	if _, err := e.control("r2", contracts.VerbPause, "bob"); err != nil {
		t.Fatal(err)
	}

	start, end := t0.Add(10*time.Second), t0.Add(time.Hour)
	e.publishState(windowState("w-rel", contracts.WindowFreeze, []string{"prod", "qa"}, start, end, "release freeze"))
	evs := e.tickUntil("r1", contracts.EventPaused, 1)
	p := lastOf(t, evs, contracts.EventPaused)
	if p.Actor != scheduler.ActorCalendar || p.Reason != "freeze w-rel (release freeze) until 2026-03-01T13:00:00Z" {
		t.Fatalf("paused by %q: %q", p.Actor, p.Reason)
	}
	if now := e.clock.Now(); now.Before(start) {
		t.Fatalf("paused at %s, before the freeze began at %s", now, start)
	}
	for _, a := range inflight {
		e.result(a, true) // the actions in flight finish
	}
	evs = e.waitFor("r1", contracts.EventHostSucceeded, 1)
	if n := len(ofType(evs, contracts.EventBatchStarted)); n != 1 {
		t.Fatalf("r1 dispatched %d batches during the freeze: %v", n, typesOf(evs))
	}
	e.waitFor("r2", contracts.EventHostSucceeded, 1)

	// A restarted scheduler still knows the pause is the calendar's.
	s.stop(t)
	e.start()
	e.clock.Advance(time.Hour)
	evs = e.tickUntil("r1", contracts.EventResumed, 1)
	r := lastOf(t, evs, contracts.EventResumed)
	if r.Actor != scheduler.ActorCalendar || r.Reason != "freeze w-rel (release freeze) ended" {
		t.Fatalf("resumed by %q: %q", r.Actor, r.Reason)
	}
	if ev := e.events("r2"); len(ofType(ev, contracts.EventResumed)) != 0 || e.get("r2").State != contracts.StatePaused {
		t.Fatalf("the operator's pause of r2 was resumed: %v", typesOf(ev))
	}
	e.finish(2, 1, 2)
	evs = e.waitFor("r1", contracts.EventCompleted, 1)
	checkSeqs(t, evs)
	if n := len(ofType(evs, contracts.EventPaused)); n != 1 {
		t.Fatalf("r1 paused %d times", n)
	}
}

// A stop window reaches the running rollouts of every environment as soon
// as it is in the state bucket, without waiting for a tick (the clock does
// not move), whatever their freeze policy; removing it resumes them.
func TestStopReachesEveryRunningRolloutAtOnce(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.publishState()
	e.start()
	ids := []string{"r-prod", "r-qa", "r-stage"}
	for i, envName := range []string{"prod", "qa", "stage"} {
		p := newPlan(ids[i], envName, [][]string{{envName + "-1"}, {envName + "-2"}})
		p.OnFreeze = contracts.OnFreezeFinishPhase // a stop does not wait for the phase
		e.publishPlanned(p)
	}
	for _, id := range ids {
		e.waitFor(id, contracts.EventStarted, 1)
	}
	inflight := e.take(3)
	at := e.clock.Now()
	e.publishState(windowState("stop-1", contracts.WindowStop, []string{contracts.AllEnvironments}, at.Add(-time.Minute), at.Add(time.Hour), "incident 123"))
	for _, id := range ids {
		p := lastOf(t, e.waitFor(id, contracts.EventPaused, 1), contracts.EventPaused)
		if p.Actor != scheduler.ActorCalendar || !strings.HasPrefix(p.Reason, "stop stop-1 (incident 123) until ") {
			t.Fatalf("%s paused by %q: %q", id, p.Actor, p.Reason)
		}
	}
	if !e.clock.Now().Equal(at) {
		t.Fatal("the clock moved")
	}
	for _, a := range inflight {
		e.result(a, true)
	}
	for _, id := range ids {
		evs := e.waitFor(id, contracts.EventHostSucceeded, 1)
		if n := len(ofType(evs, contracts.EventBatchStarted)); n != 1 {
			t.Fatalf("%s dispatched during the stop: %v", id, typesOf(evs))
		}
	}
	e.unpublishState("stop-1")
	for _, id := range ids {
		r := lastOf(t, e.waitFor(id, contracts.EventResumed, 1), contracts.EventResumed)
		if r.Actor != scheduler.ActorCalendar || r.Reason != "stop stop-1 (incident 123) ended" {
			t.Fatalf("%s resumed by %q: %q", id, r.Actor, r.Reason)
		}
	}
	e.finish(3)
	for _, id := range ids {
		e.waitFor(id, contracts.EventCompleted, 1)
	}
}

// Under on_freeze: finish_phase a freeze lets the current phase dispatch
// its remaining batches, then stops the rollout before the next phase.
func TestFreezeFinishPhasePolicy(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.publishState()
	e.start()
	p := plan3("r1")
	p.OnFreeze = contracts.OnFreezeFinishPhase
	e.publishPlanned(p)
	e.finish(1) // canary
	e.waitFor("r1", contracts.EventBatchStarted, 2)
	east1 := e.take(2) // east's first batch, h2 and h3
	at := e.clock.Now()
	e.publishState(windowState("w-1", contracts.WindowFreeze, []string{"prod"}, at.Add(-time.Minute), at.Add(time.Hour), ""))
	for _, a := range east1 {
		e.result(a, true)
	}
	evs := e.waitFor("r1", contracts.EventPaused, 1)
	if b3, pz := indexOf(evs, contracts.EventBatchStarted, 3), indexOf(evs, contracts.EventPaused, 1); b3 < 0 || pz < b3 {
		t.Fatalf("paused before east's last batch was dispatched: %v", typesOf(evs))
	}
	if got := lastOf(t, evs, contracts.EventPaused).Reason; got != "freeze w-1 until 2026-03-01T13:00:00Z" {
		t.Fatalf("paused for %q", got)
	}
	e.finish(1) // h4, east's last batch, finishes
	evs = e.waitFor("r1", contracts.EventHostSucceeded, 4)
	if n := len(ofType(evs, contracts.EventPhaseStarted)); n != 2 {
		t.Fatalf("the next phase started during the freeze: %v", typesOf(evs))
	}
	e.clock.Advance(time.Hour)
	e.tickUntil("r1", contracts.EventResumed, 1)
	e.finish(2)
	e.waitFor("r1", contracts.EventCompleted, 1)
}

// Resuming a rollout the calendar holds is an emergency override: it needs
// a reason, is recorded with its actor, and the calendar then leaves the
// rollout running while that freeze lasts. An operator's pause of a held
// rollout makes the pause the operator's: it is not resumed at the end.
func TestOverrideAndTakeOverOfACalendarHold(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.publishState()
	e.start()
	e.publishPlanned(newPlan("r1", "prod", [][]string{{"h1"}}, [][]string{{"h2"}}))
	e.publishPlanned(newPlan("r2", "qa", [][]string{{"q1"}}, [][]string{{"q2"}}))
	e.publishPlanned(newPlan("r3", "stage", [][]string{{"s1"}}, [][]string{{"s2"}}))
	for _, id := range []string{"r1", "r2", "r3"} {
		e.waitFor(id, contracts.EventStarted, 1)
	}
	inflight := e.take(3) // h1, q1 and s1
	at := e.clock.Now()
	e.publishState(windowState("w-1", contracts.WindowFreeze, []string{"prod", "qa", "stage"}, at.Add(-time.Minute), at.Add(time.Hour), "quiet week"))
	for _, id := range []string{"r1", "r2", "r3"} {
		e.waitFor(id, contracts.EventPaused, 1)
	}

	_, err := e.controlWith("r1", contracts.VerbResume, contracts.ControlCommand{Actor: "alice"})
	if ce := contracts.AsError(err); err == nil || ce.Field != "reason" || !strings.Contains(ce.Message, "emergency override") {
		t.Fatalf("resume without a reason: %v", err)
	}
	if _, err := e.controlWith("r1", contracts.VerbResume, contracts.ControlCommand{Actor: "alice", Reason: "hotfix for incident 7"}); err != nil {
		t.Fatal(err)
	}
	r := lastOf(t, e.waitFor("r1", contracts.EventResumed, 1), contracts.EventResumed)
	if r.Actor != "alice" || r.Reason != "hotfix for incident 7" {
		t.Fatalf("override recorded as %q: %q", r.Actor, r.Reason)
	}
	// Every commit looks at the rollout again: the override stands.
	e.result(inflight[0], true)
	e.finish(1)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	if n := len(ofType(evs, contracts.EventPaused)); n != 1 {
		t.Fatalf("the override was paused again: %v", typesOf(evs))
	}

	if _, err := e.control("r2", contracts.VerbPause, "bob"); err != nil {
		t.Fatalf("pause of a held rollout: %v", err)
	}
	e.result(inflight[1], true) // q1, in flight since before the freeze
	e.waitFor("r2", contracts.EventHostSucceeded, 1)
	e.clock.Advance(time.Hour)
	// The pass that resumes r3, still the calendar's, looked at r2 too.
	e.tickUntil("r3", contracts.EventResumed, 1)
	if evs := e.events("r2"); len(ofType(evs, contracts.EventResumed)) != 0 {
		t.Fatalf("r2, paused by its operator, was resumed: %v", typesOf(evs))
	}
}

// Rollouts waiting for a freeze start one after another in their arrival
// order when it ends, not in the order of their ids.
func TestWaitingRolloutsStartInArrivalOrderWhenTheWindowOpens(t *testing.T) {
	e := newEnv(t)
	cal := e.calendar()
	end := t0.Add(30 * time.Second)
	cal.freezeUntil("prod", "change freeze", end)
	e.start()
	order := []string{"r-c", "r-a", "r-b"}
	for i, id := range order {
		e.publishPlanned(newPlan(id, "prod", [][]string{{"h" + string(rune('1'+i))}}))
		e.waitFor(id, contracts.EventQueued, 1)
	}
	e.tickUntil(order[0], contracts.EventStarted, 1)
	if now := e.clock.Now(); now.Before(end) {
		t.Fatalf("started at %s, before the freeze ended", now)
	}
	for i, id := range order {
		if i > 0 {
			e.waitFor(id, contracts.EventStarted, 1)
		}
		for _, later := range order[i+1:] {
			if n := len(ofType(e.events(later), contracts.EventStarted)); n != 0 {
				t.Fatalf("%s started before %s", later, id)
			}
		}
		e.finish(1)
		e.waitFor(id, contracts.EventCompleted, 1)
	}
}

// putLineStop writes the line stop key as the gateway does for rollwave
// freeze --all.
func (e *env) putLineStop(reason string) { e.putLineStopSince(reason, e.clock.Now()) }

func (e *env) putLineStopSince(reason string, since time.Time) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	kv, err := e.js.KeyValue(ctx, contracts.CalendarStateBucket)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := json.Marshal(contracts.LineStop{Reason: reason, CreatedBy: "alice", Since: since})
	if _, err := kv.Put(ctx, contracts.LineStopKey, b); err != nil {
		e.t.Fatal(err)
	}
}

// The line stop key pauses running rollouts in every environment and holds
// back new ones even though the calendar admits them (it is not the
// calendar's), from the moment it is seen even when the writer's clock is
// ahead; deleting it resumes and admits them.
func TestLineStopKey(t *testing.T) {
	e := newEnv(t)
	e.calendar() // admits everything
	e.publishState()
	e.start()
	e.publishPlanned(newPlan("r-prod", "prod", [][]string{{"h1"}}, [][]string{{"h2"}}))
	e.publishPlanned(newPlan("r-qa", "qa", [][]string{{"q1"}}, [][]string{{"q2"}}))
	e.waitFor("r-prod", contracts.EventStarted, 1)
	e.waitFor("r-qa", contracts.EventStarted, 1)
	e.putLineStopSince("incident 123", e.clock.Now().Add(time.Hour))
	for _, id := range []string{"r-prod", "r-qa"} {
		p := lastOf(t, e.waitFor(id, contracts.EventPaused, 1), contracts.EventPaused)
		if p.Actor != scheduler.ActorCalendar || p.Reason != "stop line-stop (incident 123) until the line is released" {
			t.Fatalf("%s paused by %q: %q", id, p.Actor, p.Reason)
		}
	}
	e.publishPlanned(newPlan("r-new", "stage", [][]string{{"s1"}}))
	q := lastOf(t, e.tickUntil("r-new", contracts.EventQueued, 1), contracts.EventQueued)
	if q.Reason != "stop: incident 123" {
		t.Fatalf("r-new queued for %q", q.Reason)
	}
	e.unpublishStateKey(contracts.LineStopKey)
	for _, id := range []string{"r-prod", "r-qa"} {
		r := lastOf(t, e.waitFor(id, contracts.EventResumed, 1), contracts.EventResumed)
		if r.Reason != "stop line-stop (incident 123) ended" {
			t.Fatalf("%s resumed for %q", id, r.Reason)
		}
	}
	e.tickUntil("r-new", contracts.EventStarted, 1)
}

// rollwave override starts a rollout the calendar blocks, at the head of
// its line, with the actor and reason on its started event, and the
// calendar then lets it run through the freeze; it needs a reason, and a
// rollout the calendar does not hold has nothing to override.
func TestOverrideStartsABlockedRollout(t *testing.T) {
	e := newEnv(t)
	cal := e.calendar()
	end := t0.Add(time.Hour)
	cal.freezeUntil("prod", "quiet week", end)
	e.publishState(windowState("w-prod", contracts.WindowFreeze, []string{"prod"}, t0.Add(-time.Hour), end, "quiet week"))
	e.start()
	e.publishPlanned(newPlan("r1", "prod", [][]string{{"h1"}}, [][]string{{"h2"}}))
	e.publishPlanned(newPlan("r2", "prod", [][]string{{"h3"}}))
	e.waitFor("r1", contracts.EventQueued, 1)
	e.waitFor("r2", contracts.EventQueued, 1)

	_, err := e.controlWith("r1", contracts.VerbOverride, contracts.ControlCommand{Actor: "alice"})
	if ce := contracts.AsError(err); err == nil || ce.Field != "reason" {
		t.Fatalf("override without a reason: %v", err)
	}
	if _, err := e.controlWith("r1", contracts.VerbOverride, contracts.ControlCommand{Actor: "alice", Reason: "hotfix for incident 7"}); err != nil {
		t.Fatal(err)
	}
	st := lastOf(t, e.waitFor("r1", contracts.EventStarted, 1), contracts.EventStarted)
	if st.Actor != "alice" || st.Reason != "emergency override: hotfix for incident 7" {
		t.Fatalf("started by %q: %q", st.Actor, st.Reason)
	}
	if v := e.get("r1"); v.Reason != "emergency override: hotfix for incident 7" {
		t.Fatalf("r1 reason %q", v.Reason)
	}
	if !e.clock.Now().Before(end) {
		t.Fatal("the freeze was over")
	}
	// Every commit looks at r1 again: the calendar does not pause it.
	e.finish(1, 1)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	if n := len(ofType(evs, contracts.EventPaused)); n != 0 {
		t.Fatalf("the overridden rollout was paused: %v", typesOf(evs))
	}
	// r2 was not overridden: it still waits for the freeze.
	e.waitFor("r2", contracts.EventQueued, 2)
	if n := len(ofType(e.events("r2"), contracts.EventStarted)); n != 0 {
		t.Fatal("r2 started during the freeze")
	}
	_, err = e.controlWith("r1", contracts.VerbOverride, contracts.ControlCommand{Actor: "alice", Reason: "again"})
	if ce := contracts.AsError(err); err == nil || ce.Code != contracts.CodeInvalidState {
		t.Fatalf("override of a completed rollout: %v", err)
	}
}

// rollwave override of a rollout the calendar paused runs it on, like a
// resume with a reason.
func TestOverrideOfAPausedRollout(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.publishState()
	e.start()
	e.publishPlanned(newPlan("r1", "prod", [][]string{{"h1"}}, [][]string{{"h2"}}))
	e.waitFor("r1", contracts.EventStarted, 1)
	e.putLineStop("incident 9")
	e.waitFor("r1", contracts.EventPaused, 1)
	if _, err := e.controlWith("r1", contracts.VerbOverride, contracts.ControlCommand{Actor: "bob", Reason: "the fix itself"}); err != nil {
		t.Fatal(err)
	}
	r := lastOf(t, e.waitFor("r1", contracts.EventResumed, 1), contracts.EventResumed)
	if r.Actor != "bob" || r.Reason != "emergency override: the fix itself" {
		t.Fatalf("resumed by %q: %q", r.Actor, r.Reason)
	}
	e.finish(1, 1)
	if evs := e.waitFor("r1", contracts.EventCompleted, 1); len(ofType(evs, contracts.EventPaused)) != 1 {
		t.Fatalf("paused again: %v", typesOf(evs))
	}
}
