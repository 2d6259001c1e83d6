package e2e

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/calendar"
)

// The calendar publishes a freeze and then goes down: the scheduler keeps
// honouring the freeze from the calendar's published state, and the
// rollout starts by itself when the freeze ends.
func TestCalendarDownFreezeStillHolds(t *testing.T) {
	start := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	dir := t.TempDir()
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {}}"), clock: fake, dataDir: dir,
		services: []string{"discovery", "planner", "executor", "scheduler"}})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	cal, err := calendar.New(service.Deps{NC: h.st.NC, JS: h.st.JS, Log: slog.New(slog.DiscardHandler), Clock: fake},
		calendar.Config{DBPath: filepath.Join(dir, "calendar-alone.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cal.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.Request[contracts.Window](ctx, h.st.NC, contracts.APICalendarAdd, contracts.WindowInput{
		Environment: "prod", Start: "2026-12-24T09:00:00Z", End: "2026-12-24T11:00:00Z", Reason: "christmas",
	}); err != nil {
		t.Fatal(err)
	}
	if err := cal.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	h.deploy(ctx, threePhases("r-frozen"))
	h.waitQueued("r-frozen", "christmas", "calendar unavailable")
	h.stillQueuedAfter(fake, time.Hour, "r-frozen")
	fake.Advance(time.Hour)
	h.waitState("r-frozen", contracts.StateCompleted)
}

// A reservation admits its holder's rollouts and holds back everyone
// else's until it ends: the request's team reaches the calendar.
func TestReservationAdmitsOnlyItsTeam(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {}}"), clock: fake})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := natsx.Request[contracts.Window](ctx, h.st.NC, contracts.APICalendarAdd, contracts.WindowInput{
		Environment: "prod", Kind: contracts.WindowReservation, Team: "payments",
		Start: "2026-12-01T09:00:00Z", End: "2026-12-01T11:00:00Z", Reason: "payments load test",
	}); err != nil {
		t.Fatal(err)
	}
	mine := threePhases("r-payments")
	mine.Team = "payments"
	h.deploy(ctx, mine)
	h.waitState("r-payments", contracts.StateCompleted)

	theirs := threePhases("r-search")
	theirs.Team = "search"
	h.deploy(ctx, theirs)
	h.waitQueued("r-search", "payments")
	fake.Advance(2 * time.Hour)
	h.waitState("r-search", contracts.StateCompleted)
}
