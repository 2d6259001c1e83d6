package scheduler_test

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/pkg/sqlitedb"
	"github.com/rollwave/rollwave/pkg/telemetry"
	"github.com/rollwave/rollwave/services/scheduler"
)

var threePhaseEvents = []string{
	"started", "phase_started", "batch_started", "host_succeeded", "phase_completed",
	"phase_started", "batch_started", "host_succeeded", "host_succeeded", "batch_started", "host_succeeded", "phase_completed",
	"phase_started", "batch_started", "host_succeeded", "host_succeeded", "phase_completed", "completed",
}

func TestThreePhaseRolloutCompletes(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	planSpan := e.publishPlanned(plan3("r1"))

	first := e.take(1)
	if a := first[0]; a.ID != contracts.StepActionID("r1", "canary", "h1", 1) || a.Phase.Name != "canary" || a.Phase.ID != "canary" || a.Batch != 1 ||
		a.Version != "2.0.0" || a.PreviousVersion != "1.0.0" || a.Host.Address != "h1.example" || a.Driver.Sim == nil {
		t.Fatalf("first action = %+v", a)
	}
	e.result(first[0], true)
	e.finish(2, 1, 2)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)

	if got := typesOf(evs); !reflect.DeepEqual(got, threePhaseEvents) {
		t.Fatalf("events:\n got %v\nwant %v", got, threePhaseEvents)
	}
	checkSeqs(t, evs)
	last := evs[len(evs)-1]
	if last.State != contracts.StateCompleted || *last.Counts != (contracts.Counts{Total: 6, Succeeded: 6}) {
		t.Fatalf("completed event = %+v", last.Event)
	}
	if ev := evs[6]; ev.Phase.Name != "east" || ev.Batch != 1 || !reflect.DeepEqual(ev.Hosts, []string{"h2", "h3"}) {
		t.Fatalf("batch_started = %+v", ev.Event)
	}
	e.checkActionsOnce(6)

	// One trace: admission and phases are spans of the planned event's
	// trace; each action's parent is its phase's span.
	tid := planSpan.TraceID()
	var byName map[string]spanInfo
	natstest.CheckFor(t, wait, 5*time.Millisecond, func() error {
		byName = map[string]spanInfo{}
		for _, s := range e.spans.GetSpans() {
			name := s.Name
			if name == "phase.run" { // one operation name; the phase is an attribute
				for _, kv := range s.Attributes {
					if kv.Key == "rollwave.phase.name" {
						name = "phase " + kv.Value.AsString()
					}
				}
			}
			byName[name] = spanInfo{tid: s.SpanContext.TraceID(), sid: s.SpanContext.SpanID(), parent: s.Parent.SpanID()}
		}
		if len(byName) < 6 {
			return errorf("spans %v", byName)
		}
		return nil
	})
	// The rollout span is the plan's child and the parent of admission
	// and of every phase; its id derives from the trace id.
	rolloutSpan := telemetry.DerivedSpanID(tid, "rollout")
	if r, ok := byName["rollout"]; !ok || r.tid != tid || r.sid != rolloutSpan || r.parent != planSpan.SpanID() {
		t.Fatalf("rollout span = %+v (plan span %s)", r, planSpan.SpanID())
	}
	if a, ok := byName["admission"]; !ok || a.tid != tid || a.parent != rolloutSpan {
		t.Fatalf("admission span = %+v (rollout span %s)", a, rolloutSpan)
	}
	for _, name := range []string{"canary", "east", "rest"} {
		sp, ok := byName["phase "+name]
		if want := phaseSpan(tid, name); !ok || sp.tid != tid || sp.sid != want || sp.parent != rolloutSpan {
			t.Fatalf("phase %s span = %+v, want id %s", name, sp, want)
		}
	}
	for id, h := range e.actionHeaders {
		step := strings.Split(id, "/")[1] // rollout/step/host/attempt-n
		if atid, parent := parentOf(t, h); atid != tid || parent != phaseSpan(tid, step) {
			t.Fatalf("action %s traceparent %q: not a child of step %s", id, h.Get("traceparent"), step)
		}
	}
	for _, ev := range evs {
		if atid, parent := parentOf(t, ev.Header); atid != tid || parent != rolloutSpan {
			t.Fatalf("event %s is not in the rollout's trace", ev.Type)
		}
	}

	if got := e.metric("rollwave_scheduler_actions_dispatched_total"); got != 6 {
		t.Fatalf("actions_dispatched_total = %v", got)
	}
	if got := e.metric("rollwave_scheduler_events_total", "type", "host_succeeded"); got != 6 {
		t.Fatalf("events_total{host_succeeded} = %v", got)
	}
	if got := e.metric("rollwave_scheduler_rollouts", "state", "completed"); got != 1 {
		t.Fatalf("rollouts{completed} = %v", got)
	}
	if got := e.metric("rollwave_scheduler_rollouts", "state", "running"); got != 0 {
		t.Fatalf("rollouts{running} = %v", got)
	}

	view, err := natsx.Request[contracts.RolloutView](context.Background(), e.nc, contracts.APISchedulerGet, contracts.RolloutQuery{Rollout: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if view.State != contracts.StateCompleted || view.RequestedBy != "ci" || len(view.Phases) != 3 ||
		view.Phases[1].State != "completed" || view.Phases[1].Batches != 2 || len(view.Phases[1].Hosts) != 3 ||
		view.Phases[2].Hosts[1].State != "succeeded" || view.Counts.Succeeded != 6 {
		t.Fatalf("view = %+v", view)
	}
}

type spanInfo struct {
	tid         trace.TraceID
	sid, parent trace.SpanID
}

func phaseSpan(tid trace.TraceID, step string) trace.SpanID {
	return telemetry.DerivedSpanID(tid, "step/"+step)
}

func TestThresholdPauseResumeAndAbort(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	e.publishPlanned(plan3("r1")) // max_failed 0, on_failure pause

	h1 := e.take(1)[0]
	if _, err := e.control("r1", contracts.VerbResume, "alice"); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("resume on running: err = %v, want invalid_state", err)
	}
	e.result(h1, false)
	evs := e.waitFor("r1", contracts.EventPaused, 1)
	paused := ofType(evs, contracts.EventPaused)[0]
	if paused.Reason != "failure threshold crossed: 1 failed, 0 tolerated" || paused.Actor != "scheduler" {
		t.Fatalf("paused = %+v", paused.Event)
	}
	e.checkActionsOnce(1) // nothing dispatched while paused

	sum, err := e.control("r1", contracts.VerbResume, "alice")
	if err != nil || sum.State != contracts.StateRunning || sum.Counts.Failed != 1 {
		t.Fatalf("resume: %+v, %v", sum, err)
	}
	// The reply comes after the events are published.
	resumed := ofType(e.events("r1"), contracts.EventResumed)
	if len(resumed) != 1 || resumed[0].Actor != "alice" || resumed[0].Reason != "test resume" {
		t.Fatalf("resumed events = %+v", resumed)
	}
	batch := e.take(2)
	e.result(batch[0], true)
	e.waitFor("r1", contracts.EventHostSucceeded, 1)

	sum, err = e.control("r1", contracts.VerbAbort, "bob")
	if err != nil || sum.State != contracts.StateAborted {
		t.Fatalf("abort: %+v, %v", sum, err)
	}
	e.result(batch[1], false) // was in flight: recorded, nothing follows
	evs = e.waitFor("r1", contracts.EventHostFailed, 2)
	want := []string{"started", "phase_started", "batch_started", "host_failed", "paused", "resumed", "phase_completed",
		"phase_started", "batch_started", "host_succeeded", "aborted", "host_failed"}
	if got := typesOf(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	checkSeqs(t, evs)
	if ab := evs[10]; ab.Actor != "bob" || ab.Reason != "test abort" || ab.State != contracts.StateAborted {
		t.Fatalf("aborted = %+v", ab.Event)
	}
	if late := evs[11]; late.State != contracts.StateAborted || late.Host.Name != "h3" || late.Host.Error != "exit status 1" {
		t.Fatalf("late host_failed = %+v", late.Event)
	}
	e.checkActionsOnce(3)
	if _, err := e.control("r1", contracts.VerbPause, "alice"); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("pause on aborted: err = %v", err)
	}
	if got := e.metric("rollwave_scheduler_rollouts", "state", "aborted"); got != 1 {
		t.Fatalf("rollouts{aborted} = %v", got)
	}
}

