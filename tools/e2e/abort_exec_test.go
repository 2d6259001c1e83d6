package e2e

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
)

// Abort during a slow real exec action: the executor kills the process,
// reports the host cancelled, and a restarted scheduler dispatches nothing
// more for the aborted rollout.
func TestAbortKillsSlowExecActionAndStaysAborted(t *testing.T) {
	dir := t.TempDir()
	pids := t.TempDir()
	// The operator's procedure: record the shell's pid in a file named by
	// the host (an argument, never part of the script), then run for long.
	var inv strings.Builder
	fmt.Fprintf(&inv, "environments:\n  - name: prod\n    driver:\n      exec:\n        command: [/bin/sh, -c, 'echo $$ > \"$1\"; exec sleep 300', sh, %q]\n        timeout: 10m\n    hosts:\n",
		pids+"/{{.Host.Name}}")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&inv, "      - {name: web-%02d, address: 127.0.0.1:%d, groups: [web]}\n", i, 21000+i)
	}
	// A second environment, to see the restarted scheduler at work.
	inv.WriteString("  - name: staging\n    driver: {sim: {}}\n    hosts:\n      - {name: stage-01, address: 127.0.0.1:21100, groups: [web]}\n")
	h := newHarness(t, harnessOpts{inventory: inv.String(), services: []string{"discovery", "calendar", "planner", "executor"}, dataDir: dir})
	sched := startScheduler(t, h, dir)
	ctx := context.Background()
	h.deploy(ctx, contracts.DeployRequest{ID: "r-slow", App: "web", Version: "2.4.1", Environment: "prod",
		Phases: []contracts.PhaseSpec{{Name: "all", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}}})

	var pid int
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		b, err := os.ReadFile(filepath.Join(pids, "web-01"))
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	if !alive(pid) {
		t.Fatalf("deploy process %d is not running", pid)
	}
	if _, err := natsx.Request[contracts.RolloutSummary](ctx, h.st.NC, contracts.ControlSubject("r-slow", contracts.VerbAbort),
		contracts.ControlCommand{Actor: "bob", Reason: "wrong build"}); err != nil {
		t.Fatal(err)
	}
	h.waitState("r-slow", contracts.StateAborted)
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		if alive(pid) {
			return fmt.Errorf("process %d still alive after the abort", pid)
		}
		return nil
	})
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		res := h.results("prod", "r-slow")
		if len(res) != 1 || res[0].Host != "web-01" || res[0].Status != contracts.ResultCancelled {
			return fmt.Errorf("results %+v", res)
		}
		return nil
	})

	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sched.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	startScheduler(t, h, dir)
	// Once the restarted scheduler has run a whole rollout elsewhere, the
	// aborted one is still aborted, and nothing more of it was dispatched
	// or ran.
	h.deploy(ctx, contracts.DeployRequest{ID: "r-after", App: "web", Version: "2.4.1", Environment: "staging",
		Phases: []contracts.PhaseSpec{{Name: "all"}}})
	h.waitState("r-after", contracts.StateCompleted)
	if v := h.waitState("r-slow", contracts.StateAborted); v.Counts.Pending != 2 {
		t.Fatalf("counts after restart %+v", v.Counts)
	}
	// The stream holds r-slow's one action and r-after's one.
	if n := h.actionsPublished("default", "prod"); n != 2 {
		t.Fatalf("%d actions dispatched, want 2", n)
	}
	if res := h.results("prod", "r-slow"); len(res) != 1 {
		t.Fatalf("results of r-slow after the restart: %+v", res)
	}
	for _, host := range []string{"web-02", "web-03"} {
		if _, err := os.Stat(filepath.Join(pids, host)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s ran: %v", host, err)
		}
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
