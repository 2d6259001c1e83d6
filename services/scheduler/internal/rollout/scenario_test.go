package rollout

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestThreePhasesComplete(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	if len(m.effects) != 0 {
		t.Fatalf("planned emitted %v; the scheduler says nothing until admission", types(m.effects))
	}
	eff := m.admit()
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h1"}) {
		t.Fatalf("dispatched %v", got)
	}
	d := eff[len(eff)-1].(Dispatch)
	wantAction := contracts.HostAction{
		ID: "r1/canary/h1/attempt-1", Rollout: "r1", Environment: "prod", App: "web", Version: "2.0.0",
		PreviousVersion: "1.0.0", Phase: contracts.PhaseRef{Index: 0, Name: "canary", ID: "canary"}, Batch: 1, Attempt: 1,
		Host:   contracts.ActionHost{Name: "h1", Address: "10.0.0.1"},
		Driver: contracts.DriverSpec{Sim: &contracts.SimDriver{}},
		Checks: []contracts.NamedCheck{{Name: "healthz", Spec: contracts.CheckSpec{HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz"}}}},
		Params: map[string]string{"color": "blue"},
	}
	if d.Pool != "east" || !reflect.DeepEqual(d.Action, wantAction) {
		t.Fatalf("dispatch = %s %+v", d.Pool, d.Action)
	}
	if got := dispatched(m.result("h1", true)); !reflect.DeepEqual(got, []string{"h2", "h3"}) {
		t.Fatalf("after h1: dispatched %v", got)
	}
	if got := dispatched(m.result("h3", true)); got != nil {
		t.Fatalf("batch half done dispatched %v", got)
	}
	if got := dispatched(m.result("h2", true)); !reflect.DeepEqual(got, []string{"h4"}) {
		t.Fatalf("after batch 1 of east: dispatched %v", got)
	}
	m.result("h4", true)
	m.result("h6", true)
	m.result("h5", true)

	want := []string{
		"started", "phase_started", "batch_started", "host_succeeded", "phase_completed",
		"phase_started", "batch_started", "host_succeeded", "host_succeeded", "batch_started", "host_succeeded", "phase_completed",
		"phase_started", "batch_started", "host_succeeded", "host_succeeded", "phase_completed", "completed",
	}
	if got := types(m.effects); !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	for i, e := range emits(m.effects) {
		if e.Event.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Event.Seq)
		}
		if e.Event.Rollout != "r1" || e.Event.Environment != "prod" || e.Event.App != "web" || e.Event.Actor != ActorScheduler {
			t.Fatalf("event %d lacks its reference: %+v", i, e.Event)
		}
	}
	last := emits(m.effects)[len(emits(m.effects))-1].Event
	if last.State != contracts.StateCompleted || *last.Counts != (contracts.Counts{Total: 6, Succeeded: 6}) {
		t.Fatalf("completed event = %+v counts %+v", last, last.Counts)
	}
	var ended []string
	for _, e := range m.effects {
		if pe, ok := e.(PhaseEnded); ok {
			ended = append(ended, fmt.Sprintf("%s:%s", pe.Phase.Name, pe.State))
			if !pe.EndedAt.After(pe.StartedAt) {
				t.Fatalf("phase %s ended %v, started %v", pe.Phase.Name, pe.EndedAt, pe.StartedAt)
			}
		}
	}
	if want := []string{"canary:completed", "east:completed", "rest:completed"}; !reflect.DeepEqual(ended, want) {
		t.Fatalf("phases ended %v", ended)
	}
	if m.r.Summary().Phase != 2 {
		t.Fatalf("summary phase = %d", m.r.Summary().Phase)
	}
}