func TestThresholdAbortPolicyFails(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	p := plan3("r1")
	p.MaxFailed, p.OnFailure = 1, contracts.OnFailureAbort
	e.publishPlanned(p)
	e.finish(1)
	batch := e.take(2)
	e.result(batch[0], false)
	e.result(batch[1], false)
	evs := e.waitFor("r1", contracts.EventFailed, 1)
	if f := ofType(evs, contracts.EventFailed)[0]; f.Reason != "failure threshold crossed: 2 failed, 1 tolerated" || f.State != contracts.StateFailed {
		t.Fatalf("failed = %+v", f.Event)
	}
	e.checkActionsOnce(3)
}

func TestFreezeQueuesUntilCalendarAllows(t *testing.T) {
	e := newEnv(t)
	e.start()
	// No calendar yet: admission fails closed.
	e.publishPlanned(newPlan("r1", "prod", [][]string{{"h1"}}))
	evs := e.waitFor("r1", contracts.EventQueued, 1)
	if q := evs[0]; q.Reason != "calendar unavailable" || q.State != contracts.StateQueued || q.Until != nil {
		t.Fatalf("queued = %+v", q.Event)
	}

	end := t0.Add(2 * time.Hour)
	cal := e.calendar()
	cal.freezeUntil("prod", "release freeze", end)
	evs = e.tickUntil("r1", contracts.EventQueued, 2)
	if q := evs[1]; q.Reason != "freeze: release freeze until 2026-03-01T14:00:00Z" || !q.Until.Equal(end) {
		t.Fatalf("queued = %+v", q.Event)
	}

	// A rollout with a start time ahead waits for it, outside the line.
	later := newPlan("r2", "qa", [][]string{{"q1"}})
	startAt := t0.Add(3 * time.Hour)
	later.StartAt = &startAt
	e.publishPlanned(later)
	q2 := e.waitFor("r2", contracts.EventQueued, 1)[0]
	if q2.Reason != "start_at 2026-03-01T15:00:00Z" || !q2.Until.Equal(startAt) {
		t.Fatalf("r2 queued = %+v", q2.Event)
	}

	e.clock.Set(end)
	evs = e.tickUntil("r1", contracts.EventBatchStarted, 1)
	if got := typesOf(evs); !reflect.DeepEqual(got, []string{"queued", "queued", "started", "phase_started", "batch_started"}) {
		t.Fatalf("events %v: queued must be emitted only when the reason changes", got)
	}
	if e.clock.Now().After(startAt) {
		t.Fatal("clock already past r2's start")
	}
	if got := typesOf(e.events("r2")); !reflect.DeepEqual(got, []string{"queued"}) {
		t.Fatalf("r2 events before its start: %v", got)
	}
	e.clock.Set(startAt)
	e.tickUntil("r2", contracts.EventStarted, 1)
	e.finish(1, 1)
	e.waitFor("r1", contracts.EventCompleted, 1)
	e.waitFor("r2", contracts.EventCompleted, 1)
}

