package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/archivetest"
	"github.com/rollwave/rollwave/pkg/artifact"
	"github.com/rollwave/rollwave/pkg/haproxy"
	"github.com/rollwave/rollwave/pkg/haproxytest"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/agent"
)

// The zero-downtime proof (also `make demo`): four demo app instances
// behind a real HAProxy, each deployed by its own host agent from
// artifacts in the object store, under steady HTTP load on HAProxy the
// whole time. Each rollout must end with no failed request and the
// expected version on every instance.

// demoStart is the agents' start command: record the server's state in
// HAProxy, stop the instance in the pid
// file (SIGTERM: it drains its requests in flight), start the release's
// version detached, and succeed only once it is healthy. A release with a
// BROKEN file starts broken, never gets healthy, and so fails its deploy.
const demoStart = `#!/bin/sh
set -u
# What HAProxy says of this server as the deploy starts: the test reads it.
"$DEMO_BIN" haproxy show --socket "$DEMO_SOCKET" --backend web |
  awk -v h="$ROLLWAVE_HOST" -v v="$ROLLWAVE_VERSION" '$1 == h {print v, $0}' >>"$DEMO_STATES"
if [ -f "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE")
  kill -TERM "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
    i=$((i+1)); [ "$i" -gt 600 ] && { kill -KILL "$pid"; break; }
    sleep 0.05
  done
  rm -f "$PIDFILE"
fi
broken=""
[ -f BROKEN ] && broken=--broken
setsid "$DEMO_BIN" demo-app --addr "$DEMO_ADDR" --version "$ROLLWAVE_VERSION" --delay 5ms --pid-file "$PIDFILE" $broken </dev/null >>"$DEMO_LOG" 2>&1 &
i=0
until "$DEMO_BIN" healthcheck --url "http://$DEMO_ADDR/healthz" --timeout 1s >/dev/null 2>&1; do
  i=$((i+1)); [ "$i" -gt 100 ] && { echo "version $ROLLWAVE_VERSION not healthy on $DEMO_ADDR"; exit 1; }
  sleep 0.1
done
echo "version $ROLLWAVE_VERSION healthy on $DEMO_ADDR"
`

// demoArchive is a release of the demo app: VERSION, and BROKEN when
// broken.
func demoArchive(t *testing.T, version string, broken bool) []byte {
	t.Helper()
	files := []archivetest.Entry{archivetest.File("VERSION", version)}
	if broken {
		files = append(files, archivetest.File("BROKEN", "this release fails its health check\n"))
	}
	return archivetest.TarGz(t, files...)
}

// demoHost is one instance: its agent's host name and the app's address.
type demoHost struct {
	name, addr, pidFile string
}