func TestHostEventsCarryOutcome(t *testing.T) {
	m := newMachine(t, plan3(5, contracts.OnFailurePause))
	m.admit()
	res := m.resultFor("h1", false)
	res.Error = "exit status 3"
	res.Checks = []contracts.CheckResult{{Name: "healthz", Status: contracts.ResultFailed, Attempts: 3}}
	ev := emits(m.must(Input{Result: res}))[0]
	if ev.Type != contracts.EventHostFailed || ev.Event.Batch != 1 || ev.Event.Phase.Name != "canary" {
		t.Fatalf("event = %+v", ev)
	}
	h := ev.Event.Host
	if h.Name != "h1" || h.Error != "exit status 3" || h.Duration.D() != 1500*time.Millisecond || h.Executor != "x1" || len(h.Checks) != 1 {
		t.Fatalf("host outcome = %+v", h)
	}
	if *ev.Event.Counts != (contracts.Counts{Total: 6, Failed: 1, Pending: 5}) {
		t.Fatalf("counts = %+v", ev.Event.Counts)
	}
}

func TestThresholdPausesAndResumeRearmsBudget(t *testing.T) {
	m := newMachine(t, plan3(1, contracts.OnFailurePause))
	m.admit()
	m.result("h1", true)
	if got := types(m.result("h2", false)); !reflect.DeepEqual(got, []string{"host_failed"}) {
		t.Fatalf("first failure (tolerated) emitted %v", got)
	}
	eff := m.result("h3", false)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "paused"}) {
		t.Fatalf("second failure emitted %v", got)
	}
	paused := emits(eff)[1].Event
	if paused.Reason != "failure threshold crossed: 2 failed, 1 tolerated" || paused.Actor != ActorScheduler || paused.State != contracts.StatePaused {
		t.Fatalf("paused event = %+v", paused)
	}
	if dispatched(eff) != nil {
		t.Fatal("a paused rollout dispatched the next batch")
	}

	eff = m.command(contracts.VerbResume)
	if got := types(eff); !reflect.DeepEqual(got, []string{"resumed", "batch_started"}) {
		t.Fatalf("resume emitted %v", got)
	}
	if ev := emits(eff)[0].Event; ev.Actor != "alice" || ev.Reason != "because" || ev.State != contracts.StateRunning {
		t.Fatalf("resumed event = %+v", ev)
	}
	if got := dispatched(eff); !reflect.DeepEqual(got, []string{"h4"}) {
		t.Fatalf("resume dispatched %v", got)
	}
	// One failure after resume is within the re-armed budget of 1.
	if got := types(m.result("h4", false)); !reflect.DeepEqual(got, []string{"host_failed", "phase_completed", "phase_started", "batch_started"}) {
		t.Fatalf("failure after resume emitted %v", got)
	}
	m.result("h5", true)
	eff = m.result("h6", false)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "paused"}) {
		t.Fatalf("second failure after resume emitted %v", got)
	}
	if r := emits(eff)[1].Event.Reason; r != "failure threshold crossed: 2 failed, 1 tolerated" {
		t.Fatalf("reason = %q", r)
	}
	// Resuming after the last batch finishes the rollout.
	if got := types(m.command(contracts.VerbResume)); !reflect.DeepEqual(got, []string{"resumed", "phase_completed", "completed"}) {
		t.Fatalf("final resume emitted %v", got)
	}
	if m.r.Counts != (contracts.Counts{Total: 6, Succeeded: 2, Failed: 4}) {
		t.Fatalf("counts = %+v", m.r.Counts)
	}
}

func TestThresholdAbortFails(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailureAbort))
	m.admit()
	m.result("h1", true)
	eff := m.result("h2", false)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_failed", "failed"}) {
		t.Fatalf("emitted %v", got)
	}
	if ev := emits(eff)[1].Event; ev.Reason != "failure threshold crossed: 1 failed, 0 tolerated" || ev.State != contracts.StateFailed {
		t.Fatalf("failed event = %+v", ev)
	}
	var stopped bool
	for _, e := range eff {
		if pe, ok := e.(PhaseEnded); ok && pe.Phase.Name == "east" && pe.State == PhaseStopped {
			stopped = true
		}
	}
	if !stopped {
		t.Fatal("the running phase was not ended with the rollout")
	}
	// h3 was in flight: its result is recorded, nothing else happens.
	eff = m.result("h3", true)
	if got := types(eff); !reflect.DeepEqual(got, []string{"host_succeeded"}) || dispatched(eff) != nil {
		t.Fatalf("late result emitted %v, dispatched %v", got, dispatched(eff))
	}
	if emits(eff)[0].Event.State != contracts.StateFailed {
		t.Fatalf("late result event state = %q", emits(eff)[0].Event.State)
	}
}

