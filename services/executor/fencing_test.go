package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/proctest"
	"github.com/rollwave/rollwave/services/executor/internal/claim"
)

// TestLiveHolderIsNeverTakenOver: a running claim whose holder instance
// keeps its heartbeat is not taken over, however often the action is
// delivered; once the heartbeat stops, the action is taken over within
// the heartbeat TTL.
func TestLiveHolderIsNeverTakenOver(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := natsx.EnsureStreams(ctx, h.js, contracts.Streams(), 1); err != nil {
		t.Fatal(err)
	}
	claims, err := ensureClaims(ctx, h.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	beats, err := ensureHeartbeats(ctx, h.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logPath, lockPath := filepath.Join(dir, "log"), filepath.Join(dir, "lock")
	a := action("r-live", "web-01", execDriver("span", logPath, lockPath, "10ms"))
	h.publish(ctx, contracts.DefaultPool, a, "m1")
	// A ghost instance holds the action's first message, as a live
	// executor whose lease lapsed would.
	ghost := "ghost-1"
	held := claim.Claim{State: claim.Running, Executor: "ghost", Instance: ghost, StreamSeq: 1, Delivery: 0}
	if _, err := claims.Create(ctx, claim.Key(a.ID), held.Encode()); err != nil {
		t.Fatal(err)
	}
	beat := func() {
		if _, err := beats.Put(ctx, claim.Key(ghost), []byte("alive")); err != nil {
			t.Fatal(err)
		}
	}
	beat()
	ex := h.start(Config{ID: "exec-1", AckWait: 300 * time.Millisecond}, execOpts{})
	// Keep the ghost alive for a while, several ack waits long.
	tick := time.NewTicker(200 * time.Millisecond)
	for range 10 {
		<-tick.C
		beat()
		if s := readSpanLog(t, logPath); len(s.starts) != 0 {
			t.Fatal("action ran while its live holder held the claim")
		}
	}
	tick.Stop()
	stoppedBeating := time.Now()
	got := h.waitResults("r-live", 1, 10*time.Second)
	if got[0].Status != contracts.ResultSucceeded {
		t.Fatalf("result = %+v", got[0].HostResult)
	}
	s := readSpanLog(t, logPath)
	if len(s.starts) != 1 || s.overlaps != 0 {
		t.Fatalf("runs %d, overlaps %d; want one run", len(s.starts), s.overlaps)
	}
	if !s.starts[0].After(stoppedBeating) {
		t.Fatalf("run started %v, before the holder's heartbeat stopped at %v", s.starts[0], stoppedBeating)
	}
	if d := s.starts[0].Sub(stoppedBeating); d > heartbeatTTL+2*time.Second {
		t.Fatalf("taken over %v after the heartbeat stopped, want about %v", d, heartbeatTTL)
	}
	// Waiting for the holder extended the lease instead of spending
	// deliveries toward the poison limit.
	if got[0].Deliveries > 2 {
		t.Logf("deliveries = %d (load)", got[0].Deliveries)
	}
	if got[0].Deliveries >= contracts.ExecutorConsumer("", 0).MaxDeliver {
		t.Fatalf("deliveries = %d: waiting spent the delivery budget", got[0].Deliveries)
	}
	_ = ex
}

// TestLostHeartbeatFencesRunningActions: an executor that cannot refresh
// its heartbeat kills its programs before others may take them over.
func TestLostHeartbeatFencesRunningActions(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	ex := h.start(Config{ID: "exec-1"}, execOpts{})
	h.publish(context.Background(), contracts.DefaultPool, action("r-fence", "web-01", execDriver("pidsleep", pidFile)), "m1")
	pid := readPid(t, pidFile)
	cut := time.Now()
	ex.deps.NC.Close() // cut off: heartbeats fail from now on
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if proctest.Alive(pid) {
			return fmt.Errorf("program %d still runs", pid)
		}
		return nil
	})
	// It was the fence, not a general shutdown: it acted between the last
	// heartbeat and the heartbeat's expiry.
	if d := time.Since(cut); d > heartbeatTTL+time.Second {
		t.Fatalf("program killed %v after the cut, want within about %v", d, fenceAfter)
	}
}

