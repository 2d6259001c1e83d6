package scheduler_test

import (
	"context"
	"slices"
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// send sends a runtime-control command over the control subject as alice.
func (e *env) send(id string, verb contracts.Verb, cmd contracts.ControlCommand) (contracts.RolloutSummary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd.Actor, cmd.Reason = "alice", "test "+string(verb)
	return natsx.Request[contracts.RolloutSummary](ctx, e.nc, contracts.ControlSubject(id, verb), cmd)
}

// Reorder, exclude and skip over the control subject, across a scheduler
// restart: the new order and the excluded host are stored, action ids key
// on the step, and each verb is recorded with its actor.
func TestSkipReorderExclude(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	e.publishPlanned(plan3("r1"))
	h1 := e.take(1)[0]

	if _, err := e.send("r1", contracts.VerbReorder, contracts.ControlCommand{Steps: []string{"rest", "east"}}); err != nil {
		t.Fatalf("reorder: %v", err)
	}
	if _, err := e.send("r1", contracts.VerbExclude, contracts.ControlCommand{Host: "h6"}); err != nil {
		t.Fatalf("exclude: %v", err)
	}
	// Refusals name the verb and why, and change nothing.
	_, err := e.send("r1", contracts.VerbReorder, contracts.ControlCommand{Steps: []string{"east", "canary", "rest"}})
	if ce := contracts.AsError(err); !contracts.IsCode(err, contracts.CodeInvalidState) || ce.Message != "cannot reorder: step canary of rollout r1 is running and cannot move" {
		t.Fatalf("reorder of the running step: %v", err)
	}
	if _, err := e.send("r1", contracts.VerbExclude, contracts.ControlCommand{Host: "h9"}); !contracts.IsCode(err, contracts.CodeInvalid) || contracts.AsError(err).Field != "host" {
		t.Fatalf("exclude of an unknown host: %v", err)
	}
	e.waitFor("r1", contracts.EventExcluded, 1)
	s1.stop(t)
	e.start()

	e.result(h1, true)
	rest := e.take(1)[0] // rest before east, without h6
	if rest.Host.Name != "h5" || rest.ID != contracts.StepActionID("r1", "rest", "h5", 1) || rest.Phase.ID != "rest" || rest.Phase.Index != 2 {
		t.Fatalf("after canary: %+v", rest)
	}
	if _, err := e.send("r1", contracts.VerbSkip, contracts.ControlCommand{Step: "east"}); err != nil {
		t.Fatalf("skip: %v", err)
	}
	_, err = e.send("r1", contracts.VerbSkip, contracts.ControlCommand{Step: "canary"})
	if !contracts.IsCode(err, contracts.CodeInvalidState) || contracts.AsError(err).Message != "cannot skip: step canary of rollout r1 is completed" {
		t.Fatalf("skip of a completed step: %v", err)
	}
	e.result(rest, true)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	checkSeqs(t, evs)
	for typ, verb := range map[contracts.EventType]contracts.Verb{contracts.EventReordered: contracts.VerbReorder,
		contracts.EventExcluded: contracts.VerbExclude, contracts.EventSkipped: contracts.VerbSkip} {
		ev := ofType(evs, typ)
		if len(ev) != 1 || ev[0].Actor != "alice" || ev[0].Reason != "test "+string(verb) {
			t.Fatalf("%s events %+v", typ, ev)
		}
	}
	if ev := ofType(evs, contracts.EventSkipped)[0]; ev.Step != "east" || !slices.Equal(ev.Hosts, []string{"h2", "h3", "h4"}) {
		t.Fatalf("skipped %+v", ev.Event)
	}
	v := e.get("r1")
	if c := v.Counts; c.Succeeded != 2 || c.Skipped != 3 || c.Excluded != 1 || c.Pending != 0 {
		t.Fatalf("counts %+v", c)
	}
	if !slices.Equal(v.RunOrder, []string{"canary", "rest", "east"}) || v.Phases[1].State != "skipped" {
		t.Fatalf("view run order %v phases %+v", v.RunOrder, v.Phases)
	}
	e.checkActionsOnce(2)
	// Nothing applies to a rollout that ended.
	for _, c := range []struct {
		verb contracts.Verb
		cmd  contracts.ControlCommand
	}{
		{contracts.VerbSkip, contracts.ControlCommand{Step: "east"}},
		{contracts.VerbReorder, contracts.ControlCommand{Steps: []string{"east"}}},
		{contracts.VerbExclude, contracts.ControlCommand{Host: "h6"}},
	} {
		_, err := e.send("r1", c.verb, c.cmd)
		if !contracts.IsCode(err, contracts.CodeInvalidState) || contracts.AsError(err).Message != "cannot "+string(c.verb)+": rollout r1 is completed" {
			t.Fatalf("%s when completed: %v", c.verb, err)
		}
	}
}

// Guided failure: the paused event and get offer each failed host's
// choices, and each choice works over the control subject.
func TestGuidedFailureChoices(t *testing.T) {
	setup := func(t *testing.T) (*env, contracts.HostAction) {
		e := newEnv(t)
		e.calendar()
		e.start()
		p := newPlan("r1", "prod", [][]string{{"h1"}}, [][]string{{"h2"}})
		p.OnFailure = contracts.OnFailureGuided
		e.publishPlanned(p)
		a := e.take(1)[0]
		e.result(a, false)
		paused := ofType(e.waitFor("r1", contracts.EventPaused, 1), contracts.EventPaused)[0]
		want := []contracts.GuidedChoice{
			{Verb: contracts.VerbRetry, Command: "rollwave retry r1 --host h1"},
			{Verb: contracts.VerbExclude, Command: "rollwave exclude r1 h1"},
			{Verb: contracts.VerbRollback, Command: "rollwave rollback r1"},
			{Verb: contracts.VerbAbort, Command: "rollwave abort r1"},
		}
		if len(paused.Offer) != 1 || paused.Offer[0].Host != "h1" || paused.Offer[0].Error != "exit status 1" || !slices.Equal(paused.Offer[0].Choices, want) {
			t.Fatalf("paused offer %+v", paused.Offer)
		}
		if v := e.get("r1"); len(v.Offer) != 1 || !slices.Equal(v.Offer[0].Choices, want) {
			t.Fatalf("get offer %+v", v.Offer)
		}
		return e, a
	}
	t.Run("retry", func(t *testing.T) {
		e, first := setup(t)
		if _, err := e.control("r1", contracts.VerbRetry, "alice"); err != nil {
			t.Fatal(err)
		}
		again := e.take(1)[0]
		if again.Host.Name != "h1" || again.Attempt != 2 || again.ID == first.ID {
			t.Fatalf("retried %+v", again)
		}
		if v := e.get("r1"); v.Offer != nil {
			t.Fatalf("offer after retry %+v", v.Offer)
		}
		e.result(again, true)
		e.finish(1)
		e.waitFor("r1", contracts.EventCompleted, 1)
		e.checkActionsOnce(3)
	})
	t.Run("skip host", func(t *testing.T) {
		e, _ := setup(t)
		sum, err := e.send("r1", contracts.VerbExclude, contracts.ControlCommand{Host: "h1"})
		if err != nil || sum.State != contracts.StateRunning {
			t.Fatalf("exclude: %+v %v", sum, err)
		}
		e.finish(1)
		evs := e.waitFor("r1", contracts.EventCompleted, 1)
		if c := evs[len(evs)-1].Counts; c.Succeeded != 1 || c.Excluded != 1 || c.Failed != 0 {
			t.Fatalf("counts %+v", c)
		}
		e.checkActionsOnce(2)
	})
	t.Run("roll back", func(t *testing.T) {
		e, _ := setup(t)
		// h1 failed before it installed: nothing to change back.
		if sum, err := e.control("r1", contracts.VerbRollback, "alice"); err != nil || sum.State != contracts.StateRolledBack {
			t.Fatalf("rollback: %+v %v", sum, err)
		}
		e.checkActionsOnce(1)
	})
	t.Run("abort", func(t *testing.T) {
		e, _ := setup(t)
		if sum, err := e.control("r1", contracts.VerbAbort, "alice"); err != nil || sum.State != contracts.StateAborted {
			t.Fatalf("abort: %+v %v", sum, err)
		}
		e.waitFor("r1", contracts.EventAborted, 1)
		e.checkActionsOnce(1)
	})
}
