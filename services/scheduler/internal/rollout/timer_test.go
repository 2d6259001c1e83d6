package rollout

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// timerAt applies a timer input at a given time.
func (m *machine) timerAt(at time.Time) []Effect {
	m.t.Helper()
	m.now = at
	r, eff, err := Step(m.r, Input{Timer: &Timer{}}, at)
	if err != nil {
		m.t.Fatalf("timer: %v", err)
	}
	m.r = r
	m.effects = append(m.effects, eff...)
	return eff
}

func TestActionDeadlineFailsHostsWithoutResult(t *testing.T) {
	p := plan3(0, contracts.OnFailurePause)
	p.ActionTimeout = contracts.Duration(30 * time.Second)
	m := newMachine(t, p)
	m.admit()
	dispatchedAt := m.now
	if want := dispatchedAt.Add(30 * time.Second); !m.r.Deadline.Equal(want) {
		t.Fatalf("deadline %v, want %v", m.r.Deadline, want)
	}
	// Early: nothing happens.
	if eff := m.timerAt(dispatchedAt.Add(29 * time.Second)); eff != nil {
		t.Fatalf("early timer: %v", types(eff))
	}
	late := m.resultFor("h1", true) // the executor's answer, too late
	eff := m.timerAt(dispatchedAt.Add(30 * time.Second))
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "paused"}) {
		t.Fatalf("at the deadline: %v", got)
	}
	h := m.r.Hosts[0]
	if h.Status != HostFailed || !strings.Contains(h.Error, "action timeout of 30s") || m.r.Counts.Failed != 1 || m.r.Counts.Running != 0 {
		t.Fatalf("host %+v counts %+v", h, m.r.Counts)
	}
	if !m.r.Deadline.IsZero() || !reflect.DeepEqual(m.r.Changed[len(m.r.Changed)-1], 0) {
		t.Fatalf("deadline %v changed %v", m.r.Deadline, m.r.Changed)
	}
	// The late result is recorded in the history and changes nothing,
	// once; nor does the timer again.
	next, eff, err := Step(m.r, Input{Result: late}, m.now.Add(time.Second))
	if err != nil || !reflect.DeepEqual(types(eff), []string{"late_result"}) {
		t.Fatalf("late result: %v %v", types(eff), err)
	}
	if ev := eff[0].(Emit).Event; ev.Host == nil || ev.Host.Attempt != 1 || ev.Host.Status != contracts.ResultSucceeded {
		t.Fatalf("late result event %+v", ev)
	}
	if h := next.Hosts[0]; h.Status != HostFailed || next.Counts.Failed != 1 || next.Counts.Succeeded != 0 || next.State != contracts.StatePaused {
		t.Fatalf("the late result changed host %+v counts %+v state %s", h, next.Counts, next.State)
	}
	m.r = next
	if _, eff, err := Step(m.r, Input{Result: late}, m.now.Add(2*time.Second)); err != nil || eff != nil {
		t.Fatalf("late result again: %v %v", types(eff), err)
	}
	if eff := m.timerAt(m.now.Add(time.Hour)); eff != nil {
		t.Fatalf("second timer: %v", types(eff))
	}
}

func TestActionDeadlineWithinBudgetMovesOn(t *testing.T) {
	p := plan3(1, contracts.OnFailurePause)
	p.ActionTimeout = contracts.Duration(time.Minute)
	m := newMachine(t, p)
	m.admit()
	eff := m.timerAt(m.now.Add(time.Minute))
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h2", "h3"}) {
		t.Fatalf("after the canary timed out: dispatched %v (%v)", got, types(eff))
	}
	if want := m.now.Add(time.Minute); !m.r.Deadline.Equal(want) {
		t.Fatalf("next batch deadline %v, want %v", m.r.Deadline, want)
	}
	// Results of the whole batch clear the deadline before it is reached.
	m.result("h2", true)
	if m.r.Deadline.IsZero() {
		t.Fatal("deadline cleared with h3 still in flight")
	}
	m.result("h3", true)
	if got := dispatched(m.effects[len(m.effects)-1:]); !reflect.DeepEqual(got, []string{"h4"}) {
		t.Fatalf("next batch %v", got)
	}
}

func TestActionDeadlineWhilePausedRecordsOnly(t *testing.T) {
	p := plan3(5, contracts.OnFailurePause)
	p.ActionTimeout = contracts.Duration(time.Minute)
	m := newMachine(t, p)
	m.admit()
	m.result("h1", true) // h2, h3 in flight
	m.command(contracts.VerbPause)
	eff := m.timerAt(m.now.Add(time.Minute))
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "host_failed"}) || dispatched(eff) != nil {
		t.Fatalf("paused timer: %v", got)
	}
	if m.r.State != contracts.StatePaused || m.r.Counts.Failed != 2 {
		t.Fatalf("state %s counts %+v", m.r.State, m.r.Counts)
	}
	if got := dispatched(m.command(contracts.VerbResume)); !reflect.DeepEqual(got, []string{"h4"}) {
		t.Fatalf("resume dispatched %v", got)
	}
}

