package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rollwave/rollwave/pkg/proctest"
)

// After kill -9 of `rollwave dev`, none of the sample apps it deployed
// survives it.
func TestDevKilledLeavesNoSampleApps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rollwave binary")
	}
	exe := buildRollwave(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dev, data, api := startDev(ctx, t, exe)
	deployLocalQA(ctx, t, exe, data, api)
	pidFiles, _ := filepath.Glob(filepath.Join(data, "apps", "*", "*", "app.pid"))
	if len(pidFiles) == 0 {
		t.Fatal("no sample app was started")
	}
	var pids []int
	for _, f := range pidFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || !proctest.Alive(pid) {
			t.Fatalf("%s: pid %q not running", f, b)
		}
		pids = append(pids, pid)
	}
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	if err := dev.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = dev.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []int
		for _, pid := range pids {
			if proctest.Alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sample apps %v outlived dev by 10s", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startDev runs `rollwave dev` on a new data directory and a free API
// port, and waits until it is ready.
func startDev(ctx context.Context, t *testing.T, exe string) (dev *exec.Cmd, data, api string) {
	t.Helper()
	data = t.TempDir()
	api = "127.0.0.1:" + strconv.Itoa(freePort(t))
	dev = exec.CommandContext(ctx, exe, "dev", "--data", data, "--nats-port", "-1", "--listen", api)
	stdout, err := dev.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	dev.Stderr = os.Stderr
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dev.Process.Kill(); _ = dev.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Rollwave is running") {
				close(ready)
				break
			}
		}
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("dev did not start")
	}
	return dev, data, api
}

// deployLocalQA deploys the sample's local-qa example, real local
// processes, and waits until it completes.
func deployLocalQA(ctx context.Context, t *testing.T, exe, data, api string) {
	t.Helper()
	deploy := exec.CommandContext(ctx, exe, "deploy", "-f", filepath.Join(data, "examples", "local-qa.yaml"), "--wait", "--timeout", "90s")
	deploy.Env = append(os.Environ(), "ROLLWAVE_API=http://"+api, "NO_COLOR=1")
	if out, err := deploy.CombinedOutput(); err != nil {
		t.Fatalf("deploy local-qa: %v\n%s", err, out)
	}
}

var samplePort = regexp.MustCompile(`name: (qa-local-\d+), address: 127\.0\.0\.1:(\d+)`)

// Two checkouts run `rollwave dev` side by side: each deploys its sample
// apps on its own ports, and both serve.
func TestTwoDevsSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rollwave binary")
	}
	exe := buildRollwave(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, dataA, apiA := startDev(ctx, t, exe)
	t.Cleanup(func() { stopSampleApps(t, dataA) })
	deployLocalQA(ctx, t, exe, dataA, apiA)
	// The second checkout starts while the first one's apps run.
	_, dataB, apiB := startDev(ctx, t, exe)
	t.Cleanup(func() { stopSampleApps(t, dataB) })
	deployLocalQA(ctx, t, exe, dataB, apiB)

	ports := map[string]string{}
	for _, data := range []string{dataA, dataB} {
		inv, err := os.ReadFile(filepath.Join(data, "inventory.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ms := samplePort.FindAllStringSubmatch(string(inv), -1)
		if len(ms) != 3 {
			t.Fatalf("%s: %d qa local hosts", data, len(ms))
		}
		for _, m := range ms {
			if other, ok := ports[m[2]]; ok {
				t.Fatalf("port %s is %s of both checkouts", m[2], other)
			}
			ports[m[2]] = m[1]
			// Each app of both checkouts serves the deployed version.
			body := httpGet(t, "http://127.0.0.1:"+m[2]+"/")
			if !strings.Contains(body, "1.1.0") {
				t.Fatalf("%s of %s answers %q", m[1], data, body)
			}
		}
	}
}

// stopSampleApps kills the sample apps a dev deployed, found by their pid
// files.
func stopSampleApps(t *testing.T, data string) {
	t.Helper()
	pidFiles, _ := filepath.Glob(filepath.Join(data, "apps", "*", "*", "app.pid"))
	for _, f := range pidFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
