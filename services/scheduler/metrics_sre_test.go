package scheduler_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// histogram returns the sample count and sum of a histogram series.
func (e *env) histogram(name string, labels ...string) (uint64, float64) {
	e.t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
		}
	}
	return 0, 0
}

// waitMetric ticks the fake clock until a gauge or counter has the value.
func (e *env) waitMetric(want float64, name string, labels ...string) {
	e.t.Helper()
	natstest.CheckFor(e.t, wait, 5*time.Millisecond, func() error {
		if got := e.metric(name, labels...); got != want {
			e.clock.Advance(time.Second)
			return fmt.Errorf("%s%v = %v, want %v", name, labels, got, want)
		}
		return nil
	})
}

// The series an SRE alerts on follow one rollout through a freeze: queue
// depth, the freeze, the time queued, the duration, the last success and
// the version deployed, which a restarted scheduler reports again.
func TestSREMetricsFollowARollout(t *testing.T) {
	e := newEnv(t)
	end := t0.Add(10 * time.Minute)
	cal := e.calendar()
	cal.freezeUntil("prod", "release freeze", end)
	e.publishState(contracts.WindowState{
		Window:      contracts.Window{ID: "w-prod", Environment: "prod", Kind: contracts.WindowFreeze, Start: t0.Add(-time.Hour), End: end, Reason: "release freeze"},
		Occurrences: []contracts.Occurrence{{WindowID: "w-prod", Start: t0.Add(-time.Hour), End: end}},
		Through:     t0.Add(30 * 24 * time.Hour),
	}, contracts.WindowState{
		Window:      contracts.Window{ID: "w-qa", Environment: "qa", Kind: contracts.WindowFreeze, Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)},
		Occurrences: []contracts.Occurrence{{WindowID: "w-qa", Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}},
		Through:     t0.Add(30 * 24 * time.Hour),
	})
	s1 := e.start()
	e.publishPlanned(newPlan("m1", "prod", [][]string{{"h1"}}))
	e.tickUntil("m1", contracts.EventQueued, 1)
	e.waitMetric(1, "rollwave_scheduler_environment_rollouts", "environment", "prod", "state", "queued")
	e.waitMetric(1, "rollwave_scheduler_freeze_active", "environment", "prod")
	// qa has a freeze, not open now.
	if got := e.metric("rollwave_scheduler_freeze_active", "environment", "qa"); got != 0 {
		t.Fatalf("freeze_active{qa} = %v", got)
	}

	e.clock.Set(end)
	e.tickUntil("m1", contracts.EventStarted, 1)
	e.waitMetric(0, "rollwave_scheduler_freeze_active", "environment", "prod")
	e.waitMetric(1, "rollwave_scheduler_environment_rollouts", "environment", "prod", "state", "running")
	if got := e.metric("rollwave_scheduler_environment_rollouts", "environment", "prod", "state", "queued"); got != 0 {
		t.Fatalf("queued{prod} = %v after the start", got)
	}
	// The clock may have moved on a tick or two before the scheduler took
	// the rollout: durations count from when it did.
	created, err := time.Parse(time.RFC3339Nano, e.get("m1").CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	n, sum := e.histogram("rollwave_scheduler_rollout_queued_seconds", "environment", "prod")
	if want := end.Sub(created).Seconds(); n != 1 || sum < want || want < 590 {
		t.Fatalf("queued_seconds: %d samples, sum %v; want one of at least %v (the rest of the freeze)", n, sum, want)
	}

	e.clock.Advance(42 * time.Second)
	e.result(e.take(1)[0], true)
	e.waitFor("m1", contracts.EventCompleted, 1)
	done := e.clock.Now()
	e.waitMetric(0, "rollwave_scheduler_environment_rollouts", "environment", "prod", "state", "running")
	n, sum = e.histogram("rollwave_scheduler_rollout_duration_seconds", "environment", "prod", "state", "completed")
	if n != 1 || sum < done.Sub(created).Seconds() {
		t.Fatalf("duration_seconds: %d samples, sum %v", n, sum)
	}
	if got := e.metric("rollwave_scheduler_last_success_timestamp_seconds", "app", "web", "environment", "prod"); got != float64(done.Unix()) {
		t.Fatalf("last_success = %v, want %d", got, done.Unix())
	}
	if got := e.metric("rollwave_scheduler_deployed_version_info", "app", "web", "environment", "prod", "version", "2.0.0"); got != 1 {
		t.Fatalf("deployed_version_info = %v", got)
	}

	// A newer version replaces the series of the older one.
	p := newPlan("m2", "prod", [][]string{{"h1"}})
	p.Version = "2.1.0"
	e.publishPlanned(p)
	e.result(e.take(1)[0], true)
	e.waitFor("m2", contracts.EventCompleted, 1)
	e.waitMetric(1, "rollwave_scheduler_deployed_version_info", "app", "web", "environment", "prod", "version", "2.1.0")
	if got := e.count("rollwave_scheduler_deployed_version_info"); got != 1 {
		t.Fatalf("%d deployed_version_info series, want 1", got)
	}

	// A restarted scheduler (with a new registry) reports the deployed
	// version from its database.
	s1.stop(t)
	e.reg = prometheus.NewRegistry()
	e.start()
	e.waitMetric(1, "rollwave_scheduler_deployed_version_info", "app", "web", "environment", "prod", "version", "2.1.0")
	if got := e.metric("rollwave_scheduler_last_success_timestamp_seconds", "app", "web", "environment", "prod"); got < float64(done.Unix()) {
		t.Fatalf("last_success after restart = %v", got)
	}
}

// count returns the number of series of a metric.
func (e *env) count(name string) int {
	e.t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}