// TestRandomRunsWithTimersAndVerbs interleaves results, deadlines, pauses,
// resumes and aborts at random. Whatever happens: no action id is
// dispatched twice, nothing is dispatched after an abort, and once every
// action in flight has its result each host is in exactly one of
// succeeded or failed, or pending if the rollout ended before reaching it.
func TestRandomRunsWithTimersAndVerbs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for run := range 300 {
		p := plan3(0, contracts.OnFailurePause)
		p.Phases, p.Hosts = nil, map[string]contracts.PlannedHost{}
		n := 0
		for ph := range 1 + rng.IntN(3) {
			var batches [][]string
			for range 1 + rng.IntN(3) {
				var b []string
				for range 1 + rng.IntN(3) {
					n++
					name := fmt.Sprintf("h%d", n)
					p.Hosts[name] = contracts.PlannedHost{Name: name}
					b = append(b, name)
				}
				batches = append(batches, b)
			}
			var gate *contracts.PlannedGate
			if rng.IntN(2) == 0 {
				gate = &contracts.PlannedGate{Before: rng.IntN(2) == 0, After: rng.IntN(2) == 0, EveryBatch: rng.IntN(2) == 0,
					OnTimeout: []contracts.GateOutcome{contracts.GateApprove, contracts.GateReject}[rng.IntN(2)]}
				if rng.IntN(2) == 0 {
					gate.Timeout = contracts.Duration(time.Minute)
				}
			}
			p.Phases = append(p.Phases, contracts.PlannedPhase{Name: fmt.Sprintf("p%d", ph), Batches: batches, Gate: gate})
		}
		p.MaxFailed = rng.IntN(n + 1)
		p.OnFailure = []contracts.OnFailure{contracts.OnFailurePause, contracts.OnFailureAbort}[rng.IntN(2)]
		p.ActionTimeout = contracts.Duration(time.Minute)
		m := newMachine(t, p)
		m.admit()
		seen := map[string]bool{}
		aborted := false
		check := func(eff []Effect) {
			for _, e := range eff {
				d, ok := e.(Dispatch)
				if !ok {
					continue
				}
				if aborted {
					t.Fatalf("run %d: dispatched %s after abort", run, d.Action.ID)
				}
				if seen[d.Action.ID] {
					t.Fatalf("run %d: %s dispatched twice", run, d.Action.ID)
				}
				seen[d.Action.ID] = true
			}
		}
		check(m.effects)
		for step := 0; step < 200 && !m.r.State.Terminal(); step++ {
			var inflight []string
			for _, h := range m.r.Hosts {
				if h.Status == HostRunning {
					inflight = append(inflight, h.Name)
				}
			}
			var eff []Effect
			switch k := rng.IntN(10); {
			case k < 5 && len(inflight) > 0:
				eff = m.result(inflight[rng.IntN(len(inflight))], rng.IntN(3) > 0)
			case k < 7:
				eff = m.timerAt(m.now.Add(time.Duration(rng.IntN(90)) * time.Second))
			case k == 7 && m.r.State == contracts.StateRunning:
				eff = m.command(contracts.VerbPause)
			case k == 8 && m.r.State == contracts.StatePaused:
				eff = m.command(contracts.VerbResume)
			case k == 9 && rng.IntN(4) == 0:
				eff = m.command(contracts.VerbAbort)
				aborted = true
			case k == 9 && m.r.State == contracts.StatePaused && m.r.Counts.Failed > 0:
				eff = m.command(contracts.VerbRetry)
			case m.r.State == contracts.StatePaused:
				eff = m.command(contracts.VerbResume)
			case m.r.Gate != "" && rng.IntN(5) > 0:
				eff = m.command(contracts.VerbApprove)
			case m.r.Gate != "":
				eff = m.command(contracts.VerbReject)
			}
			check(eff)
		}
		// Late results for whatever is still in flight, and late timers.
		for _, h := range m.r.Hosts {
			if h.Status == HostRunning {
				check(m.result(h.Name, true))
			}
		}
		if m.r.State == contracts.StateRunning || m.r.State == contracts.StatePaused {
			check(m.timerAt(m.now.Add(time.Hour)))
		}
		for _, h := range m.r.Hosts {
			switch h.Status {
			case HostSucceeded, HostFailed:
				if h.ActionID == "" || !seen[h.ActionID] {
					t.Fatalf("run %d: host %s ended %s without a dispatch", run, h.Name, h.Status)
				}
			case HostPending:
				if m.r.State == contracts.StateCompleted {
					t.Fatalf("run %d: completed with %s pending", run, h.Name)
				}
			default:
				if m.r.State.Terminal() {
					t.Fatalf("run %d: host %s is %s after every result (rollout %s)", run, h.Name, h.Status, m.r.State)
				}
			}
		}
		c := m.r.Counts
		if c.Succeeded+c.Failed+c.Running+c.Pending != c.Total || c.Total != n {
			t.Fatalf("run %d: counts %+v for %d hosts", run, c, n)
		}
	}
}
