package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/proctest"
	"github.com/rollwave/rollwave/services/executor/internal/sshdtest"
)

// helperBin is the test binary, which doubles as the remote program: sshd
// runs as the current user on this machine, so it can run it too.
func helperBin(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// helperSSHEnv makes the remote test binary act as the helper.
var helperSSHEnv = map[string]string{"ROLLWAVE_DRIVER_TEST_HELPER": "1", "GORACE": "atexit_sleep_ms=0"}

func sshAction(s *sshdtest.Server, knownHosts string, command []string) contracts.HostAction {
	return contracts.HostAction{
		ID: "r1/deploy/web-01/attempt-2", Rollout: "r1", Environment: "prod", App: "web",
		Version: "2.4.1", PreviousVersion: "2.4.0", Attempt: 2,
		// The port in the address is the application's; ssh dials its own.
		Host: contracts.ActionHost{Name: "web-01", Address: "127.0.0.1:8080",
			Params: map[string]string{"data-dir": "/srv/a"}},
		Params: map[string]string{"ticket": "OPS-1"},
		Driver: contracts.DriverSpec{SSH: &contracts.SSHDriver{
			User: s.User, Command: command, Env: helperSSHEnv, Port: s.Port,
			KeyFile: s.ClientKey, KnownHosts: knownHosts}},
	}
}

func testSSH(log *slog.Logger) SSH { return SSH{OutputTail: 4096, Log: log} }

func TestSSHDeployArgvAndEnvArriveExactly(t *testing.T) {
	s := sshdtest.Start(t)
	kh := s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoED25519])
	words := []string{"two words", "it's", `"double"`, "$HOME", "new\nline", "*", "", "back\\slash", "--flag", "x=y"}
	a := sshAction(s, kh, append([]string{helperBin(t), "args", "{{.Host.Name}}", "{{.Version}}", "{{index .Params \"ticket\"}}"}, words...))
	out, err := testSSH(nil).Run(context.Background(), a)
	if err != nil {
		t.Fatalf("%v (output %q)", err, out.Output)
	}
	var got []string
	if err := json.Unmarshal([]byte(out.Output), &got); err != nil {
		t.Fatalf("output %q: %v", out.Output, err)
	}
	if want := append([]string{"web-01", "2.4.1", "OPS-1"}, words...); !slices.Equal(got, want) {
		t.Fatalf("remote argv = %q, want %q", got, want)
	}
	if out.ExitCode == nil || *out.ExitCode != 0 {
		t.Fatalf("exit code %v", out.ExitCode)
	}

	a.Driver.SSH.Command = []string{helperBin(t), "env"}
	a.Driver.SSH.Env = map[string]string{"ROLLWAVE_DRIVER_TEST_HELPER": "1", "GORACE": "atexit_sleep_ms=0", "NOTE": "{{.Version}} it's $(here)"}
	out, err = testSSH(nil).Run(context.Background(), a)
	if err != nil {
		t.Fatalf("%v (output %q)", err, out.Output)
	}
	var env []string
	if err := json.Unmarshal([]byte(out.Output), &env); err != nil {
		t.Fatalf("output %q: %v", out.Output, err)
	}
	for _, want := range []string{
		"ROLLWAVE_HOST=web-01", "ROLLWAVE_ADDRESS=127.0.0.1:8080", "ROLLWAVE_APP=web", "ROLLWAVE_VERSION=2.4.1",
		"ROLLWAVE_PREVIOUS_VERSION=2.4.0", "ROLLWAVE_ROLLOUT=r1", "ROLLWAVE_ENVIRONMENT=prod",
		"ROLLWAVE_ACTION_ID=r1/deploy/web-01/attempt-2", "ROLLWAVE_ATTEMPT=2",
		"ROLLWAVE_PARAM_TICKET=OPS-1", "ROLLWAVE_PARAM_DATA_DIR=/srv/a", "NOTE=2.4.1 it's $(here)",
	} {
		if !slices.Contains(env, want) {
			t.Errorf("remote environment lacks %q: %q", want, env)
		}
	}
}

func TestSSHFailureReportsExitCodeAndOutput(t *testing.T) {
	s := sshdtest.Start(t)
	a := sshAction(s, s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoED25519]), []string{helperBin(t), "exit", "7"})
	out, err := testSSH(nil).Run(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "exited with code 7") {
		t.Fatalf("err = %v", err)
	}
	if out.ExitCode == nil || *out.ExitCode != 7 || !strings.Contains(out.Output, "about to fail") || !strings.Contains(out.Output, "failing with 7") {
		t.Fatalf("outcome %+v", out)
	}
}

// known_hosts may hold any one of the host's keys: the client asks for
// the algorithm it can verify, not the server's first choice.
func TestSSHVerifiesWhicheverHostKeyIsKnown(t *testing.T) {
	s := sshdtest.Start(t)
	for _, algo := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256} {
		a := sshAction(s, s.KnownHosts(t, s.HostKeys[algo]), []string{helperBin(t), "args", "ok"})
		if out, err := testSSH(nil).Run(context.Background(), a); err != nil {
			t.Fatalf("known_hosts with only %s: %v (output %q)", algo, err, out.Output)
		}
	}
}

