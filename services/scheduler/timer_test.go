package scheduler_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// A host whose action has no result by the plan's action timeout counts as
// failed, by the injected clock; the deadline is stored, so it fires after
// a restart too, and a late result changes nothing.
func TestActionDeadlineSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	p := newPlan("r1", "prod", [][]string{{"h1"}}, [][]string{{"h2"}})
	p.MaxFailed = 1
	p.ActionTimeout = contracts.Duration(10 * time.Minute)
	e.publishPlanned(p)
	h1 := e.take(1)[0]
	e.waitFor("r1", contracts.EventBatchStarted, 1)
	s1.stop(t) // the timer is pending while no scheduler runs

	e.clock.Advance(10 * time.Minute)
	e.start()
	evs := e.tickUntil("r1", contracts.EventBatchStarted, 2)
	failed := ofType(evs, contracts.EventHostFailed)
	if len(failed) != 1 || failed[0].Host.Name != "h1" || !strings.Contains(failed[0].Host.Error, "action timeout") {
		t.Fatalf("events %v, failed %+v", typesOf(evs), failed)
	}
	e.result(h1, true) // too late: recorded in the history, changes nothing
	h2 := e.take(1)[0]
	if h2.Host.Name != "h2" {
		t.Fatalf("next action %s", h2.ID)
	}
	e.result(h2, true)
	evs = e.waitFor("r1", contracts.EventCompleted, 1)
	want := []string{"started", "phase_started", "batch_started", "host_failed", "phase_completed",
		"phase_started", "batch_started", "late_result", "host_succeeded", "phase_completed", "completed"}
	if got := typesOf(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v", got)
	}
	if c := evs[len(evs)-1].Counts; c == nil || c.Failed != 1 || c.Succeeded != 1 {
		t.Fatalf("counts %+v", c)
	}
	checkSeqs(t, evs)
	if v := e.get("r1"); v.Phases[0].Hosts[0].State != "failed" || !strings.Contains(v.Phases[0].Hosts[0].Error, "action timeout") {
		t.Fatalf("h1 after its late result: %+v", v.Phases[0].Hosts[0])
	}
}
