package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// TestIdempotentAcrossMessages publishes one action as several messages
// with different message ids, so the server's duplicate window does not
// catch them: the claim does, and the program runs once.
func TestIdempotentAcrossMessages(t *testing.T) {
	h := newHarness(t)
	runs := filepath.Join(t.TempDir(), "runs")
	a := action("r4", "web-01", execDriver("append", runs))
	ctx := context.Background()

	// Two copies queued together race for the claim.
	h.publish(ctx, contracts.DefaultPool, a, "copy-1")
	h.publish(ctx, contracts.DefaultPool, a, "copy-2")
	h.start(Config{ID: "exec-1", Concurrency: 4}, execOpts{})
	h.start(Config{ID: "exec-2", Concurrency: 4}, execOpts{})
	first := h.waitResults("r4", 1, 10*time.Second)
	h.waitIdle(contracts.DefaultPool)

	// A copy that comes after the action is done gets the stored result
	// published again, with the same message id.
	h.publish(ctx, contracts.DefaultPool, a, "copy-3")
	h.waitIdle(contracts.DefaultPool)

	if n := lines(t, runs); n != 1 {
		t.Fatalf("program ran %d times, want 1", n)
	}
	got := h.results("r4")
	if len(got) != 1 {
		t.Fatalf("%d results, want 1 (the republished one has the same message id)", len(got))
	}
	if got[0].Status != contracts.ResultSucceeded || got[0].msgID != contracts.ResultMsgID(a.ID) ||
		got[0].FinishedAt != first[0].FinishedAt {
		t.Fatalf("result = %+v", got[0].HostResult)
	}
	if n := h.poolMessages(contracts.DefaultPool); n != 0 {
		t.Fatalf("%d copies left in the work queue", n)
	}
}

// TestRepublishesLostResult removes a published result, as if the
// executor crashed between recording and publishing, and checks that a
// redelivered copy publishes the stored result rather than running again.
func TestRepublishesLostResult(t *testing.T) {
	h := newHarness(t)
	runs := filepath.Join(t.TempDir(), "runs")
	a := action("r5", "web-01", execDriver("append", runs))
	ctx := context.Background()
	h.start(Config{ID: "exec-1"}, execOpts{})
	h.publish(ctx, contracts.DefaultPool, a, "m1")
	h.waitResults("r5", 1, 10*time.Second)
	h.waitIdle(contracts.DefaultPool)

	// Lose the result, duplicate window included: recreate the stream.
	if err := h.js.DeleteStream(ctx, contracts.StreamResults); err != nil {
		t.Fatal(err)
	}
	natstest.JetStream(t, h.nc)

	h.publish(ctx, contracts.DefaultPool, a, "m2")
	got := h.waitResults("r5", 1, 10*time.Second)
	if got[0].Status != contracts.ResultSucceeded || got[0].Executor != "exec-1" {
		t.Fatalf("result = %+v", got[0].HostResult)
	}
	h.waitIdle(contracts.DefaultPool)
	if n := lines(t, runs); n != 1 {
		t.Fatalf("program ran %d times, want 1", n)
	}
}

// TestExecutorDiesMidAction cuts executor A off while its program runs:
// no ack, no more lease extensions. Executor B gets the action after the
// ack wait, takes the claim over and reports the only result.
func TestExecutorDiesMidAction(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	starts, release := filepath.Join(dir, "starts"), filepath.Join(dir, "release")
	a := action("r6", "web-01", execDriver("waitfile", starts, release))
	ackWait := time.Second

	exA := h.start(Config{ID: "exec-a", AckWait: ackWait}, execOpts{})
	h.publish(context.Background(), contracts.DefaultPool, a, "m1")
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if lines(t, starts) < 1 {
			return errors.New("program not started on A")
		}
		return nil
	})
	// A dies: its connection drops with the action unacknowledged.
	exA.deps.NC.Close()

	exB := h.start(Config{ID: "exec-b", AckWait: ackWait}, execOpts{})
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if lines(t, starts) < 2 {
			return errors.New("program not started on B")
		}
		return nil
	})
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := h.waitResults("r6", 1, 10*time.Second)
	h.waitIdle(contracts.DefaultPool)
	got = h.results("r6")
	if len(got) != 1 {
		t.Fatalf("%d results, want exactly 1", len(got))
	}
	r := got[0]
	if r.Executor != "exec-b" || r.Status != contracts.ResultSucceeded || !strings.Contains(r.Output, "released") {
		t.Fatalf("result = %+v, want success from exec-b", r.HostResult)
	}
	// B extends its lease every AckWait/3, so it keeps delivery 2 unless
	// the machine starves it for a whole second; allow for that.
	if r.Deliveries < 2 || r.Deliveries > 2 && testutil.ToFloat64(exB.metrics.redeliveries) < 2 {
		t.Fatalf("deliveries = %d, want 2", r.Deliveries)
	}
	if r.Deliveries != 2 {
		t.Logf("B lost its own lease under load: result on delivery %d", r.Deliveries)
	}
}