func TestSSHRefusesUnknownHostKey(t *testing.T) {
	s := sshdtest.Start(t)
	other := sshdtest.NewKey(t, filepath.Join(t.TempDir(), "other"))
	for _, tc := range []struct {
		name string
		kh   string
		want string
	}{
		{"empty known_hosts", s.KnownHosts(t), "is unknown"},
		{"another key", s.KnownHosts(t, other), "does NOT match"},
		{"missing file", filepath.Join(s.Dir, "nope"), "driver.ssh.known_hosts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "ran")
			a := sshAction(s, tc.kh, []string{"touch", marker})
			_, err := testSSH(nil).Run(context.Background(), a)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if _, serr := os.Stat(marker); serr == nil {
				t.Fatal("the command ran on a host whose key was not verified")
			}
		})
	}
}

func TestSSHRefusesWrongClientKey(t *testing.T) {
	s := sshdtest.Start(t)
	a := sshAction(s, s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoED25519]), []string{helperBin(t), "args"})
	a.Driver.SSH.KeyFile = filepath.Join(t.TempDir(), "stranger")
	sshdtest.NewKey(t, a.Driver.SSH.KeyFile)
	_, err := testSSH(nil).Run(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "refused the key") {
		t.Fatalf("err = %v", err)
	}
}

// readPid waits for a program to write its pid to path.
func readPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s within 60s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGone waits until none of pids runs.
func waitGone(t *testing.T, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var alive []int
		for _, p := range pids {
			if proctest.Alive(p) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote processes %v still run 30s after the action ended", alive)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// longAction starts a shell on the host that records its pid, starts a
// helper that records the pid of a grandchild it forks, and hangs.
func longAction(t *testing.T, s *sshdtest.Server) (a contracts.HostAction, shellPid, grandchildPid string) {
	dir := t.TempDir()
	shellPid, grandchildPid = filepath.Join(dir, "shell.pid"), filepath.Join(dir, "grandchild.pid")
	a = sshAction(s, s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoED25519]),
		[]string{"sh", "-c", `echo $$ > "$1"; "$2" spawn "$3"; echo unreachable`, "sh", shellPid, helperBin(t), grandchildPid})
	return a, shellPid, grandchildPid
}

func TestSSHCancelKillsTheRemoteProcesses(t *testing.T) {
	s := sshdtest.Start(t)
	a, shellFile, childFile := longAction(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		out Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := testSSH(nil).Run(ctx, a)
		done <- result{out, err}
	}()
	shell, child := readPid(t, shellFile), readPid(t, childFile)
	if !proctest.Alive(shell) || !proctest.Alive(child) {
		t.Fatal("the remote processes are not running before the cancel")
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s of the cancel")
	}
	if r.err == nil || !strings.Contains(r.err.Error(), "interrupted") {
		t.Fatalf("err = %v", r.err)
	}
	waitGone(t, shell, child)
}

func TestSSHTimeoutFailsAndKills(t *testing.T) {
	s := sshdtest.Start(t)
	a, shellFile, childFile := longAction(t, s)
	a.Driver.SSH.Timeout = contracts.Duration(3 * time.Second)
	start := time.Now()
	out, err := testSSH(nil).Run(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "timed out after 3s") {
		t.Fatalf("err = %v (output %q)", err, out.Output)
	}
	if strings.Contains(out.Output, "unreachable") {
		t.Fatal("the command went on after the kill")
	}
	waitGone(t, readPid(t, shellFile), readPid(t, childFile))
	if d := time.Since(start); d > 60*time.Second {
		t.Fatalf("a 3s timeout took %v", d)
	}
}

func TestSSHInsecureWarnsOnEveryAction(t *testing.T) {
	s := sshdtest.Start(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a := sshAction(s, "", []string{helperBin(t), "args"})
	a.Driver.SSH.InsecureIgnoreHostKey = true
	for range 2 {
		if out, err := testSSH(log).Run(context.Background(), a); err != nil {
			t.Fatalf("%v (output %q)", err, out.Output)
		}
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"SSH HOST KEY NOT VERIFIED"); n != 2 {
		t.Fatalf("%d warnings in two actions:\n%s", n, logs.String())
	}
}

// A server that accepts the connection and never speaks is given up on
// after the connect timeout, without a real sshd.
func TestSSHConnectTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	sshdtest.NewKey(t, key)
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := contracts.HostAction{ID: "r1/x/h/attempt-1", Host: contracts.ActionHost{Name: "h", Address: "127.0.0.1"}, Attempt: 1,
		Driver: contracts.DriverSpec{SSH: &contracts.SSHDriver{User: "deploy", Command: []string{"true"}, KeyFile: key, KnownHosts: kh,
			Port: l.Addr().(*net.TCPAddr).Port, ConnectTimeout: contracts.Duration(500 * time.Millisecond)}}}
	start := time.Now()
	_, err = testSSH(nil).Run(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "not done within 500ms") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("a 500ms connect timeout took %v", d)
	}
}

