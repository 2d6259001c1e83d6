package executor

import (
	"context"
	"fmt"
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
