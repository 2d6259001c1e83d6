package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// tenHosts is an environment of ten simulated hosts: web-01, web-02..05 in
// group east, web-06..10 in group west.
func tenHosts(driver string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "environments:\n  - name: prod\n    driver: %s\n    hosts:\n", driver)
	for i := 1; i <= 10; i++ {
		group := "west"
		switch {
		case i == 1:
			group = "canary"
		case i <= 5:
			group = "east"
		}
		fmt.Fprintf(&b, "      - {name: web-%02d, address: 127.0.0.1:%d, groups: [web, %s]}\n", i, 20000+i, group)
	}
	return b.String()
}

func threePhases(id string) contracts.DeployRequest {
	return contracts.DeployRequest{
		ID: id, App: "web", Version: "2.4.1", Environment: "prod",
		Phases: []contracts.PhaseSpec{
			{Name: "canary", Hosts: []string{"web-01"}},
			{Name: "east", Selector: &contracts.Selector{Group: "east"}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 2}}}},
			{Name: "rest", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Percent: 50}}}},
		},
	}
}

// normalise sorts the host events inside each batch, whose order depends on
// which executor finishes first.
func normalise(names []string) []string {
	out := slices.Clone(names)
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && strings.HasPrefix(out[j], "host_") {
			j++
		}
		if j > i {
			sort.Strings(out[i:j])
			i = j
			continue
		}
		i++
	}
	return out
}

// (a) A 10-host rolling deploy in three phases completes, with the events
// in the documented order.
func TestRollingDeployThreePhases(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {}}"), metrics: "127.0.0.1:0"})
	ctx := context.Background()
	// A freeze of another environment, open now, for the freeze metric.
	now := time.Now().UTC()
	if _, err := natsx.Request[contracts.Window](ctx, h.st.NC, contracts.APICalendarAdd, contracts.WindowInput{
		Environment: "qa", Start: now.Add(-time.Minute).Format(time.RFC3339), End: now.Add(time.Hour).Format(time.RFC3339), Reason: "qa freeze",
	}); err != nil {
		t.Fatal(err)
	}
	h.deploy(ctx, threePhases("r-three"))
	v := h.waitState("r-three", contracts.StateCompleted)
	if v.Counts.Succeeded != 10 || v.Counts.Failed != 0 {
		t.Fatalf("counts = %+v", v.Counts)
	}
	want := []string{
		"planned", "started",
		"phase_started:canary", "batch_started:canary#1", "host_succeeded:canary:web-01", "phase_completed:canary",
		"phase_started:east",
		"batch_started:east#1", "host_succeeded:east:web-02", "host_succeeded:east:web-03",
		"batch_started:east#2", "host_succeeded:east:web-04", "host_succeeded:east:web-05",
		"phase_completed:east",
		"phase_started:rest",
		"batch_started:rest#1", "host_succeeded:rest:web-06", "host_succeeded:rest:web-07", "host_succeeded:rest:web-08",
		"batch_started:rest#2", "host_succeeded:rest:web-09", "host_succeeded:rest:web-10",
		"phase_completed:rest",
		"completed",
	}
	evs := h.events("r-three")
	if got := normalise(eventNames(evs)); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	// Scheduler events are numbered and carry deterministic message ids.
	for i, e := range evs[1:] {
		if e.Event.Seq != int64(i+1) || e.MsgID != contracts.EventMsgID("r-three", int64(i+1)) {
			t.Fatalf("event %d (%s): seq %d msg id %q", i+1, e, e.Event.Seq, e.MsgID)
		}
	}
	if n := h.actionsPublished("default", "prod"); n != 10 {
		t.Fatalf("%d host actions published, want 10", n)
	}
	// Prometheus sees the rollout, on the gateway and on the metrics listener,
	// in an exposition promtool accepts.
	for _, addr := range []string{h.st.Gateway.Addr(), h.st.MetricsAddr} {
		body := httpGet(t, "http://"+addr+"/metrics")
		checkMetricsWithPromtool(t, body)
		for _, want := range []string{"rollwave_build_info{", `rollwave_consumer_pending_messages{consumer="planner",stream="ROLLWAVE_REQUESTS"} 0`, `rollwave_scheduler_rollouts{state="completed"} 1`, `rollwave_executor_actions_total{driver="sim",environment="prod",status="succeeded"} 10`} {
			if !strings.Contains(body, want) {
				t.Fatalf("%s/metrics lacks %s:\n%s", addr, want, grepLines(body, "rollwave_consumer|rollwave_stream"))
			}
		}
	}
	// Each series an SRE alerts on is there after the deploy (the freeze's
	// once a scheduler tick has read the calendar's published state).
	natstest.CheckFor(t, waitLong, 100*time.Millisecond, func() error {
		body := httpGet(t, "http://"+h.st.MetricsAddr+"/metrics")
		for _, want := range []string{
			`rollwave_executor_action_seconds_count{driver="sim",environment="prod",status="succeeded"} 10`,
			`rollwave_scheduler_rollout_duration_seconds_count{environment="prod",state="completed"} 1`,
			`rollwave_scheduler_rollout_queued_seconds_count{environment="prod"} 1`,
			`rollwave_scheduler_environment_rollouts{environment="prod",state="running"} 0`,
			`rollwave_scheduler_last_success_timestamp_seconds{app="web",environment="prod"} `,
			`rollwave_scheduler_deployed_version_info{app="web",environment="prod",version="2.4.1"} 1`,
			`rollwave_scheduler_freeze_active{environment="qa"} 1`,
			`rollwave_gateway_http_request_duration_seconds_count{`,
		} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("/metrics lacks %s", want)
			}
		}
		checkMetricsWithPromtool(t, body)
		return nil
	})
	// By now the gateway has counted a request: every metric the dashboard
	// and the alerts use is exported.
	exposition := httpGet(t, "http://"+h.st.MetricsAddr+"/metrics")
	checkReferencedMetricsExist(t, exposition)
	// Label values never name a host or a rollout: cardinality stays bounded
	// however many of them there are.
	for _, id := range []string{"r-three", "web-01", "web-10"} {
		if strings.Contains(exposition, `"`+id+`"`) {
			t.Errorf("a metric label carries %q:\n%s", id, grepLines(exposition, id))
		}
	}
	// Discovery recorded the new version on every host.
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		env, err := natsx.Request[contracts.Environment](ctx, h.st.NC, contracts.APIDiscoveryTargets, contracts.TargetsQuery{Environment: "prod", App: "web"})
		if err != nil {
			return err
		}
		for _, host := range env.Hosts {
			if host.Versions["web"].Version != "2.4.1" {
				return fmt.Errorf("%s runs %q", host.Name, host.Versions["web"].Version)
			}
		}
		return nil
	})
}

