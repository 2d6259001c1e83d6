package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestRollbackAndUndo(t *testing.T) {
	a := startAPI(t)
	got := make(chan string, 4)
	answer := func(id string) func(m *nats.Msg) (any, *contracts.Error) {
		return func(m *nats.Msg) (any, *contracts.Error) {
			var cmd contracts.ControlCommand
			_ = json.Unmarshal(m.Data, &cmd)
			got <- id + " " + cmd.Actor + " " + cmd.Reason + " fast=" + map[bool]string{true: "yes", false: "no"}[cmd.Fast]
			return contracts.RolloutSummary{Rollout: id, App: "web", Version: "2.4.1", Environment: "prod",
				State: contracts.StateRunning, Counts: contracts.Counts{Total: 2, Succeeded: 2}}, nil
		}
	}
	a.respond(contracts.ControlSubject("r-1", contracts.VerbRollback), answer("r-1"))
	a.respond(contracts.ControlSubject("r-7", contracts.VerbRollback), answer("r-7"))
	a.respond(contracts.APISchedulerList, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutListQuery
		_ = json.Unmarshal(m.Data, &q)
		if q.Environment == "staging" {
			return contracts.RolloutList{Rollouts: []contracts.RolloutSummary{
				{Rollout: "r-9", App: "web", Environment: "staging", State: contracts.StateRolledBack}}}, nil
		}
		return contracts.RolloutList{Rollouts: []contracts.RolloutSummary{
			{Rollout: "r-8", App: "api", Environment: "prod", State: contracts.StateRunning},
			{Rollout: "r-7", App: "web", Environment: "prod", State: contracts.StateCompleted},
			{Rollout: "r-6", App: "web", Environment: "prod", State: contracts.StateCompleted},
		}}, nil
	})

	t.Setenv("ROLLWAVE_ACTOR", "carol")
	code, out, errOut := a.run("rollback", "r-1", "--fast", "-m", "errors up")
	if code != 0 || strings.TrimSpace(out) != "r-1: running (web@2.4.1 in prod, hosts 2/2)" {
		t.Fatalf("rollback: code %d, out %q, stderr %q", code, out, errOut)
	}
	if c := <-got; c != "r-1 carol errors up fast=yes" {
		t.Fatalf("rollback command %q", c)
	}
	if code, _, errOut = a.run("undo", "web", "--env", "prod", "-m", "bad release"); code != 0 {
		t.Fatalf("undo: code %d, stderr %q", code, errOut)
	}
	if c := <-got; c != "r-7 carol bad release fast=no" {
		t.Fatalf("undo sent %q, want the rollback of r-7 (web's newest)", c)
	}
	code, _, errOut = a.run("undo", "web", "--env", "staging")
	if code != exitFailed || !strings.Contains(errOut, "nothing to undo: the last rollout of web in staging, r-9, is rolled_back") {
		t.Fatalf("undo of a rolled back rollout: code %d, stderr %q", code, errOut)
	}
	if code, _, _ = a.run("undo", "web"); code != exitUsage {
		t.Fatalf("undo without --env: code %d", code)
	}
}

// A rolled back rollout settles watch (and deploy --wait) with exit 1.
func TestWatchExitsOneWhenRolledBack(t *testing.T) {
	a := startAPI(t)
	base := contracts.Event{Rollout: "r-rb", Environment: "qa", App: "web", Version: "2.4.1"}
	plan := &contracts.Plan{Rollout: "r-rb", App: "web", Version: "2.4.1", Environment: "qa",
		Phases: []contracts.PlannedPhase{{Name: "all", Batches: [][]string{{"web-01"}}}}}
	phase := &contracts.PhaseRef{Index: 0, Name: "all", ID: "all"}
	back := &contracts.PhaseRef{Index: 1, Name: contracts.RollbackStepID, ID: contracts.RollbackStepID}
	for i, step := range []struct {
		typ contracts.EventType
		mod func(*contracts.Event)
	}{
		{contracts.EventPlanned, func(e *contracts.Event) { e.State, e.Plan = contracts.StatePlanned, plan }},
		{contracts.EventStarted, func(e *contracts.Event) { e.State = contracts.StateRunning }},
		{contracts.EventHostSucceeded, func(e *contracts.Event) {
			e.State, e.Phase, e.Batch = contracts.StateRunning, phase, 1
			e.Host = &contracts.HostOutcome{Name: "web-01", Attempt: 1, Status: contracts.ResultSucceeded}
		}},
		{contracts.EventRollbackStarted, func(e *contracts.Event) { e.State, e.Actor, e.Reason = contracts.StateRunning, "carol", "errors up" }},
		{contracts.EventHostSucceeded, func(e *contracts.Event) {
			e.State, e.Phase, e.Batch = contracts.StateRunning, back, 1
			e.Host = &contracts.HostOutcome{Name: "web-01", Attempt: 1, Status: contracts.ResultSucceeded}
		}},
		{contracts.EventRolledBack, func(e *contracts.Event) {
			e.State, e.Reason = contracts.StateRolledBack, "rolled back 1 hosts to their previous version"
		}},
	} {
		ev := base
		ev.Seq = int64(i)
		step.mod(&ev)
		a.publishEvent(step.typ, ev)
	}
	code, out, errOut := a.run("watch", "r-rb")
	if code != exitFailed || !strings.Contains(errOut, "rollout r-rb rolled_back: rolled back 1 hosts to their previous version") ||
		!strings.Contains(out, "rollback_started") {
		t.Fatalf("code %d, out %q, stderr %q", code, out, errOut)
	}
}