// exhaust makes executors die on an action on every one of its
// deliveries. lastHeld runs while the last delivery is held by a doomed
// executor, before it dies. Under heavy load a doomed executor may miss
// its own lease and get a delivery twice; counting deliveries on the
// consumer rather than executors keeps the test exact about when the last
// one is held.
func exhaust(h *harness, pool string, a contracts.HostAction, ackWait time.Duration, reg prometheus.Registerer, lastHeld func()) {
	t := h.t
	maxDeliver := uint64(contracts.ExecutorConsumer(pool, ackWait).MaxDeliver)
	h.publish(context.Background(), pool, a, "m1")
	for i := 1; ; i++ {
		ex := h.start(Config{ID: fmt.Sprintf("doomed-%d", i), Pool: pool, AckWait: ackWait}, execOpts{metrics: reg})
		var delivered uint64
		natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
			if testutil.ToFloat64(ex.metrics.inflight) < 1 {
				return fmt.Errorf("doomed-%d is not acting", i)
			}
			delivered = h.consumerInfo(pool).Delivered.Consumer
			return nil
		})
		if delivered >= maxDeliver && lastHeld != nil {
			lastHeld()
		}
		// The executor dies: connection gone, its program killed.
		ex.deps.NC.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = ex.Stop(ctx)
		// Its heartbeat would expire within heartbeatTTL; this test is
		// about deliveries, so end it now.
		h.endHeartbeat(ex)
		if delivered >= maxDeliver {
			return
		}
	}
}

// checkGaveUp checks the failed result of an exhausted action and that
// nothing of it is left or runs again.
func checkGaveUp(h *harness, pool string, a contracts.HostAction, starts string, live *Service) {
	t := h.t
	maxDeliver := contracts.ExecutorConsumer(pool, 0).MaxDeliver
	got := h.waitResults(a.Rollout, 1, 10*time.Second)
	r := got[0]
	want := fmt.Sprintf("gave up after %d deliveries", maxDeliver)
	if r.Status != contracts.ResultFailed || !strings.Contains(r.Error, want) || r.Deliveries != maxDeliver ||
		r.ActionID != a.ID || r.Host != "web-01" || r.msgID != contracts.ResultMsgID(a.ID) {
		t.Fatalf("result = %+v, want a failure %q", r.HostResult, want)
	}
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n := h.poolMessages(pool); n != 0 {
			return fmt.Errorf("%d actions left in the work queue", n)
		}
		return nil
	})
	// Counted once over all executors (they share a registry): under heavy
	// load a doomed executor may lose its own lease and surface the action
	// itself before it dies. The count follows the result's publication
	// and the message's deletion, so wait for it.
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if v := testutil.ToFloat64(live.metrics.gaveUp); v != 1 {
			return fmt.Errorf("gave_up_total = %v, want 1", v)
		}
		return nil
	})
	// A doomed executor may die before its program writes its start.
	started := lines(t, starts)
	if started > maxDeliver {
		t.Fatalf("program started %d times, want at most %d", started, maxDeliver)
	}
	// A late copy of the action gets the given-up result, not a new run.
	h.publish(context.Background(), pool, a, "m2")
	h.waitIdle(pool)
	if n := lines(t, starts); n != started {
		t.Fatalf("late copy ran the program: %d starts, was %d", n, started)
	}
	if got := h.results(a.Rollout); len(got) != 1 {
		t.Fatalf("%d results, want 1", len(got))
	}
}

// TestPoisonActionSurfaces exhausts an action while a live executor of
// the pool listens: the server's advisory makes it publish a failed result
// and delete the action.
func TestPoisonActionSurfaces(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	a := action("r7", "web-01", execDriver("waitfile", starts, filepath.Join(dir, "never")))
	var live *Service
	reg := prometheus.NewRegistry()
	exhaust(h, "crashy", a, 500*time.Millisecond, reg, func() {
		live = h.start(Config{ID: "survivor", Pool: "crashy", AckWait: 500 * time.Millisecond}, execOpts{metrics: reg})
	})
	checkGaveUp(h, "crashy", a, starts, live)
}

