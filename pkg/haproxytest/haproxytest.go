// Package haproxytest starts a real HAProxy for tests: one HTTP frontend
// on a loopback port, one backend with the given servers, and an admin
// runtime API socket in a temporary directory.
package haproxytest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/pkg/proctest"
)

// Server is a running HAProxy.
type Server struct {
	// Socket is the path of the admin runtime API socket.
	Socket string
	// Frontend is the host:port the HTTP frontend listens on.
	Frontend string
	// Backend is the backend's name.
	Backend string
	log     *proctest.Output
}

// Log returns what HAProxy wrote so far, for failure messages.
func (s *Server) Log() string { return s.log.String() }

// Backend is one server line of the backend: name and host:port.
type Backend struct {
	Name, Addr string
	// Weight, when not 0, is the server's initial weight.
	Weight int
	// Disabled servers start in maintenance.
	Disabled bool
}

// Options are the backend's: with HealthPath set, HAProxy checks every
// server with GET HealthPath every 100ms and sends traffic only to those
// that answer 2xx.
// With NoRetry, a request whose connection to a server fails is not
// retried or sent to another server: a proof of zero downtime then rests
// on the drain alone.
type Options struct {
	HealthPath string
	NoRetry    bool
}

// Path finds the haproxy binary or skips the test; with
// ROLLWAVE_REQUIRE_TOOLS set, a missing haproxy fails it instead.
func Path(t testing.TB) string {
	t.Helper()
	return proctest.Tool(t, "haproxy", "haproxy")
}

// Start runs HAProxy in the foreground with backend name and servers, and
// stops it when the test ends.
func Start(t testing.TB, name string, servers []Backend) *Server {
	t.Helper()
	return StartWith(t, name, servers, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, name string, servers []Backend, o Options) *Server {
	t.Helper()
	bin := Path(t)
	// A short directory: a unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "haproxy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{Socket: filepath.Join(dir, "admin.sock"), Frontend: freeAddr(t), Backend: name, log: &proctest.Output{}}
	retries := "  retries 3\n  option redispatch"
	if o.NoRetry {
		retries = "  retries 0"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global
  stats socket %s mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
%s
frontend fe
  bind %s
  default_backend %s
backend %s
  balance roundrobin
`, s.Socket, retries, s.Frontend, name, name)
	if o.HealthPath != "" {
		fmt.Fprintf(&b, "  option httpchk GET %s\n  default-server check inter 100ms fall 1 rise 1\n", o.HealthPath)
	}
	for _, srv := range servers {
		fmt.Fprintf(&b, "  server %s %s", srv.Name, srv.Addr)
		if srv.Weight != 0 {
			fmt.Fprintf(&b, " weight %d", srv.Weight)
		}
		if srv.Disabled {
			b.WriteString(" disabled")
		}
		b.WriteString("\n")
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// Ready once the socket answers; a busy machine may take seconds.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("haproxy exited at start:\n%s", s.log.String())
		default:
		}
		if s.answers() {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy socket %s did not answer in 30s:\n%s", s.Socket, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) answers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", s.Socket)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// FreeAddr returns a loopback host:port nothing listens on now.
func FreeAddr(t testing.TB) string { return freeAddr(t) }

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
