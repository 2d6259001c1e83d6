package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/planstore"
)

// storePlan puts p in the plans bucket, as the planner does for a plan too
// large for its event, and returns the reference.
func (e *env) storePlan(p contracts.Plan) contracts.PlanRef {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	store, err := planstore.Ensure(ctx, e.js, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	_, ref, err := planstore.Put(ctx, store, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return ref
}

// publishPlannedRef publishes a planned event carrying a plan reference.
func (e *env) publishPlannedRef(p contracts.Plan, ref contracts.PlanRef) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ev := contracts.Event{Rollout: p.Rollout, Environment: p.Environment, App: p.App, Version: p.Version,
		State: contracts.StatePlanned, PlanRef: &ref}
	m, err := natsx.EnvelopeMsg(ctx, contracts.EventSubject(p.Environment, p.Rollout, contracts.EventPlanned),
		contracts.EventTypeID(contracts.EventPlanned), contracts.PlannedMsgID(p.Rollout), "rollwave/planner", p.Rollout, t0, ev)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.js.PublishMsg(ctx, m); err != nil {
		e.t.Fatal(err)
	}
}

// A plan stored by reference runs like an inline one.
func TestPlanByReferenceRuns(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	p := plan3("r1")
	e.publishPlannedRef(p, e.storePlan(p))
	e.finish(1, 2, 1, 2)
	e.waitFor("r1", contracts.EventCompleted, 1)
	e.checkActionsOnce(6)
	if v := e.get("r1"); v.Counts.Succeeded != 6 {
		t.Fatalf("counts %+v", v.Counts)
	}
}

// A reference whose digest does not match the stored plan is refused and
// counted, never run; the events after it are applied.
func TestPlanByReferenceDigestMismatchRefused(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	bad := plan3("r1")
	ref := e.storePlan(bad)
	ref.SHA256 = contracts.PlanDigest([]byte("not the plan"))
	e.publishPlannedRef(bad, ref)
	missing := plan3("r2")
	e.publishPlannedRef(missing, contracts.PlanRef{Bucket: contracts.PlansBucket, Object: "r2", Size: 10, SHA256: ref.SHA256})
	e.publishPlanned(plan3("r3"))
	if a := e.take(1); a[0].Rollout != "r3" {
		t.Fatalf("first action is of %s, want r3", a[0].Rollout)
	}
	natstest.CheckFor(t, wait, 10*time.Millisecond, func() error {
		if got := e.metric("rollwave_scheduler_inputs_rejected_total", "stream", contracts.StreamEvents); got != 2 {
			return errorf("rejected planned events = %v, want 2", got)
		}
		return nil
	})
	for _, id := range []string{"r1", "r2"} {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_, err := natsx.Request[contracts.RolloutView](ctx, e.nc, contracts.APISchedulerGet, contracts.RolloutQuery{Rollout: id})
		cancel()
		if c := contracts.AsError(err); c == nil || c.Code != contracts.CodeNotFound {
			t.Fatalf("%s: get = %v, want not found", id, err)
		}
	}
}
