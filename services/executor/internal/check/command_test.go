package check

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/render"
)

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func commandAction(params map[string]string) contracts.HostAction {
	return contracts.HostAction{ID: "r1/all/web-01/attempt-1", Rollout: "r1", Environment: "qa", App: "web", Version: "1.2.3",
		Attempt: 1, Host: contracts.ActionHost{Name: "web-01", Address: "10.0.0.1"}, Params: params}
}

func runCommandCheck(t *testing.T, spec contracts.CommandCheck, a contracts.HostAction) contracts.CheckResult {
	t.Helper()
	argv, err := Argv("checks[0].spec.command", spec, render.DataOf(a))
	if err != nil {
		t.Fatal(err)
	}
	p, err := CommandSettings("checks[0].spec.command", spec)
	if err != nil {
		t.Fatal(err)
	}
	c := Command{Clock: &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, Env: []string{"PATH=" + os.Getenv("PATH")}}
	return c.Run(context.Background(), "smoke", argv, a, p)
}

func TestCommandCheck(t *testing.T) {
	sh := lookPath(t, "sh")
	dir := t.TempDir()
	// The program sees the action in its environment and its rendered argv.
	out := filepath.Join(dir, "seen")
	res := runCommandCheck(t, contracts.CommandCheck{Command: []string{sh, "-c", `echo "$ROLLWAVE_CHECK $ROLLWAVE_HOST $ROLLWAVE_VERSION $1" > "$2"`, "sh", "{{.Host.Address}}", out}},
		commandAction(nil))
	if res.Status != contracts.ResultSucceeded || res.Attempts != 1 {
		t.Fatalf("exit 0: %+v", res)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "smoke web-01 1.2.3 10.0.0.1\n" {
		t.Fatalf("program saw %q, %v", b, err)
	}

	res = runCommandCheck(t, contracts.CommandCheck{Command: []string{sh, "-c", "echo not healthy: $1; exit 3", "sh", "{{.Host.Name}}"}}, commandAction(nil))
	if res.Status != contracts.ResultFailed || res.Attempts != 1 || !strings.Contains(res.Error, "exited with code 3") ||
		!strings.Contains(res.Error, "output: not healthy: web-01") {
		t.Fatalf("exit 3: %+v", res)
	}

	// With a deadline it retries until it passes: the program passes on its
	// third run.
	counter := filepath.Join(dir, "runs")
	res = runCommandCheck(t, contracts.CommandCheck{Command: []string{sh, "-c", `echo x >> "$1"; [ "$(wc -l < "$1")" -ge 3 ]`, "sh", counter},
		Deadline: contracts.Duration(10 * time.Second)}, commandAction(nil))
	if res.Status != contracts.ResultSucceeded || res.Attempts != 3 {
		t.Fatalf("retries: %+v", res)
	}

	res = runCommandCheck(t, contracts.CommandCheck{Command: []string{lookPath(t, "sleep"), "30"}, Timeout: contracts.Duration(200 * time.Millisecond)}, commandAction(nil))
	if res.Status != contracts.ResultFailed || !strings.Contains(res.Error, "timed out after 200ms") {
		t.Fatalf("timeout: %+v", res)
	}

	res = runCommandCheck(t, contracts.CommandCheck{Command: []string{filepath.Join(dir, "no-such-program")}}, commandAction(nil))
	if res.Status != contracts.ResultFailed || !strings.Contains(res.Error, "no-such-program") {
		t.Fatalf("missing program: %+v", res)
	}

	if _, err := Argv("checks[0].spec.command", contracts.CommandCheck{Command: []string{"x", `{{index .Params "nope"}}`}}, render.DataOf(commandAction(nil))); err == nil ||
		!strings.Contains(err.Error(), "checks[0].spec.command.command[1]") {
		t.Fatalf("missing param: %v", err)
	}
}

// A parameter full of shell metacharacters arrives as one argument and is
// never interpreted: no file is created, whatever the program.
func TestCommandCheckNeverUsesAShell(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	for _, v := range []string{"x;touch " + pwned, "x && touch " + pwned, "$(touch " + pwned + ")", "`touch " + pwned + "`", "x | touch " + pwned} {
		a := commandAction(map[string]string{"v": v})
		res := runCommandCheck(t, contracts.CommandCheck{Command: []string{lookPath(t, "echo"), `{{index .Params "v"}}`}}, a)
		if res.Status != contracts.ResultSucceeded {
			t.Fatalf("%q: %+v", v, res)
		}
		res = runCommandCheck(t, contracts.CommandCheck{Command: []string{lookPath(t, "ls"), `{{index .Params "v"}}`}}, a)
		if res.Status != contracts.ResultFailed || !strings.Contains(res.Error, v) {
			t.Fatalf("%q: ls should fail naming the literal argument: %+v", v, res)
		}
		if _, err := os.Stat(pwned); !os.IsNotExist(err) {
			t.Fatalf("%q created %s", v, pwned)
		}
	}
}
