package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestSkipReorderExclude(t *testing.T) {
	a := startAPI(t)
	got := make(chan contracts.ControlCommand, 3)
	answer := func(m *nats.Msg) (any, *contracts.Error) {
		var cmd contracts.ControlCommand
		_ = json.Unmarshal(m.Data, &cmd)
		got <- cmd
		return contracts.RolloutSummary{Rollout: "r-1", App: "web", Version: "2.4.1", Environment: "prod",
			State: contracts.StateRunning, Counts: contracts.Counts{Total: 4, Succeeded: 2}}, nil
	}
	for _, v := range []contracts.Verb{contracts.VerbSkip, contracts.VerbReorder, contracts.VerbExclude} {
		a.respond(contracts.ControlSubject("r-1", v), answer)
	}
	a.respond(contracts.ControlSubject("r-2", contracts.VerbSkip), func(*nats.Msg) (any, *contracts.Error) {
		return nil, &contracts.Error{Code: contracts.CodeInvalidState, Message: "cannot skip: step deploy of rollout r-2 is completed"}
	})

	t.Setenv("ROLLWAVE_ACTOR", "carol")
	code, out, errOut := a.run("skip", "r-1", "east", "-m", "decommissioned")
	if code != 0 || strings.TrimSpace(out) != "r-1: running (web@2.4.1 in prod, hosts 2/4)" {
		t.Fatalf("skip: code %d, out %q, stderr %q", code, out, errOut)
	}
	if cmd := <-got; cmd.Actor != "carol" || cmd.Reason != "decommissioned" || cmd.Step != "east" {
		t.Fatalf("skip command = %+v", cmd)
	}
	if code, _, errOut = a.run("reorder", "r-1", "west", "east", "--as", "dave", "-m", "west first"); code != 0 {
		t.Fatalf("reorder: code %d, stderr %q", code, errOut)
	}
	if cmd := <-got; cmd.Actor != "dave" || cmd.Reason != "west first" || !reflect.DeepEqual(cmd.Steps, []string{"west", "east"}) {
		t.Fatalf("reorder command = %+v", cmd)
	}
	if code, _, errOut = a.run("exclude", "r-1", "web-07", "-m", "disk"); code != 0 {
		t.Fatalf("exclude: code %d, stderr %q", code, errOut)
	}
	if cmd := <-got; cmd.Actor != "carol" || cmd.Host != "web-07" || cmd.Step != "" {
		t.Fatalf("exclude command = %+v", cmd)
	}
	code, _, errOut = a.run("skip", "r-2", "deploy", "-m", "x")
	if code != exitFailed || strings.TrimSpace(errOut) != "error: cannot skip: step deploy of rollout r-2 is completed" {
		t.Fatalf("skip 409: code %d, stderr %q", code, errOut)
	}
	for _, args := range [][]string{{"skip", "r-1"}, {"reorder", "r-1"}, {"exclude", "r-1"}, {"exclude", "r-1", "a", "b"}} {
		if code, _, _ := a.run(args...); code != exitUsage {
			t.Errorf("%v: code %d, want usage", args, code)
		}
	}
}

func TestGetShowsGuidedChoices(t *testing.T) {
	v := contracts.RolloutView{RolloutSummary: contracts.RolloutSummary{Rollout: "r-9", App: "web", Version: "2.0.0", Environment: "prod",
		State: contracts.StatePaused, Reason: "failure threshold crossed: 1 failed, 0 tolerated",
		Counts: contracts.Counts{Total: 3, Failed: 1, Pending: 1, Excluded: 1}},
		RunOrder: []string{"rest", "canary"},
		Offer: []contracts.FailedHostOffer{{Host: "web-02", Error: "exit status 1", Choices: []contracts.GuidedChoice{
			{Verb: contracts.VerbRetry, Command: "rollwave retry r-9 --host web-02"},
			{Verb: contracts.VerbExclude, Command: "rollwave exclude r-9 web-02"},
			{Verb: contracts.VerbRollback, Command: "rollwave rollback r-9"},
			{Verb: contracts.VerbAbort, Command: "rollwave abort r-9"},
		}}}}
	var b bytes.Buffer
	printRollout(&b, painter(false), v)
	out := b.String()
	for _, want := range []string{
		"Run order:    rest, canary",
		"1 pending, 1 excluded",
		"Guided failure: the rollout waits for a choice.\n  web-02: exit status 1\n",
		"    retry this host:  rollwave retry r-9 --host web-02\n",
		"    skip this host:   rollwave exclude r-9 web-02\n",
		"    roll back:        rollwave rollback r-9\n",
		"    abort:            rollwave abort r-9\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRuntimeEventDetails(t *testing.T) {
	p := painter(false)
	tests := []struct {
		typ  contracts.EventType
		ev   contracts.Event
		want string
	}{
		{contracts.EventSkipped, contracts.Event{Step: "east", Hosts: []string{"h2", "h3"}, Actor: "alice", Reason: "gone"}, "step east (2 hosts) by alice: gone"},
		{contracts.EventReordered, contracts.Event{Steps: []string{"rest", "east"}, Actor: "bob"}, "steps rest, east by bob"},
		{contracts.EventExcluded, contracts.Event{Hosts: []string{"web-07"}, Actor: "carol", Reason: "disk"}, "web-07 by carol: disk"},
		{contracts.EventPaused, contracts.Event{Rollout: "r-9", Actor: "scheduler", Reason: "failure threshold crossed: 1 failed, 0 tolerated",
			Offer: []contracts.FailedHostOffer{{Host: "web-02"}}},
			"by scheduler: failure threshold crossed: 1 failed, 0 tolerated; guided failure: 1 failed hosts wait for a choice, see rollwave get r-9"},
		{contracts.EventPaused, contracts.Event{Actor: "alice", Reason: "lunch"}, "by alice: lunch"},
	}
	for _, tt := range tests {
		if got := eventDetail(p, tt.typ, tt.ev); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.typ, got, tt.want)
		}
	}
}