func TestAbortMidBatchThenResults(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	m.result("h1", true)
	eff := m.command(contracts.VerbAbort)
	if got := types(eff); !reflect.DeepEqual(got, []string{"aborted"}) {
		t.Fatalf("abort emitted %v", got)
	}
	if ev := emits(eff)[0].Event; ev.Actor != "alice" || ev.Reason != "because" || ev.State != contracts.StateAborted {
		t.Fatalf("aborted event = %+v", ev)
	}
	for _, h := range []string{"h2", "h3"} {
		eff := m.result(h, h == "h2")
		if dispatched(eff) != nil || len(emits(eff)) != 1 {
			t.Fatalf("result after abort: %v %v", types(eff), dispatched(eff))
		}
	}
	if m.r.State != contracts.StateAborted || m.r.Counts != (contracts.Counts{Total: 6, Succeeded: 2, Failed: 1, Pending: 3}) {
		t.Fatalf("state %s counts %+v", m.r.State, m.r.Counts)
	}
	if m.r.Phases[1].State != PhaseStopped || m.r.Phases[2].State != PhasePending {
		t.Fatalf("phases = %+v", m.r.Phases)
	}
}

func TestDuplicateAndUnknownResultsAreIgnored(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	m.admit()
	res := m.resultFor("h1", true)
	m.must(Input{Result: res})
	before := m.r
	for name, r := range map[string]contracts.HostResult{
		"duplicate":      *res,
		"duplicate fail": func() contracts.HostResult { x := *res; x.Status = contracts.ResultFailed; return x }(),
		"other attempt": func() contracts.HostResult {
			x := *m.resultFor("h2", true)
			x.Attempt = 2
			return x
		}(),
		"wrong action id": func() contracts.HostResult {
			x := *m.resultFor("h2", true)
			x.ActionID = "r1/east/h2/attempt-9"
			return x
		}(),
		"unknown host":  func() contracts.HostResult { x := *m.resultFor("h2", true); x.Host = "h99"; return x }(),
		"wrong batch":   func() contracts.HostResult { x := *m.resultFor("h2", true); x.Batch = 2; return x }(),
		"no such phase": func() contracts.HostResult { x := *m.resultFor("h2", true); x.Phase.Index = 7; return x }(),
		"other step id": func() contracts.HostResult { x := *m.resultFor("h2", true); x.Phase.ID = "rest"; return x }(),
		"pending host": func() contracts.HostResult {
			x := *m.resultFor("h5", true)
			x.ActionID = "r1/rest/h5/attempt-1"
			return x
		}(),
	} {
		next, eff, err := Step(m.r, Input{Result: &r}, m.now.Add(time.Minute))
		if err != nil || eff != nil || !reflect.DeepEqual(next, before) {
			t.Errorf("%s: err %v, effects %v, changed %v", name, err, types(eff), !reflect.DeepEqual(next, before))
		}
	}
	bad := *m.resultFor("h2", true)
	bad.Status = "maybe"
	if _, _, err := Step(m.r, Input{Result: &bad}, m.now); !contracts.IsCode(err, contracts.CodeInvalid) {
		t.Fatalf("bad status err = %v", err)
	}
	other := *m.resultFor("h2", true)
	other.Rollout = "r2"
	if _, _, err := Step(m.r, Input{Result: &other}, m.now); !contracts.IsCode(err, contracts.CodeInvalid) {
		t.Fatalf("other rollout err = %v", err)
	}
}

