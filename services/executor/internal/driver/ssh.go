package driver

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/procgroup"
	"github.com/rollwave/rollwave/pkg/render"
)

// SSH defaults.
const (
	DefaultSSHPort           = 22
	DefaultSSHTimeout        = 10 * time.Minute
	DefaultSSHConnectTimeout = 15 * time.Second
	// sshKillWait is how long a cancelled action waits for the remote side
	// to confirm the kill (its exit signal) before closing the session.
	sshKillWait = 5 * time.Second
)

// SSH runs the action's command on the host over SSH. The command line is
// built for the remote login shell with every word single-quoted (see
// RemoteCommand), so host names, versions and parameters arrive verbatim as
// argv, as they do with Exec.
type SSH struct {
	// OutputTail is how many bytes of combined output are kept.
	OutputTail int
	// Log receives the warning of every action whose host key is not
	// verified.
	Log *slog.Logger
}

// SSHCommand is a rendered ssh action, ready to run.
type SSHCommand struct {
	User string
	// Addr is the host:port dialled.
	Addr string
	// Argv and Env are what the remote program receives.
	Argv []string
	Env  []string
	// Remote is the command line sent to the remote shell.
	Remote         string
	KeyFile        string
	KnownHosts     string
	Insecure       bool
	Timeout        time.Duration
	ConnectTimeout time.Duration
}

// Prepare renders the command line and environment of an action and
// resolves the address to dial.
func (s SSH) Prepare(a contracts.HostAction) (SSHCommand, error) {
	spec := a.Driver.SSH
	if spec == nil {
		return SSHCommand{}, contracts.Invalid("driver.ssh", "is required")
	}
	// The message between services decodes tolerantly; the driver's own
	// rules are checked here again before anything is dialled.
	if fe := (contracts.DriverSpec{SSH: spec}).Validate("driver"); len(fe) > 0 {
		return SSHCommand{}, fe
	}
	host, _, problem := contracts.SplitAddress(a.Host.Address)
	if problem != "" {
		return SSHCommand{}, contracts.Invalid("host.address", "%s", problem)
	}
	port := spec.Port
	if port == 0 {
		port = DefaultSSHPort
	}
	c := SSHCommand{
		User: spec.User, Addr: net.JoinHostPort(host, strconv.Itoa(port)),
		KeyFile: spec.KeyFile, KnownHosts: spec.KnownHosts, Insecure: spec.InsecureIgnoreHostKey,
		Timeout: spec.Timeout.D(), ConnectTimeout: spec.ConnectTimeout.D(),
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultSSHTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultSSHConnectTimeout
	}
	data := render.DataOf(a)
	for i, arg := range spec.Command {
		v, err := render.String(fmt.Sprintf("driver.ssh.command[%d]", i), arg, data)
		if err != nil {
			return SSHCommand{}, err
		}
		if strings.ContainsRune(v, 0) {
			return SSHCommand{}, contracts.Invalid(fmt.Sprintf("driver.ssh.command[%d]", i), "holds a NUL byte")
		}
		c.Argv = append(c.Argv, v)
	}
	switch p := c.Argv[0]; {
	case p == "":
		return SSHCommand{}, contracts.Invalid("driver.ssh.command[0]", "renders to an empty program name")
	case strings.ContainsRune(p, '=') || strings.HasPrefix(p, "-"):
		// env(1) would read it as an assignment or an option.
		return SSHCommand{}, contracts.Invalid("driver.ssh.command[0]", "renders to %q; a program name must not hold '=' or start with '-'", p)
	}
	c.Env = actionEnv(a, data.Params)
	for _, k := range sortedKeys(spec.Env) {
		v, err := render.String(fmt.Sprintf("driver.ssh.env[%q]", k), spec.Env[k], data)
		if err != nil {
			return SSHCommand{}, err
		}
		c.Env = append(c.Env, k+"="+v)
	}
	for i, kv := range c.Env {
		if strings.ContainsRune(kv, 0) {
			name, _, _ := strings.Cut(kv, "=")
			return SSHCommand{}, contracts.Invalid("environment", "variable %s (entry %d) holds a NUL byte", name, i)
		}
	}
	c.Remote = RemoteCommand(c.Env, c.Argv)
	return c, nil
}

