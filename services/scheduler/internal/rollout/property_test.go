package rollout

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// randomStepPlan builds a plan of phases, waits, gates, analyses and
// traffic switches, with
// a random failure policy and action timeout. (A plan may hold several
// traffic steps; only the first is switched back.)
func randomStepPlan(rng *rand.Rand) contracts.Plan {
	p := plan3(0, []contracts.OnFailure{contracts.OnFailurePause, contracts.OnFailureAbort, contracts.OnFailureRollback, contracts.OnFailureGuided}[rng.IntN(4)])
	p.Phases, p.Hosts = nil, map[string]contracts.PlannedHost{}
	p.MaxFailed = rng.IntN(3)
	if rng.IntN(2) == 0 {
		p.ActionTimeout = contracts.Duration(time.Minute)
	}
	n := 0
	for s := range 1 + rng.IntN(6) {
		name := fmt.Sprintf("s%d", s)
		switch k := rng.IntN(5); {
		case k == 0 && s > 0:
			p.Phases = append(p.Phases, contracts.PlannedPhase{ID: name, Name: name, Kind: contracts.StepWait, Wait: contracts.Duration(10 * time.Minute)})
		case k == 1:
			p.Phases = append(p.Phases, contracts.PlannedPhase{ID: name, Name: name, Kind: contracts.StepGate,
				Gate: &contracts.PlannedGate{Timeout: contracts.Duration(time.Hour), OnTimeout: []contracts.GateOutcome{"", contracts.GateApprove, contracts.GateRollback}[rng.IntN(3)]}})
		case k == 3 && s > 0 && !slices.ContainsFunc(p.Phases, func(ph contracts.PlannedPhase) bool { return ph.Kind == contracts.StepTraffic }):
			p.Phases = append(p.Phases, contracts.PlannedPhase{ID: name, Name: name, Kind: contracts.StepTraffic, Traffic: &contracts.PlannedTraffic{
				Target: "green", From: []string{"", "blue"}[rng.IntN(2)], Exec: &contracts.ExecDriver{Command: []string{"/opt/lb", "{{.Target}}"}}}})
		case k == 2 && s > 0:
			p.Phases = append(p.Phases, contracts.PlannedPhase{ID: name, Name: name, Kind: contracts.StepAnalysis, Analysis: &contracts.AnalysisSpec{
				Checks: []string{"healthz"}, Interval: contracts.Duration(time.Minute), Count: 1 + rng.IntN(3), FailureLimit: rng.IntN(2)}})
		default:
			var batches [][]string
			for range 1 + rng.IntN(3) {
				var b []string
				for range 1 + rng.IntN(3) {
					n++
					h := fmt.Sprintf("h%d", n)
					prev := "1.0.0"
					if rng.IntN(6) == 0 {
						prev = ""
					}
					p.Hosts[h] = contracts.PlannedHost{Name: h, Driver: contracts.DriverSpec{Sim: &contracts.SimDriver{}}, PreviousVersion: prev}
					b = append(b, h)
				}
				batches = append(batches, b)
			}
			ph := contracts.PlannedPhase{ID: name, Name: name, Batches: batches, Checks: []string{"healthz"}}
			if rng.IntN(3) == 0 {
				ph.Gate = &contracts.PlannedGate{EveryBatch: true}
			}
			p.Phases = append(p.Phases, ph)
		}
	}
	return p
}

