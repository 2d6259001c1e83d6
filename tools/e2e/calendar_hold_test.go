package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/calendar"
)

// slowSim is a sim driver whose actions take ten minutes of the fake
// clock, so that rollouts stay running until the test moves the clock.
const slowSim = "{sim: {median: 10m, p99: 20m}}"

// lastEvent returns the last stored event of a type.
func (h *harness) lastEvent(id string, typ contracts.EventType) (contracts.Event, bool) {
	evs := h.events(id)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			return evs[i].Event, true
		}
	}
	return contracts.Event{}, false
}

// advanceUntil moves the fake clock ten minutes at a time until the
// rollout reaches state.
func (h *harness) advanceUntil(fake *clock.Fake, id string, state contracts.State) {
	h.advanceBy(fake, 10*time.Minute, time.Time{}, id, state)
}

// advanceBy moves the clock by step at a time, never past limit (when
// set), until the rollout reaches state: however slow the machine, the
// clock does not run ahead of what the test means to happen.
func (h *harness) advanceBy(fake *clock.Fake, step time.Duration, limit time.Time, id string, state contracts.State) {
	h.t.Helper()
	natstest.CheckFor(h.t, waitLong, 20*time.Millisecond, func() error {
		v, err := h.rollout(id)
		if err != nil {
			return err
		}
		if v.State != state {
			if limit.IsZero() || !fake.Now().Add(step).After(limit) {
				fake.Advance(step)
			}
			return fmt.Errorf("rollout %s is %s, want %s", id, v.State, state)
		}
		return nil
	})
}

// A stop window ("rollwave freeze --all") added through the calendar
// pauses the running rollouts of every environment, without the clock
// moving; removing it ("rollwave unfreeze --all") resumes them, and they
// complete.
func TestGlobalStopPausesEveryRunningRollout(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	inv := tenHosts(slowSim) + "  - name: qa\n    driver: " + slowSim + "\n    hosts:\n" +
		"      - {name: qa-01, address: 127.0.0.1:21001}\n      - {name: qa-02, address: 127.0.0.1:21002}\n"
	h := newHarness(t, harnessOpts{inventory: inv, clock: fake})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	h.deploy(ctx, threePhases("r-prod"))
	h.deploy(ctx, contracts.DeployRequest{ID: "r-qa", App: "web", Version: "2.4.1", Environment: "qa",
		Phases: []contracts.PhaseSpec{{Name: "all", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}}})
	h.waitState("r-prod", contracts.StateRunning)
	h.waitState("r-qa", contracts.StateRunning)

	w, err := natsx.Request[contracts.Window](ctx, h.st.NC, contracts.APICalendarAdd, contracts.WindowInput{
		Environments: []string{contracts.AllEnvironments}, Kind: contracts.WindowStop,
		Start: "2026-12-01T09:00:00Z", End: "2026-12-08T09:00:00Z", Reason: "incident 123",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r-prod", "r-qa"} {
		h.waitState(id, contracts.StatePaused)
		ev, _ := h.lastEvent(id, contracts.EventPaused)
		if ev.Actor != "calendar" || !strings.Contains(ev.Reason, "incident 123") || !strings.Contains(ev.Reason, w.ID) {
			t.Fatalf("%s paused by %q: %q", id, ev.Actor, ev.Reason)
		}
	}
	if !fake.Now().Equal(start) {
		t.Fatal("the clock moved")
	}
	if _, err := natsx.Request[struct{}](ctx, h.st.NC, contracts.APICalendarRemove, contracts.WindowRemove{ID: w.ID}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r-prod", "r-qa"} {
		h.waitState(id, contracts.StateRunning)
		ev, _ := h.lastEvent(id, contracts.EventResumed)
		if ev.Actor != "calendar" || !strings.Contains(ev.Reason, "ended") {
			t.Fatalf("%s resumed by %q: %q", id, ev.Actor, ev.Reason)
		}
	}
	h.advanceUntil(fake, "r-prod", contracts.StateCompleted)
	h.advanceUntil(fake, "r-qa", contracts.StateCompleted)
}

// A freeze that begins while a rollout runs pauses it at the batch
// boundary; the batch in flight finishes, and the calendar resumes the
// rollout when the freeze ends.
func TestFreezeBeginningMidRollout(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	h := newHarness(t, harnessOpts{inventory: tenHosts(slowSim), clock: fake})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := natsx.Request[contracts.Window](ctx, h.st.NC, contracts.APICalendarAdd, contracts.WindowInput{
		Environment: "prod", Start: "2026-12-01T09:01:00Z", End: "2026-12-01T12:00:00Z", Reason: "board demo",
	}); err != nil {
		t.Fatal(err)
	}
	h.deploy(ctx, threePhases("r-mid"))
	h.waitState("r-mid", contracts.StateRunning)
	// Second by second into the freeze, and not beyond 09:02: the canary
	// takes minutes, so it is still in flight when the freeze begins.
	h.advanceBy(fake, time.Second, time.Date(2026, 12, 1, 9, 2, 0, 0, time.UTC), "r-mid", contracts.StatePaused)
	ev, _ := h.lastEvent("r-mid", contracts.EventPaused)
	if ev.Actor != "calendar" || !strings.Contains(ev.Reason, "board demo") {
		t.Fatalf("paused by %q: %q", ev.Actor, ev.Reason)
	}
	if v, _ := h.rollout("r-mid"); v.Counts.Succeeded != 0 {
		t.Fatalf("paused only after the canary: %+v", v.Counts)
	}
	// The canary in flight finishes during the freeze; nothing else starts.
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		if _, ok := h.lastEvent("r-mid", contracts.EventHostSucceeded); !ok {
			if fake.Now().Before(time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)) {
				fake.Advance(10 * time.Minute) // the freeze lasts until 12:00
			}
			return fmt.Errorf("the canary has not finished")
		}
		return nil
	})
	if v, _ := h.rollout("r-mid"); v.State != contracts.StatePaused || v.Counts.Succeeded != 1 || v.Counts.Running != 0 {
		t.Fatalf("during the freeze: %s, %+v", v.State, v.Counts)
	}
	h.advanceUntil(fake, "r-mid", contracts.StateCompleted)
	ev, _ = h.lastEvent("r-mid", contracts.EventResumed)
	if ev.Actor != "calendar" || !strings.Contains(ev.Reason, "board demo") {
		t.Fatalf("resumed by %q: %q", ev.Actor, ev.Reason)
	}
}

