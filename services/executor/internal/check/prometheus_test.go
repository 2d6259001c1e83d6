package check

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// testApp serves counters of requests and errors; every scrape adds 100
// requests, of which the error permille the test sets fail.
type testApp struct {
	mu                 sync.Mutex
	requests, errors   int
	errorsPerThousands int
}

func (a *testApp) setErrorRate(permille int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errorsPerThousands = permille
}

func (a *testApp) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	a.requests += 1000
	a.errors += a.errorsPerThousands
	req, errs := a.requests, a.errors
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE app_requests_total counter\napp_requests_total %d\n# TYPE app_errors_total counter\napp_errors_total %d\n", req, errs)
}

// startPrometheus runs a real Prometheus server scraping target every
// second and returns its base URL once it is ready.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("ROLLWAVE_REQUIRE_TOOLS") != "" {
			t.Fatal("prometheus is missing (make test-deps installs the Debian package)")
		}
		t.Skip("prometheus is missing: the prometheus check test is skipped (make test-deps installs the Debian package)")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: logs}, &lockedWriter{w: logs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	base := "http://" + addr
	natstest.CheckFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("prometheus exited: %v\n%s", err, logs)
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ready: %s", resp.Status)
		}
		return nil
	})
	return base
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPrometheusCheckAgainstRealServer: the check is inconclusive before
// Prometheus has data, passes while the app's error ratio is 0.1%, and
// fails once the test raises it to 20%.
func TestPrometheusCheckAgainstRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	app := &testApp{errorsPerThousands: 1}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	target := strings.TrimPrefix(srv.URL, "http://")
	base := startPrometheus(t, target)

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
	app.setErrorRate(200)
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
		{"http://" + freeAddr(t), "up", contracts.ResultInconclusive, "prometheus unreachable"},
	} {
		p := Prometheus{Client: &http.Client{}, Clock: clock.Real{}}
		res := p.Run(context.Background(), "q", tt.url, tt.query, "<=", 1, Polling{Consecutive: 1, Timeout: 20 * time.Second})
		if res.Status != tt.status || !strings.Contains(res.Error, tt.msg) {
			t.Errorf("%s %q: %+v, want %s %q", tt.url, tt.query, res, tt.status, tt.msg)
		}
	}
}