func TestQueuedOnlyWhenReasonChanges(t *testing.T) {
	m := newMachine(t, plan3(0, contracts.OnFailurePause))
	until := t0.Add(time.Hour)
	wait := func(reason string, until *time.Time) []Effect {
		return m.must(Input{Admission: &Admission{Reason: reason, Until: until}})
	}
	eff := wait("freeze: release freeze until "+until.Format(time.RFC3339), &until)
	if got := types(eff); !reflect.DeepEqual(got, []string{"queued"}) {
		t.Fatalf("emitted %v", got)
	}
	if ev := emits(eff)[0].Event; !ev.Until.Equal(until) || ev.State != contracts.StateQueued || !strings.HasPrefix(ev.Reason, "freeze: ") {
		t.Fatalf("queued event = %+v", ev)
	}
	if eff := wait("freeze: release freeze until "+until.Format(time.RFC3339), &until); eff != nil {
		t.Fatalf("same reason emitted %v", types(eff))
	}
	if got := types(wait("waiting for rollout r0", nil)); !reflect.DeepEqual(got, []string{"queued"}) {
		t.Fatalf("new reason emitted %v", got)
	}
	if _, _, err := Step(m.r, Input{Admission: &Admission{}}, m.now); !contracts.IsCode(err, contracts.CodeInvalid) {
		t.Fatalf("refusal without reason: err = %v", err)
	}
	// Paused before admission, resumed: back in the queue, and the reason is
	// reported again.
	m.command(contracts.VerbPause)
	eff = m.command(contracts.VerbResume)
	if m.r.State != contracts.StateQueued || m.r.Admitted || emits(eff)[0].Event.State != contracts.StateQueued {
		t.Fatalf("resume of a never-started rollout left it %s", m.r.State)
	}
	if got := types(wait("waiting for rollout r0", nil)); !reflect.DeepEqual(got, []string{"queued"}) {
		t.Fatalf("after resume, waiting emitted %v", got)
	}
	if got := types(m.admit()); got[0] != "started" {
		t.Fatalf("admission emitted %v", got)
	}
}

func TestPlansWithoutHostsOrWithEmptyBatches(t *testing.T) {
	empty := plan3(0, "")
	empty.Phases = nil
	m := newMachine(t, empty)
	if got := types(m.admit()); !reflect.DeepEqual(got, []string{"started", "completed"}) {
		t.Fatalf("empty plan emitted %v", got)
	}
	if m.r.Plan.OnFailure != contracts.OnFailurePause {
		t.Fatalf("on_failure default = %q", m.r.Plan.OnFailure)
	}

	gaps := plan3(0, contracts.OnFailurePause)
	gaps.Phases = []contracts.PlannedPhase{
		{Name: "nothing"},
		{Name: "sparse", Batches: [][]string{{}, {"h1"}, {}}},
	}
	m = newMachine(t, gaps)
	want := []string{"started", "phase_started", "phase_completed", "phase_started", "batch_started"}
	eff := m.admit()
	if got := types(eff); !reflect.DeepEqual(got, want) {
		t.Fatalf("emitted %v, want %v", got, want)
	}
	if b := emits(eff)[4].Event.Batch; b != 2 {
		t.Fatalf("batch_started batch = %d, want 2", b)
	}
	if got := types(m.result("h1", true)); !reflect.DeepEqual(got, []string{"host_succeeded", "phase_completed", "completed"}) {
		t.Fatalf("emitted %v", got)
	}
}

func TestCommandActorDefaults(t *testing.T) {
	m := newMachine(t, plan3(0, ""))
	eff := m.must(Input{Command: &Command{Verb: contracts.VerbPause}})
	if a := emits(eff)[0].Event.Actor; a != ActorUnknown {
		t.Fatalf("actor = %q", a)
	}
}