// TestPoisonActionSurfacesWithoutListener has the server give up on an
// action while no executor runs: the server decides when a pull finds the
// last delivery expired, and here the pull is the test's own (as a dead
// executor's leftover pull request can be). The advisory is kept in its
// stream, and the next executor to start surfaces the action.
func TestPoisonActionSurfacesWithoutListener(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	a := action("r10", "web-01", execDriver("waitfile", starts, filepath.Join(dir, "never")))
	const pool = "lonely"
	reg := prometheus.NewRegistry()
	exhaust(h, pool, a, 500*time.Millisecond, reg, nil)
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cons, err := h.js.Consumer(ctx, contracts.StreamActions, contracts.ExecutorConsumer(pool, 0).Durable)
		if err != nil {
			return err
		}
		batch, err := cons.FetchNoWait(1)
		if err != nil {
			return err
		}
		for m := range batch.Messages() {
			return fmt.Errorf("got a delivery past the limit: %s", m.Subject())
		}
		info := h.consumerInfo(pool)
		if info.NumAckPending != 0 {
			return fmt.Errorf("server has not given up yet: %d unacked", info.NumAckPending)
		}
		return nil
	})
	// The advisory went out with no executor running; it waits in its
	// stream.
	adv, err := h.js.Stream(context.Background(), advisoryStream)
	if err != nil {
		t.Fatal(err)
	}
	subject := maxDeliveriesSubject(contracts.StreamActions, contracts.ExecutorConsumer(pool, 0).Durable)
	// The server sends the advisory just after it gives up: wait for it to
	// be stored rather than racing it.
	var advErr error
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		_, advErr = adv.GetLastMsgForSubject(context.Background(), subject)
		if advErr != nil && len(h.results(a.Rollout)) == 0 {
			return fmt.Errorf("advisory not stored yet: %w", advErr)
		}
		return nil
	})
	if err := advErr; err != nil {
		// Only possible when the last doomed executor lost its own lease
		// under load and surfaced the action before it died.
		if len(h.results(a.Rollout)) == 0 {
			t.Fatalf("advisory not captured: %v", err)
		}
		t.Logf("advisory handled by a doomed executor: %v", err)
	} else if n := h.poolMessages(pool); n != 1 {
		t.Fatalf("%d actions in the work queue, want the exhausted one", n)
	}
	live := h.start(Config{ID: "late", Pool: pool, AckWait: 500 * time.Millisecond}, execOpts{metrics: reg})
	checkGaveUp(h, pool, a, starts, live)
}

// TestStopFinishesInFlight checks that Stop waits for an action in flight,
// which then reports normally.
func TestStopFinishesInFlight(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	starts, release := filepath.Join(dir, "starts"), filepath.Join(dir, "release")
	ex := h.start(Config{ID: "exec-1"}, execOpts{})
	h.publish(context.Background(), contracts.DefaultPool, action("r8", "web-01", execDriver("waitfile", starts, release)), "m1")
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if lines(t, starts) < 1 {
			return errors.New("not started")
		}
		return nil
	})
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stopped <- ex.Stop(ctx)
	}()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned with an action in flight: %v", err)
	default:
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop = %v", err)
	}
	got := h.results("r8")
	if len(got) != 1 || got[0].Status != contracts.ResultSucceeded {
		t.Fatalf("results = %+v", got)
	}
}

// TestStopDeadlineLeavesActionForRedelivery checks that an action cut
// short by Stop's deadline is not reported, and another executor does it.
func TestStopDeadlineLeavesActionForRedelivery(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	starts, release := filepath.Join(dir, "starts"), filepath.Join(dir, "release")
	a := action("r9", "web-01", execDriver("waitfile", starts, release))
	ex := h.start(Config{ID: "exec-1", AckWait: 500 * time.Millisecond}, execOpts{})
	h.publish(context.Background(), contracts.DefaultPool, a, "m1")
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if lines(t, starts) < 1 {
			return errors.New("not started")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ex.Stop(ctx); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want the deadline", err)
	}
	if got := h.results("r9"); len(got) != 0 {
		t.Fatalf("interrupted action reported: %+v", got)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.start(Config{ID: "exec-2", AckWait: 500 * time.Millisecond}, execOpts{})
	got := h.waitResults("r9", 1, 10*time.Second)
	if got[0].Executor != "exec-2" || got[0].Status != contracts.ResultSucceeded || got[0].Deliveries < 2 {
		t.Fatalf("result = %+v", got[0].HostResult)
	}
}
