package executor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/haproxy"
	"github.com/rollwave/rollwave/pkg/haproxytest"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// hookLB is a real HAProxy in front of two hosts, web-01 and web-02; a
// request to /hold on web-01 stays open until release is closed.
type hookLB struct {
	hp      *haproxytest.Server
	c       *haproxy.Client
	held    chan struct{}
	release chan struct{}
}

func newHookLB(t *testing.T) *hookLB {
	lb := &hookLB{held: make(chan struct{}, 4), release: make(chan struct{})}
	backend := func() *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				lb.held <- struct{}{}
				<-lb.release
			}
			_, _ = w.Write([]byte("ok"))
		}))
		t.Cleanup(s.Close)
		return s
	}
	b1, b2 := backend(), backend()
	lb.hp = haproxytest.Start(t, "web", []haproxytest.Backend{
		{Name: "web-01", Addr: b1.Listener.Addr().String()},
		{Name: "web-02", Addr: b2.Listener.Addr().String(), Disabled: true},
	})
	var err error
	if lb.c, err = haproxy.New(lb.hp.Socket); err != nil {
		t.Fatal(err)
	}
	return lb
}

// hold opens a request to web-01 through HAProxy and returns once web-01
// serves it; the returned channel gets its outcome.
func (lb *hookLB) hold(t *testing.T) <-chan error {
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + lb.hp.Frontend + "/hold")
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-lb.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the held request did not reach web-01")
	}
	return done
}

func (lb *hookLB) status(t *testing.T, server string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := lb.c.Server(ctx, "web", server)
	if err != nil {
		t.Fatal(err)
	}
	return s.Status
}

func hooked(d contracts.DriverSpec, socket string, wait time.Duration) contracts.DriverSpec {
	hook := func(state string, wait time.Duration) contracts.HostHook {
		return contracts.HostHook{HAProxy: &contracts.HAProxyHook{Socket: socket, Backend: "web", Server: "{{.Host.Name}}",
			State: state, WaitSessions: contracts.Duration(wait)}}
	}
	d.Hooks = &contracts.HostHooks{Before: []contracts.HostHook{hook("drain", wait)}, After: []contracts.HostHook{hook("ready", 0)}}
	return d
}

// A deploy with drain/ready hooks drains the host, waits for its open
// session to end before the driver runs, and re-enables it after the
// checks.
func TestHAProxyHooksDrainWaitReady(t *testing.T) {
	lb := newHookLB(t)
	h := newHarness(t)
	h.start(Config{ID: "exec-1", AckWait: 5 * time.Second}, execOpts{})
	marker := filepath.Join(t.TempDir(), "deployed")

	open := lb.hold(t)
	a := action("r1", "web-01", hooked(execDriver("append", marker), lb.hp.Socket, time.Minute))
	h.publish(t.Context(), contracts.DefaultPool, a, a.ID)
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if s := lb.status(t, "web-01"); s != "DRAIN" {
			return &statusErr{s}
		}
		return nil
	})
	// The hook waits on the session this test holds: the driver cannot
	// have run.
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the driver ran while web-01 still had a session")
	}
	close(lb.release)
	if err := <-open; err != nil {
		t.Fatalf("the request open during the drain failed: %v", err)
	}
	r := h.waitResults("r1", 1, 30*time.Second)[0]
	if r.Status != contracts.ResultSucceeded || !r.Installed {
		t.Fatalf("result %+v", r.HostResult)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "ran\n" {
		t.Fatalf("driver runs: %q, %v", b, err)
	}
	if s := lb.status(t, "web-01"); s != "no check" {
		t.Fatalf("after the deploy web-01 is %q, want ready (no check)", s)
	}
}

type statusErr struct{ s string }

func (e *statusErr) Error() string { return "status " + e.s }

// A hook failure fails the host with a message naming the hook; the
// driver does not run, and a failed check leaves the host drained.
func TestHAProxyHookFailures(t *testing.T) {
	lb := newHookLB(t)
	h := newHarness(t)
	h.start(Config{ID: "exec-1", AckWait: 5 * time.Second}, execOpts{})
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.sock")

	failing := execDriver("append", filepath.Join(dir, "ran-check"))
	checked := action("r4", "web-01", hooked(failing, lb.hp.Socket, 0))
	checked.Checks = []contracts.NamedCheck{{Name: "healthz", Spec: contracts.CheckSpec{Command: &contracts.CommandCheck{
		Command: []string{os.Args[0], "exit", "1"}, Deadline: contracts.Duration(time.Millisecond)}}}}

	cases := []struct {
		a       contracts.HostAction
		marker  string
		wantErr string
	}{
		{action("r1", "web-09", hooked(execDriver("append", filepath.Join(dir, "ran-unknown")), lb.hp.Socket, 0)), "ran-unknown",
			"before_host[0].haproxy: set server web/web-09 state drain: no such server"},
		{action("r2", "web-01", hooked(execDriver("append", filepath.Join(dir, "ran-missing")), missing, 0)), "ran-missing",
			"before_host[0].haproxy: haproxy socket unix:" + missing},
		{checked, "", "check healthz"},
	}
	for _, c := range cases {
		h.publish(t.Context(), contracts.DefaultPool, c.a, c.a.ID)
	}
	for _, c := range cases {
		r := h.waitResults(c.a.Rollout, 1, 30*time.Second)[0]
		if r.Status != contracts.ResultFailed || !strings.Contains(r.Error, c.wantErr) {
			t.Errorf("%s: result %q %q, want failed with %q", c.a.Rollout, r.Status, r.Error, c.wantErr)
		}
		if c.marker != "" {
			if _, err := os.Stat(filepath.Join(dir, c.marker)); err == nil {
				t.Errorf("%s: the driver ran after its before hook failed", c.a.Rollout)
			}
		}
	}
	if s := lb.status(t, "web-01"); s != "DRAIN" {
		t.Fatalf("after a failed check web-01 is %q, want it left drained", s)
	}

	// Sessions that outlast wait_sessions fail the host.
	if err := lb.c.SetState(t.Context(), "web", "web-01", haproxy.Ready); err != nil {
		t.Fatal(err)
	}
	open := lb.hold(t)
	slow := action("r5", "web-01", hooked(execDriver("append", filepath.Join(dir, "ran-slow")), lb.hp.Socket, 500*time.Millisecond))
	h.publish(t.Context(), contracts.DefaultPool, slow, slow.ID)
	r := h.waitResults("r5", 1, 30*time.Second)[0]
	if r.Status != contracts.ResultFailed || !strings.Contains(r.Error, "haproxy web/web-01 still has 1 sessions after 500ms") {
		t.Errorf("slow drain: %q %q", r.Status, r.Error)
	}
	close(lb.release)
	if err := <-open; err != nil {
		t.Fatalf("held request: %v", err)
	}
}
