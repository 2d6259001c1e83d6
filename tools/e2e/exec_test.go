package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// buildRollwave compiles the rollwave binary that the exec hosts run.
func buildRollwave(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "rollwave")
	cmd := exec.Command("go", "build", "-o", exe, "../rollwave")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build rollwave: %v\n%s", err, out)
	}
	return exe
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// (d) The exec driver deploys to real local processes, and the HTTP check
// verifies them.
func TestExecDriverDeploysRealProcesses(t *testing.T) {
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
	check := map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{
		URL: "http://{{.Host.Address}}/healthz", Status: 200, Consecutive: 2,
		Interval: contracts.Duration(50 * time.Millisecond), Timeout: contracts.Duration(time.Second),
	}}}
	for _, version := range []string{"1.0.0", "1.1.0"} {
		id := "r-exec-" + strings.ReplaceAll(version, ".", "-")
		h.deploy(context.Background(), contracts.DeployRequest{
			ID: id, App: "hello", Version: version, Environment: "qa", Checks: check,
			Phases: []contracts.PhaseSpec{
				{Name: "canary", Hosts: []string{"app-01"}, Checks: []string{"healthz"}},
				{Name: "rest", Selector: &contracts.Selector{Group: "app"}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 2}}}, Checks: []string{"healthz"}},
			},
		})
		v := h.waitState(id, contracts.StateCompleted)
		if v.Counts.Succeeded != 3 {
			for _, r := range h.results("qa", id) {
				t.Logf("%s: %s %s %q", r.Host, r.Status, r.Error, r.Output)
			}
			t.Fatalf("%s: counts %+v", id, v.Counts)
		}
		for _, addr := range addrs {
			if got := servedVersion(t, addr); got != version {
				t.Fatalf("%s serves %q, want %q", addr, got, version)
			}
		}
		for _, r := range h.results("qa", id) {
			if len(r.Checks) != 1 || r.Checks[0].Status != contracts.ResultSucceeded || r.Checks[0].Attempts < 2 {
				t.Fatalf("%s: checks %+v", r.Host, r.Checks)
			}
			if !strings.Contains(r.Output, "healthy") {
				t.Fatalf("%s: output tail %q", r.Host, r.Output)
			}
		}
	}
}

func servedVersion(t *testing.T, addr string) string {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Version
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
