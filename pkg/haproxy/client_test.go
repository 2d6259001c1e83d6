package haproxy_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/haproxy"
	"github.com/rollwave/rollwave/pkg/haproxytest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// start runs HAProxy in front of two HTTP servers; hold blocks requests
// to s1 with path /hold until it is closed.
func start(t *testing.T) (*haproxytest.Server, *haproxy.Client, chan struct{}, chan struct{}) {
	hold, held := make(chan struct{}), make(chan struct{}, 16)
	h := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			held <- struct{}{}
			<-hold
		}
		_, _ = w.Write([]byte("ok"))
	}
	s1, s2 := httptest.NewServer(http.HandlerFunc(h)), httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(s1.Close)
	t.Cleanup(s2.Close)
	hp := haproxytest.Start(t, "web", []haproxytest.Backend{
		{Name: "s1", Addr: s1.Listener.Addr().String()},
		{Name: "s2", Addr: s2.Listener.Addr().String(), Disabled: true},
	})
	c, err := haproxy.New(hp.Socket)
	if err != nil {
		t.Fatal(err)
	}
	return hp, c, hold, held
}

func TestStatesAndWeights(t *testing.T) {
	_, c, _, _ := start(t)
	ctx := ctx(t)
	servers, err := c.Servers(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 2 || servers[0].Server != "s1" || servers[1].Server != "s2" || servers[1].Status != "MAINT" {
		t.Fatalf("servers = %+v, want s1 and s2 (s2 in MAINT)", servers)
	}
	for _, tc := range []struct {
		state haproxy.State
		want  string
	}{{haproxy.Drain, "DRAIN"}, {haproxy.Maint, "MAINT"}, {haproxy.Ready, "no check"}} {
		if err := c.SetState(ctx, "web", "s1", tc.state); err != nil {
			t.Fatalf("set %s: %v", tc.state, err)
		}
		s, err := c.Server(ctx, "web", "s1")
		if err != nil {
			t.Fatal(err)
		}
		if s.Status != tc.want {
			t.Fatalf("after %s: status %q, want %q", tc.state, s.Status, tc.want)
		}
	}
	if err := c.SetWeight(ctx, "web", "s1", 0); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Server(ctx, "web", "s1"); err != nil || s.Weight != 0 {
		t.Fatalf("after weight 0: %+v, %v", s, err)
	}
	if err := c.SetWeight(ctx, "web", "s1", 7); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Server(ctx, "web", "s1"); err != nil || s.Weight != 7 {
		t.Fatalf("after weight 7: %+v, %v", s, err)
	}
}

func TestErrors(t *testing.T) {
	_, c, _, _ := start(t)
	ctx := ctx(t)
	if err := c.SetState(ctx, "nope", "s1", haproxy.Drain); !errors.Is(err, haproxy.ErrNoBackend) {
		t.Errorf("unknown backend: %v, want ErrNoBackend", err)
	}
	if err := c.SetState(ctx, "web", "zz", haproxy.Drain); !errors.Is(err, haproxy.ErrNoServer) {
		t.Errorf("unknown server: %v, want ErrNoServer", err)
	}
	if err := c.SetWeight(ctx, "web", "zz", 1); !errors.Is(err, haproxy.ErrNoServer) {
		t.Errorf("weight of unknown server: %v, want ErrNoServer", err)
	}
	if _, err := c.Servers(ctx, "nope"); !errors.Is(err, haproxy.ErrNoBackend) {
		t.Errorf("show stat of unknown backend: %v, want ErrNoBackend", err)
	}
	if _, err := c.Server(ctx, "web", "zz"); !errors.Is(err, haproxy.ErrNoServer) {
		t.Errorf("stat of unknown server: %v, want ErrNoServer", err)
	}
	if out, err := c.Command(ctx, "bogus command"); err != nil || !strings.Contains(out, "Unknown command") {
		t.Errorf("bogus command: %q, %v", out, err)
	}
	// Names that could change the command line never reach the socket.
	for _, bad := range []string{"web s1", "web/s1", "a;b", "", "a\nshow info"} {
		if err := c.SetState(ctx, bad, "s1", haproxy.Drain); err == nil || !strings.Contains(err.Error(), "backend") {
			t.Errorf("backend %q: %v, want a name error", bad, err)
		}
		if err := c.SetState(ctx, "web", bad, haproxy.Ready); err == nil || !strings.Contains(err.Error(), "server") {
			t.Errorf("server %q: %v, want a name error", bad, err)
		}
	}
	if err := c.SetState(ctx, "web", "s1", "up"); err == nil || !strings.Contains(err.Error(), "ready, drain, maint") {
		t.Errorf("state up: %v", err)
	}
	if err := c.SetWeight(ctx, "web", "s1", 300); err == nil {
		t.Error("weight 300 accepted")
	}
}

func TestSocketErrors(t *testing.T) {
	ctx := ctx(t)
	missing := filepath.Join(t.TempDir(), "none.sock")
	c, err := haproxy.New(missing)
	if err != nil {
		t.Fatal(err)
	}
	err = c.SetState(ctx, "web", "s1", haproxy.Drain)
	if err == nil || !strings.Contains(err.Error(), "haproxy socket unix:"+missing) {
		t.Errorf("missing socket: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c, err = haproxy.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetState(ctx, "web", "s1", haproxy.Drain); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("refused: %v", err)
	}
	// A socket that accepts and never answers: the context ends the call.
	dir, err := os.MkdirTemp("", "hpsilent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	silent, err := net.Listen("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	c, err = haproxy.New("unix:" + silent.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := c.SetState(short, "web", "s1", haproxy.Drain); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent socket: %v, want a deadline error", err)
	}
	for _, bad := range []string{"", "relative.sock", "unix:", "host", "127.0.0.1:0", "127.0.0.1:x", ":80"} {
		if _, err := haproxy.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestWaitSessions(t *testing.T) {
	hp, c, hold, held := start(t)
	ctx := ctx(t)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + hp.Frontend + "/hold")
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	<-held
	if err := c.SetState(ctx, "web", "s1", haproxy.Drain); err != nil {
		t.Fatal(err)
	}
	s, err := c.Server(ctx, "web", "s1")
	if err != nil || s.Sessions != 1 {
		t.Fatalf("held request: %+v, %v; want 1 session", s, err)
	}
	// The clock's timeout passes with the session still open.
	fake := clock.NewFake(time.Unix(0, 0))
	waited := make(chan error, 1)
	go func() {
		waited <- c.WaitSessions(ctx, fake, "web", "s1", 30*time.Second, time.Second)
	}()
	for fake.Waiters() < 2 {
		time.Sleep(time.Millisecond)
	}
	fake.Advance(30 * time.Second)
	if err := <-waited; err == nil || !strings.Contains(err.Error(), "still has 1 sessions after 30s") {
		t.Fatalf("wait with a session open: %v", err)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatalf("held request failed: %v", err)
	}
	if err := c.WaitSessions(ctx, clock.Real{}, "web", "s1", 30*time.Second, 20*time.Millisecond); err != nil {
		t.Fatalf("wait after the session ended: %v", err)
	}
}