func TestOneActiveRolloutPerEnvironmentFIFO(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	for _, p := range []contracts.Plan{
		newPlan("a", "prod", [][]string{{"a1"}}),
		newPlan("b", "prod", [][]string{{"b1"}}),
		newPlan("c", "prod", [][]string{{"c1"}}),
		newPlan("d", "qa", [][]string{{"d1"}}),
	} {
		e.publishPlanned(p)
	}
	e.waitFor("a", contracts.EventStarted, 1)
	e.waitFor("d", contracts.EventStarted, 1) // another environment runs alongside
	for _, id := range []string{"b", "c"} {
		evs := e.waitFor(id, contracts.EventQueued, 1)
		if evs[0].Reason != "environment prod is busy with another rollout" {
			t.Fatalf("%s queued: %q", id, evs[0].Reason)
		}
	}
	acts := e.take(2) // a1 and d1
	if acts[0].Host.Name != "a1" || acts[1].Host.Name != "d1" {
		t.Fatalf("took %s %s", acts[0].Host.Name, acts[1].Host.Name)
	}
	e.result(acts[0], true)
	e.waitFor("b", contracts.EventStarted, 1)
	if sum := e.get("c"); sum.QueuePosition != 1 || sum.State != contracts.StateQueued {
		t.Fatalf("c after a: %+v", sum.RolloutSummary)
	}
	if _, err := e.control("b", contracts.VerbAbort, "alice"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("c", contracts.EventBatchStarted, 1)
	if got := typesOf(e.events("c")); !reflect.DeepEqual(got, []string{"queued", "started", "phase_started", "batch_started"}) {
		t.Fatalf("c events %v", got)
	}

	// A rollout paused before it started keeps its place but holds nothing.
	e.publishPlanned(newPlan("e", "prod", [][]string{{"e1"}}))
	e.waitFor("e", contracts.EventQueued, 1)
	sum, err := e.control("e", contracts.VerbPause, "alice")
	if err != nil || sum.State != contracts.StatePaused {
		t.Fatalf("pause queued: %+v %v", sum, err)
	}
	sum, err = e.control("e", contracts.VerbResume, "alice")
	if err != nil || sum.State != contracts.StateQueued {
		t.Fatalf("resume never-started: %+v %v", sum, err)
	}
	// b1 (dispatched before b was aborted) and c1 report; c completes and
	// the queue moves on to e.
	for _, a := range e.take(2) {
		e.result(a, true)
	}
	e.waitFor("c", contracts.EventCompleted, 1)
	e.waitFor("e", contracts.EventStarted, 1)
}

func TestRestartMidRolloutResumesExactlyOnce(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	e.publishPlanned(plan3("r1"))
	e.finish(1)
	batch := e.take(2)
	s1.stop(t)

	// Results arrive while the scheduler is down.
	e.result(batch[0], true)
	e.result(batch[1], true)
	e.start()
	e.finish(1, 2)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	if got := typesOf(evs); !reflect.DeepEqual(got, threePhaseEvents) {
		t.Fatalf("events:\n got %v\nwant %v", got, threePhaseEvents)
	}
	checkSeqs(t, evs)
	e.checkActionsOnce(6)
}

func TestCrashAfterCommitBeforePublish(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	var armed atomic.Bool
	s1 := e.start(func(svc *scheduler.Service, nc *nats.Conn) {
		scheduler.SetAfterCommit(svc, func() {
			if armed.CompareAndSwap(true, false) {
				nc.Close() // the process dies between commit and publish
			}
		})
	})
	e.publishPlanned(plan3("r1"))
	h1 := e.take(1)[0]
	armed.Store(true)
	e.result(h1, true)
	natstest.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if !s1.nc.IsClosed() {
			return errorf("not crashed yet")
		}
		return nil
	})
	s1.stop(t)
	e.checkActionsOnce(1) // the next batch was committed, not published
	if got := typesOf(e.events("r1")); !reflect.DeepEqual(got, threePhaseEvents[:3]) {
		t.Fatalf("events before restart: %v", got)
	}

	e.start() // republishes the outbox
	e.finish(2, 1, 2)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	if got := typesOf(evs); !reflect.DeepEqual(got, threePhaseEvents) {
		t.Fatalf("events:\n got %v\nwant %v", got, threePhaseEvents)
	}
	checkSeqs(t, evs)
	e.checkActionsOnce(6)
}