func TestValidatePlan(t *testing.T) {
	tests := []struct {
		name   string
		change func(*contracts.Plan)
		field  string
	}{
		{"ok", func(*contracts.Plan) {}, ""},
		{"rollout", func(p *contracts.Plan) { p.Rollout = "a.b" }, "rollout"},
		{"environment", func(p *contracts.Plan) { p.Environment = "" }, "environment"},
		{"app", func(p *contracts.Plan) { p.App = "" }, "app"},
		{"version", func(p *contracts.Plan) { p.Version = "" }, "version"},
		{"max_failed", func(p *contracts.Plan) { p.MaxFailed = -1 }, "max_failed"},
		{"on_failure", func(p *contracts.Plan) { p.OnFailure = "explode" }, "on_failure"},
		{"reserved step id", func(p *contracts.Plan) { p.Phases[1].ID = contracts.RollbackStepID }, "phases[1].id"},
		{"wait step with hosts", func(p *contracts.Plan) { p.Phases[1].Kind = contracts.StepWait; p.Phases[1].Wait = 1 }, "phases[1].batches"},
		{"wait step without wait", func(p *contracts.Plan) { p.Phases[2].Kind, p.Phases[2].Batches = contracts.StepWait, nil }, "phases[2].wait"},
		{"unknown kind", func(p *contracts.Plan) { p.Phases[0].Kind = "teleport" }, "phases[0].kind"},
		{"analysis without checks", func(p *contracts.Plan) {
			p.Phases[1] = contracts.PlannedPhase{Name: "a", Kind: contracts.StepAnalysis, Analysis: &contracts.AnalysisSpec{}}
		}, "phases[1].analysis"},
		{"phase name", func(p *contracts.Plan) { p.Phases[1].Name = "" }, "phases[1].name"},
		{"unknown host", func(p *contracts.Plan) { p.Phases[2].Batches[0][1] = "h9" }, "phases[2].batches[0][1]"},
		{"empty host", func(p *contracts.Plan) { p.Phases[0].Batches[0][0] = "" }, "phases[0].batches[0][0]"},
		{"duplicate host", func(p *contracts.Plan) { p.Phases[2].Batches[0][0] = "h1" }, "phases[2].batches[0][0]"},
		{"unknown check", func(p *contracts.Plan) { p.Phases[0].Checks = []string{"nope"} }, "phases[0].checks[0]"},
		{"pool", func(p *contracts.Plan) { h := p.Hosts["h2"]; h.Pool = "a b"; p.Hosts["h2"] = h }, `hosts["h2"].pool`},
		{"host name", func(p *contracts.Plan) { h := p.Hosts["h2"]; h.Name = "h3"; p.Hosts["h2"] = h }, `hosts["h2"].name`},
		{"step id", func(p *contracts.Plan) { p.Phases[1].ID = "a/b" }, "phases[1].id"},
		{"duplicate step id", func(p *contracts.Plan) { p.Phases[2].ID = "canary" }, "phases[2].id"},
		{"derived id clashes", func(p *contracts.Plan) { p.Phases[0].ID = "east"; p.Phases[1].ID = "" }, "phases[1].name"},
		{"ids without names' help", func(p *contracts.Plan) { p.Phases[1].ID = "e1" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan3(0, "")
			tt.change(&p)
			err := ValidatePlan(p)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ce := contracts.AsError(err)
			if ce == nil || ce.Code != contracts.CodeInvalid || ce.Field != tt.field {
				t.Fatalf("err = %#v, want invalid %s", ce, tt.field)
			}
			// Step refuses the plan the same way.
			if _, _, err := Step(Rollout{}, Input{Planned: &Planned{Plan: p}}, t0); contracts.AsError(err).Field != tt.field {
				t.Fatalf("Step err = %v", err)
			}
		})
	}
}

