package rollout

import (
	"reflect"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func intPtr(n int) *int { return &n }

// A phase's own budget stops the rollout though the rollout's budget is
// not crossed; resume counts the phase afresh.
func TestStepBudget(t *testing.T) {
	p := plan3(5, contracts.OnFailurePause)
	p.Phases[1].MaxFailed = intPtr(0)
	m := newMachine(t, p)
	m.admit()
	m.result("h1", false) // canary has no budget of its own: 1 of 5
	if m.r.State != contracts.StateRunning {
		t.Fatalf("state %s after a failure within the budget", m.r.State)
	}
	eff := m.result("h2", false)
	if m.r.State != contracts.StatePaused || m.r.Reason != "failure threshold of step east crossed: 1 failed, 0 tolerated" {
		t.Fatalf("state %s reason %q (%v)", m.r.State, m.r.Reason, types(eff))
	}
	if m.r.Phases[1].Failed != 1 || m.r.Phases[0].Failed != 1 {
		t.Fatalf("phase failures %d %d", m.r.Phases[0].Failed, m.r.Phases[1].Failed)
	}
	m.result("h3", true)
	m.command(contracts.VerbResume)
	if m.r.Phases[1].Failed != 0 {
		t.Fatalf("resume kept the step's count %d", m.r.Phases[1].Failed)
	}
	if got := dispatched(m.effects[len(m.effects)-1:]); !reflect.DeepEqual(got, []string{"h4"}) {
		t.Fatalf("after resume: %v", got)
	}
}

// A whole batch failing is handled by the policy alone: within the budget
// the rollout goes on, over it the policy applies, once.
func TestWholeBatchFailing(t *testing.T) {
	t.Run("within budget", func(t *testing.T) {
		m := newMachine(t, plan3(3, contracts.OnFailureAbort))
		m.admit()
		m.result("h1", true)
		m.result("h2", false)
		if got := dispatched(m.result("h3", false)); !reflect.DeepEqual(got, []string{"h4"}) || m.r.State != contracts.StateRunning {
			t.Fatalf("after east's first batch failed: %v, state %s", got, m.r.State)
		}
	})
	for _, tt := range []struct {
		policy contracts.OnFailure
		want   contracts.State
	}{
		{contracts.OnFailurePause, contracts.StatePaused},
		{contracts.OnFailureAbort, contracts.StateFailed},
		{contracts.OnFailureGuided, contracts.StatePaused},
		{contracts.OnFailureRollback, contracts.StateRunning}, // rolling back h1, the one host changed
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			m := newMachine(t, plan3(1, tt.policy))
			m.admit()
			m.result("h1", true)
			m.result("h2", false)
			eff := m.result("h3", false)
			got := types(eff)
			switch tt.policy {
			case contracts.OnFailureRollback:
				if m.r.Rollback != RollbackBatched || !reflect.DeepEqual(dispatched(eff), []string{"h1"}) {
					t.Fatalf("rollback: %v, dispatched %v", got, dispatched(eff))
				}
			default:
				if m.r.State != tt.want {
					t.Fatalf("state %s (%v)", m.r.State, got)
				}
			}
			if tt.policy == contracts.OnFailureGuided && len(m.r.View().Offer) != 2 {
				t.Fatalf("offer %+v", m.r.View().Offer)
			}
		})
	}
}