// TestRandomStepRunsKeepInvariants drives random step plans with random
// interleavings of results (some duplicated), timers and verbs, and checks
// that no action id is dispatched twice, an aborted rollout dispatches
// nothing, duplicates change nothing, event numbers have no gaps, and
// once everything in flight is answered no host is left running and a
// rolled back rollout has every changed host back.
func TestRandomStepRunsKeepInvariants(t *testing.T) {
	verbs := []contracts.Verb{contracts.VerbPause, contracts.VerbResume, contracts.VerbApprove, contracts.VerbRollback,
		contracts.VerbRetry, contracts.VerbReject, contracts.VerbAbort, contracts.VerbSkip, contracts.VerbReorder, contracts.VerbExclude}
	applied := map[contracts.Verb]int{} // verbs that changed a rollout
	for run := range 4000 {
		rng := rand.New(rand.NewPCG(uint64(run/1000), uint64(run)))
		p := randomStepPlan(rng)
		m := newMachine(t, p)
		inflight := map[string]contracts.HostAction{}
		var answered []contracts.HostResult
		seen := map[string]bool{}
		apply := func(in Input) {
			t.Helper()
			wasAborted := m.r.State == contracts.StateAborted
			eff, err := m.step(in)
			if err != nil {
				// A runtime-control target may not exist (no pending step
				// to reorder): invalid_request naming the field.
				target := in.Command != nil && slices.Contains([]contracts.Verb{contracts.VerbSkip, contracts.VerbReorder, contracts.VerbExclude}, in.Command.Verb)
				if !contracts.IsCode(err, contracts.CodeInvalidState) && !(target && contracts.IsCode(err, contracts.CodeInvalid)) {
					t.Fatalf("run %d: %v", run, err)
				}
				return
			}
			if in.Command != nil && eff != nil {
				applied[in.Command.Verb]++
			}
			for _, e := range eff {
				d, ok := e.(Dispatch)
				if !ok {
					continue
				}
				if wasAborted || m.r.State == contracts.StateAborted {
					t.Fatalf("run %d: %s dispatched by an aborted rollout", run, d.Action.ID)
				}
				if seen[d.Action.ID] {
					t.Fatalf("run %d: %s dispatched twice", run, d.Action.ID)
				}
				seen[d.Action.ID] = true
				inflight[d.Action.ID] = d.Action
			}
		}
		answer := func(ok bool) {
			ids := make([]string, 0, len(inflight))
			for id := range inflight {
				ids = append(ids, id)
			}
			if len(ids) == 0 {
				return
			}
			slices.Sort(ids)
			a := inflight[ids[rng.IntN(len(ids))]]
			delete(inflight, a.ID)
			st := contracts.ResultSucceeded
			if !ok {
				st = contracts.ResultFailed
			}
			res := contracts.HostResult{ActionID: a.ID, Rollout: a.Rollout, Environment: a.Environment, Host: a.Host.Name,
				Phase: a.Phase, Batch: a.Batch, Attempt: a.Attempt, Status: st, Kind: a.Kind, Installed: ok || rng.IntN(2) == 0}
			answered = append(answered, res)
			apply(Input{Result: &res})
		}
		apply(Input{Admission: &Admission{Allowed: true}})
		for range 300 {
			switch k := rng.IntN(20); {
			case k < 10:
				answer(rng.IntN(4) > 0)
			case k < 13:
				m.now = m.now.Add(time.Duration(rng.IntN(120)) * time.Minute)
				apply(Input{Timer: &Timer{}})
			case k < 14 && len(answered) > 0:
				res := answered[rng.IntN(len(answered))]
				if _, eff, err := Step(m.r, Input{Result: &res}, m.now); err == nil && eff != nil {
					t.Fatalf("run %d: a repeated result of %s (%s) had effects %v; rollout %s phase %d running %d traffic %q attempt %d rollback %q phases %+v", run, res.ActionID, res.Status, types(eff),
						m.r.State, m.r.Phase, m.r.Counts.Running, m.r.Traffic, m.r.TrafficAttempt, m.r.Rollback, m.r.Phases)
				}
			default:
				v := verbs[rng.IntN(len(verbs))]
				if (v == contracts.VerbAbort || v == contracts.VerbReject) && rng.IntN(4) > 0 {
					v = contracts.VerbApprove
				}
				apply(Input{Command: randomCommand(rng, m.r, v)})
			}
		}
		// Answer everything in flight, passing gates and timers, until
		// nothing is left.
		for range 2000 {
			if len(inflight) > 0 {
				answer(true)
				continue
			}
			if m.r.State.Terminal() || m.r.State == contracts.StatePaused {
				break
			}
			m.now = m.now.Add(2 * time.Hour)
			apply(Input{Timer: &Timer{}})
			apply(Input{Command: &Command{Verb: contracts.VerbApprove, Actor: "prop"}})
		}
		if len(inflight) > 0 {
			t.Fatalf("run %d: %d actions still in flight", run, len(inflight))
		}
		for _, h := range m.r.Hosts {
			if h.Status == HostRunning || h.Rollback == HostRunning {
				t.Fatalf("run %d: host %s still running (%s, rollback %q) with nothing in flight; rollout %s", run, h.Name, h.Status, h.Rollback, m.r.State)
			}
			// A switch back leaves the hosts as they are, by design.
			if m.r.State == contracts.StateRolledBack && changed(h) && !strings.HasPrefix(m.r.Reason, "switched traffic back") {
				t.Fatalf("run %d: rolled back but %s was not (%+v)", run, h.Name, h)
			}
		}
		if m.r.Counts.Running != 0 {
			t.Fatalf("run %d: counts %+v with nothing in flight", run, m.r.Counts)
		}
		// Every host is in exactly one state, and the counts say so; a
		// completed rollout left none pending.
		var c contracts.Counts
		for _, h := range m.r.Hosts {
			switch h.Status {
			case HostPending:
				c.Pending++
			case HostSucceeded:
				c.Succeeded++
			case HostFailed:
				c.Failed++
			case HostSkipped:
				c.Skipped++
			case HostExcluded:
				c.Excluded++
			default:
				t.Fatalf("run %d: host %s is %q", run, h.Name, h.Status)
			}
			if m.r.State == contracts.StateCompleted && h.Status == HostPending {
				t.Fatalf("run %d: completed with %s pending", run, h.Name)
			}
		}
		c.Total = len(m.r.Hosts)
		if c != m.r.Counts {
			t.Fatalf("run %d: counts %+v, hosts say %+v", run, m.r.Counts, c)
		}
		for i, e := range emits(m.effects) {
			if e.Event.Seq != int64(i+2) && e.Event.Seq != int64(i+1) {
				t.Fatalf("run %d: seq gap at %d (%d)", run, i, e.Event.Seq)
			}
		}
	}
	// The runs exercised every verb, not only its refusals.
	for _, v := range verbs {
		if applied[v] < 50 {
			t.Errorf("%s applied %d times in all runs", v, applied[v])
		}
	}
	t.Logf("verbs applied: %v", applied)
}

// randomCommand builds a command of verb v with a random target: a step for
// skip (any, so that the refusals are exercised too), a shuffle of the
// steps not yet started (sometimes with one missing) for reorder, a host
// for exclude.
func randomCommand(rng *rand.Rand, r Rollout, v contracts.Verb) *Command {
	c := &Command{Verb: v, Actor: "prop", Fast: rng.IntN(2) == 0}
	switch v {
	case contracts.VerbSkip:
		c.Step = r.Plan.Phases[rng.IntN(len(r.Plan.Phases))].ID
	case contracts.VerbReorder:
		for p, ph := range r.Phases {
			if ph.State == PhasePending && !(r.currentFixed() && p == r.Phase) {
				c.Steps = append(c.Steps, r.Plan.Phases[p].ID)
			}
		}
		rng.Shuffle(len(c.Steps), func(i, j int) { c.Steps[i], c.Steps[j] = c.Steps[j], c.Steps[i] })
		if len(c.Steps) > 1 && rng.IntN(5) == 0 {
			c.Steps = c.Steps[1:]
		}
	case contracts.VerbExclude:
		if len(r.Hosts) > 0 {
			c.Host = r.Hosts[rng.IntN(len(r.Hosts))].Name
		}
	}
	return c
}
