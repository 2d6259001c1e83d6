package main

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

// freeze --all adds a stop for every environment starting now and waits
// until the rollouts that were running are paused, saying how long that
// took; unfreeze --all removes the one-off stops in force and nothing else.
func TestFreezeAllAndUnfreezeAll(t *testing.T) {
	a := startAPI(t)
	var mu sync.Mutex
	var added *contracts.WindowInput
	polls := 0
	a.respond(contracts.APISchedulerList, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutListQuery
		_ = json.Unmarshal(m.Data, &q)
		mu.Lock()
		defer mu.Unlock()
		if q.State != contracts.StateRunning {
			return nil, &contracts.Error{Code: contracts.CodeInvalid, Message: "want state=running, got " + string(q.State)}
		}
		running := []string{"r-prod", "r-qa"}
		if added != nil { // after the stop: one pauses, then the other
			polls++
			running = running[min(polls, 2):]
		}
		l := contracts.RolloutList{Rollouts: []contracts.RolloutSummary{}}
		for _, id := range running {
			l.Rollouts = append(l.Rollouts, contracts.RolloutSummary{Rollout: id, State: contracts.StateRunning})
		}
		return l, nil
	})
	a.respond(contracts.APICalendarAdd, func(m *nats.Msg) (any, *contracts.Error) {
		var in contracts.WindowInput
		_ = json.Unmarshal(m.Data, &in)
		mu.Lock()
		added = &in
		mu.Unlock()
		start, _ := time.Parse(time.RFC3339, in.Start)
		end, _ := time.Parse(time.RFC3339, in.End)
		return contracts.Window{ID: "w-stop", Environments: in.Environments, Kind: in.Kind, Start: start, End: end, Reason: in.Reason}, nil
	})

	code, out, errOut := a.run("freeze", "--all", "-m", "incident 123")
	if code != 0 || !strings.Contains(out, "w-stop: the line is stopped in every environment") ||
		!strings.Contains(out, "2 running rollouts paused in ") {
		t.Fatalf("freeze: code %d\n%s\nstderr %s", code, out, errOut)
	}
	if added.Kind != contracts.WindowStop || len(added.Environments) != 1 || added.Environments[0] != contracts.AllEnvironments ||
		added.Reason != "incident 123" {
		t.Fatalf("added %+v", added)
	}
	start, err := time.Parse(time.RFC3339, added.Start)
	if err != nil || time.Since(start) > time.Minute {
		t.Fatalf("stop starts %q, want now", added.Start)
	}
	if code, _, errOut := a.run("freeze", "-m", "x"); code != exitUsage || !strings.Contains(errOut, "--all is required") {
		t.Fatalf("without --all: %d %s", code, errOut)
	}
	if code, _, errOut := a.run("freeze", "--all"); code != exitUsage || !strings.Contains(errOut, "-m is required") {
		t.Fatalf("without -m: %d %s", code, errOut)
	}

	now := time.Now().UTC()
	windows := []contracts.Window{
		{ID: "stop-now", Kind: contracts.WindowStop, Environments: []string{"*"}, Start: now.Add(-time.Minute), End: now.Add(time.Hour)},
		{ID: "stop-later", Kind: contracts.WindowStop, Environments: []string{"*"}, Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)},
		{ID: "stop-weekly", Kind: contracts.WindowStop, Environments: []string{"*"}, Start: now.Add(-time.Minute), End: now.Add(time.Hour), RRule: "FREQ=WEEKLY"},
		{ID: "stop-over", Kind: contracts.WindowStop, Environments: []string{"*"}, Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)},
		{ID: "freeze-now", Kind: contracts.WindowFreeze, Environment: "prod", Start: now.Add(-time.Minute), End: now.Add(time.Hour)},
	}
	a.respond(contracts.APICalendarList, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.WindowList{Windows: windows}, nil
	})
	var removed []string
	a.respond(contracts.APICalendarRemove, func(m *nats.Msg) (any, *contracts.Error) {
		var r contracts.WindowRemove
		_ = json.Unmarshal(m.Data, &r)
		mu.Lock()
		removed = append(removed, r.ID)
		mu.Unlock()
		return struct{}{}, nil
	})
	code, out, errOut = a.run("unfreeze", "--all")
	if code != 0 || !strings.Contains(out, "released: removed stop-now") {
		t.Fatalf("unfreeze: code %d\n%s\nstderr %s", code, out, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(removed) != 1 || removed[0] != "stop-now" {
		t.Fatalf("removed %v, want only stop-now", removed)
	}
}

func TestProgressBar(t *testing.T) {
	for _, c := range []struct {
		done, total int
		want        string
	}{{0, 4, "[--------]"}, {1, 4, "[##------]"}, {4, 4, "[########]"}, {0, 0, "[########]"}} {
		if got := progressBar(c.done, c.total, 8); got != c.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", c.done, c.total, got, c.want)
		}
	}
}
