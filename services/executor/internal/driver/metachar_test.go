package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/services/executor/internal/sshdtest"
)

// hostilePayloads are values that would each create a file in dir if any
// shell anywhere on the way interpreted them.
func hostilePayloads(dir string) []string {
	f := func(n int) string { return filepath.Join(dir, fmt.Sprintf("pwned%d", n)) }
	return []string{
		";touch " + f(1),
		"$(touch " + f(2) + ")",
		"`touch " + f(3) + "`",
		"'; touch " + f(4) + "; '",
		"\ntouch " + f(5) + "\n",
		`"; touch ` + f(6) + `; "`,
		"x && touch " + f(7),
		"x | touch " + f(8),
		"'\"'\"'$(touch " + f(9) + ")'\"'\"'",
		"$(touch${IFS}" + f(10) + ")",
	}
}

// hostileAction puts a payload in the host name, the version, a request
// parameter and a host parameter, and a command that passes each on.
func hostileAction(payload string) contracts.HostAction {
	return contracts.HostAction{
		ID: "r1/deploy/web-01/attempt-1", Rollout: "r1", Environment: "prod", App: "web", Attempt: 1,
		Version: payload, PreviousVersion: payload,
		Host:   contracts.ActionHost{Name: payload, Address: "127.0.0.1", Params: map[string]string{"hp": payload}},
		Params: map[string]string{"rp": payload},
	}
}

var hostileArgs = []string{"{{.Host.Name}}", "{{.Version}}", `{{index .Params "rp"}}`, `{{index .Params "hp"}}`}

func assertNotPwned(t *testing.T, dir string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "pwned*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) > 0 {
		t.Fatalf("a value was run as a command: %v exist", matches)
	}
}

// checkArrived checks the helper's argv output holds each value verbatim,
// and that the shell script handed the version on as data.
func checkArrived(t *testing.T, driver, payload, output string) {
	t.Helper()
	var got []string
	if err := json.Unmarshal([]byte(output), &got); err != nil {
		t.Fatalf("%s: output %q: %v", driver, output, err)
	}
	if want := []string{payload, payload, payload, payload}; !slices.Equal(got, want) {
		t.Fatalf("%s: argv = %q, want %q", driver, got, want)
	}
}

// Shell metacharacters in a host name, version or parameter never run
// anything, through any driver: exec and ssh deliver them as literal argv
// and environment, and sim runs nothing.
func TestShellMetacharactersRunNothing(t *testing.T) {
	dir := t.TempDir()
	payloads := hostilePayloads(dir)

	t.Run("exec", func(t *testing.T) {
		for _, p := range payloads {
			a := hostileAction(p)
			a.Driver.Exec = &contracts.ExecDriver{Command: append([]string{os.Args[0], "args"}, hostileArgs...)}
			out, err := testExec().Run(context.Background(), a)
			if err != nil {
				t.Fatalf("%v (output %q)", err, out.Output)
			}
			checkArrived(t, "exec", p, out.Output)
			// A script that uses the value as data stays safe too.
			a.Driver.Exec = &contracts.ExecDriver{Command: []string{"sh", "-c", `printf '%s' "$1"; printf '%s' "$ROLLWAVE_HOST"`, "sh", "{{.Version}}"}}
			if out, err = testExec().Run(context.Background(), a); err != nil || out.Output != p+p {
				t.Fatalf("sh -c: %v, output %q, want %q", err, out.Output, p+p)
			}
		}
		assertNotPwned(t, dir)
	})

	t.Run("ssh", func(t *testing.T) {
		s := sshdtest.Start(t)
		kh := s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoED25519])
		for _, p := range payloads {
			a := hostileAction(p)
			a.Driver.SSH = &contracts.SSHDriver{User: s.User, Port: s.Port, KeyFile: s.ClientKey, KnownHosts: kh,
				Env:     map[string]string{"ROLLWAVE_DRIVER_TEST_HELPER": "1", "GORACE": "atexit_sleep_ms=0", "HOSTILE": "{{.Version}}"},
				Command: append([]string{helperBin(t), "args"}, hostileArgs...)}
			out, err := testSSH(nil).Run(context.Background(), a)
			if err != nil {
				t.Fatalf("%v (output %q)", err, out.Output)
			}
			checkArrived(t, "ssh", p, out.Output)
			a.Driver.SSH.Command = []string{helperBin(t), "env"}
			if out, err = testSSH(nil).Run(context.Background(), a); err != nil {
				t.Fatalf("%v (output %q)", err, out.Output)
			}
			var env []string
			if err := json.Unmarshal([]byte(out.Output), &env); err != nil {
				t.Fatalf("output %q: %v", out.Output, err)
			}
			for _, want := range []string{"ROLLWAVE_HOST=" + p, "ROLLWAVE_VERSION=" + p, "ROLLWAVE_PARAM_RP=" + p, "ROLLWAVE_PARAM_HP=" + p, "HOSTILE=" + p} {
				if !slices.Contains(env, want) {
					t.Fatalf("remote environment lacks %q: %q", want, env)
				}
			}
			a.Driver.SSH.Command = []string{"sh", "-c", `printf '%s' "$1"; printf '%s' "$ROLLWAVE_HOST"`, "sh", "{{.Version}}"}
			if out, err = testSSH(nil).Run(context.Background(), a); err != nil || out.Output != p+p {
				t.Fatalf("sh -c: %v, output %q, want %q", err, out.Output, p+p)
			}
		}
		assertNotPwned(t, dir)
	})

	t.Run("sim", func(t *testing.T) {
		for _, p := range payloads {
			a := hostileAction(p)
			a.Driver.Sim = &contracts.SimDriver{FailHosts: []string{p}}
			if _, err := (Sim{Clock: clock.Real{}}).Run(context.Background(), a); err == nil {
				t.Fatal("a host in fail_hosts succeeded")
			}
		}
		assertNotPwned(t, dir)
	})
}