// remoteGuard is the POSIX sh script every remote program runs under. sshd
// makes the session's first process a process group leader, and the
// script keeps that process: it execs the program, after starting a
// watcher in the group that reads the session's stdin. The executor never
// writes to it, so it ends only when sshd closes it, which it does when
// the program exits, when the executor closes the session (cancel,
// timeout) and when the connection drops (the executor died). The watcher
// then kills the whole group, so no part of a deploy outlives its session,
// as with exec. This works where sshd refuses the protocol's "signal"
// request (root logins, for one).
const remoteGuard = `exec 3<&0; { cat <&3 >/dev/null 2>&1; kill -s KILL 0; } >/dev/null 2>&1 & exec "$@" 3<&- </dev/null`

// RemoteCommand is the command line for a POSIX login shell that runs argv
// with env added under remoteGuard: "exec env 'K=V'... /bin/sh -c '<guard>'
// rollwave 'prog' 'arg'...". Every word is single-quoted, so the shell
// expands nothing in it.
func RemoteCommand(env, argv []string) string {
	var b strings.Builder
	b.WriteString("exec env")
	words := append(append(append([]string(nil), env...), "/bin/sh", "-c", remoteGuard, "rollwave"), argv...)
	for _, w := range words {
		b.WriteByte(' ')
		b.WriteString(ShellQuote(w))
	}
	return b.String()
}

// ShellQuote quotes s as one word for a POSIX shell: inside single quotes
// nothing is special but the single quote itself, which is written by
// closing the quotes, adding an escaped quote and opening them again.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Run renders the action and runs it on the host.
func (s SSH) Run(ctx context.Context, a contracts.HostAction) (Outcome, error) {
	c, err := s.Prepare(a)
	if err != nil {
		return Outcome{}, err
	}
	if c.Insecure {
		s.logger().Warn("SSH HOST KEY NOT VERIFIED: insecure_ignore_host_key is set, so anyone on the network path can impersonate this host and receive the deploy",
			"host", a.Host.Name, "addr", c.Addr, "action", a.ID)
	}
	return s.RunCommand(ctx, c)
}

