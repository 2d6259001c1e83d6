package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	data := t.TempDir()
	api := "127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dev := exec.CommandContext(ctx, exe, "dev", "--data", data, "--nats-port", "-1", "--listen", api)
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

	deploy := exec.CommandContext(ctx, exe, "deploy", "-f", filepath.Join(data, "examples", "local-qa.yaml"), "--wait", "--timeout", "90s")
	deploy.Env = append(os.Environ(), "ROLLWAVE_API=http://"+api, "NO_COLOR=1")
	if out, err := deploy.CombinedOutput(); err != nil {
		t.Fatalf("deploy local-qa: %v\n%s", err, out)
	}
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