// (b) Crossing the failure threshold pauses the rollout; resume continues.
func TestFailureThresholdPausesAndResumes(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {fail_hosts: [web-03, web-04]}}")})
	ctx := context.Background()
	req := contracts.DeployRequest{
		ID: "r-threshold", App: "web", Version: "2.4.1", Environment: "prod",
		Phases:  []contracts.PhaseSpec{{Name: "all", Selector: &contracts.Selector{Group: "web"}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}},
		Failure: contracts.FailurePolicy{MaxFailed: contracts.Size{Count: 1}, OnFailure: contracts.OnFailurePause},
	}
	h.deploy(ctx, req)
	v := h.waitState("r-threshold", contracts.StatePaused)
	if v.Counts.Failed != 2 || v.Counts.Succeeded != 2 {
		t.Fatalf("paused with counts %+v, want 2 failed and 2 succeeded (web-01, web-02)", v.Counts)
	}
	if !strings.Contains(v.Reason, "threshold") {
		t.Fatalf("pause reason %q", v.Reason)
	}
	dispatched := h.actionsPublished("default", "prod")
	if dispatched != 4 {
		t.Fatalf("%d actions dispatched before the pause, want 4", dispatched)
	}
	sum, err := natsx.Request[contracts.RolloutSummary](ctx, h.st.NC, contracts.ControlSubject("r-threshold", contracts.VerbResume), contracts.ControlCommand{Actor: "alice", Reason: "known flaky hosts"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.State != contracts.StateRunning && sum.State != contracts.StateCompleted {
		t.Fatalf("after resume: %s", sum.State)
	}
	v = h.waitState("r-threshold", contracts.StateCompleted)
	if v.Counts.Succeeded != 8 || v.Counts.Failed != 2 {
		t.Fatalf("counts = %+v", v.Counts)
	}
	var resumed *storedEvent
	for _, e := range h.events("r-threshold") {
		if e.Type == contracts.EventResumed {
			resumed = &e
		}
	}
	if resumed == nil || resumed.Event.Actor != "alice" {
		t.Fatalf("resumed event missing or without actor: %+v", resumed)
	}
}

// (b) Abort stops dispatch: nothing is dispatched after the abort.
func TestAbortStopsDispatch(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {median: 150ms, p99: 200ms}}")})
	ctx := context.Background()
	req := contracts.DeployRequest{
		ID: "r-abort", App: "web", Version: "2.4.1", Environment: "prod",
		Phases: []contracts.PhaseSpec{{Name: "all", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}},
	}
	h.deploy(ctx, req)
	natstest.CheckFor(t, waitLong, 10*time.Millisecond, func() error {
		v, err := h.rollout("r-abort")
		if err != nil {
			return err
		}
		if v.Counts.Succeeded < 1 {
			return fmt.Errorf("no host done yet")
		}
		return nil
	})
	if _, err := natsx.Request[contracts.RolloutSummary](ctx, h.st.NC, contracts.ControlSubject("r-abort", contracts.VerbAbort), contracts.ControlCommand{Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	v := h.waitState("r-abort", contracts.StateAborted)
	dispatched := h.actionsPublished("default", "prod")
	// The batch in flight at the abort still reports; nothing new starts.
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		if n := len(h.results("prod", "r-abort")); n != dispatched {
			return fmt.Errorf("%d results for %d dispatched actions", n, dispatched)
		}
		return nil
	})
	if dispatched >= 10 || dispatched > v.Counts.Succeeded+v.Counts.Failed+v.Counts.Running+1 {
		t.Fatalf("%d actions dispatched, counts at abort %+v", dispatched, v.Counts)
	}
	if again := h.actionsPublished("default", "prod"); again != dispatched {
		t.Fatalf("dispatch continued after abort: %d -> %d", dispatched, again)
	}
	// An aborted rollout frees the environment for the next one.
	h.deploy(ctx, threePhases("r-after-abort"))
	h.waitState("r-after-abort", contracts.StateCompleted)
}

