package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/proctest"
)

func execAction(command []string, env map[string]string, timeout time.Duration) contracts.HostAction {
	return contracts.HostAction{
		ID: "r1/0/web-01/attempt-1", Rollout: "r1", Environment: "prod", App: "web",
		Version: "2.4.1", PreviousVersion: "2.4.0", Attempt: 1,
		Host: contracts.ActionHost{Name: "web-01", Address: "10.0.0.1",
			Params: map[string]string{"port": "8080", "data-dir": "/srv/a"}},
		Params: map[string]string{"ticket": "OPS-1", "port": "9090"},
		Driver: contracts.DriverSpec{Exec: &contracts.ExecDriver{
			Command: command, Env: env, Timeout: contracts.Duration(timeout)}},
	}
}

func testExec() Exec {
	// GORACE: a race-enabled helper would otherwise linger 1s at exit.
	return Exec{Env: []string{"PATH=" + os.Getenv("PATH"), helperEnv, "GORACE=atexit_sleep_ms=0"}, OutputTail: 4096}
}

func TestExecArgvVerbatim(t *testing.T) {
	hostile := []string{"$(rm -rf /)", "a; b", "`id`", "x && y", "'quoted' \"double\"", "*", "with space", "new\nline", "$HOME", "-", ""}
	a := execAction([]string{os.Args[0], "args", "{{.Host.Name}}", "{{.Version}}", "{{.Host.Params.evil}}", "literal;|&"}, nil, 0)
	a.Host.Name = hostile[0]
	a.Version = hostile[1]
	a.Host.Params = map[string]string{"evil": hostile[2]}
	a.Params = map[string]string{}
	want := []string{hostile[0], hostile[1], hostile[2], "literal;|&"}
	for i, v := range hostile {
		k := fmt.Sprintf("p%d", i)
		a.Params[k] = v
		a.Driver.Exec.Command = append(a.Driver.Exec.Command, fmt.Sprintf("{{index .Params %q}}", k))
		want = append(want, v)
	}
	out, err := testExec().Run(context.Background(), a)
	if err != nil {
		t.Fatalf("%v (output %q)", err, out.Output)
	}
	var got []string
	if err := json.Unmarshal([]byte(out.Output), &got); err != nil {
		t.Fatalf("output %q: %v", out.Output, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("argv = %q, want %q", got, want)
	}
	if out.ExitCode == nil || *out.ExitCode != 0 {
		t.Fatalf("exit code = %v", out.ExitCode)
	}
}

func TestExecEnvironment(t *testing.T) {
	a := execAction([]string{os.Args[0], "env"}, map[string]string{"DEPLOY_TARGET": "{{.Host.Address}}:{{index .Params \"port\"}}", "ROLLWAVE_APP": "overridden"}, 0)
	out, err := testExec().Run(context.Background(), a)
	if err != nil {
		t.Fatalf("%v: %s", err, out.Output)
	}
	var env []string
	if err := json.Unmarshal([]byte(out.Output), &env); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	want := map[string]string{
		"ROLLWAVE_HOST": "web-01", "ROLLWAVE_ADDRESS": "10.0.0.1", "ROLLWAVE_APP": "overridden",
		"ROLLWAVE_VERSION": "2.4.1", "ROLLWAVE_PREVIOUS_VERSION": "2.4.0", "ROLLWAVE_ROLLOUT": "r1",
		"ROLLWAVE_ENVIRONMENT": "prod", "ROLLWAVE_ACTION_ID": "r1/0/web-01/attempt-1", "ROLLWAVE_ATTEMPT": "1",
		"ROLLWAVE_PARAM_PORT": "9090", "ROLLWAVE_PARAM_DATA_DIR": "/srv/a",
		"ROLLWAVE_PARAM_TICKET": "OPS-1", "DEPLOY_TARGET": "10.0.0.1:9090", "PATH": os.Getenv("PATH"),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// Nothing of the executor's own environment leaks in beyond ExecEnv.
	for k := range got {
		if _, ok := want[k]; !ok && k != "ROLLWAVE_DRIVER_TEST_HELPER" && k != "GORACE" {
			t.Errorf("unexpected variable %s", k)
		}
	}
}

func TestExecFailures(t *testing.T) {
	tests := []struct {
		name     string
		command  []string
		env      map[string]string
		wantErr  string
		wantCode *int
		wantOut  string
	}{
		{name: "exit code", command: []string{os.Args[0], "exit", "3"}, wantErr: "exited with code 3", wantCode: ptr(3),
			wantOut: "failing with 3"},
		{name: "missing program", command: []string{"/nonexistent/deploy.sh"}, wantErr: "no such file"},
		{name: "template error", command: []string{os.Args[0], "{{.Host.Params.nope}}"}, wantErr: `template driver.exec.command[1]`},
		{name: "empty command", command: nil, wantErr: "driver.exec.command: must name a program"},
		{name: "empty program", command: []string{"{{.PreviousVersion}}x"[:0]}, wantErr: "driver.exec.command[0]"},
		{name: "bad env name", command: []string{os.Args[0], "args"}, env: map[string]string{"A=B": "x"}, wantErr: `driver.exec.env["A=B"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := testExec().Run(context.Background(), execAction(tt.command, tt.env, 0))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantCode != nil && (out.ExitCode == nil || *out.ExitCode != *tt.wantCode) {
				t.Fatalf("exit code = %v, want %d", out.ExitCode, *tt.wantCode)
			}
			if !strings.Contains(out.Output, tt.wantOut) {
				t.Fatalf("output %q lacks %q", out.Output, tt.wantOut)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	a := execAction([]string{os.Args[0], "spawn", pidFile}, nil, 500*time.Millisecond)
	start := time.Now()
	out, err := testExec().Run(context.Background(), a)
	if err == nil || err.Error() != "timed out after 500ms" {
		t.Fatalf("err = %v, want timed out after 500ms", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("timeout took %v: output pipes kept the run waiting", took)
	}
	_ = out
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("grandchild never started: %v", err)
	}
	pid, _ := strconv.Atoi(string(b))
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if proctest.Alive(pid) {
			return fmt.Errorf("grandchild %d still alive", pid)
		}
		return nil
	})
}

func TestExecExitKillsLeftoverGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	a := execAction([]string{os.Args[0], "spawnexit", pidFile}, nil, time.Minute)
	if _, err := testExec().Run(context.Background(), a); err != nil {
		t.Fatalf("run: %v", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("grandchild never started: %v", err)
	}
	pid, _ := strconv.Atoi(string(b))
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if proctest.Alive(pid) {
			return fmt.Errorf("grandchild %d outlived a program that exited", pid)
		}
		return nil
	})
}

func TestExecCancelKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := testExec().Run(ctx, execAction([]string{os.Args[0], "spawn", pidFile}, nil, time.Minute))
		done <- err
	}()
	var pid int
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil || len(b) == 0 {
			return fmt.Errorf("no pid yet")
		}
		pid, err = strconv.Atoi(string(b))
		return err
	})
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("err = %v, want interrupted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if proctest.Alive(pid) {
			return fmt.Errorf("grandchild %d still alive", pid)
		}
		return nil
	})
}

func TestExecOutputTailBounded(t *testing.T) {
	e := testExec()
	e.OutputTail = 1000
	out, err := e.Run(context.Background(), execAction([]string{os.Args[0], "spew", "5000000"}, nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Output) != 1000 {
		t.Fatalf("output is %d bytes, want the last 1000", len(out.Output))
	}
	if !strings.HasSuffix(out.Output, "xxx\nTHE END") {
		t.Fatalf("output does not end with the program's last bytes: %q", out.Output[len(out.Output)-40:])
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"port": "PORT", "data-dir": "DATA_DIR", "a.b c": "A_B_C", "x9": "X9", "é": "__"} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkFor polls f until it returns nil or timeout passes.
func checkFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}