// TestCrashAfterRecordingRepublishes: the executor records the result in
// the claim, then dies before publishing it. The next executor publishes
// the recorded result (same message id) without running the program.
func TestCrashAfterRecordingRepublishes(t *testing.T) {
	h := newHarness(t)
	runs := filepath.Join(t.TempDir(), "runs")
	a := action("r-unmarked", "web-01", execDriver("append", runs))
	exA := h.start(Config{ID: "exec-a", AckWait: 500 * time.Millisecond}, execOpts{})
	crashed := make(chan struct{})
	exA.afterRecord = func() {
		exA.deps.NC.Close() // dies: nothing published, nothing acked
		close(crashed)
	}
	h.publish(context.Background(), contracts.DefaultPool, a, "m1")
	select {
	case <-crashed:
	case <-time.After(10 * time.Second):
		t.Fatal("executor A never recorded a result")
	}
	if got := h.results("r-unmarked"); len(got) != 0 {
		t.Fatalf("%d results before the crash was recovered", len(got))
	}
	h.endHeartbeat(exA)
	h.start(Config{ID: "exec-b", AckWait: 500 * time.Millisecond}, execOpts{})
	got := h.waitResults("r-unmarked", 1, 10*time.Second)
	h.waitIdle(contracts.DefaultPool)
	got = h.results("r-unmarked")
	if len(got) != 1 {
		t.Fatalf("%d results, want 1", len(got))
	}
	if r := got[0]; r.Executor != "exec-a" || r.Status != contracts.ResultSucceeded || r.msgID != contracts.ResultMsgID(a.ID) {
		t.Fatalf("result = %+v (msg id %q), want exec-a's recorded success", r.HostResult, r.msgID)
	}
	if n := lines(t, runs); n != 1 {
		t.Fatalf("program ran %d times, want 1", n)
	}
}

// publishAborted publishes a rollout's aborted event as the scheduler does.
func (h *harness) publishAborted(rollout string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev := contracts.Event{Rollout: rollout, Environment: "prod", App: "web", Version: "2.4.1", State: contracts.StateAborted, Reason: "test", Seq: 9}
	m, err := natsx.EnvelopeMsg(ctx, contracts.EventSubject("prod", rollout, contracts.EventAborted),
		contracts.EventTypePrefix+string(contracts.EventAborted), contracts.EventMsgID(rollout, 9), "test", rollout, time.Now(), ev)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.js.PublishMsg(ctx, m); err != nil {
		h.t.Fatal(err)
	}
}

// TestAbortCancelsInFlightAndLater: an abort kills the running program
// and reports cancelled; an action of the aborted rollout delivered after
// an executor restart is not run.
func TestAbortCancelsInFlightAndLater(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	pidFile, runs := filepath.Join(dir, "pid"), filepath.Join(dir, "runs")
	ex := spawnExecutor(t, h, "exec-a")
	h.publish(context.Background(), contracts.DefaultPool, action("r-abort", "web-01", execDriver("pidsleep", pidFile)), "m1")
	pid := readPid(t, pidFile)
	h.publishAborted("r-abort")
	got := h.waitResults("r-abort", 1, 10*time.Second)
	if r := got[0]; r.Status != contracts.ResultCancelled || !strings.Contains(r.Error, "rollout aborted") {
		t.Fatalf("result = %+v, want cancelled", r.HostResult)
	}
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if proctest.Alive(pid) {
			return fmt.Errorf("program %d survived the abort", pid)
		}
		return nil
	})
	// Restart, then a late action of the aborted rollout arrives.
	kill9(t, ex)
	spawnExecutor(t, h, "exec-a")
	h.publish(context.Background(), contracts.DefaultPool, action("r-abort", "web-02", execDriver("append", runs)), "m2")
	got = h.waitResults("r-abort", 2, 10*time.Second)
	var late *result
	for i := range got {
		if got[i].Host == "web-02" {
			late = &got[i]
		}
	}
	if late == nil {
		t.Fatal("no result for the late action")
	}
	if late.Status != contracts.ResultCancelled {
		t.Fatalf("late action: status %s, error %q; want cancelled", late.Status, late.Error)
	}
	if _, err := os.Stat(runs); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("late action of an aborted rollout ran its program (%v)", err)
	}
	// Another rollout is unaffected.
	h.publish(context.Background(), contracts.DefaultPool, action("r-other", "web-03", execDriver("append", runs)), "m3")
	if r := h.waitResults("r-other", 1, 10*time.Second)[0]; r.Status != contracts.ResultSucceeded {
		t.Fatalf("other rollout: %+v", r.HostResult)
	}
}

// TestFencedExecutorRecovers: an executor that lost its heartbeat while
// keeping its connection fences its program, gives the claim back and
// runs the action again once heartbeats work: a live executor never
// blocks a claim it abandoned.
func TestFencedExecutorRecovers(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pidFile := filepath.Join(t.TempDir(), "pid")
	h.start(Config{ID: "exec-1", AckWait: time.Second}, execOpts{})
	h.publish(ctx, contracts.DefaultPool, action("r-refence", "web-01", execDriver("pidsleep", pidFile)), "m1")
	first := readPid(t, pidFile)
	// Heartbeats fail from now on, the connection stays.
	if err := h.js.DeleteKeyValue(ctx, contracts.ExecutorsBucket); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if proctest.Alive(first) {
			return fmt.Errorf("program %d not fenced", first)
		}
		return nil
	})
	if _, err := ensureHeartbeats(ctx, h.js, 1); err != nil {
		t.Fatal(err)
	}
	var second int
	natstest.CheckFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return err
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil || pid == first || !proctest.Alive(pid) {
			return errors.New("action not run again")
		}
		second = pid
		return nil
	})
	// Let the second run end so the executor stops promptly.
	if err := syscall.Kill(second, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.waitResults("r-refence", 1, 10*time.Second)
}
