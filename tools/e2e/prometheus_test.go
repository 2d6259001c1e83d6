package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/promtest"
)

// TestPrometheusCheckThroughTheStack: a real Prometheus scrapes an app; the
// environment's operators define an error-ratio check on it. A rollout
// completes while the app's error ratio is 0.1%; once the test raises it to
// 20%, the next rollout's own check (one query) fails and pauses it.
func TestPrometheusCheckThroughTheStack(t *testing.T) {
	rig := newErrorRatioRig(t, 2)
	base, query := rig.base, rig.query
	h := newHarness(t, harnessOpts{inventory: rig.inventory})
	ctx := context.Background()
	request := func(id string) contracts.DeployRequest {
		return contracts.DeployRequest{ID: id, App: "web", Version: "2.4.1", Environment: "prod",
			Phases:  []contracts.PhaseSpec{{Name: "all", Checks: []string{"errors"}}},
			Failure: contracts.FailurePolicy{OnFailure: contracts.OnFailurePause}}
	}

	// The check polls through "no samples yet" until Prometheus has data.
	h.deploy(ctx, request("r-prom-ok"))
	h.waitState("r-prom-ok", contracts.StateCompleted)
	for _, r := range h.results("prod", "r-prom-ok") {
		if r.Status != contracts.ResultSucceeded || len(r.Checks) != 1 || r.Checks[0].Status != contracts.ResultSucceeded {
			t.Fatalf("result %+v", r)
		}
	}

	rig.raiseErrors(t)
	// The request's own check, one query: a measurement, no polling.
	threshold := 0.01
	bad := request("r-prom-bad")
	bad.Checks = map[string]contracts.CheckSpec{"errors-now": {Prometheus: &contracts.PrometheusCheck{
		URL: base, Query: query, Op: "<=", Threshold: &threshold, Timeout: contracts.Duration(20 * time.Second)}}}
	bad.Phases[0].Checks = []string{"errors-now"}
	h.deploy(ctx, bad)
	v := h.waitState("r-prom-bad", contracts.StatePaused)
	if v.Counts.Failed == 0 {
		t.Fatalf("paused with counts %+v", v.Counts)
	}
	var failed *contracts.HostResult
	for _, r := range h.results("prod", "r-prom-bad") {
		if r.Status == contracts.ResultFailed {
			failed = &r
		}
	}
	if failed == nil || len(failed.Checks) != 1 || failed.Checks[0].Status != contracts.ResultFailed ||
		!strings.Contains(failed.Error, "check errors-now: {} = ") || !strings.Contains(failed.Error, "want <= 0.01") {
		t.Fatalf("failed result %+v", failed)
	}
}

// TestPrometheusAnalysisRollsBackACanary: a canary's analysis measures an
// operator-defined error-ratio check against a real Prometheus. While the
// app's errors stay at 0.1%, the canary is promoted and the rollout
// completes; once they reach 20%, the next canary's analysis fails and the
// rollout rolls itself back, the canary host redeployed at the version it
// ran before.
func TestPrometheusAnalysisRollsBackACanary(t *testing.T) {
	// Measurements poll through "no samples yet" until Prometheus has data.
	rig := newErrorRatioRig(t, 3)
	h := newHarness(t, harnessOpts{inventory: rig.inventory})
	ctx := context.Background()
	canary := func(id, version string) {
		h.deploy(ctx, contracts.DeployRequest{ID: id, App: "web", Version: version, Environment: "prod",
			Strategy: contracts.StrategyCanary, Canary: &contracts.CanarySpec{
				Hosts: contracts.Size{Count: 1}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 2}}},
				Analysis: contracts.AnalysisSpec{Checks: []string{"errors"}, Interval: contracts.Duration(500 * time.Millisecond), Count: 2},
			}})
	}

	canary("r-prom-canary-ok", "2.4.1")
	v := h.waitState("r-prom-canary-ok", contracts.StateCompleted)
	if v.Counts.Succeeded != 3 {
		t.Fatalf("counts %+v", v.Counts)
	}

	rig.raiseErrors(t)
	canary("r-prom-canary-bad", "2.5.0")
	v = h.waitState("r-prom-canary-bad", contracts.StateRolledBack)
	var canaryHost *contracts.HostView
	for _, ph := range v.Phases {
		for i, hv := range ph.Hosts {
			if ph.Name == contracts.CanaryStep {
				canaryHost = &ph.Hosts[i]
			}
			if ph.Name == contracts.RestStep && hv.State != "pending" {
				t.Fatalf("rest host %s is %s: the rest must never start after a failed analysis", hv.Name, hv.State)
			}
		}
	}
	if canaryHost == nil || canaryHost.Rollback != "succeeded" {
		t.Fatalf("canary host %+v", canaryHost)
	}
	var redeployed bool
	for _, r := range h.results("prod", "r-prom-canary-bad") {
		if r.Host == canaryHost.Name && r.Version == "2.4.1" && r.Status == contracts.ResultSucceeded {
			redeployed = true
		}
	}
	if !redeployed {
		t.Fatalf("%s was not redeployed at 2.4.1: %+v", canaryHost.Name, h.results("prod", "r-prom-canary-bad"))
	}
}

// errorRatioRig is a real Prometheus scraping an app whose error rate the
// test sets, and an inventory of sim hosts at the app's address whose
// environment defines the error-ratio check "errors" (<= 1%).
type errorRatioRig struct {
	app                            *promtest.App
	base, target, query, inventory string
}

func newErrorRatioRig(t *testing.T, hosts int) *errorRatioRig {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	r := &errorRatioRig{app: promtest.NewApp(1)}
	srv := httptest.NewServer(r.app)
	t.Cleanup(srv.Close)
	r.target = strings.TrimPrefix(srv.URL, "http://")
	r.base = promtest.Start(t, r.target)
	r.query = strings.ReplaceAll(promtest.ErrorRatio("TARGET"), `"TARGET"`, `"{{.Host.Address}}"`)
	var b strings.Builder
	fmt.Fprintf(&b, `environments:
  - name: prod
    driver: {sim: {}}
    checks:
      errors:
        prometheus: {url: %q, query: %q, op: "<=", threshold: 0.01, timeout: 20s, deadline: 40s}
    hosts:
`, r.base, r.query)
	for i := 1; i <= hosts; i++ {
		fmt.Fprintf(&b, "      - {name: web-%02d, address: %q, groups: [web]}\n", i, r.target)
	}
	r.inventory = b.String()
	return r
}

// raiseErrors sets the app's error rate to 20% and waits until Prometheus
// reports the ratio over the check's 1%.
func (r *errorRatioRig) raiseErrors(t *testing.T) {
	t.Helper()
	r.app.SetErrorRate(200)
	natstest.CheckFor(t, waitLong, 200*time.Millisecond, func() error {
		v, err := promtest.Value(r.base, promtest.ErrorRatio(r.target))
		if err == nil && v <= 0.01 {
			err = fmt.Errorf("error ratio %v, not yet over 1%%", v)
		}
		return err
	})
}
