package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// freeze --all writes the line stop (no calendar answers here: it does
// not need one) and waits until the rollouts that were running are
// paused, saying how long that took; unfreeze --all lifts it and removes
// the one-off stop windows in force, and nothing else.
func TestFreezeAllAndUnfreezeAll(t *testing.T) {
	a := startAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopped := func() bool {
		kv, err := a.js.KeyValue(ctx, contracts.CalendarStateBucket)
		if err != nil {
			return false
		}
		_, err = kv.Get(ctx, contracts.LineStopKey)
		return !errors.Is(err, jetstream.ErrKeyNotFound)
	}
	var mu sync.Mutex
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
		if stopped() { // after the stop: one pauses, then the other
			polls++
			running = running[min(polls, 2):]
		}
		l := contracts.RolloutList{Rollouts: []contracts.RolloutSummary{}}
		for _, id := range running {
			l.Rollouts = append(l.Rollouts, contracts.RolloutSummary{Rollout: id, State: contracts.StateRunning})
		}
		return l, nil
	})

	code, out, errOut := a.run("freeze", "--all", "-m", "incident 123")
	if code != 0 || !strings.Contains(out, "the line is stopped in every environment since ") ||
		!strings.Contains(out, ": incident 123") || !strings.Contains(out, "2 running rollouts paused in ") {
		t.Fatalf("freeze: code %d\n%s\nstderr %s", code, out, errOut)
	}
	if !stopped() {
		t.Fatal("no line stop key")
	}
	code, out, _ = a.run("-o", "json", "freeze", "--all", "-m", "incident 124")
	var res freezeResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Stop.Reason != "incident 124" || res.Stop.CreatedBy != "tester" {
		t.Fatalf("freeze -o json: %d %s", code, out)
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
	if code != 0 || !strings.Contains(out, "the line is released; removed the stop windows stop-now") {
		t.Fatalf("unfreeze: code %d\n%s\nstderr %s", code, out, errOut)
	}
	if stopped() {
		t.Fatal("the line stop key is still there")
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

// rollwave override sends the verb with the operator and the reason.
func TestOverrideCommand(t *testing.T) {
	a := startAPI(t)
	got := make(chan contracts.ControlCommand, 1)
	a.respond(contracts.ControlSubject("r-1", contracts.VerbOverride), func(m *nats.Msg) (any, *contracts.Error) {
		var cmd contracts.ControlCommand
		_ = json.Unmarshal(m.Data, &cmd)
		got <- cmd
		return contracts.RolloutSummary{Rollout: "r-1", App: "web", Version: "2.4.1", Environment: "prod", State: contracts.StateRunning}, nil
	})
	code, out, errOut := a.run("override", "r-1", "--reason", "hotfix for incident 7")
	if code != 0 || !strings.Contains(out, "r-1: running") {
		t.Fatalf("override: code %d, out %q, stderr %q", code, out, errOut)
	}
	if cmd := <-got; cmd.Actor != "tester" || cmd.Reason != "hotfix for incident 7" {
		t.Fatalf("command = %+v", cmd)
	}
}
