// Package sshdtest runs a real OpenSSH server for tests: on a random
// loopback port, as the current user, with its own host keys, client key
// and configuration in a temporary directory.
package sshdtest

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/rollwave/rollwave/pkg/proctest"
)

// Server is a running sshd.
type Server struct {
	// Dir holds the server's files; tests may put theirs there too.
	Dir  string
	Port int
	// HostKeys are the server's public host keys by type: an ed25519
	// (ssh.KeyAlgoED25519) and an ECDSA P-256 (ssh.KeyAlgoECDSA256) one.
	HostKeys map[string]ssh.PublicKey
	// ClientKey is the path of a private key the server accepts.
	ClientKey string
	// User is the login name the server accepts the key for.
	User string
	log  *proctest.Output
}

// sshdPath finds OpenSSH's server or skips the test; with
// ROLLWAVE_REQUIRE_TOOLS set, a missing server fails it instead.
func sshdPath(t testing.TB) string {
	t.Helper()
	return proctest.Tool(t, "sshd", "openssh-server")
}

// writeKey writes a private key in OpenSSH form, readable by its owner only
// (sshd refuses host keys others can read).
func writeKey(t testing.TB, path string, key crypto.PrivateKey) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// NewKey makes an ed25519 key pair and writes its private half to path,
// readable by its owner only.
func NewKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	writeKey(t, path, priv)
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// Start starts sshd with an ed25519 and an ECDSA host key and a client key
// it accepts, and stops it when the test ends. Without OpenSSH's sshd the
// test is skipped, or fails when ROLLWAVE_REQUIRE_TOOLS is set.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := sshdPath(t)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd started as root needs its privilege separation directory,
		// which Debian creates only when it starts the system service.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, HostKeys: map[string]ssh.PublicKey{}, User: u.Username, log: &proctest.Output{}}
	s.HostKeys[ssh.KeyAlgoED25519] = NewKey(t, filepath.Join(dir, "host_ed25519"))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	writeKey(t, filepath.Join(dir, "host_ecdsa"), ec)
	ecPub, err := ssh.NewPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	s.HostKeys[ssh.KeyAlgoECDSA256] = ecPub
	s.ClientKey = filepath.Join(dir, "client_key")
	clientPub := NewKey(t, s.ClientKey)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		s.Port = freePort(t)
		err := s.run(t, bin)
		if err == nil {
			return s
		}
		if attempt == 2 {
			t.Fatalf("sshd did not start: %v\n%s", err, s.log)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run starts sshd on s.Port and waits until it greets.
func (s *Server) run(t testing.TB, bin string) error {
	conf := filepath.Join(s.Dir, "sshd_config")
	lines := []string{
		fmt.Sprintf("ListenAddress 127.0.0.1:%d", s.Port),
		"HostKey " + filepath.Join(s.Dir, "host_ed25519"),
		"HostKey " + filepath.Join(s.Dir, "host_ecdsa"),
		"PidFile " + filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(s.Dir, "authorized_keys"),
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"MaxStartups 64",
		"LogLevel VERBOSE",
	}
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", conf)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("sshd exited: %v", err)
		default:
		}
		if greets(s.Port) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("sshd log:\n%s", s.log)
				}
			})
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("sshd did not greet on port %d within 30s", s.Port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func greets(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// KnownHosts writes a known_hosts file listing the given host keys for the
// server's address and returns its path.
func (s *Server) KnownHosts(t testing.TB, keys ...ssh.PublicKey) string {
	t.Helper()
	addr := knownhosts.Normalize(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(knownhosts.Line([]string{addr}, k) + "\n")
	}
	f, err := os.CreateTemp(s.Dir, "known_hosts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}