// (c) A freeze queues a rollout until the freeze ends; time comes from an
// injected clock.
func TestFreezeQueuesUntilItEnds(t *testing.T) {
	start := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {}}"), clock: fake})
	ctx := context.Background()
	w, err := natsx.Request[contracts.Window](ctx, h.st.NC, contracts.APICalendarAdd, contracts.WindowInput{
		Environment: "prod", Start: "2026-12-24T10:00", End: "2026-12-24T12:00", TimeZone: "Europe/Berlin", Reason: "christmas",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !w.Start.Equal(start) || !w.End.Equal(start.Add(2*time.Hour)) {
		t.Fatalf("window %v..%v, want Berlin 10:00-12:00 = 09:00-11:00 UTC", w.Start, w.End)
	}
	h.deploy(ctx, threePhases("r-frozen"))
	// A planned rollout is queued at once; the reason follows the
	// calendar's answer.
	h.waitQueued("r-frozen", "christmas")
	// Still frozen one hour in: the scheduler looked again and kept waiting.
	h.stillQueuedAfter(fake, time.Hour, "r-frozen")
	fake.Advance(time.Hour)
	h.waitState("r-frozen", contracts.StateCompleted)
	evs := eventNames(h.events("r-frozen"))
	if evs[0] != "planned" || evs[1] != "queued" || evs[2] != "started" {
		t.Fatalf("events start %v", evs[:3])
	}
}

// (e) Restarting the scheduler mid-rollout: the rollout completes and every
// host action runs exactly once.
func TestSchedulerRestartMidRollout(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, harnessOpts{
		inventory: tenHosts("{sim: {median: 40ms, p99: 60ms}}"),
		services:  []string{"discovery", "calendar", "planner", "executor"},
		dataDir:   dir,
	})
	ctx := context.Background()
	sched := startScheduler(t, h, dir)
	req := threePhases("r-restart")
	h.deploy(ctx, req)
	natstest.CheckFor(t, waitLong, 5*time.Millisecond, func() error {
		v, err := h.rollout("r-restart")
		if err != nil {
			return err
		}
		if v.Counts.Succeeded < 3 {
			return fmt.Errorf("only %d hosts done", v.Counts.Succeeded)
		}
		return nil
	})
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := sched.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	cancel()
	startScheduler(t, h, dir)
	h.waitState("r-restart", contracts.StateCompleted)
	results := h.results("prod", "r-restart")
	per := countBy(results, func(r contracts.HostResult) string { return r.Host })
	if len(per) != 10 {
		t.Fatalf("results for %d hosts: %v", len(per), per)
	}
	for host, n := range per {
		if n != 1 {
			t.Fatalf("host %s acted on %d times", host, n)
		}
	}
	if n := h.actionsPublished("default", "prod"); n != 10 {
		t.Fatalf("%d actions stored, want 10", n)
	}
	evs := h.events("r-restart")
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.MsgID] {
			t.Fatalf("event %s stored twice", e.MsgID)
		}
		seen[e.MsgID] = true
	}
}

