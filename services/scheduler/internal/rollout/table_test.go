package rollout

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// inputFor builds a well-formed input of a kind for the rollout m holds.
func inputFor(t *testing.T, m *machine, k Kind) Input {
	switch k {
	case KindPlanned:
		return Input{Planned: &Planned{Plan: plan3(0, contracts.OnFailurePause), Order: 2}}
	case KindAdmission:
		return Input{Admission: &Admission{Allowed: true}}
	case KindResult:
		for _, h := range m.r.Hosts {
			if h.Status == HostRunning {
				return Input{Result: m.resultFor(h.Name, true)}
			}
		}
		// Nothing in flight: a result for h1 as if it had been dispatched.
		return Input{Result: &contracts.HostResult{ActionID: contracts.StepActionID("r1", "canary", "h1", 1), Rollout: "r1",
			Environment: "prod", Host: "h1", Phase: contracts.PhaseRef{Index: 0, Name: "canary"}, Batch: 1, Attempt: 1,
			Status: contracts.ResultSucceeded}}
	case KindPause:
		return Input{Command: &Command{Verb: contracts.VerbPause, Actor: "alice"}}
	case KindResume:
		return Input{Command: &Command{Verb: contracts.VerbResume, Actor: "alice"}}
	case KindAbort:
		return Input{Command: &Command{Verb: contracts.VerbAbort, Actor: "alice"}}
	case KindTimer:
		return Input{Timer: &Timer{}}
	case KindRetry:
		return Input{Command: &Command{Verb: contracts.VerbRetry, Actor: "alice"}}
	case KindApprove:
		return Input{Command: &Command{Verb: contracts.VerbApprove, Actor: "alice"}}
	case KindReject:
		return Input{Command: &Command{Verb: contracts.VerbReject, Actor: "alice"}}
	case KindRollback:
		return Input{Command: &Command{Verb: contracts.VerbRollback, Actor: "alice"}}
	case KindSkip:
		return Input{Command: &Command{Verb: contracts.VerbSkip, Actor: "alice", Step: "rest"}}
	case KindReorder:
		// The steps that may move, last first.
		var ids []string
		for p, ph := range m.r.Phases {
			if ph.State == PhasePending && !(m.r.currentFixed() && p == m.r.Phase) {
				ids = append([]string{m.r.Plan.Phases[p].ID}, ids...)
			}
		}
		if len(ids) == 0 {
			ids = []string{"rest"}
		}
		return Input{Command: &Command{Verb: contracts.VerbReorder, Actor: "alice", Steps: ids}}
	case KindExclude:
		return Input{Command: &Command{Verb: contracts.VerbExclude, Actor: "alice", Host: "h6"}}
	}
	t.Fatalf("unknown kind %q", k)
	return Input{}
}

