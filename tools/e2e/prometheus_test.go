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
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	app := promtest.NewApp(1)
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	target := strings.TrimPrefix(srv.URL, "http://")
	base := promtest.Start(t, target)

	query := strings.ReplaceAll(promtest.ErrorRatio("TARGET"), `"TARGET"`, `"{{.Host.Address}}"`)
	inventory := fmt.Sprintf(`environments:
  - name: prod
    driver: {sim: {}}
    checks:
      errors:
        prometheus: {url: %q, query: %q, op: "<=", threshold: 0.01, timeout: 20s, deadline: 40s}
    hosts:
      - {name: web-01, address: %q, groups: [web]}
      - {name: web-02, address: %q, groups: [web]}
`, base, query, target, target)
	h := newHarness(t, harnessOpts{inventory: inventory})
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

	app.SetErrorRate(200)
	natstest.CheckFor(t, waitLong, 200*time.Millisecond, func() error {
		v, err := promtest.Value(base, promtest.ErrorRatio(target))
		if err == nil && v <= 0.01 {
			err = fmt.Errorf("error ratio %v, not yet over 1%%", v)
		}
		return err
	})
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
