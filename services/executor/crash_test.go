package executor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/proctest"
	"github.com/rollwave/rollwave/pkg/service"
)

// executorProcessEnv makes the test binary run as an executor process
// connected to the NATS URL it holds, so tests can kill -9 a real one.
const executorProcessEnv = "ROLLWAVE_EXECUTOR_TEST_PROCESS"

func executorProcess(url string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	nc, err := nats.Connect(url)
	if err != nil {
		log.Error("connect", "err", err)
		return 1
	}
	js, err := jetstream.New(nc)
	if err != nil {
		log.Error("jetstream", "err", err)
		return 1
	}
	s, err := New(service.Deps{NC: nc, JS: js, Log: log}, Config{ID: os.Getenv("ROLLWAVE_EXECUTOR_TEST_ID"), ExecEnv: helperEnv})
	if err != nil {
		log.Error("new", "err", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		log.Error("start", "err", err)
		return 1
	}
	fmt.Println("ready")
	select {} // until killed
}

// span is a deploy script that logs when it starts and ends, under an
// exclusive lock: a second run while the first still lives logs an
// overlap, whoever started it.
func span(logPath, lockPath, dur string) int {
	d, err := time.ParseDuration(dur)
	if err != nil {
		return 2
	}
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 3
	}
	logf := func(format string, args ...any) {
		f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			os.Exit(3)
		}
		fmt.Fprintf(f, format+"\n", args...)
		f.Close()
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		logf("overlap %d %s", time.Now().UnixNano(), os.Getenv("ROLLWAVE_ACTION_ID"))
		return 1
	}
	logf("start %d %s %s", time.Now().UnixNano(), os.Getenv("ROLLWAVE_ACTION_ID"), os.Getenv("ROLLWAVE_ATTEMPT"))
	time.Sleep(d)
	logf("end %d", time.Now().UnixNano())
	fmt.Println("deployed")
	return 0
}

// spawnExecutor starts a real executor process.
func spawnExecutor(t *testing.T, h *harness, id string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), executorProcessEnv + "=" + h.srv.ClientURL(),
		"ROLLWAVE_EXECUTOR_TEST_ID=" + id, "GORACE=atexit_sleep_ms=0"}
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("executor process said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("executor process %s: %v", id, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("executor process %s not ready", id)
	}
	return cmd
}

// kill9 kills an executor process the hard way and reaps it.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	natstest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		b, err := os.ReadFile(path)
		if err != nil || len(b) == 0 {
			return errors.New("program has not started")
		}
		pid, err = strconv.Atoi(string(b))
		return err
	})
	return pid
}

// TestKill9LeavesNoChild: after kill -9 of an executor process, the
// program it ran does not live on.
func TestKill9LeavesNoChild(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	ex := spawnExecutor(t, h, "exec-a")
	h.publish(context.Background(), contracts.DefaultPool, action("r-orphan", "web-01", execDriver("pidsleep", pidFile)), "m1")
	pid := readPid(t, pidFile)
	if !proctest.Alive(pid) {
		t.Fatalf("program %d not running before the kill", pid)
	}
	kill9(t, ex)
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if proctest.Alive(pid) {
			return fmt.Errorf("program %d outlived its executor", pid)
		}
		return nil
	})
}

type spanLog struct {
	starts   []time.Time
	ends     []time.Time
	overlaps int
	keys     []string
}

func readSpanLog(t *testing.T, path string) spanLog {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var l spanLog
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch f[0] {
		case "start":
			l.starts = append(l.starts, time.Unix(0, ns))
			l.keys = append(l.keys, strings.Join(f[2:], " "))
		case "end":
			l.ends = append(l.ends, time.Unix(0, ns))
		case "overlap":
			l.overlaps++
		}
	}
	return l
}

// TestKill9RedispatchesFastWithoutOverlap kills an executor process in
// the middle of a slow action and restarts it: the action runs again
// within 5s of the restart, never at the same time as the killed run, and
// completes.
func TestKill9RedispatchesFastWithoutOverlap(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	logPath, lockPath := filepath.Join(dir, "log"), filepath.Join(dir, "lock")
	a := action("r-crash", "web-01", execDriver("span", logPath, lockPath, "1500ms"))

	ex := spawnExecutor(t, h, "exec-a")
	h.publish(context.Background(), contracts.DefaultPool, a, "m1")
	natstest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		if len(readSpanLog(t, logPath).starts) < 1 {
			return errors.New("program not started")
		}
		return nil
	})
	kill9(t, ex)
	restart := time.Now()
	spawnExecutor(t, h, "exec-a") // same id, new instance
	got := h.waitResults("r-crash", 1, 20*time.Second)
	if got[0].Status != contracts.ResultSucceeded || !strings.Contains(got[0].Output, "deployed") {
		t.Fatalf("result = %+v", got[0].HostResult)
	}
	l := readSpanLog(t, logPath)
	if l.overlaps != 0 {
		t.Fatalf("%d runs started while another ran", l.overlaps)
	}
	if len(l.starts) != 2 || len(l.ends) != 1 {
		t.Fatalf("starts %d, ends %d; want the killed run and one complete run", len(l.starts), len(l.ends))
	}
	if !l.ends[0].After(l.starts[1]) {
		t.Fatalf("the end logged (%v) is not the second run's (started %v)", l.ends[0], l.starts[1])
	}
	if want := a.ID + " 1"; l.keys[0] != want || l.keys[1] != want {
		t.Fatalf("idempotency keys %q, want %q on both runs", l.keys, want)
	}
	delay := l.starts[1].Sub(restart)
	t.Logf("re-dispatched %v after the restart", delay)
	if delay > 5*time.Second {
		t.Fatalf("re-dispatched %v after the restart, want within 5s", delay)
	}
}
