package rollout

import (
	"fmt"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// plan3 is a three-phase plan: canary [h1]; east [h2 h3] [h4]; rest [h5 h6].
func plan3(maxFailed int, onFailure contracts.OnFailure) contracts.Plan {
	hosts := map[string]contracts.PlannedHost{}
	for i := 1; i <= 6; i++ {
		name := fmt.Sprintf("h%d", i)
		hosts[name] = contracts.PlannedHost{Name: name, Address: "10.0.0." + fmt.Sprint(i), Pool: "east",
			Driver: contracts.DriverSpec{Sim: &contracts.SimDriver{}}, PreviousVersion: "1.0.0"}
	}
	return contracts.Plan{
		Rollout: "r1", App: "web", Version: "2.0.0", Environment: "prod", Strategy: contracts.StrategyRolling,
		Phases: []contracts.PlannedPhase{
			{Name: "canary", Batches: [][]string{{"h1"}}, Checks: []string{"healthz"}},
			{Name: "east", Batches: [][]string{{"h2", "h3"}, {"h4"}}},
			{Name: "rest", Batches: [][]string{{"h5", "h6"}}},
		},
		Hosts:     hosts,
		MaxFailed: maxFailed,
		OnFailure: onFailure,
		Checks:    map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz"}}},
		Params:    map[string]string{"color": "blue"},
	}
}

// machine drives a rollout through Step and keeps every effect.
type machine struct {
	t       *testing.T
	r       Rollout
	now     time.Time
	effects []Effect
}

func newMachine(t *testing.T, p contracts.Plan) *machine {
	t.Helper()
	m := &machine{t: t, now: t0}
	m.must(Input{Planned: &Planned{Plan: p, Order: 1}})
	return m
}

// step applies an input, returning its effects or the error.
func (m *machine) step(in Input) ([]Effect, error) {
	m.now = m.now.Add(time.Second)
	r, eff, err := Step(m.r, in, m.now)
	if err != nil {
		return nil, err
	}
	m.r = r
	m.effects = append(m.effects, eff...)
	return eff, nil
}

func (m *machine) must(in Input) []Effect {
	m.t.Helper()
	eff, err := m.step(in)
	if err != nil {
		m.t.Fatalf("step: %v", err)
	}
	return eff
}

func (m *machine) admit() []Effect { return m.must(Input{Admission: &Admission{Allowed: true}}) }

func (m *machine) command(v contracts.Verb) []Effect {
	return m.must(Input{Command: &Command{Verb: v, Actor: "alice", Reason: "because"}})
}

// result reports the outcome of the host's current action.
func (m *machine) result(host string, ok bool) []Effect {
	m.t.Helper()
	return m.must(Input{Result: m.resultFor(host, ok)})
}

func (m *machine) resultFor(host string, ok bool) *contracts.HostResult {
	m.t.Helper()
	for _, h := range m.r.Hosts {
		if h.Name != host {
			continue
		}
		st := contracts.ResultSucceeded
		if !ok {
			st = contracts.ResultFailed
		}
		if h.Rollback == HostRunning {
			return &contracts.HostResult{
				ActionID: contracts.RollbackActionID(m.r.ID(), host), Rollout: m.r.ID(), Environment: m.r.Environment(), Host: host,
				Phase: contracts.PhaseRef{Index: len(m.r.Plan.Phases), Name: contracts.RollbackStepID, ID: contracts.RollbackStepID},
				Batch: m.r.RollbackBatch, Attempt: 1, Status: st, StartedAt: m.now, FinishedAt: m.now.Add(time.Second), Executor: "x1",
				Version: m.r.Plan.Hosts[host].PreviousVersion,
			}
		}
		return &contracts.HostResult{
			ActionID: h.ActionID, Rollout: m.r.ID(), Environment: m.r.Environment(), Host: host,
			Phase: contracts.PhaseRef{Index: h.Phase, Name: m.r.Plan.Phases[h.Phase].Name, ID: m.r.Plan.Phases[h.Phase].ID}, Batch: h.Batch,
			Attempt: h.Attempt, Status: st, StartedAt: m.now, FinishedAt: m.now.Add(1500 * time.Millisecond), Executor: "x1",
		}
	}
	m.t.Fatalf("no host %s", host)
	return nil
}

// types lists the event types among effects.
func types(eff []Effect) []string {
	var out []string
	for _, e := range eff {
		if em, ok := e.(Emit); ok {
			out = append(out, string(em.Type))
		}
	}
	return out
}

// dispatched lists the hosts of the dispatches among effects.
func dispatched(eff []Effect) []string {
	var out []string
	for _, e := range eff {
		if d, ok := e.(Dispatch); ok {
			out = append(out, d.Action.Host.Name)
		}
	}
	return out
}

func emits(eff []Effect) []Emit {
	var out []Emit
	for _, e := range eff {
		if em, ok := e.(Emit); ok {
			out = append(out, em)
		}
	}
	return out
}

// inState returns a rollout of plan3 in the given state. In running and
// paused, h1's action is in flight; in failed and aborted, phase east's
// first batch is in flight.
func inState(t *testing.T, s contracts.State) *machine {
	t.Helper()
	if s == StateNew {
		return &machine{t: t, now: t0}
	}
	onFailure := contracts.OnFailurePause
	if s == contracts.StateFailed {
		onFailure = contracts.OnFailureAbort
	}
	m := newMachine(t, plan3(0, onFailure))
	switch s {
	case contracts.StateQueued:
	case contracts.StateRunning:
		m.admit()
	case contracts.StatePaused:
		m.admit()
		m.result("h1", false) // over the budget: paused with a failed host
		if m.r.State != contracts.StatePaused {
			t.Fatalf("not paused: %s", m.r.State)
		}
	case contracts.StateCompleted:
		m.admit()
		for _, h := range []string{"h1", "h2", "h3", "h4", "h5", "h6"} {
			m.result(h, true)
		}
	case contracts.StateFailed:
		m.admit()
		m.result("h1", true)
		m.result("h2", false)
	case contracts.StateAborted:
		m.admit()
		m.result("h1", true)
		m.command(contracts.VerbAbort)
	case contracts.StateRolledBack:
		m.admit()
		m.result("h1", true)
		m.command(contracts.VerbRollback)
		// East's first batch was in flight: the rollback waits for it, then
		// goes back through the batches from the last.
		m.result("h2", true)
		m.result("h3", true)
		m.result("h2", true)
		m.result("h3", true)
		m.result("h1", true)
	case contracts.StateRejected:
		m.step(Input{Admission: &Admission{Reason: "freeze f1 until 13:00", Reject: true, Actor: "calendar"}})
	default:
		t.Fatalf("no fixture for state %q", s)
	}
	if m.r.State != s {
		t.Fatalf("fixture for %q is %q", s, m.r.State)
	}
	return m
}