// TestRandomRunsKeepInvariants runs random plans with results in random
// order and checks what must always hold: each host is dispatched exactly
// once, event sequence numbers have no gaps, counts add up, and a rollout
// whose budget is never exceeded completes.
func TestRandomRunsKeepInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		p := plan3(0, contracts.OnFailurePause)
		p.Phases = nil
		p.Hosts = map[string]contracts.PlannedHost{}
		n := 0
		for ph := range 1 + rng.IntN(4) {
			var batches [][]string
			for range rng.IntN(4) {
				var b []string
				for range rng.IntN(4) {
					n++
					name := fmt.Sprintf("h%d", n)
					p.Hosts[name] = contracts.PlannedHost{Name: name}
					b = append(b, name)
				}
				batches = append(batches, b)
			}
			p.Phases = append(p.Phases, contracts.PlannedPhase{Name: fmt.Sprintf("p%d", ph), Batches: batches})
		}
		p.MaxFailed = n // never crossed
		m := newMachine(t, p)
		m.admit()
		for m.r.State == contracts.StateRunning {
			var inflight []string
			for _, h := range m.r.Hosts {
				if h.Status == HostRunning {
					inflight = append(inflight, h.Name)
				}
			}
			if len(inflight) == 0 {
				t.Fatalf("run %d: running with nothing in flight", run)
			}
			h := inflight[rng.IntN(len(inflight))]
			res := m.resultFor(h, rng.IntN(3) > 0)
			m.must(Input{Result: res})
			if rng.IntN(4) == 0 { // a redelivered result changes nothing
				if _, eff, _ := Step(m.r, Input{Result: res}, m.now); eff != nil {
					t.Fatalf("run %d: duplicate had effects", run)
				}
			}
		}
		if m.r.State != contracts.StateCompleted {
			t.Fatalf("run %d: ended %s", run, m.r.State)
		}
		got := dispatched(m.effects)
		slices.Sort(got)
		var want []string
		for name := range p.Hosts {
			want = append(want, name)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: dispatched %v, want each of %v once", run, got, want)
		}
		for i, e := range emits(m.effects) {
			if e.Event.Seq != int64(i+1) {
				t.Fatalf("run %d: seq gap at %d", run, i)
			}
		}
		c := m.r.Counts
		if c.Succeeded+c.Failed != n || c.Running != 0 || c.Pending != 0 || c.Total != n {
			t.Fatalf("run %d: counts %+v for %d hosts", run, c, n)
		}
	}
}

// Step ids, not positions, name actions: moving a step leaves the action
// ids of its hosts unchanged, and a plan without ids (an older planner)
// gets the ids derived from the names.
func TestActionIDsKeyOnStepIDs(t *testing.T) {
	ids := func(p contracts.Plan) map[string]string {
		m := newMachine(t, p)
		got := map[string]string{}
		eff := m.admit()
		for len(eff) > 0 {
			var next []Effect
			for _, e := range eff {
				if d, ok := e.(Dispatch); ok {
					got[d.Action.Host.Name] = d.Action.ID
					if d.Action.Phase.ID == "" || d.Action.Phase.ID != m.r.Plan.Phases[d.Action.Phase.Index].ID {
						t.Fatalf("action %s carries step %+v", d.Action.ID, d.Action.Phase)
					}
					next = append(next, m.result(d.Action.Host.Name, true)...)
				}
			}
			eff = next
		}
		if m.r.State != contracts.StateCompleted {
			t.Fatalf("state %s", m.r.State)
		}
		return got
	}
	p := plan3(0, "")
	for i := range p.Phases {
		p.Phases[i].ID = "step-" + p.Phases[i].Name
	}
	want := ids(p)
	if want["h5"] != "r1/step-rest/h5/attempt-1" || want["h1"] != "r1/step-canary/h1/attempt-1" {
		t.Fatalf("ids = %v", want)
	}
	reordered := p
	reordered.Phases = []contracts.PlannedPhase{p.Phases[2], p.Phases[0], p.Phases[1]}
	if got := ids(reordered); !reflect.DeepEqual(got, want) {
		t.Fatalf("reordered steps changed action ids:\n got %v\nwant %v", got, want)
	}
	old := plan3(0, "") // no ids
	m := newMachine(t, old)
	if m.r.Plan.Phases[1].ID != "east" || old.Phases[1].ID != "" {
		t.Fatalf("derived id %q, caller's plan %q", m.r.Plan.Phases[1].ID, old.Phases[1].ID)
	}
	if got := ids(old); got["h4"] != "r1/east/h4/attempt-1" {
		t.Fatalf("ids = %v", got)
	}
}
