package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/archivetest"
	"github.com/rollwave/rollwave/pkg/artifact"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/agent"
)

// releaseArchive is a tar.gz whose VERSION file says version.
func releaseArchive(t *testing.T, version string) []byte {
	t.Helper()
	return archivetest.TarGz(t, archivetest.File("VERSION", version))
}

// startAgent runs a host agent on its own connection to the stack's NATS,
// with a start command that records each run.
func startAgent(t *testing.T, h *harness, name, root, counter string) *agent.Service {
	t.Helper()
	nc, err := nats.Connect(h.st.Server.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "start.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$ROLLWAVE_VERSION $(cat VERSION)\" >> \"$COUNTER\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(service.Deps{NC: nc, JS: js, Log: slog.New(slog.DiscardHandler)}, agent.Config{
		Name: name, Environment: "qa", Dir: root, Start: []string{script}, Interval: 200 * time.Millisecond,
		Env: []string{"PATH=" + os.Getenv("PATH"), "COUNTER=" + counter},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	return a
}

// Deploy v1 then v2 through scheduler, executor and agent: current
// switches and the agent's start command runs once per deploy. Then the
// agent goes silent mid-rollout: the host fails after the driver's
// timeout and the rollout stops by its failure policy.
func TestAgentDeploysThroughTheExecutor(t *testing.T) {
	inv := `environments:
  - name: qa
    driver:
      agent: {timeout: 4s}
    hosts:
      - {name: web-01.example.com, address: "127.0.0.1:18080"}
      - {name: web-02.example.com, address: "127.0.0.1:18081"}
`
	h := newHarness(t, harnessOpts{inventory: inv})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	store, err := artifact.Ensure(ctx, h.st.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		if _, err := artifact.Push(ctx, store, "web", v, bytes.NewReader(releaseArchive(t, v))); err != nil {
			t.Fatal(err)
		}
	}
	roots := map[string]string{}
	counters := map[string]string{}
	agents := map[string]*agent.Service{}
	for _, host := range []string{"web-01.example.com", "web-02.example.com"} {
		roots[host] = filepath.Join(t.TempDir(), "agent")
		counters[host] = filepath.Join(t.TempDir(), "starts")
		agents[host] = startAgent(t, h, host, roots[host], counters[host])
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		id := "r-agent-" + strings.ReplaceAll(v, ".", "-")
		h.deploy(ctx, contracts.DeployRequest{ID: id, App: "web", Version: v, Environment: "qa",
			Phases: []contracts.PhaseSpec{{Name: "all", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}}})
		view := h.waitState(id, contracts.StateCompleted)
		if view.Counts.Succeeded != 2 {
			t.Fatalf("%s: %+v", id, view.Counts)
		}
		for _, r := range h.results("qa", id) {
			if r.Status != contracts.ResultSucceeded || !r.Installed {
				t.Fatalf("%s: result %+v", id, r)
			}
		}
		for host, root := range roots {
			target, err := os.Readlink(filepath.Join(root, "web", "current"))
			if err != nil || target != "releases/"+v {
				t.Fatalf("%s after %s: current -> %q (%v)", host, v, target, err)
			}
		}
	}
	for host, counter := range counters {
		b, err := os.ReadFile(counter)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Split(strings.TrimSpace(string(b)), "\n"); !slices.Equal(got, []string{"1.0.0 1.0.0", "2.0.0 2.0.0"}) {
			t.Fatalf("%s: start command runs %q", host, got)
		}
	}

	// Discovery hears the agents: online, and the version they report is
	// the one the rollout recorded (no drift).
	natstest.CheckFor(t, waitLong, 50*time.Millisecond, func() error {
		inv, err := natsx.Request[contracts.Inventory](ctx, h.st.NC, contracts.APIDiscoveryInventory, contracts.InventoryQuery{Environment: "qa"})
		if err != nil {
			return err
		}
		for _, host := range inv.Environments[0].Hosts {
			v := host.Versions["web"]
			if host.Liveness != contracts.LivenessOnline || v.Version != "2.0.0" || v.Reported != "2.0.0" || v.Drift {
				return fmt.Errorf("%s: liveness %q, versions %+v", host.Name, host.Liveness, host.Versions)
			}
		}
		return nil
	})

	// web-02's agent goes silent: its host fails after the 4s timeout,
	// naming the host, and the rollout pauses (no failure tolerated).
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopCancel()
	if err := agents["web-02.example.com"].Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	id := "r-agent-3-0-0"
	h.deploy(ctx, contracts.DeployRequest{ID: id, App: "web", Version: "3.0.0", Environment: "qa",
		Phases: []contracts.PhaseSpec{{Name: "all", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}}})
	h.waitState(id, contracts.StatePaused)
	var failed []string
	for _, r := range h.results("qa", id) {
		if r.Status == contracts.ResultFailed {
			failed = append(failed, r.Host)
			if !strings.Contains(r.Error, "the agent of web-02.example.com in qa did not answer within 4s") {
				t.Fatalf("error: %q", r.Error)
			}
		}
	}
	if fmt.Sprint(failed) != "[web-02.example.com]" {
		t.Fatalf("failed hosts: %v", failed)
	}
	if target, _ := os.Readlink(filepath.Join(roots["web-02.example.com"], "web", "current")); target != "releases/2.0.0" {
		t.Fatalf("web-02 current -> %q", target)
	}
}

// kill -9 of the executor while the agent runs a slow start command: the
// next executor re-sends the action, the agent answers it from the run in
// flight or its journal, and the command ran exactly once per host.
func TestAgentExactlyOnceAcrossExecutorKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rollwave binary")
	}
	exe := buildRollwave(t)
	inv := `environments:
  - name: qa
    driver:
      agent: {timeout: 60s}
    hosts:
      - {name: web-01, address: "127.0.0.1:18080"}
`
	h := newHarness(t, harnessOpts{inventory: inv, services: []string{"discovery", "calendar", "planner", "scheduler", "gateway"}})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	store, err := artifact.Ensure(ctx, h.st.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := artifact.Push(ctx, store, "web", "1.0.0", bytes.NewReader(releaseArchive(t, "1.0.0"))); err != nil {
		t.Fatal(err)
	}
	counter := filepath.Join(t.TempDir(), "runs")
	root := filepath.Join(t.TempDir(), "agent")
	nc, err := nats.Connect(h.st.Server.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	slow := filepath.Join(t.TempDir(), "slow.sh")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\necho run >> \"$COUNTER\"\nsleep 4\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(service.Deps{NC: nc, JS: js, Log: slog.New(slog.DiscardHandler)}, agent.Config{
		Name: "web-01", Environment: "qa", Dir: root, Start: []string{slow}, Interval: time.Second,
		Env: []string{"PATH=" + os.Getenv("PATH"), "COUNTER=" + counter},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = ag.Stop(ctx)
	})
	startExecutor := func() *exec.Cmd {
		cmd := exec.Command(exe, "serve", "executor", "--nats", h.st.Server.ClientURL(), "--data", t.TempDir(), "--ack-wait", "3s", "--log-level", "warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	first := startExecutor()
	id := "r-agent-kill"
	h.deploy(ctx, contracts.DeployRequest{ID: id, App: "web", Version: "1.0.0", Environment: "qa",
		Phases: []contracts.PhaseSpec{{Name: "all"}}})
	deadline := time.Now().Add(waitLong)
	for {
		if b, _ := os.ReadFile(counter); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent never started the action")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	startExecutor()
	h.waitState(id, contracts.StateCompleted)
	b, _ := os.ReadFile(counter)
	if got := strings.Count(string(b), "run"); got != 1 {
		t.Fatalf("the start command ran %d times", got)
	}
	res := h.results("qa", id)
	if len(res) != 1 || res[0].Status != contracts.ResultSucceeded || res[0].Deliveries < 2 {
		t.Fatalf("results: %s", mustJSON(res))
	}
}
