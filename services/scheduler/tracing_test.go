package scheduler_test

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/telemetry"
)

// The rollout span survives a restart of the scheduler: it starts when
// the first process took the rollout, ends at the terminal state under the
// second, keeps its derived id, and holds the pause of the first process
// and the resume of the second as events with actor and reason.
func TestRolloutSpanAcrossRestart(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	s1 := e.start()
	planSpan := e.publishPlanned(newPlan("tr1", "prod", [][]string{{"h1"}, {"h2"}}))
	e.waitFor("tr1", contracts.EventStarted, 1)
	e.result(e.take(1)[0], true)
	e.waitFor("tr1", contracts.EventHostSucceeded, 1)
	if _, err := e.control("tr1", contracts.VerbPause, "alice"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("tr1", contracts.EventPaused, 1)
	s1.stop(t)

	e.clock.Advance(time.Hour)
	e.start()
	if _, err := e.control("tr1", contracts.VerbResume, "bob"); err != nil {
		t.Fatal(err)
	}
	e.result(e.take(1)[0], true)
	e.waitFor("tr1", contracts.EventCompleted, 1)

	var rs tracetest.SpanStub
	natstest.CheckFor(t, wait, 5*time.Millisecond, func() error {
		for _, s := range e.spans.GetSpans() {
			if s.Name == "rollout" && s.SpanContext.TraceID() == planSpan.TraceID() {
				rs = s
				return nil
			}
		}
		return fmt.Errorf("no rollout span")
	})
	if want := telemetry.DerivedSpanID(planSpan.TraceID(), "rollout"); rs.SpanContext.SpanID() != want || rs.Parent.SpanID() != planSpan.SpanID() {
		t.Fatalf("rollout span %s under %s, want %s under the plan span %s", rs.SpanContext.SpanID(), rs.Parent.SpanID(), want, planSpan.SpanID())
	}
	if !rs.StartTime.Equal(t0) || !rs.EndTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("rollout span from %s to %s, want %s to %s", rs.StartTime, rs.EndTime, t0, t0.Add(time.Hour))
	}
	var got []string
	for _, ev := range rs.Events {
		var actor, reason string
		for _, kv := range ev.Attributes {
			switch kv.Key {
			case "rollwave.actor":
				actor = kv.Value.AsString()
			case "rollwave.reason":
				reason = kv.Value.AsString()
			}
		}
		got = append(got, fmt.Sprintf("%s %s %s: %s", ev.Time.Sub(t0), ev.Name, actor, reason))
	}
	want := []string{"0s paused alice: test pause", "1h0m0s resumed bob: test resume"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rollout span events %q, want %q", got, want)
	}
}
