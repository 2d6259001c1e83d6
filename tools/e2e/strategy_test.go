package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// Strategies end to end on real local processes: a rolling release with a
// bake and a self-approving gate, a canary whose analysis passes, one
// whose analysis fails and rolls the canary host back by itself (every
// host serves the version it ran before, no action id has two results),
// and blue-green: a switch by the operator's traffic procedure, then a
// switch back in the keep window that redeploys nothing.
func TestStrategiesOnRealProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rollwave binary")
	}
	exe := buildRollwave(t)
	apps := t.TempDir()
	var inv strings.Builder
	router := filepath.Join(apps, "router")
	fmt.Fprintf(&inv, "environments:\n  - name: qa\n    driver: &local\n      exec:\n        command: [%q, sample-app, deploy, --dir, %q, --addr, \"{{.Host.Address}}\", --version, \"{{.Version}}\"]\n        timeout: 30s\n",
		exe, apps+"/{{.Host.Name}}")
	fmt.Fprintf(&inv, "    procedures:\n      lb:\n        driver: *local\n        traffic: {exec: {command: [%q, sample-app, route, --dir, %q, --target, \"{{.Target}}\"]}}\n    hosts:\n", exe, router)
	var addrs []string
	for i := 1; i <= 3; i++ {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		addrs = append(addrs, addr)
		color := map[bool]string{true: "blue", false: "green"}[i == 1]
		fmt.Fprintf(&inv, "      - {name: app-%02d, address: %q, groups: [app], labels: {color: %s}}\n", i, addr, color)
	}
	t.Cleanup(func() {
		for i := 1; i <= 3; i++ {
			_ = exec.Command(exe, "sample-app", "stop", "--dir", filepath.Join(apps, fmt.Sprintf("app-%02d", i))).Run()
		}
	})
	h := newHarness(t, harnessOpts{inventory: inv.String()})
	checks := map[string]contracts.CheckSpec{
		"healthz": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz", Status: 200,
			Interval: contracts.Duration(50 * time.Millisecond), Timeout: contracts.Duration(time.Second)}},
		"teapot": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz", Status: 418,
			Interval: contracts.Duration(50 * time.Millisecond), Timeout: contracts.Duration(time.Second), Deadline: contracts.Duration(300 * time.Millisecond)}},
	}
	serves := func(want ...string) {
		t.Helper()
		for i, addr := range addrs {
			if got := servedVersion(t, addr); got != want[i] {
				t.Fatalf("app-%02d serves %q, want %q", i+1, got, want[i])
			}
		}
	}
	bake := contracts.Duration(500 * time.Millisecond)
	h.deploy(context.Background(), contracts.DeployRequest{ID: "r-rolling", App: "hello", Version: "1.0.0", Environment: "qa",
		Checks: checks, Failure: contracts.FailurePolicy{OnFailure: contracts.OnFailureRollback},
		Phases: []contracts.PhaseSpec{
			{Name: "first", Hosts: []string{"app-01"}, Checks: []string{"healthz"}},
			{Name: "bake", Wait: &bake},
			{Name: "sign-off", Gate: &contracts.PlannedGate{Timeout: contracts.Duration(time.Second), OnTimeout: contracts.GateApprove}},
			{Name: "rest", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 2}}}},
		}})
	h.waitState("r-rolling", contracts.StateCompleted)
	serves("1.0.0", "1.0.0", "1.0.0")

	canary := func(id, version, check string) {
		h.deploy(context.Background(), contracts.DeployRequest{ID: id, App: "hello", Version: version, Environment: "qa",
			Strategy: contracts.StrategyCanary, Checks: checks, Canary: &contracts.CanarySpec{
				Hosts: contracts.Size{Count: 1}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 2}}},
				Analysis: contracts.AnalysisSpec{Checks: []string{check}, Interval: contracts.Duration(200 * time.Millisecond), Count: 2},
			}})
	}
	canary("r-canary", "1.1.0", "healthz")
	h.waitState("r-canary", contracts.StateCompleted)
	serves("1.1.0", "1.1.0", "1.1.0")

	canary("r-canary-fails", "1.2.0", "teapot")
	v := h.waitState("r-canary-fails", contracts.StateRolledBack)
	serves("1.1.0", "1.1.0", "1.1.0")
	if v.Phases[0].Hosts[0].Rollback != "succeeded" {
		t.Fatalf("canary host %+v", v.Phases[0].Hosts[0])
	}
	ids := map[string]bool{}
	var back contracts.HostResult
	for _, r := range h.results("qa", "r-canary-fails") {
		if ids[r.ActionID] {
			t.Fatalf("action %s has two results", r.ActionID)
		}
		ids[r.ActionID] = true
		if r.Phase.ID == contracts.RollbackStepID {
			back = r
		}
	}
	if back.ActionID != "r-canary-fails/rollback/app-01/attempt-1" || back.Version != "1.1.0" || back.Status != contracts.ResultSucceeded {
		t.Fatalf("rollback result %+v (results %v)", back, ids)
	}
	if !ids["r-canary-fails/analysis/app-01/measure-1"] || len(ids) != 3 {
		t.Fatalf("results %v: want the deploy, one failed measurement and the rollback", ids)
	}

	// Blue-green: every host runs 1.1.0, so live says blue takes traffic;
	// green (app-02, app-03) is deployed, checked, and traffic switched to
	// it by the operator's procedure.
	active := func() string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(router, "active"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	blueGreen := func(id, version, live string, keep time.Duration) {
		h.deploy(context.Background(), contracts.DeployRequest{ID: id, App: "hello", Version: version, Environment: "qa",
			Strategy: contracts.StrategyBlueGreen, Procedure: "lb", Checks: checks, BlueGreen: &contracts.BlueGreenSpec{
				Live: live, Checks: []string{"healthz"}, Keep: contracts.Duration(keep), Traffic: contracts.TrafficSpec{Procedure: "lb"}}})
	}
	blueGreen("r-bg-1", "1.3.0", "blue", 200*time.Millisecond)
	h.waitState("r-bg-1", contracts.StateCompleted)
	serves("1.1.0", "1.3.0", "1.3.0")
	if got := active(); got != "green" {
		t.Fatalf("traffic goes to %q, want green", got)
	}
	// Now green runs the newer version: blue is idle without being told.
	// A rollback in the keep window switches traffic back to green and
	// redeploys nothing.
	blueGreen("r-bg-2", "1.4.0", "", time.Hour)
	natstestWait(t, func() bool { return active() == "blue" })
	sum, err := h.control("r-bg-2", contracts.VerbRollback)
	if err != nil || sum.State != contracts.StateRunning {
		t.Fatalf("rollback: %+v %v", sum, err)
	}
	v = h.waitState("r-bg-2", contracts.StateRolledBack)
	if got := active(); got != "green" || v.Reason != "switched traffic back to green; no host was redeployed" {
		t.Fatalf("after the switch back traffic goes to %q (%s)", got, v.Reason)
	}
	serves("1.4.0", "1.3.0", "1.3.0")
}

// natstestWait polls cond for up to a minute.
func natstestWait(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// control sends a verb to a rollout over its control subject.
func (h *harness) control(id string, verb contracts.Verb) (contracts.RolloutSummary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return natsx.Request[contracts.RolloutSummary](ctx, h.st.NC, contracts.ControlSubject(id, verb),
		contracts.ControlCommand{Actor: "e2e", Reason: "switch back"})
}
