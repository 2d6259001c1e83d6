package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// Strategies end to end on real local processes: a rolling release with a
// bake and a self-approving gate, a canary whose analysis passes, and one
// whose analysis fails and rolls the canary host back by itself, so that
// every host serves the version it ran before. No action id is dispatched
// twice.
func TestCanaryRollsBackRealProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rollwave binary")
	}
	exe := buildRollwave(t)
	apps := t.TempDir()
	var inv strings.Builder
	fmt.Fprintf(&inv, "environments:\n  - name: qa\n    driver:\n      exec:\n        command: [%q, sample-app, deploy, --dir, %q, --addr, \"{{.Host.Address}}\", --version, \"{{.Version}}\"]\n        timeout: 30s\n    hosts:\n",
		exe, apps+"/{{.Host.Name}}")
	var addrs []string
	for i := 1; i <= 3; i++ {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		addrs = append(addrs, addr)
		fmt.Fprintf(&inv, "      - {name: app-%02d, address: %q, groups: [app]}\n", i, addr)
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
}
