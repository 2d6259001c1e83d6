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

	"golang.org/x/crypto/ssh"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/proctest"
	"github.com/rollwave/rollwave/services/executor/internal/sshdtest"
)

func sshDriver(t *testing.T, s *sshdtest.Server, argv ...string) contracts.DriverSpec {
	return contracts.DriverSpec{SSH: &contracts.SSHDriver{
		User: s.User, Command: argv, Port: s.Port, KeyFile: s.ClientKey,
		KnownHosts: s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoED25519])}}
}

// An ssh action goes through the executor like any other: the result
// carries the exit code and the output tail, and the program received the
// idempotency key.
func TestSSHActionThroughTheExecutor(t *testing.T) {
	s := sshdtest.Start(t)
	h := newHarness(t)
	h.start(Config{ID: "exec-ssh"}, execOpts{})
	ok := action("r-ssh", "web-01", sshDriver(t, s, "sh", "-c", `printf '%s %s %s' "$ROLLWAVE_ACTION_ID" "$ROLLWAVE_ATTEMPT" "$1"`, "sh", "{{.Version}}"))
	failing := action("r-ssh", "web-02", sshDriver(t, s, "sh", "-c", "echo bad; exit 3"))
	h.publish(context.Background(), contracts.DefaultPool, ok, "m1")
	h.publish(context.Background(), contracts.DefaultPool, failing, "m2")
	byHost := map[string]result{}
	for _, r := range h.waitResults("r-ssh", 2, 60*time.Second) {
		byHost[r.Host] = r
	}
	if r := byHost["web-01"]; r.Status != contracts.ResultSucceeded || r.Output != ok.ID+" 1 2.4.1" || r.ExitCode == nil || *r.ExitCode != 0 {
		t.Fatalf("ssh result %+v", r.HostResult)
	}
	if r := byHost["web-02"]; r.Status != contracts.ResultFailed || r.Error != "ssh: exited with code 3 on "+fmt.Sprintf("127.0.0.1:%d", s.Port) ||
		strings.TrimSpace(r.Output) != "bad" || r.ExitCode == nil || *r.ExitCode != 3 {
		t.Fatalf("failed ssh result %+v", r.HostResult)
	}
}

// An abort cancels a running ssh action, and its remote process is gone.
func TestSSHAbortKillsTheRemoteProcess(t *testing.T) {
	s := sshdtest.Start(t)
	h := newHarness(t)
	h.start(Config{ID: "exec-ssh"}, execOpts{})
	pidFile := filepath.Join(t.TempDir(), "pid")
	h.publish(context.Background(), contracts.DefaultPool,
		action("r-ssh-abort", "web-01", sshDriver(t, s, "sh", "-c", `printf %s $$ > "$1"; exec sleep 600`, "sh", pidFile)), "m1")
	pid := readPid(t, pidFile)
	h.publishAborted("r-ssh-abort")
	got := h.waitResults("r-ssh-abort", 1, 60*time.Second)
	if r := got[0]; r.Status != contracts.ResultCancelled || !strings.Contains(r.Error, "rollout aborted") {
		t.Fatalf("result = %+v, want cancelled", r.HostResult)
	}
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if proctest.Alive(pid) {
			return fmt.Errorf("remote process %d survived the abort", pid)
		}
		return nil
	})
}

// TestSSHKill9RedispatchesWithoutOverlap: an executor process killed in
// the middle of a slow ssh action takes its remote run with it, so the run
// of the restarted executor never overlaps it (the remote script holds an
// exclusive lock and logs any overlap), receives the same idempotency
// key, and comes within 5s of the restart.
func TestSSHKill9RedispatchesWithoutOverlap(t *testing.T) {
	s := sshdtest.Start(t)
	h := newHarness(t)
	dir := t.TempDir()
	logPath, lockPath := filepath.Join(dir, "log"), filepath.Join(dir, "lock")
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Longer than the takeover delay: a surviving first run would overlap.
	d := sshDriver(t, s, bin, "span", logPath, lockPath, "6s")
	d.SSH.Env = map[string]string{"ROLLWAVE_EXECUTOR_TEST_HELPER": "1", "GORACE": "atexit_sleep_ms=0"}
	a := action("r-ssh-crash", "web-01", d)

	ex := spawnExecutor(t, h, "exec-a")
	h.publish(context.Background(), contracts.DefaultPool, a, "m1")
	natstest.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		if len(readSpanLog(t, logPath).starts) < 1 {
			return errors.New("remote program not started")
		}
		return nil
	})
	kill9(t, ex)
	restart := time.Now()
	spawnExecutor(t, h, "exec-a")
	got := h.waitResults("r-ssh-crash", 1, 60*time.Second)
	if got[0].Status != contracts.ResultSucceeded || !strings.Contains(got[0].Output, "deployed") {
		t.Fatalf("result = %+v", got[0].HostResult)
	}
	l := readSpanLog(t, logPath)
	if l.overlaps != 0 {
		t.Fatalf("%d remote runs started while another ran", l.overlaps)
	}
	if len(l.starts) != 2 || len(l.ends) != 1 || !l.ends[0].After(l.starts[1]) {
		t.Fatalf("starts %v, ends %v; want the killed run, never ended, and one complete run", l.starts, l.ends)
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