func TestConnectionLostMidRollout(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	e.publishPlanned(plan3("r1"))
	e.finish(1)
	batch := e.take(2)
	e.result(batch[0], true)
	e.waitFor("r1", contracts.EventHostSucceeded, 2)
	s1.nc.Close() // abruptly, with results still to come
	e.result(batch[1], true)
	s1.stop(t)

	e.start()
	e.finish(1, 2)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	if got := typesOf(evs); !reflect.DeepEqual(got, threePhaseEvents) {
		t.Fatalf("events:\n got %v\nwant %v", got, threePhaseEvents)
	}
	checkSeqs(t, evs)
	e.checkActionsOnce(6)
}

func TestControlRepliesAndQueries(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	ctx := context.Background()

	if _, err := e.control("nope", contracts.VerbPause, "alice"); !contracts.IsCode(err, contracts.CodeNotFound) {
		t.Fatalf("unknown rollout: err = %v", err)
	}
	for subject, field := range map[string]string{
		"rollwave.control.r1.explode": "verb",
		"rollwave.control.-x.pause":   "rollout",
	} {
		_, err := natsx.Request[contracts.RolloutSummary](ctx, e.nc, subject, contracts.ControlCommand{})
		if ce := contracts.AsError(err); ce == nil || ce.Code != contracts.CodeInvalid || ce.Field != field {
			t.Fatalf("%s: err = %v", subject, err)
		}
	}
	_, err := natsx.Request[contracts.RolloutSummary](ctx, e.nc, contracts.ControlSubject("r1", contracts.VerbPause), map[string]any{"actor": 7})
	if ce := contracts.AsError(err); ce == nil || ce.Code != contracts.CodeInvalid || ce.Field != "actor" {
		t.Fatalf("bad body: err = %v", err)
	}

	for _, id := range []string{"r1", "r2", "r3"} {
		e.publishPlanned(newPlan(id, "prod", [][]string{{id + "h"}}))
	}
	e.waitFor("r3", contracts.EventQueued, 1)
	if _, err := e.control("r1", contracts.VerbResume, "alice"); !contracts.IsCode(err, contracts.CodeInvalidState) {
		t.Fatalf("resume on running: err = %v", err)
	}
	list, err := natsx.Request[contracts.RolloutList](ctx, e.nc, contracts.APISchedulerList, contracts.RolloutListQuery{Environment: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range list.Rollouts {
		ids = append(ids, r.Rollout+":"+string(r.State))
	}
	if !reflect.DeepEqual(ids, []string{"r3:queued", "r2:queued", "r1:running"}) {
		t.Fatalf("list = %v", ids)
	}
	list, err = natsx.Request[contracts.RolloutList](ctx, e.nc, contracts.APISchedulerList, contracts.RolloutListQuery{Limit: 1, State: contracts.StateQueued})
	if err != nil || len(list.Rollouts) != 1 || list.Rollouts[0].Rollout != "r3" {
		t.Fatalf("list limit 1 queued = %+v, %v", list, err)
	}
	for _, q := range []struct {
		q     contracts.RolloutListQuery
		field string
	}{
		{contracts.RolloutListQuery{Limit: 1001}, "limit"},
		{contracts.RolloutListQuery{Limit: -1}, "limit"},
		{contracts.RolloutListQuery{State: "sleeping"}, "state"},
		{contracts.RolloutListQuery{Environment: "a.b"}, "environment"},
	} {
		_, err := natsx.Request[contracts.RolloutList](ctx, e.nc, contracts.APISchedulerList, q.q)
		if ce := contracts.AsError(err); ce == nil || ce.Code != contracts.CodeInvalid || ce.Field != q.field {
			t.Fatalf("list %+v: err = %v", q.q, err)
		}
	}
	if _, err := natsx.Request[contracts.RolloutView](ctx, e.nc, contracts.APISchedulerGet, contracts.RolloutQuery{Rollout: "zz"}); !contracts.IsCode(err, contracts.CodeNotFound) {
		t.Fatalf("get unknown: err = %v", err)
	}
	if _, err := natsx.Request[contracts.RolloutView](ctx, e.nc, contracts.APISchedulerGet, map[string]any{"rollout": "r1", "x": 1}); !contracts.IsCode(err, contracts.CodeInvalid) {
		t.Fatalf("get with unknown field: err = %v", err)
	}
}

func TestBadAndDuplicateInputsAreSkipped(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	ctx := context.Background()

	bad := newPlan("bad", "prod", [][]string{{"x1"}})
	bad.Phases[0].Batches[0][0] = "ghost"
	e.publishPlanned(bad)
	if _, err := e.js.Publish(ctx, contracts.ResultSubject("prod", "r1"), []byte("not json")); err != nil {
		t.Fatal(err)
	}
	e.publishResult(contracts.HostResult{ActionID: "zz/0/h/attempt-1", Rollout: "zz", Environment: "prod", Host: "h",
		Batch: 1, Attempt: 1, Status: contracts.ResultSucceeded})

	p := newPlan("r1", "prod", [][]string{{"h1"}})
	e.publishPlanned(p)
	// The same rollout planned again under another message id is ignored.
	again := newPlan("r1", "prod", [][]string{{"other"}})
	ev := contracts.Event{Rollout: "r1", Environment: "prod", App: "web", Version: "2.0.0", State: contracts.StatePlanned, Plan: &again}
	b, err := contracts.Marshal(contracts.EventTypeID(contracts.EventPlanned), "r1/planned-again", "rollwave/planner", "r1", t0, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(ctx, contracts.EventSubject("prod", "r1", contracts.EventPlanned), b); err != nil {
		t.Fatal(err)
	}
	a := e.take(1)[0]
	if a.Host.Name != "h1" {
		t.Fatalf("dispatched %s", a.Host.Name)
	}
	e.result(a, true)
	e.result(a, true) // a redelivered result
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	if got := typesOf(evs); !reflect.DeepEqual(got, []string{"started", "phase_started", "batch_started", "host_succeeded", "phase_completed", "completed"}) {
		t.Fatalf("events %v", got)
	}
	natstest.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := e.metric("rollwave_scheduler_inputs_rejected_total", "stream", contracts.StreamEvents); got != 1 {
			return errorf("rejected planned events = %v", got)
		}
		if got := e.metric("rollwave_scheduler_inputs_rejected_total", "stream", contracts.StreamResults); got != 1 {
			return errorf("rejected results = %v", got)
		}
		return nil
	})
	if evs := e.events("bad"); len(evs) != 0 {
		t.Fatalf("the refused plan emitted %v", typesOf(evs))
	}
	e.checkActionsOnce(1)
}

func TestNewChecksConfig(t *testing.T) {
	e := newEnv(t)
	js := natstest.JetStream(t, e.nc)
	deps := service.Deps{NC: e.nc, JS: js}
	if _, err := scheduler.New(deps, scheduler.Config{}); err == nil {
		t.Fatal("New without DBPath succeeded")
	}
	if _, err := scheduler.New(deps, scheduler.Config{DBPath: e.db, TickInterval: -time.Second}); err == nil {
		t.Fatal("New with a negative tick succeeded")
	}
	svc, err := scheduler.New(deps, scheduler.Config{DBPath: e.db})
	if err != nil || svc.Name() != "scheduler" {
		t.Fatalf("New = %v, %v", svc, err)
	}
}

func TestFailedCommitIsReplayed(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	e.publishPlanned(plan3("r1"))
	h1 := e.take(1)[0]

	// Make the next commit fail inside SQLite: dispatching h2 is refused.
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TRIGGER refuse_h2 BEFORE UPDATE ON hosts
		WHEN NEW.host = 'h2' AND NEW.status = 'running' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	e.result(h1, true)
	natstest.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := e.metric("rollwave_scheduler_apply_failures_total"); got != 1 {
			return errorf("apply failures = %v", got)
		}
		return nil
	})
	if _, err := e.control("r1", contracts.VerbPause, "alice"); !contracts.IsCode(err, contracts.CodeUnavailable) {
		t.Fatalf("pause while recovering: err = %v, want unavailable", err)
	}
	e.checkActionsOnce(1)
	if got := typesOf(e.events("r1")); !reflect.DeepEqual(got, threePhaseEvents[:3]) {
		t.Fatalf("events after the failed commit: %v", got)
	}

	if _, err := db.ExecContext(ctx, `DROP TRIGGER refuse_h2`); err != nil {
		t.Fatal(err)
	}
	// The next tick reloads and replays h1's result.
	e.clock.Advance(time.Second)
	e.finish(2, 1, 2)
	evs := e.waitFor("r1", contracts.EventCompleted, 1)
	if got := typesOf(evs); !reflect.DeepEqual(got, threePhaseEvents) {
		t.Fatalf("events:\n got %v\nwant %v", got, threePhaseEvents)
	}
	checkSeqs(t, evs)
	e.checkActionsOnce(6)
}