// (h) Malformed requests are rejected with a reason naming the field, and
// nothing crashes: the next good request still completes.
func TestMalformedRequestsAreRejected(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {}}")})
	ctx := context.Background()
	base := func(mut func(*contracts.DeployRequest)) []byte {
		r := threePhases("x")
		mut(&r)
		return mustEnvelope(t, r)
	}
	cases := []struct {
		name, id string
		body     []byte
		field    string
	}{
		{"bad version", "m-version", base(func(r *contracts.DeployRequest) { r.ID = "m-version"; r.Version = "2.4`id`" }), "version"},
		{"unknown environment", "m-env", base(func(r *contracts.DeployRequest) { r.ID = "m-env"; r.Environment = "mars" }), "environment"},
		{"unknown host", "m-host", base(func(r *contracts.DeployRequest) { r.ID = "m-host"; r.Phases[0].Hosts = []string{"web-99"} }), "phases[0].hosts[0]"},
		{"host in two phases", "m-twice", base(func(r *contracts.DeployRequest) {
			r.ID = "m-twice"
			r.Phases[1] = contracts.PhaseSpec{Name: "east", Hosts: []string{"web-02", "web-01"}}
		}), "phases[1].hosts[1]"},
		{"empty phase", "m-empty", base(func(r *contracts.DeployRequest) {
			r.ID = "m-empty"
			r.Phases[1].Selector = &contracts.Selector{Group: "nowhere"}
		}), "phases[1]"},
		{"zero batch", "m-zero", base(func(r *contracts.DeployRequest) {
			r.ID = "m-zero"
			r.Phases[1].Batch = contracts.BatchSpec{Steps: []contracts.Size{{Count: 0}, {Count: 2}}}
		}), "phases[1].batch"},
		{"batch over 100%", "m-pct", []byte(`{"specversion":"1.0","type":"io.rollwave.deploy.request.v1","id":"m-pct","source":"t","time":"2026-11-26T00:00:00Z",
			"data":{"id":"m-pct","app":"web","version":"1.0.0","environment":"prod","phases":[{"name":"a","batch":"150%"}]}}`), "phases[0].batch"},
		{"wrong type", "m-type", []byte(`{"specversion":"1.0","type":"io.rollwave.deploy.request.v1","id":"m-type","source":"t","time":"2026-11-26T00:00:00Z",
			"data":{"id":"m-type","app":"web","version":"1.0.0","environment":"prod","phases":"all"}}`), "phases"},
		{"unknown field", "m-field", []byte(`{"specversion":"1.0","type":"io.rollwave.deploy.request.v1","id":"m-field","source":"t","time":"2026-11-26T00:00:00Z",
			"data":{"id":"m-field","app":"web","version":"1.0.0","environment":"prod","phases":[{"name":"a"}],"colour":"red"}}`), "colour"},
	}
	for _, c := range cases {
		h.publishRaw(ctx, c.id, c.body)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var evs []storedEvent
			natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
				evs = h.events(c.id)
				if len(evs) == 0 {
					return fmt.Errorf("no verdict for %s yet", c.id)
				}
				return nil
			})
			if evs[0].Type != contracts.EventRejected {
				t.Fatalf("verdict %s, want rejected", evs[0].Type)
			}
			var fields []string
			for _, r := range evs[0].Event.Reasons {
				fields = append(fields, r.Field)
			}
			if !slices.ContainsFunc(fields, func(f string) bool {
				return f == c.field || strings.HasPrefix(f, c.field+"[") || strings.HasPrefix(f, c.field+".")
			}) {
				t.Fatalf("reasons %v do not name %q", evs[0].Event.Reasons, c.field)
			}
		})
	}
	// Garbage that is not even JSON still gets a rejected event, named
	// after its message id.
	h.publishRaw(ctx, "garbage-1", []byte("\x00not json{"))
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		evs := h.events("garbage-1")
		if len(evs) == 1 && evs[0].Type == contracts.EventRejected && len(evs[0].Event.Reasons) > 0 {
			return nil
		}
		return fmt.Errorf("no rejected event for garbage: %v", eventNames(evs))
	})
	h.deploy(ctx, threePhases("r-after-bad"))
	h.waitState("r-after-bad", contracts.StateCompleted)
}

// grepLines returns the lines of s matching re, for failure messages.
func grepLines(s, re string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if ok, _ := regexp.MatchString(re, l); ok {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// checkMetricsWithPromtool runs `promtool check metrics` on an exposition:
// it refuses malformed output, and lints names, units and help texts.
func checkMetricsWithPromtool(t *testing.T, exposition string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("ROLLWAVE_REQUIRE_TOOLS") != "" {
			t.Fatal("promtool is missing (make test-deps installs it)")
		}
		t.Log("promtool is missing: the metrics lint is skipped (make test-deps installs it)")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