// An environment whose inventory says on_blocked: reject ends a request
// the calendar blocks at once, naming the window.
func TestOnBlockedRejectFromTheEnvironment(t *testing.T) {
	start := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	inv := strings.Replace(tenHosts("{sim: {}}"), "  - name: prod\n", "  - name: prod\n    on_blocked: reject\n", 1)
	h := newHarness(t, harnessOpts{inventory: inv, clock: fake})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := natsx.Request[contracts.Window](ctx, h.st.NC, contracts.APICalendarAdd, contracts.WindowInput{
		Environment: "prod", Start: "2026-12-24T00:00:00Z", End: "2026-12-27T00:00:00Z", Reason: "christmas",
	}); err != nil {
		t.Fatal(err)
	}
	h.deploy(ctx, threePhases("r-rejected"))
	v := h.waitState("r-rejected", contracts.StateRejected)
	if !strings.Contains(v.Reason, "on_blocked: reject") || !strings.Contains(v.Reason, "christmas") {
		t.Fatalf("reason %q", v.Reason)
	}
	// The request's own policy wins over the environment's.
	wait := threePhases("r-waits")
	wait.OnBlocked = contracts.OnBlockedWait
	h.deploy(ctx, wait)
	h.waitQueued("r-waits", "christmas")
}

// The line stop of rollwave freeze --all (PUT /v1/stop) needs no calendar:
// with the calendar service down, it pauses the running rollout and holds
// back a new one, and DELETE /v1/stop releases both.
func TestLineStopWhileTheCalendarIsDown(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	dir := t.TempDir()
	inv := tenHosts(slowSim) + "  - name: qa\n    driver: " + slowSim + "\n    hosts:\n      - {name: qa-01, address: 127.0.0.1:21001}\n"
	h := newHarness(t, harnessOpts{inventory: inv, clock: fake, dataDir: dir,
		services: []string{"discovery", "planner", "executor", "scheduler", "gateway"}})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	// The calendar publishes its (empty) state once, then goes away.
	cal, err := calendar.New(service.Deps{NC: h.st.NC, JS: h.st.JS, Log: slog.New(slog.DiscardHandler), Clock: fake},
		calendar.Config{DBPath: filepath.Join(dir, "calendar-alone.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cal.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cal.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	h.deploy(ctx, threePhases("r-run"))
	h.waitState("r-run", contracts.StateRunning)

	do := func(method, body string) int {
		req, err := http.NewRequestWithContext(ctx, method, "http://"+h.st.Gateway.Addr()+"/v1/stop", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := do(http.MethodPut, `{"reason":"incident 123","created_by":"alice"}`); st != http.StatusOK {
		t.Fatalf("PUT /v1/stop: %d", st)
	}
	h.waitState("r-run", contracts.StatePaused)
	ev, _ := h.lastEvent("r-run", contracts.EventPaused)
	if ev.Actor != "calendar" || !strings.Contains(ev.Reason, "incident 123") {
		t.Fatalf("paused by %q: %q", ev.Actor, ev.Reason)
	}
	// A new rollout in another environment waits for the stop.
	h.deploy(ctx, contracts.DeployRequest{ID: "r-new", App: "web", Version: "2.4.1", Environment: "qa",
		Phases: []contracts.PhaseSpec{{Name: "all"}}})
	h.waitQueued("r-new", "stop: incident 123")
	if st := do(http.MethodDelete, ""); st != http.StatusNoContent {
		t.Fatalf("DELETE /v1/stop: %d", st)
	}
	h.waitState("r-run", contracts.StateRunning)
	h.advanceUntil(fake, "r-run", contracts.StateCompleted)
	h.advanceUntil(fake, "r-new", contracts.StateCompleted)
}
