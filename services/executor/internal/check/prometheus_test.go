package check

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/promtest"
)

// TestPrometheusCheckAgainstRealServer: the check is inconclusive before
// Prometheus has data, passes while the app's error ratio is 0.1%, and
// fails once the test raises it to 20%.
func TestPrometheusCheckAgainstRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	app := promtest.NewApp(1)
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	target := strings.TrimPrefix(srv.URL, "http://")
	base := promtest.Start(t, target)

	threshold := 0.01
	spec := contracts.CheckSpec{Prometheus: &contracts.PrometheusCheck{
		URL: "{{index .Params \"prometheus\"}}",
		Query: `sum(rate(app_errors_total{instance="{{.Host.Address}}"}[5s]))` +
			` / sum(rate(app_requests_total{instance="{{.Host.Address}}"}[5s]))`,
		Op: "<=", Threshold: &threshold, Timeout: contracts.Duration(20 * time.Second),
	}}
	if fe := spec.Validate("checks.errors"); len(fe) > 0 {
		t.Fatal(fe)
	}
	runner := Runner{Prometheus: Prometheus{Client: &http.Client{}, Clock: clock.Real{}}}
	action := contracts.HostAction{Rollout: "r1", Environment: "prod", App: "app", Version: "1.0.0",
		Host:   contracts.ActionHost{Name: "app-01", Address: target},
		Params: map[string]string{"prometheus": base}}
	run := func() contracts.CheckResult {
		return runner.Run(context.Background(), "checks[0].spec", contracts.NamedCheck{Name: "errors", Spec: spec}, action)
	}
	// Before two scrapes are in the window, rate() has nothing: no samples.
	first := run()
	if first.Status == contracts.ResultFailed {
		t.Fatalf("before data: %+v", first)
	}
	seen := map[contracts.ResultStatus]string{first.Status: first.Error}
	waitFor := func(want contracts.ResultStatus) {
		t.Helper()
		natstest.CheckFor(t, 60*time.Second, 500*time.Millisecond, func() error {
			res := run()
			seen[res.Status] = res.Error
			if res.Status != want {
				return fmt.Errorf("status %s (%s), want %s", res.Status, res.Error, want)
			}
			return nil
		})
	}
	waitFor(contracts.ResultSucceeded)
	app.SetErrorRate(200)
	waitFor(contracts.ResultFailed)
	if msg := seen[contracts.ResultFailed]; !strings.Contains(msg, "want <= 0.01") || !strings.Contains(msg, "{}") {
		t.Fatalf("failure names the value and the threshold: %q", msg)
	}
	if msg, ok := seen[contracts.ResultInconclusive]; ok && !strings.Contains(msg, "no samples") && !strings.Contains(msg, "NaN") {
		t.Fatalf("inconclusive for another reason: %q", msg)
	}

	// A query Prometheus refuses fails, naming its error; a range vector
	// fails; an unreachable server is inconclusive.
	for _, tt := range []struct {
		url, query string
		status     contracts.ResultStatus
		msg        string
	}{
		{base, "sum(rate(app_errors_total[5s]", contracts.ResultFailed, "prometheus refused the query: bad_data"},
		{base, "app_errors_total[5s]", contracts.ResultFailed, "range vector"},
		{base, "absent_metric_total", contracts.ResultInconclusive, "no samples"},
		{"http://" + promtest.FreeAddr(t), "up", contracts.ResultInconclusive, "prometheus unreachable"},
	} {
		p := Prometheus{Client: &http.Client{}, Clock: clock.Real{}}
		res := p.Run(context.Background(), "q", tt.url, tt.query, "<=", 1, Polling{Consecutive: 1, Timeout: 20 * time.Second})
		if res.Status != tt.status || !strings.Contains(res.Error, tt.msg) {
			t.Errorf("%s %q: %+v, want %s %q", tt.url, tt.query, res, tt.status, tt.msg)
		}
	}
}
