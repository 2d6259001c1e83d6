package rollout

import (
	"reflect"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// guidedPaused returns a guided rollout of plan3 paused because h1 failed.
func guidedPaused(t *testing.T) *machine {
	t.Helper()
	m := newMachine(t, plan3(0, contracts.OnFailureGuided))
	m.admit()
	eff := m.result("h1", false)
	if m.r.State != contracts.StatePaused || !m.r.Guided {
		t.Fatalf("state %s guided %v", m.r.State, m.r.Guided)
	}
	ev := emits(eff)[len(emits(eff))-1]
	want := []contracts.FailedHostOffer{{Host: "h1", Choices: []contracts.GuidedChoice{
		{Verb: contracts.VerbRetry, Command: "rollwave retry r1 --host h1"},
		{Verb: contracts.VerbExclude, Command: "rollwave exclude r1 h1"},
		{Verb: contracts.VerbRollback, Command: "rollwave rollback r1"},
		{Verb: contracts.VerbAbort, Command: "rollwave abort r1"},
	}}}
	if ev.Type != contracts.EventPaused || !reflect.DeepEqual(ev.Event.Offer, want) {
		t.Fatalf("paused event %s offer %+v", ev.Type, ev.Event.Offer)
	}
	if got := m.r.View().Offer; !reflect.DeepEqual(got, want) {
		t.Fatalf("view offer %+v", got)
	}
	return m
}

func TestGuidedFailureChoices(t *testing.T) {
	t.Run("retry", func(t *testing.T) {
		m := guidedPaused(t)
		eff := m.command(contracts.VerbRetry)
		if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h1"}) || m.r.State != contracts.StateRunning || m.r.Guided || m.r.View().Offer != nil {
			t.Fatalf("retry: %v state %s guided %v", got, m.r.State, m.r.Guided)
		}
		if got := dispatched(m.result("h1", true)); !reflect.DeepEqual(got, []string{"h2", "h3"}) {
			t.Fatalf("after the retry: %v", got)
		}
	})
	t.Run("skip host", func(t *testing.T) {
		m := guidedPaused(t)
		eff := m.mustVerb(Command{Verb: contracts.VerbExclude, Host: "h1"})
		if got := types(eff); !reflect.DeepEqual(got[:2], []string{"excluded", "resumed"}) {
			t.Fatalf("exclude: %v", got)
		}
		if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h2", "h3"}) || m.r.State != contracts.StateRunning || m.r.Guided {
			t.Fatalf("exclude: %v state %s", got, m.r.State)
		}
		for _, h := range []string{"h2", "h3", "h4", "h5", "h6"} {
			m.result(h, true)
		}
		if m.r.State != contracts.StateCompleted || m.r.Counts.Excluded != 1 || m.r.Counts.Failed != 0 {
			t.Fatalf("state %s counts %+v", m.r.State, m.r.Counts)
		}
	})
	t.Run("roll back", func(t *testing.T) {
		m := guidedPaused(t)
		m.command(contracts.VerbRollback)
		// h1 failed before it installed: nothing to change back.
		if m.r.State != contracts.StateRolledBack || m.r.Guided {
			t.Fatalf("state %s", m.r.State)
		}
	})
	t.Run("abort", func(t *testing.T) {
		m := guidedPaused(t)
		m.command(contracts.VerbAbort)
		if m.r.State != contracts.StateAborted || m.r.Guided || m.r.View().Offer != nil {
			t.Fatalf("state %s", m.r.State)
		}
	})
	t.Run("manual pause offers nothing", func(t *testing.T) {
		m := newMachine(t, plan3(1, contracts.OnFailureGuided))
		m.admit()
		m.result("h1", false) // within the budget
		m.command(contracts.VerbPause)
		if m.r.Guided || m.r.View().Offer != nil {
			t.Fatalf("a manual pause made an offer")
		}
		// Excluding the failed host keeps a manual pause paused.
		m.mustVerb(Command{Verb: contracts.VerbExclude, Host: "h1"})
		if m.r.State != contracts.StatePaused {
			t.Fatalf("state %s", m.r.State)
		}
	})
}

// TestGuidedSkipHostWithTwoFailed: the rollout runs on only once every
// failed host is excluded.
func TestGuidedSkipHostWithTwoFailed(t *testing.T) {
	m := newMachine(t, plan3(1, contracts.OnFailureGuided))
	m.admit()
	m.result("h1", true)
	m.result("h2", false)
	m.result("h3", false)
	if m.r.State != contracts.StatePaused || len(m.r.View().Offer) != 2 {
		t.Fatalf("state %s offer %+v", m.r.State, m.r.View().Offer)
	}
	m.mustVerb(Command{Verb: contracts.VerbExclude, Host: "h2"})
	if m.r.State != contracts.StatePaused || len(m.r.View().Offer) != 1 || m.r.View().Offer[0].Host != "h3" {
		t.Fatalf("after one: state %s offer %+v", m.r.State, m.r.View().Offer)
	}
	if got := dispatched(m.mustVerb(Command{Verb: contracts.VerbExclude, Host: "h3"})); !reflect.DeepEqual(got, []string{"h4"}) {
		t.Fatalf("after both: %v", got)
	}
}
