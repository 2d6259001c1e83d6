package rollout

import (
	"reflect"
	"slices"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// verb applies a runtime-control command as alice.
func (m *machine) verb(c Command) ([]Effect, error) {
	c.Actor, c.Reason = "alice", "because"
	return m.step(Input{Command: &c})
}

func (m *machine) mustVerb(c Command) []Effect {
	m.t.Helper()
	eff, err := m.verb(c)
	if err != nil {
		m.t.Fatalf("%s: %v", c.Verb, err)
	}
	return eff
}

// refused checks that a command is refused with code and message, and
// that the rollout is unchanged.
func refused(t *testing.T, m *machine, c Command, code contracts.Code, msg string) {
	t.Helper()
	before, hosts := m.r, slices.Clone(m.r.Hosts)
	next, eff, err := Step(m.r, Input{Command: &c}, m.now)
	if !contracts.IsCode(err, code) || eff != nil || !reflect.DeepEqual(next, before) || !reflect.DeepEqual(next.Hosts, hosts) {
		t.Fatalf("%s: err %v, effects %v", c.Verb, err, types(eff))
	}
	if got := contracts.AsError(err).Message; msg != "" && got != msg {
		t.Fatalf("message %q, want %q", got, msg)
	}
}

// checkCounts checks that every host is counted exactly once.
func checkCounts(t *testing.T, r Rollout) {
	t.Helper()
	c := r.Counts
	if c.Succeeded+c.Failed+c.Running+c.Pending+c.Skipped+c.Excluded != c.Total || c.Total != len(r.Hosts) {
		t.Fatalf("counts %+v for %d hosts", c, len(r.Hosts))
	}
}

func TestSkipPendingStep(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	eff := m.mustVerb(Command{Verb: contracts.VerbSkip, Step: "east"})
	if got := types(eff); !reflect.DeepEqual(got, []string{"skipped"}) {
		t.Fatalf("skip: %v", got)
	}
	ev := emits(eff)[0].Event
	if ev.Step != "east" || ev.Actor != "alice" || ev.Reason != "because" || !reflect.DeepEqual(ev.Hosts, []string{"h2", "h3", "h4"}) || ev.Counts.Skipped != 3 {
		t.Fatalf("skipped event %+v counts %+v", ev, ev.Counts)
	}
	checkCounts(t, m.r)
	// canary done: rest runs next, east never.
	if got := dispatched(m.result("h1", true)); !reflect.DeepEqual(got, []string{"h5", "h6"}) {
		t.Fatalf("after canary: %v", got)
	}
	m.result("h5", true)
	m.result("h6", true)
	if m.r.State != contracts.StateCompleted || m.r.Phases[1].State != PhaseSkipped {
		t.Fatalf("state %s, east %s", m.r.State, m.r.Phases[1].State)
	}
	for _, h := range m.r.Hosts[1:4] {
		if h.Status != HostSkipped || h.ActionID != "" {
			t.Fatalf("host %+v", h)
		}
	}
	checkCounts(t, m.r)
}

func TestSkipWhileQueuedStartsAtTheNextStep(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.mustVerb(Command{Verb: contracts.VerbSkip, Step: "canary"})
	if m.r.State != contracts.StateQueued || m.r.Phase != 1 {
		t.Fatalf("state %s phase %d", m.r.State, m.r.Phase)
	}
	if got := dispatched(m.admit()); !reflect.DeepEqual(got, []string{"h2", "h3"}) {
		t.Fatalf("admitted: %v", got)
	}
}

func TestSkipRefused(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	refused(t, m, Command{Verb: contracts.VerbSkip, Step: "canary"}, contracts.CodeInvalidState, "cannot skip: step canary of rollout r1 is running")
	refused(t, m, Command{Verb: contracts.VerbSkip, Step: "nope"}, contracts.CodeInvalid, `rollout r1 has no step "nope"`)
	refused(t, m, Command{Verb: contracts.VerbSkip}, contracts.CodeInvalid, "")
	m.result("h1", true)
	refused(t, m, Command{Verb: contracts.VerbSkip, Step: "canary"}, contracts.CodeInvalidState, "cannot skip: step canary of rollout r1 is completed")
	m.mustVerb(Command{Verb: contracts.VerbSkip, Step: "rest"})
	refused(t, m, Command{Verb: contracts.VerbSkip, Step: "rest"}, contracts.CodeInvalidState, "cannot skip: step rest of rollout r1 is skipped")
}

// gatePlan is plan3 with a gate step "approve" after canary and a wait
// step "bake" after it.
func gatePlan() contracts.Plan {
	p := plan3(0, contracts.OnFailurePause)
	p.Phases = slices.Insert(p.Phases, 1,
		contracts.PlannedPhase{Name: "approve", Kind: contracts.StepGate},
		contracts.PlannedPhase{Name: "bake", Kind: contracts.StepWait, Wait: contracts.Duration(3600e9)})
	return p
}

func TestSkipTheCurrentGateAndWait(t *testing.T) {
	m := newMachine(t, gatePlan())
	m.admit()
	if got := types(m.result("h1", true)); !slices.Contains(got, "gate_waiting") || m.r.Gate != "approve" {
		t.Fatalf("at the gate: %v gate %q", got, m.r.Gate)
	}
	eff := m.mustVerb(Command{Verb: contracts.VerbSkip, Step: "approve"})
	if m.r.Gate != "" || m.r.Phases[1].State != PhaseSkipped || m.r.Phases[2].State != PhaseRunning || m.r.WaitUntil.IsZero() {
		t.Fatalf("after skipping the gate: gate %q phases %+v", m.r.Gate, m.r.Phases)
	}
	if got := types(eff); got[0] != "skipped" || !slices.Contains(got, "phase_started") {
		t.Fatalf("skip gate: %v", got)
	}
	// Skipping the bake ends its timer and runs east at once.
	eff = m.mustVerb(Command{Verb: contracts.VerbSkip, Step: "bake"})
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h2", "h3"}) || !m.r.WaitUntil.IsZero() {
		t.Fatalf("after skipping the wait: %v, wait until %v", got, m.r.WaitUntil)
	}
	// A phase in flight is not skipped.
	refused(t, m, Command{Verb: contracts.VerbSkip, Step: "east"}, contracts.CodeInvalidState, "cannot skip: step east of rollout r1 is running")
}