func startDemoAgent(t *testing.T, h *harness, host demoHost, bin, script, socket, dir string) {
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
	a, err := agent.New(service.Deps{NC: nc, JS: js, Log: slog.New(slog.DiscardHandler)}, agent.Config{
		Name: host.name, Environment: "qa", Dir: filepath.Join(dir, "agent"), Start: []string{script}, Interval: 200 * time.Millisecond,
		Env: []string{"PATH=" + os.Getenv("PATH"), "DEMO_BIN=" + bin, "DEMO_ADDR=" + host.addr,
			"PIDFILE=" + host.pidFile, "DEMO_LOG=" + filepath.Join(dir, "app.log"),
			"DEMO_SOCKET=" + socket, "DEMO_STATES=" + filepath.Join(dir, "states")},
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
	// The instances outlive the agent by design (their own session):
	// stop the last one when the test ends.
	t.Cleanup(func() {
		if b, err := os.ReadFile(host.pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

// load is steady HTTP load on one URL, bounded in count and in time.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	lat    []time.Duration
	failed int
	errs   []string
}

const (
	loadWorkers  = 4
	loadMaxCount = 400_000
	loadMaxTime  = 5 * time.Minute
)

func startLoad(url string) *load {
	ctx, cancel := context.WithTimeout(context.Background(), loadMaxTime)
	l := &load{cancel: cancel}
	for range loadWorkers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for ctx.Err() == nil {
				start := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := client.Do(req)
				var failure string
				if err != nil {
					if ctx.Err() != nil {
						return // stopped, not a failure
					}
					failure = err.Error()
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						failure = fmt.Sprintf("status %d from %s", resp.StatusCode, resp.Header.Get("X-Version"))
					}
				}
				l.mu.Lock()
				l.lat = append(l.lat, time.Since(start))
				if failure != "" {
					l.failed++
					if len(l.errs) < 5 {
						l.errs = append(l.errs, failure)
					}
				}
				full := len(l.lat) >= loadMaxCount
				l.mu.Unlock()
				if full {
					return
				}
			}
		}()
	}
	return l
}

// stop ends the load and returns its figures.
func (l *load) stop() (n, failed int, p50, p99 time.Duration, errs []string) {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	lat := slices.Clone(l.lat)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	return len(lat), l.failed, pct(0.50), pct(0.99), l.errs
}

func versionOf(addr string) string {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/version")
	if err != nil {
		return "down"
	}
	defer resp.Body.Close()
	var v struct{ Version string }
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return "unreadable"
	}
	return v.Version
}

func ms(d time.Duration) int64 { return (d + time.Millisecond/2).Milliseconds() }

func TestZeroDowntimeRollouts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rollwave and runs three rollouts under load")
	}
	haproxytest.Path(t) // skips (or fails under ROLLWAVE_REQUIRE_TOOLS) without haproxy
	bin := buildRollwave(t)
	dir := t.TempDir()
	hosts := make([]demoHost, 4)
	var servers []haproxytest.Backend
	for i := range hosts {
		name := fmt.Sprintf("web-%02d", i+1)
		hosts[i] = demoHost{name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), pidFile: filepath.Join(dir, name+".pid")}
		servers = append(servers, haproxytest.Backend{Name: name, Addr: hosts[i].addr})
	}
	hp := haproxytest.StartWith(t, "web", servers, haproxytest.Options{HealthPath: "/healthz", NoRetry: true})
	lb, err := haproxy.New(hp.Socket)
	if err != nil {
		t.Fatal(err)
	}

	var inv strings.Builder
	fmt.Fprintf(&inv, `environments:
  - name: qa
    procedures:
      lb:
        driver: {agent: {timeout: 2m}}
        before_host:
          - haproxy: {socket: %[1]s, backend: web, server: "{{.Host.Name}}", state: drain, wait_sessions: 30s}
        after_host:
          - haproxy: {socket: %[1]s, backend: web, server: "{{.Host.Name}}", state: ready}
      bg:
        driver: {agent: {timeout: 2m}}
        traffic:
          exec:
            command: [%[2]s, haproxy, switch, --socket, %[1]s, --backend, web, --set, "blue=web-01,web-02", --set, "green=web-03,web-04", --to, "{{.Target}}"]
    hosts:
`, hp.Socket, bin)
	for i, host := range hosts {
		color := "blue"
		if i >= 2 {
			color = "green"
		}
		fmt.Fprintf(&inv, "      - {name: %s, address: %q, labels: {color: %s}}\n", host.name, host.addr, color)
	}
	h := newHarness(t, harnessOpts{inventory: inv.String()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	store, err := artifact.Ensure(ctx, h.st.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0", "4.0.0"} {
		if _, err := artifact.Push(ctx, store, "demo", v, bytes.NewReader(demoArchive(t, v, v == "4.0.0"))); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(dir, "start.sh")
	if err := os.WriteFile(script, []byte(demoStart), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, host := range hosts {
		hdir := filepath.Join(dir, host.name)
		if err := os.MkdirAll(hdir, 0o755); err != nil {
			t.Fatal(err)
		}
		startDemoAgent(t, h, host, bin, script, hp.Socket, hdir)
	}
	healthz := map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz",
		Status: 200, Interval: contracts.Duration(100 * time.Millisecond), Deadline: contracts.Duration(30 * time.Second)}}}
	batch1 := contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}
	rolling := func(id, version string) contracts.DeployRequest {
		return contracts.DeployRequest{ID: id, App: "demo", Version: version, Environment: "qa", Procedure: "lb", Checks: healthz,
			Phases: []contracts.PhaseSpec{{Name: "all", Batch: batch1, Checks: []string{"healthz"}}}}
	}
	versions := func(want map[string]string) bool {
		ok := true
		for _, host := range hosts {
			if got := versionOf(host.addr); got != want[host.name] {
				t.Errorf("%s serves %q, want %q", host.name, got, want[host.name])
				ok = false
			}
		}
		return ok
	}
	all := func(v string) map[string]string {
		return map[string]string{"web-01": v, "web-02": v, "web-03": v, "web-04": v}
	}
	// measured runs a rollout under load and prints the demo's line.
	measured := func(strategy string, req contracts.DeployRequest, state contracts.State, want map[string]string) {
		t.Helper()
		l := startLoad("http://" + hp.Frontend + "/")
		h.deploy(ctx, req)
		h.waitState(req.ID, state)
		n, failed, p50, p99, errs := l.stop()
		verdict := "ok"
		if !versions(want) {
			verdict = "mismatch"
		}
		fmt.Printf("demo %s: requests=%d failed=%d p50=%dms p99=%dms versions=%s\n", strategy, n, failed, ms(p50), ms(p99), verdict)
		if failed > 0 {
			t.Errorf("%s: %d of %d requests failed, such as %q\nhaproxy log:\n%s", strategy, failed, n, errs, hp.Log())
		}
		if n == 0 {
			t.Errorf("%s: the load made no request", strategy)
		}
	}

	// v1 everywhere, before any load: the starting point.
	h.deploy(ctx, rolling("r-demo-v1", "1.0.0"))
	h.waitState("r-demo-v1", contracts.StateCompleted)
	if !versions(all("1.0.0")) {
		t.Fatal("v1 is not everywhere")
	}

	// (1) Rolling v1 -> v2 at batch 1 through the agents: each host is
	// drained, waited on, deployed, checked and re-enabled in turn.
	measured("rolling", rolling("r-demo-v2", "2.0.0"), contracts.StateCompleted, all("2.0.0"))
	// Each host was drained, with no session left, when its deploy began.
	for _, host := range hosts {
		b, err := os.ReadFile(filepath.Join(dir, host.name, "states"))
		if err != nil {
			t.Fatal(err)
		}
		var seen string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "2.0.0 ") {
				seen = line
			}
		}
		if !strings.Contains(seen, "\tDRAIN\t") || !strings.Contains(seen, "sessions=0") {
			t.Errorf("%s: HAProxy at the start of its v2 deploy: %q, want drained with no session (all: %q)", host.name, seen, b)
		}
	}
	if t.Failed() {
		return
	}

	// (2) Blue-green v2 -> v3: traffic on blue; green is deployed while
	// idle, then the switch sends traffic to green.
	if err := lb.Switch(ctx, "web", map[string][]string{"blue": {"web-01", "web-02"}, "green": {"web-03", "web-04"}}, "blue", haproxy.Drain, 0); err != nil {
		t.Fatal(err)
	}
	measured("blue-green", contracts.DeployRequest{ID: "r-demo-v3", App: "demo", Version: "3.0.0", Environment: "qa", Procedure: "bg",
		Strategy: contracts.StrategyBlueGreen, Checks: healthz,
		BlueGreen: &contracts.BlueGreenSpec{Live: "blue", Checks: []string{"healthz"}, Batch: batch1, Traffic: contracts.TrafficSpec{Procedure: "bg"}}},
		contracts.StateCompleted, map[string]string{"web-01": "2.0.0", "web-02": "2.0.0", "web-03": "3.0.0", "web-04": "3.0.0"})
	for _, s := range []string{"web-01", "web-02"} {
		if st, err := lb.Server(ctx, "web", s); err != nil || st.Status != "DRAIN" {
			t.Errorf("after the switch blue's %s is %+v (%v), want drained", s, st, err)
		}
	}
	if t.Failed() {
		return
	}

	// (3) Canary with a broken v4: the canary host (web-01) is drained,
	// v4 never gets healthy, and the rollout rolls back by itself to what
	// web-01 ran.
	measured("canary", contracts.DeployRequest{ID: "r-demo-v4", App: "demo", Version: "4.0.0", Environment: "qa", Procedure: "lb",
		Strategy: contracts.StrategyCanary, Checks: healthz,
		Canary: &contracts.CanarySpec{Hosts: contracts.Size{Count: 1}, Batch: batch1,
			Analysis: contracts.AnalysisSpec{Checks: []string{"healthz"}, Count: 1}}},
		contracts.StateRolledBack, map[string]string{"web-01": "2.0.0", "web-02": "2.0.0", "web-03": "3.0.0", "web-04": "3.0.0"})
}