func TestSSHPrepare(t *testing.T) {
	a := contracts.HostAction{ID: "r1/x/h/attempt-1", Version: "1.0", Host: contracts.ActionHost{Name: "h", Address: "[2001:db8::1]:8080"}, Attempt: 1,
		Driver: contracts.DriverSpec{SSH: &contracts.SSHDriver{User: "deploy", Command: []string{"/opt/deploy", "{{.Version}}"}, KeyFile: "/k"}}}
	c, err := testSSH(nil).Prepare(a)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "[2001:db8::1]:22" || c.Timeout != DefaultSSHTimeout || c.ConnectTimeout != DefaultSSHConnectTimeout {
		t.Fatalf("prepared %+v", c)
	}
	if !strings.HasPrefix(c.Remote, "exec env 'ROLLWAVE_HOST=h' ") || !strings.HasSuffix(c.Remote, " 'rollwave' '/opt/deploy' '1.0'") {
		t.Fatalf("remote command %q", c.Remote)
	}
	for _, tc := range []struct {
		change func(a *contracts.HostAction)
		field  string
	}{
		{func(a *contracts.HostAction) { a.Host.Address = "127.0.0.1:1;touch x" }, "host.address"},
		{func(a *contracts.HostAction) { a.Driver.SSH.Command = []string{"{{.Version}}"}; a.Version = "X=1" }, "driver.ssh.command[0]"},
		{func(a *contracts.HostAction) { a.Driver.SSH.Command = []string{"{{.Version}}"}; a.Version = "-c" }, "driver.ssh.command[0]"},
		{func(a *contracts.HostAction) { a.Version = "a\x00b" }, "driver.ssh.command[1]"},
		{func(a *contracts.HostAction) { a.Driver.SSH.User = "" }, "driver.ssh.user"},
		{func(a *contracts.HostAction) { a.Driver.SSH.Command = []string{"x", "{{.Nope}}"} }, "driver.ssh.command[1]"},
	} {
		b := a
		spec := *a.Driver.SSH
		b.Driver.SSH = &spec
		tc.change(&b)
		_, err := testSSH(nil).Prepare(b)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Prepare = %v, want a problem with %s", err, tc.field)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"": "''", "a b": "'a b'", "it's": `'it'\''s'`, "''": `''\'''\'''`, "$(x)`y`": "'$(x)`y`'"} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// What a successful program leaves running in its group dies with the
// session, as with exec.
func TestSSHLeftoverDescendantsDie(t *testing.T) {
	s := sshdtest.Start(t)
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	a := sshAction(s, s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoED25519]), []string{helperBin(t), "spawnexit", pidFile})
	if out, err := testSSH(nil).Run(context.Background(), a); err != nil {
		t.Fatalf("%v (output %q)", err, out.Output)
	}
	waitGone(t, readPid(t, pidFile))
}

// An executor killed with -9 mid-action leaves nothing running on the
// host: the connection drops, sshd closes the session's stdin, and the
// guard kills the group. So a takeover never overlaps the old run.
func TestSSHExecutorKilledLeavesNoRemoteProcess(t *testing.T) {
	s := sshdtest.Start(t)
	a, shellFile, childFile := longAction(t, s)
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	exe := exec.Command(helperBin(t), "sshrun", string(b))
	exe.Env = append(os.Environ(), helperEnv, "GORACE=atexit_sleep_ms=0")
	if err := exe.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = exe.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = exe.Process.Kill()
		<-exited
	})
	shell, child := readPid(t, shellFile), readPid(t, childFile)
	if err := exe.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	waitGone(t, shell, child)
}

// Without known_hosts, the executor user's ~/.ssh/known_hosts is read.
func TestSSHDefaultKnownHosts(t *testing.T) {
	s := sshdtest.Start(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	a := sshAction(s, "", []string{helperBin(t), "args"})
	if _, err := testSSH(nil).Run(context.Background(), a); err == nil || !strings.Contains(err.Error(), filepath.Join(home, ".ssh", "known_hosts")) {
		t.Fatalf("err = %v, want the default known_hosts named", err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	kh, err := os.ReadFile(s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoECDSA256]))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), kh, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := testSSH(nil).Run(context.Background(), a); err != nil {
		t.Fatalf("%v (output %q)", err, out.Output)
	}
}

func TestSSHMissingProgram(t *testing.T) {
	s := sshdtest.Start(t)
	a := sshAction(s, s.KnownHosts(t, s.HostKeys[ssh.KeyAlgoED25519]), []string{"/nonexistent/deploy", "x"})
	out, err := testSSH(nil).Run(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "exited with code 127") || !strings.Contains(out.Output, "/nonexistent/deploy") {
		t.Fatalf("err = %v, output %q", err, out.Output)
	}
}