func TestReorderPendingSteps(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	eff := m.mustVerb(Command{Verb: contracts.VerbReorder, Steps: []string{"rest", "canary", "east"}})
	if ev := emits(eff)[0]; ev.Type != contracts.EventReordered || !reflect.DeepEqual(ev.Event.Steps, []string{"rest", "canary", "east"}) || ev.Event.Actor != "alice" {
		t.Fatalf("reordered event %+v", ev)
	}
	eff = m.admit()
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h5", "h6"}) {
		t.Fatalf("first dispatched: %v", got)
	}
	// Action ids and phase references key on the step, not its place.
	d := eff[len(eff)-1].(Dispatch)
	if d.Action.ID != "r1/rest/h6/attempt-1" || d.Action.Phase.Index != 2 || d.Action.Phase.ID != "rest" || d.Action.Batch != 1 {
		t.Fatalf("action %+v", d.Action)
	}
	// While rest runs, canary and east may still swap; rest may not move.
	refused(t, m, Command{Verb: contracts.VerbReorder, Steps: []string{"east", "rest", "canary"}}, contracts.CodeInvalidState,
		"cannot reorder: step rest of rollout r1 is running and cannot move")
	refused(t, m, Command{Verb: contracts.VerbReorder, Steps: []string{"east"}}, contracts.CodeInvalid, "must list every pending step once; missing canary")
	refused(t, m, Command{Verb: contracts.VerbReorder, Steps: []string{"east", "east"}}, contracts.CodeInvalid, `step "east" is listed twice`)
	refused(t, m, Command{Verb: contracts.VerbReorder, Steps: []string{"west", "east"}}, contracts.CodeInvalid, `rollout r1 has no step "west"`)
	m.mustVerb(Command{Verb: contracts.VerbReorder, Steps: []string{"east", "canary"}})
	if !reflect.DeepEqual(m.r.StepOrder(), []int{2, 1, 0}) {
		t.Fatalf("order %v", m.r.StepOrder())
	}
	var order []string
	for _, step := range []string{"h5", "h6", "h2", "h3", "h4", "h1"} {
		order = append(order, dispatched(m.result(step, true))...)
	}
	if want := []string{"h2", "h3", "h4", "h1"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("dispatch order %v, want %v", order, want)
	}
	if m.r.State != contracts.StateCompleted || m.r.Counts.Succeeded != 6 {
		t.Fatalf("state %s counts %+v", m.r.State, m.r.Counts)
	}
	// The same order again changes nothing.
	checkCounts(t, m.r)
}

func TestRollbackAfterReorderGoesBackInRunOrder(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.mustVerb(Command{Verb: contracts.VerbReorder, Steps: []string{"rest", "canary", "east"}})
	m.admit()
	m.result("h5", true)
	m.result("h6", true)
	m.result("h1", true) // canary done: east's first batch in flight
	m.result("h2", true)
	eff := m.mustVerb(Command{Verb: contracts.VerbRollback})
	if len(dispatched(eff)) != 0 {
		t.Fatalf("rollback dispatched with h3 in flight: %v", dispatched(eff))
	}
	var order []string
	order = append(order, dispatched(m.result("h3", true))...)
	for len(order) < 5 && m.r.State == contracts.StateRunning {
		var next []string
		for _, h := range m.r.Hosts {
			if h.Rollback == HostRunning {
				next = append(next, dispatched(m.result(h.Name, true))...)
			}
		}
		order = append(order, next...)
	}
	if want := []string{"h2", "h3", "h1", "h5", "h6"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("rollback order %v, want %v", order, want)
	}
}

