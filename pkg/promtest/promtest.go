// Package promtest runs a real Prometheus server for tests (the Debian
// package's binary, which make test-deps installs), scraping a test app
// whose error rate the test sets.
package promtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rollwave/rollwave/pkg/proctest"
)

// Start runs Prometheus scraping targets (host:port) every second under the
// job "app" and returns its base URL once it is ready; it stops when the
// test ends. Without the binary the test is skipped, or fails when
// ROLLWAVE_REQUIRE_TOOLS is set.
func Start(t testing.TB, targets ...string) string {
	t.Helper()
	bin := proctest.Tool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, target := range targets {
		quoted[i] = fmt.Sprintf("%q", target)
	}
	config := filepath.Join(dir, "prometheus.yml")
	cfg := "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [" +
		strings.Join(quoted, ", ") + "]\n"
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logs := &proctest.Output{}
	cmd.Stdout, cmd.Stderr = logs, logs
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
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("prometheus exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := client.Get(base + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
			err = fmt.Errorf("ready: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 60s: %v\n%s", err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// App serves the counters app_requests_total and app_errors_total; every
// scrape adds 1000 requests, of which the per-mille error rate fail. Serve
// it with httptest.NewServer.
type App struct {
	mu               sync.Mutex
	requests, errors int
	permille         int
}

// NewApp returns an app failing permille of its requests.
func NewApp(permille int) *App { return &App{permille: permille} }

// SetErrorRate changes the share of failing requests, in per mille.
func (a *App) SetErrorRate(permille int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.permille = permille
}

func (a *App) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	a.requests += 1000
	a.errors += a.permille
	req, errs := a.requests, a.errors
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE app_requests_total counter\napp_requests_total %d\n# TYPE app_errors_total counter\napp_errors_total %d\n", req, errs)
}

// ErrorRatio is the PromQL of the app's error ratio at instance over the
// last 5 s.
func ErrorRatio(instance string) string {
	return fmt.Sprintf(`sum(rate(app_errors_total{instance=%q}[5s])) / sum(rate(app_requests_total{instance=%q}[5s]))`, instance, instance)
}

// Value runs an instant query and returns the value of its one sample; an
// answer with no samples is an error.
func Value(base, query string) (float64, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/api/v1/query?" + url.Values{"query": {query}}.Encode())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return 0, fmt.Errorf("decode answer: %w", err)
	}
	if ans.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", query, ans.Error)
	}
	if len(ans.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: %d samples, want 1", query, len(ans.Data.Result))
	}
	s, _ := ans.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}
