package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// The inventory says what hosts run: a host whose install succeeded runs
// the new version even when its check failed (marked unverified); only a
// failed install keeps the old version.
func TestInventoryAfterFailedCheckAndFailedInstall(t *testing.T) {
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("host") == "web-02" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(health.Close)
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {fail_hosts: [web-03]}}")})
	ctx := context.Background()
	req := contracts.DeployRequest{
		ID: "r-truth", App: "web", Version: "2.4.1", Environment: "prod",
		Phases: []contracts.PhaseSpec{{Name: "all", Selector: &contracts.Selector{Group: "web"},
			Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 10}}}, Checks: []string{"healthz"}}},
		Failure: contracts.FailurePolicy{MaxFailed: contracts.Size{Count: 5}, OnFailure: contracts.OnFailurePause},
		Checks: map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{
			URL: health.URL + "/healthz?host={{.Host.Name}}", Interval: contracts.Duration(10 * time.Millisecond),
			Deadline: contracts.Duration(200 * time.Millisecond)}}},
	}
	h.deploy(ctx, req)
	h.waitState("r-truth", contracts.StateCompleted)
	natstest.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
		env, err := natsx.Request[contracts.Environment](ctx, h.st.NC, contracts.APIDiscoveryTargets, contracts.TargetsQuery{Environment: "prod", App: "web"})
		if err != nil {
			return err
		}
		for _, host := range env.Hosts {
			v := host.Versions["web"]
			switch host.Name {
			case "web-02": // installed, check failed
				if v.Version != "2.4.1" || !v.Unverified {
					return fmt.Errorf("%s: %+v, want 2.4.1 unverified", host.Name, v)
				}
			case "web-03": // install failed
				if v.Version != "" {
					return fmt.Errorf("%s: %+v, want no version recorded", host.Name, v)
				}
			default:
				if v.Version != "2.4.1" || v.Unverified {
					return fmt.Errorf("%s: %+v, want 2.4.1 verified", host.Name, v)
				}
			}
		}
		return nil
	})
}
