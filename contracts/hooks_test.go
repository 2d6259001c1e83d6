package contracts

import (
	"errors"
	"strings"
	"testing"
)

func TestHostHooksValidate(t *testing.T) {
	w := func(n int) *int { return &n }
	ok := HAProxyHook{Socket: "/run/haproxy.sock", Backend: "web", Server: "{{.Host.Name}}", State: "drain", WaitSessions: Duration(30e9)}
	if fe := (HostHooks{Before: []HostHook{{HAProxy: &ok}}}).Validate("h"); len(fe) != 0 {
		t.Fatalf("valid hook: %v", fe)
	}
	tcp := ok
	tcp.Socket, tcp.State, tcp.Weight = "127.0.0.1:9999", "", w(0)
	if fe := (HostHooks{After: []HostHook{{HAProxy: &tcp}}}).Validate("h"); len(fe) != 0 {
		t.Fatalf("valid tcp weight hook: %v", fe)
	}
	for _, tc := range []struct {
		edit func(*HAProxyHook)
		want string
	}{
		{func(h *HAProxyHook) { h.Socket = "" }, "h.before[0].haproxy.socket: is required"},
		{func(h *HAProxyHook) { h.Socket = "relative.sock" }, "h.before[0].haproxy.socket: must be an absolute unix socket path or host:port"},
		{func(h *HAProxyHook) { h.Socket = "/run/../etc/x" }, "haproxy.socket: must be"},
		{func(h *HAProxyHook) { h.Socket = "/run/x;touch y" }, "haproxy.socket: must be"},
		{func(h *HAProxyHook) { h.Backend = "web/s1" }, "h.before[0].haproxy.backend: must be 1-127"},
		{func(h *HAProxyHook) { h.Backend = "" }, "haproxy.backend: is required"},
		{func(h *HAProxyHook) { h.Server = "" }, "haproxy.server: is required"},
		{func(h *HAProxyHook) { h.Server = "{{.Host.Name" }, "haproxy.server: is not a valid template"},
		{func(h *HAProxyHook) { h.State = "up" }, "haproxy.state: must be one of ready, drain, maint"},
		{func(h *HAProxyHook) { h.State = "" }, "h.before[0].haproxy: must set state"},
		{func(h *HAProxyHook) { h.Weight = w(257) }, "haproxy.weight: must be 0-256"},
		{func(h *HAProxyHook) { h.WaitSessions = -1 }, "haproxy.wait_sessions"},
	} {
		h := ok
		tc.edit(&h)
		fe := HostHooks{Before: []HostHook{{HAProxy: &h}}}.Validate("h")
		if !strings.Contains(fe.Error(), tc.want) {
			t.Errorf("got %v, want %q", fe, tc.want)
		}
	}
	if fe := (HostHooks{After: []HostHook{{}}}).Validate("h"); !strings.Contains(fe.Error(), "h.after[0]: must set exactly one of: haproxy") {
		t.Errorf("empty hook: %v", fe)
	}
}

func TestRequestCannotSetHooks(t *testing.T) {
	r := DeployRequest{ID: "r1", App: "web", Version: "1.0.0", Environment: "qa",
		Driver: &DriverSpec{Sim: &SimDriver{}, Hooks: &HostHooks{}}}
	var fe FieldErrors
	if !errors.As(r.Validate(), &fe) {
		t.Fatal("request with hooks accepted")
	}
	for _, e := range fe {
		if e.Field == "driver.hooks" && strings.Contains(e.Message, "cannot come from a request") {
			return
		}
	}
	t.Fatalf("request with hooks: %v, want a driver.hooks problem", fe)
}

func TestProcedureValidatesHooks(t *testing.T) {
	p := Procedure{Driver: DriverSpec{Sim: &SimDriver{}}, AfterHost: []HostHook{{HAProxy: &HAProxyHook{Socket: "/s", Backend: "web", Server: "x"}}}}
	if fe := p.Validate("environments[0].procedures.deploy"); !strings.Contains(fe.Error(), "environments[0].procedures.deploy.after_host[0].haproxy: must set state") {
		t.Fatalf("procedure: %v", fe)
	}
	if p.Hooks() == nil || (Procedure{}).Hooks() != nil {
		t.Fatal("Hooks() wrong")
	}
}
