package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cmd.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// The stop command runs before the switch, with the previous version in
// its environment; the start command after it.
func TestStopRunsBeforeSwitchAndStartAfter(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	stop := script(t, `echo "stop prev=$ROLLWAVE_PREVIOUS_VERSION new=$ROLLWAVE_VERSION current=$(cat "$ROLLWAVE_CURRENT/VERSION")" >> "$LOG"`+"\n")
	start := script(t, `echo "start current=$(cat "$ROLLWAVE_CURRENT/VERSION")" >> "$LOG"`+"\n")
	r := newRig(t, func(c *Config) {
		c.Stop, c.Start = []string{stop}, []string{start}
		c.Env = append(c.Env, "LOG="+log)
	})
	for _, v := range []string{"1.0.0", "2.0.0"} {
		r.push("web", v, release(t, v))
		if res := r.act(action("r/"+v, "web", v)); res.Status != contracts.ResultSucceeded {
			t.Fatalf("%s: %s", v, mustJSON(res))
		}
	}
	b, _ := os.ReadFile(log)
	want := []string{"start current=1.0.0", "stop prev=1.0.0 new=2.0.0 current=1.0.0", "start current=2.0.0"}
	if got := strings.Split(strings.TrimSpace(string(b)), "\n"); !slices.Equal(got, want) {
		t.Fatalf("commands ran %q, want %q", got, want)
	}
}

// A start command that fails after the switch fails the action, which
// still says the new version is installed.
func TestFailingStartReportsInstalled(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Start = []string{script(t, "echo nope; exit 7\n")} })
	r.push("web", "1.0.0", release(t, "1.0.0"))
	res := r.act(action("r/1", "web", "1.0.0"))
	if res.Status != contracts.ResultFailed || !res.Installed || res.ExitCode == nil || *res.ExitCode != 7 ||
		!strings.Contains(res.Error, "exited with code 7") || !strings.Contains(res.Output, "nope") {
		t.Fatalf("result: %s", mustJSON(res))
	}
}

// --signal HUP --pid-file: the process in the pid file gets the signal
// after the switch.
func TestSignalToPidFile(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "got")
	ready := filepath.Join(dir, "ready")
	svc := exec.Command("/bin/sh", "-c", fmt.Sprintf(`trap 'echo hup >> %q; exit 0' HUP; touch %q; while :; do sleep 0.05; done`, got, ready))
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Process.Kill(); _ = svc.Wait() })
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error { _, err := os.Stat(ready); return err })
	pidFile := filepath.Join(dir, "svc.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(svc.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, func(c *Config) { c.Start, c.Signal, c.PidFile = nil, syscall.SIGHUP, pidFile })
	r.push("web", "1.0.0", release(t, "1.0.0"))
	if res := r.act(action("r/1", "web", "1.0.0")); res.Status != contracts.ResultSucceeded {
		t.Fatalf("result: %s", mustJSON(res))
	}
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if b, _ := os.ReadFile(got); string(b) != "hup\n" {
			return fmt.Errorf("service got %q", b)
		}
		return nil
	})
	// A pid file that holds something else fails the action by name.
	if err := os.WriteFile(pidFile, []byte("12; rm -rf /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.push("web", "2.0.0", release(t, "2.0.0"))
	if res := r.act(action("r/2", "web", "2.0.0")); res.Status != contracts.ResultFailed || !strings.Contains(res.Error, "pid file "+pidFile+": line 1") {
		t.Fatalf("result: %s", mustJSON(res))
	}
}

// Shell metacharacters in a version or host cannot run anything: the
// version is refused by name before anything is fetched, and commands
// never pass through a shell.
func TestMetacharactersRunNothing(t *testing.T) {
	r := newRig(t, nil)
	marker := filepath.Join(t.TempDir(), "pwned")
	a := action("r/1", "web", "1.0.0;touch "+marker)
	res := r.act(a)
	if res.Status != contracts.ResultFailed || !strings.Contains(res.Error, "data.version") {
		t.Fatalf("result: %s", mustJSON(res))
	}
	a = action("r/2", "web$(touch "+marker+")", "1.0.0")
	if res := r.act(a); res.Status != contracts.ResultFailed || !strings.Contains(res.Error, "data.app") {
		t.Fatalf("result: %s", mustJSON(res))
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("a metacharacter ran a command")
	}
	if len(r.starts()) != 0 {
		t.Fatal("start ran")
	}
}

func TestConfigChecks(t *testing.T) {
	ok := Config{Name: "web-01", Environment: "qa", Dir: "/srv/rw"}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Name = "web 01" }, "name"},
		{func(c *Config) { c.Environment = "q.a" }, "environment"},
		{func(c *Config) { c.Address = "127.0.0.1:1;touch x" }, "address"},
		{func(c *Config) { c.Address = "10.0.0.1:99999" }, "address"},
		{func(c *Config) { c.Dir = "rel" }, "dir"},
		{func(c *Config) { c.Keep = -1 }, "keep"},
		{func(c *Config) { c.Start, c.Restart = []string{"a"}, []string{"b"} }, "restart"},
		{func(c *Config) { c.Signal = syscall.SIGHUP }, "signal"},
		{func(c *Config) { c.Start = []string{""} }, "start"},
	} {
		cfg := ok
		c.mod(&cfg)
		if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error on %s", cfg, err, c.want)
		}
	}
}

// Entries past the retention are pruned at start; younger ones answer.
func TestJournalPrunedAfterRetention(t *testing.T) {
	r := newRig(t, nil)
	r.push("web", "1.0.0", release(t, "1.0.0"))
	old, fresh := action("r/old", "web", "1.0.0"), action("r/fresh", "web", "1.0.0")
	r.act(old)
	r.act(fresh)
	past := time.Now().Add(-31 * 24 * time.Hour)
	if err := os.Chtimes(r.agent.journal.path(old.ID), past, past); err != nil {
		t.Fatal(err)
	}
	r.stopAgent(r.agent)
	r.startAgent()
	if _, ok, _ := r.agent.journal.Get(old.ID); ok {
		t.Fatal("old entry kept")
	}
	if res := r.act(fresh); !res.Replayed {
		t.Fatalf("fresh: %s", mustJSON(res))
	}
}

// An aborted event for the rollout stops the action's command at once.
func TestAbortStopsTheRunningCommand(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	slow := script(t, `echo $$ > "$PIDFILE"; sleep 60; echo done >> "$COUNTER"`+"\n")
	r := newRig(t, func(c *Config) {
		c.Start = []string{slow}
		c.Env = append(c.Env, "PIDFILE="+pidFile)
	})
	r.push("web", "1.0.0", release(t, "1.0.0"))
	a := action("r1/0/web-01/attempt-1", "web", "1.0.0")
	done := make(chan contracts.AgentActResult, 1)
	go func() { res, _ := r.tryAct(a, 60*time.Second); done <- res }()
	var pid int
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		return err
	})
	if err := r.nc.Publish(contracts.EventSubject("qa", "r1", contracts.EventAborted), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	var res contracts.AgentActResult
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the action was not stopped")
	}
	if res.Status != contracts.ResultFailed || !strings.HasPrefix(res.Error, "rollout aborted: ") {
		t.Fatalf("result: %s", mustJSON(res))
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("the command (pid %d) still runs", pid)
	}
	if len(r.starts()) != 0 {
		t.Fatal("the command finished")
	}
	// Journaled: a redelivery gets the same answer and runs nothing.
	if again := r.act(a); !again.Replayed || again.Error != res.Error {
		t.Fatalf("again: %s", mustJSON(again))
	}
}
