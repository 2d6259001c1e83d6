package haproxy_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/pkg/haproxy"
	"github.com/rollwave/rollwave/pkg/haproxytest"
)

func TestSwitch(t *testing.T) {
	var servers []haproxytest.Backend
	for _, n := range []string{"b1", "b2", "g1", "g2"} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(n)) }))
		t.Cleanup(s.Close)
		servers = append(servers, haproxytest.Backend{Name: n, Addr: s.Listener.Addr().String(), Disabled: n[0] == 'g'})
	}
	hp := haproxytest.Start(t, "web", servers)
	c, err := haproxy.New(hp.Socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctx(t)
	sets := map[string][]string{"blue": {"b1", "b2"}, "green": {"g1", "g2"}}
	status := func() map[string]string {
		all, err := c.Servers(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range all {
			out[s.Server] = s.Status
		}
		return out
	}
	if err := c.Switch(ctx, "web", sets, "green", haproxy.Drain, 0); err != nil {
		t.Fatal(err)
	}
	if s := status(); s["g1"] != "no check" || s["g2"] != "no check" || s["b1"] != "DRAIN" || s["b2"] != "DRAIN" {
		t.Fatalf("after switch to green: %v", s)
	}
	// Every request now reaches green.
	for range 8 {
		resp, err := http.Get("http://" + hp.Frontend + "/")
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 2)
		_, _ = resp.Body.Read(b)
		_ = resp.Body.Close()
		if b[0] != 'g' {
			t.Fatalf("a request reached %q after the switch to green", b)
		}
	}
	if err := c.Switch(ctx, "web", sets, "blue", haproxy.Maint, 50); err != nil {
		t.Fatal(err)
	}
	if s := status(); s["b1"] != "no check" || s["g1"] != "MAINT" {
		t.Fatalf("after switch back to blue: %v", s)
	}
	if st, _ := c.Server(ctx, "web", "b2"); st.Weight != 50 {
		t.Fatalf("b2 weight %d, want 50", st.Weight)
	}
	if err := c.Switch(ctx, "web", sets, "red", haproxy.Drain, 0); err == nil || !strings.Contains(err.Error(), `no such set (the sets are blue, green)`) {
		t.Fatalf("switch to red: %v", err)
	}
	if err := c.Switch(ctx, "web", map[string][]string{"blue": {"b1"}, "green": {"zz"}}, "green", haproxy.Drain, 0); err == nil || !strings.Contains(err.Error(), "no such server") {
		t.Fatalf("switch to an unknown server: %v", err)
	}
}