// TestEveryStateInputPair applies every input kind in every state and
// checks the outcome against a hand-written matrix, and the matrix against
// the transition table.
func TestEveryStateInputPair(t *testing.T) {
	const refused = contracts.State("refused")
	const guarded = contracts.State("guarded")
	var (
		q, r, p = contracts.StateQueued, contracts.StateRunning, contracts.StatePaused
		c, f, a = contracts.StateCompleted, contracts.StateFailed, contracts.StateAborted
		rb      = contracts.StateRolledBack
		rj      = contracts.StateRejected
		x       = refused
		// g: the table allows the input in this state, but its guard
		// refuses it for this rollout (approve with no gate waiting).
		g = guarded
	)
	// want[state][kind] is the state after the input, or refused.
	want := map[contracts.State]map[Kind]contracts.State{
		StateNew: {KindPlanned: q, KindAdmission: x, KindResult: x, KindPause: x, KindResume: x, KindAbort: x, KindTimer: x, KindRetry: x, KindApprove: x, KindReject: x, KindRollback: x, KindSkip: x, KindReorder: x, KindExclude: x},
		q:        {KindPlanned: x, KindAdmission: r, KindResult: x, KindPause: p, KindResume: x, KindAbort: a, KindTimer: x, KindRetry: x, KindApprove: x, KindReject: x, KindRollback: x, KindSkip: q, KindReorder: q, KindExclude: q},
		// running: h1 is in flight, so the rollback waits for it.
		r: {KindPlanned: x, KindAdmission: x, KindResult: r, KindPause: p, KindResume: x, KindAbort: a, KindTimer: r, KindRetry: x, KindApprove: g, KindReject: g, KindRollback: r, KindSkip: r, KindReorder: r, KindExclude: r},
		// paused: h1 failed before it installed, so nothing is to roll back.
		p:  {KindPlanned: x, KindAdmission: x, KindResult: p, KindPause: x, KindResume: r, KindAbort: a, KindTimer: p, KindRetry: r, KindApprove: x, KindReject: x, KindRollback: rb, KindSkip: p, KindReorder: p, KindExclude: p},
		c:  {KindPlanned: x, KindAdmission: x, KindResult: c, KindPause: x, KindResume: x, KindAbort: x, KindTimer: x, KindRetry: x, KindApprove: x, KindReject: x, KindRollback: r, KindSkip: x, KindReorder: x, KindExclude: x},
		f:  {KindPlanned: x, KindAdmission: x, KindResult: f, KindPause: x, KindResume: x, KindAbort: x, KindTimer: x, KindRetry: x, KindApprove: x, KindReject: x, KindRollback: x, KindSkip: x, KindReorder: x, KindExclude: x},
		a:  {KindPlanned: x, KindAdmission: x, KindResult: a, KindPause: x, KindResume: x, KindAbort: x, KindTimer: x, KindRetry: x, KindApprove: x, KindReject: x, KindRollback: x, KindSkip: x, KindReorder: x, KindExclude: x},
		rj: {KindPlanned: x, KindAdmission: x, KindResult: x, KindPause: x, KindResume: x, KindAbort: x, KindTimer: x, KindRetry: x, KindApprove: x, KindReject: x, KindRollback: x, KindSkip: x, KindReorder: x, KindExclude: x},
		rb: {KindPlanned: x, KindAdmission: x, KindResult: rb, KindPause: x, KindResume: x, KindAbort: x, KindTimer: x, KindRetry: x, KindApprove: x, KindReject: x, KindRollback: x, KindSkip: x, KindReorder: x, KindExclude: x},
	}
	pairs := 0
	for _, st := range States {
		for _, k := range Kinds {
			wantState, ok := want[st][k]
			if !ok {
				t.Fatalf("matrix misses (%q, %s)", st, k)
			}
			pairs++
			t.Run(string(st)+"/"+string(k), func(t *testing.T) {
				if got := Allowed(k, st); got != (wantState != refused) {
					t.Fatalf("table allows = %v, matrix says %v", got, wantState != refused)
				}
				if wantState == guarded {
					m := inState(t, st)
					before, hosts := m.r, slices.Clone(m.r.Hosts)
					next, eff, err := Step(m.r, inputFor(t, m, k), t0.Add(50*time.Second))
					if !contracts.IsCode(err, contracts.CodeInvalidState) || eff != nil || !reflect.DeepEqual(next, before) || !reflect.DeepEqual(next.Hosts, hosts) {
						t.Fatalf("guarded input: err %v, effects %v", err, eff)
					}
					return
				}
				m := inState(t, st)
				before := m.r
				snapshotHosts := slices.Clone(before.Hosts)
				in := inputFor(t, m, k)
				next, eff, err := Step(m.r, in, t0.Add(50*time.Second))
				if wantState == refused {
					if !contracts.IsCode(err, contracts.CodeInvalidState) {
						t.Fatalf("err = %v, want invalid_state", err)
					}
					// The error names what was refused and the state.
					if msg := contracts.AsError(err).Message; st != StateNew && k != KindPlanned && (!strings.Contains(msg, string(k)) || !strings.Contains(msg, string(st))) {
						t.Fatalf("error %q does not name %s and %s", msg, k, st)
					}
					if eff != nil || !reflect.DeepEqual(next, before) || !reflect.DeepEqual(next.Hosts, snapshotHosts) {
						t.Fatalf("refused input changed the rollout or had effects")
					}
					return
				}
				if err != nil {
					t.Fatalf("step: %v", err)
				}
				if next.State != wantState {
					t.Fatalf("state = %q, want %q", next.State, wantState)
				}
				row, _ := lookup(k, st)
				if len(eff) > 0 && !slices.Contains(row.To, next.State) {
					t.Fatalf("state %q is not in the table's targets %v", next.State, row.To)
				}
			})
		}
	}
	if pairs != len(States)*len(Kinds) {
		t.Fatalf("tested %d pairs, want %d", pairs, len(States)*len(Kinds))
	}
}

func TestInputKind(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want Kind
		err  bool
	}{
		{"none", Input{}, "", true},
		{"two", Input{Admission: &Admission{}, Command: &Command{Verb: contracts.VerbPause}}, "", true},
		{"bad verb", Input{Command: &Command{Verb: "explode"}}, "", true},
		{"pause", Input{Command: &Command{Verb: contracts.VerbPause}}, KindPause, false},
		{"resume", Input{Command: &Command{Verb: contracts.VerbResume}}, KindResume, false},
		{"abort", Input{Command: &Command{Verb: contracts.VerbAbort}}, KindAbort, false},
		{"result", Input{Result: &contracts.HostResult{}}, KindResult, false},
		{"planned", Input{Planned: &Planned{}}, KindPlanned, false},
		{"admission", Input{Admission: &Admission{}}, KindAdmission, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Kind()
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("Kind() = %q, %v; want %q, err %v", got, err, tt.want, tt.err)
			}
			if err != nil && !contracts.IsCode(err, contracts.CodeInvalid) {
				t.Fatalf("err = %v, want invalid_request", err)
			}
		})
	}
}

func TestTableTargetsAreStates(t *testing.T) {
	for _, row := range Table {
		if !slices.Contains(Kinds, row.Input) {
			t.Errorf("row input %q is not a kind", row.Input)
		}
		for _, s := range append(slices.Clone(row.From), row.To...) {
			if !slices.Contains(States, s) {
				t.Errorf("row %s names unknown state %q", row.Input, s)
			}
		}
	}
}

// A verdict that rejects ends a queued rollout rejected, never started:
// one rejected event with the verdict's reason and actor, nothing dispatched.
func TestAdmissionRejects(t *testing.T) {
	m := inState(t, contracts.StateQueued)
	eff, err := m.step(Input{Admission: &Admission{Reason: "freeze f1 until 13:00", Reject: true, Actor: "calendar"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := types(eff); !reflect.DeepEqual(got, []string{"rejected"}) || dispatched(eff) != nil {
		t.Fatalf("effects %v", got)
	}
	ev := eff[0].(Emit).Event
	if m.r.State != contracts.StateRejected || m.r.Admitted || ev.Actor != "calendar" || ev.Reason != "freeze f1 until 13:00" || ev.State != contracts.StateRejected {
		t.Fatalf("state %s admitted %v, event %+v", m.r.State, m.r.Admitted, ev)
	}
	if !m.r.State.Terminal() || m.r.Active() {
		t.Fatal("a rejected rollout must be terminal and hold no environment")
	}
}