func TestExcludePendingHost(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	eff := m.mustVerb(Command{Verb: contracts.VerbExclude, Host: "h2"})
	if ev := emits(eff)[0]; ev.Type != contracts.EventExcluded || !reflect.DeepEqual(ev.Event.Hosts, []string{"h2"}) || ev.Event.Counts.Excluded != 1 {
		t.Fatalf("excluded event %+v", ev)
	}
	eff = m.result("h1", true)
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h3"}) {
		t.Fatalf("east's first batch: %v", got)
	}
	for _, e := range emits(eff) {
		if e.Type == contracts.EventBatchStarted && !reflect.DeepEqual(e.Event.Hosts, []string{"h3"}) {
			t.Fatalf("batch_started hosts %v", e.Event.Hosts)
		}
	}
	// A batch whose only host is excluded is passed over.
	m.mustVerb(Command{Verb: contracts.VerbExclude, Host: "h4"})
	if got := dispatched(m.result("h3", true)); !reflect.DeepEqual(got, []string{"h5", "h6"}) {
		t.Fatalf("after east: %v", got)
	}
	m.result("h5", true)
	m.result("h6", true)
	if m.r.State != contracts.StateCompleted || m.r.Counts.Excluded != 2 || m.r.Counts.Succeeded != 4 {
		t.Fatalf("state %s counts %+v", m.r.State, m.r.Counts)
	}
	checkCounts(t, m.r)
}

func TestExcludeRunningHostRecordsItsResult(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	late := m.resultFor("h1", false)
	late.Installed = true
	// h1 was the batch in flight: excluding it moves on.
	eff := m.mustVerb(Command{Verb: contracts.VerbExclude, Host: "h1"})
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h2", "h3"}) {
		t.Fatalf("after excluding h1: %v", got)
	}
	// Its result is recorded, but counts as excluded: no failure, no pause.
	eff = m.must(Input{Result: late})
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed"}) || m.r.State != contracts.StateRunning {
		t.Fatalf("late result: %v, state %s", got, m.r.State)
	}
	if h := m.r.Hosts[0]; h.Status != HostExcluded || !h.Installed || h.FinishedAt.IsZero() || m.r.Counts.Failed != 0 || m.r.Counts.Excluded != 1 {
		t.Fatalf("h1 %+v counts %+v", h, m.r.Counts)
	}
	// Once only.
	if _, eff, err := Step(m.r, Input{Result: late}, m.now); err != nil || eff != nil {
		t.Fatalf("duplicate: %v %v", types(eff), err)
	}
	checkCounts(t, m.r)
}

func TestExcludeRefused(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	m.result("h1", true)
	refused(t, m, Command{Verb: contracts.VerbExclude, Host: "h1"}, contracts.CodeInvalidState, "cannot exclude: host h1 of rollout r1 is succeeded")
	refused(t, m, Command{Verb: contracts.VerbExclude, Host: "h9"}, contracts.CodeInvalid, `rollout r1 has no host "h9"`)
	refused(t, m, Command{Verb: contracts.VerbExclude}, contracts.CodeInvalid, "")
	m.mustVerb(Command{Verb: contracts.VerbExclude, Host: "h5"})
	refused(t, m, Command{Verb: contracts.VerbExclude, Host: "h5"}, contracts.CodeInvalidState, "cannot exclude: host h5 of rollout r1 is excluded")
	m.mustVerb(Command{Verb: contracts.VerbRollback})
	refused(t, m, Command{Verb: contracts.VerbExclude, Host: "h6"}, contracts.CodeInvalidState, "cannot exclude: rollout r1 is rolling back")
	refused(t, m, Command{Verb: contracts.VerbSkip, Step: "rest"}, contracts.CodeInvalidState, "cannot skip: rollout r1 is rolling back")
	refused(t, m, Command{Verb: contracts.VerbReorder, Steps: []string{"rest"}}, contracts.CodeInvalidState, "cannot reorder: rollout r1 is rolling back")
}

// After a reorder, a retried host of a step that ran earlier may stand
// after the current batch in Hosts: the action deadline still fails it.
func TestDeadlineAfterReorderCoversRetriedHosts(t *testing.T) {
	p := plan3(1, contracts.OnFailurePause)
	p.ActionTimeout = contracts.Duration(60e9)
	m := newMachine(t, p)
	m.mustVerb(Command{Verb: contracts.VerbReorder, Steps: []string{"rest", "canary", "east"}})
	m.admit()
	m.result("h5", false) // within the budget
	if got := dispatched(m.result("h6", true)); !reflect.DeepEqual(got, []string{"h1"}) {
		t.Fatalf("after rest: %v", got)
	}
	m.command(contracts.VerbPause)
	m.command(contracts.VerbRetry) // h5 again, while canary's h1 runs
	m.now = m.now.Add(2 * 60e9)
	m.must(Input{Timer: &Timer{}})
	for _, name := range []string{"h1", "h5"} {
		if h := m.r.Hosts[m.r.byName[name]]; h.Status != HostFailed {
			t.Fatalf("%s is %s after the deadline", name, h.Status)
		}
	}
	checkCounts(t, m.r)
}