func (s SSH) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// RunCommand connects, runs the command and waits for it. On timeout or
// when ctx ends, it asks sshd to SIGKILL the session and closes the
// session's stdin, on which remoteGuard kills the remote process group;
// it waits up to sshKillWait for the exit to be confirmed, then closes the
// session and the connection.
func (s SSH) RunCommand(ctx context.Context, c SSHCommand) (Outcome, error) {
	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	ended := func(err error) error {
		switch {
		case errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
			return fmt.Errorf("timed out after %v", c.Timeout)
		case ctx.Err() != nil:
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return err
	}
	client, err := dialSSH(runCtx, c)
	if err != nil {
		if runCtx.Err() != nil {
			return Outcome{}, ended(err)
		}
		return Outcome{}, err
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return Outcome{}, fmt.Errorf("open session on %s: %w", c.Addr, err)
	}
	defer sess.Close()
	tail := procgroup.NewTail(s.OutputTail)
	sess.Stdout, sess.Stderr = tail, tail
	// Held open and never written: its end tells remoteGuard to kill.
	stdin, err := sess.StdinPipe()
	if err != nil {
		return Outcome{}, fmt.Errorf("open session stdin on %s: %w", c.Addr, err)
	}
	if err := sess.Start(c.Remote); err != nil {
		return Outcome{Output: tail.String()}, fmt.Errorf("start command on %s: %w", c.Addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-runCtx.Done():
		// Both ways of killing the remote group: the signal where sshd
		// honours it, and the end of stdin for remoteGuard.
		if serr := sess.Signal(ssh.SIGKILL); serr != nil {
			s.logger().Debug("signal remote command", "addr", c.Addr, "err", serr)
		}
		_ = stdin.Close()
		t := time.NewTimer(sshKillWait)
		select {
		case err = <-done:
		case <-t.C:
			s.logger().Warn("remote command did not confirm SIGKILL; closing the session", "addr", c.Addr)
		}
		t.Stop()
		_ = sess.Close()
		_ = client.Close()
		out := Outcome{Output: tail.String()}
		var exitErr *ssh.ExitError
		if errors.As(err, &exitErr) {
			code := exitErr.ExitStatus()
			out.ExitCode = &code
		}
		return out, ended(err)
	}
	out := Outcome{Output: tail.String()}
	if err == nil {
		code := 0
		out.ExitCode = &code
		return out, nil
	}
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case errors.As(err, &exitErr) && exitErr.Signal() != "":
		code := exitErr.ExitStatus()
		out.ExitCode = &code
		return out, fmt.Errorf("killed by signal %s on %s", exitErr.Signal(), c.Addr)
	case errors.As(err, &exitErr):
		code := exitErr.ExitStatus()
		out.ExitCode = &code
		return out, fmt.Errorf("exited with code %d on %s", code, c.Addr)
	case errors.As(err, &missing):
		return out, fmt.Errorf("the command on %s ended without an exit status: the connection was lost", c.Addr)
	}
	return out, fmt.Errorf("run on %s: %w", c.Addr, err)
}

// dialSSH connects and authenticates within the connect timeout and ctx.
func dialSSH(ctx context.Context, c SSHCommand) (*ssh.Client, error) {
	signer, err := loadKey(c.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:    c.User,
		Auth:    []ssh.AuthMethod{ssh.PublicKeys(signer)},
		Timeout: c.ConnectTimeout,
	}
	var hostKeyErr error
	if c.Insecure {
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // asked for explicitly, and logged on every action
	} else {
		file := c.KnownHosts
		if file == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("driver.ssh.known_hosts: unset, and no home directory for the default: %w", err)
			}
			file = filepath.Join(home, ".ssh", "known_hosts")
		}
		check, err := knownhosts.New(file)
		if err != nil {
			return nil, fmt.Errorf("driver.ssh.known_hosts: read %s: %w", file, err)
		}
		cfg.HostKeyAlgorithms = knownAlgorithms(check, c.Addr)
		cfg.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			if err := check(hostname, remote, key); err != nil {
				hostKeyErr = hostKeyProblem(err, c.Addr, file, key)
				return hostKeyErr
			}
			return nil
		}
	}
	dctx, cancel := context.WithTimeout(ctx, c.ConnectTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.Addr, err)
	}
	// The handshake has no context of its own: closing the connection
	// ends it when the connect timeout passes or ctx ends.
	stop := context.AfterFunc(dctx, func() { _ = conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, c.Addr, cfg)
	if !stop() {
		if err == nil {
			_ = sc.Close()
		}
		return nil, fmt.Errorf("ssh handshake with %s: not done within %v", c.Addr, c.ConnectTimeout)
	}
	if err != nil {
		_ = conn.Close()
		switch {
		case hostKeyErr != nil:
			return nil, hostKeyErr
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fmt.Errorf("%s refused the key %s for user %q: %w", c.Addr, c.KeyFile, c.User, err)
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", c.Addr, err)
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

func loadKey(file string) (ssh.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("driver.ssh.key_file: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	var pp *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &pp):
		return nil, fmt.Errorf("driver.ssh.key_file: %s is protected by a passphrase; the executor needs an unencrypted key, readable only by itself", file)
	case err != nil:
		return nil, fmt.Errorf("driver.ssh.key_file: %s is not a private key: %w", file, err)
	}
	return signer, nil
}

// hostKeyProblem turns a known_hosts verdict into a message that says
// what to do.
func hostKeyProblem(err error, addr, file string, key ssh.PublicKey) error {
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		return fmt.Errorf("host key %s %s of %s is revoked in %s", key.Type(), ssh.FingerprintSHA256(key), addr, file)
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return fmt.Errorf("host key of %s is unknown: %s has no entry for it (the host offers %s %s); add the host's key after checking its fingerprint, or set insecure_ignore_host_key, knowing anyone on the path can then impersonate it",
			addr, file, key.Type(), ssh.FingerprintSHA256(key))
	case errors.As(err, &ke):
		return fmt.Errorf("host key of %s does NOT match %s (the host offers %s %s, line %d expects another): the host was reinstalled, or someone is in the middle",
			addr, file, key.Type(), ssh.FingerprintSHA256(key), ke.Want[0].Line)
	}
	return fmt.Errorf("verify host key of %s against %s: %w", addr, file, err)
}

// probeKey is a key no host has: checking it finds the keys known_hosts
// holds for an address.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		panic(err)
	}
	return k
}()

// knownAlgorithms returns the host key algorithms of the keys known_hosts
// holds for addr, so that the server is asked for a key that can be
// verified rather than its first choice; nil (the defaults) when it holds
// none, and the unknown key is then refused by name.
func knownAlgorithms(check ssh.HostKeyCallback, addr string) []string {
	var ke *knownhosts.KeyError
	if err := check(addr, &net.TCPAddr{IP: net.IPv4zero}, probeKey); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	add := func(names ...string) {
		for _, n := range names {
			if !contains(algos, n) {
				algos = append(algos, n)
			}
		}
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
