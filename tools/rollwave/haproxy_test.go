package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/pkg/haproxy"
	"github.com/rollwave/rollwave/pkg/haproxytest"
)

func runHAProxy(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := execute(ctx, append([]string{"haproxy"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHAProxyCommands(t *testing.T) {
	var servers []haproxytest.Backend
	for _, n := range []string{"b1", "g1"} {
		s := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(s.Close)
		servers = append(servers, haproxytest.Backend{Name: n, Addr: s.Listener.Addr().String()})
	}
	hp := haproxytest.Start(t, "web", servers)
	c, err := haproxy.New(hp.Socket)
	if err != nil {
		t.Fatal(err)
	}
	status := func(server string) haproxy.ServerStat {
		s, err := c.Server(t.Context(), "web", server)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if code, _, errOut := runHAProxy(t, "set", "--socket", hp.Socket, "--backend", "web", "--server", "b1", "--state", "drain", "--weight", "3", "--wait-sessions", "5s"); code != 0 {
		t.Fatalf("set: %d %s", code, errOut)
	}
	if s := status("b1"); s.Status != "DRAIN" || s.Weight != 3 {
		t.Fatalf("b1 after set: %+v", s)
	}
	code, out, errOut := runHAProxy(t, "switch", "--socket", hp.Socket, "--backend", "web", "--set", "blue=b1", "--set", "green=g1", "--to", "blue", "--off", "maint")
	if code != 0 || !strings.Contains(out, "traffic of web goes to blue") {
		t.Fatalf("switch: %d %q %s", code, out, errOut)
	}
	if b, g := status("b1"), status("g1"); b.Status != "no check" || g.Status != "MAINT" {
		t.Fatalf("after switch: b1 %+v, g1 %+v", b, g)
	}
	code, out, errOut = runHAProxy(t, "show", "--socket", hp.Socket, "--backend", "web")
	if code != 0 || out != "b1\tno check\tsessions=0\tweight=3\ng1\tMAINT\tsessions=0\tweight=1\n" {
		t.Fatalf("show: %d %q %s", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"set", "--socket", hp.Socket, "--backend", "web", "--server", "zz", "--state", "drain"}, 1, "no such server"},
		{[]string{"set", "--socket", hp.Socket, "--backend", "nope", "--server", "b1", "--state", "drain"}, 1, "no such backend"},
		{[]string{"set", "--socket", "relative", "--backend", "web", "--server", "b1", "--state", "drain"}, 2, "--socket"},
		{[]string{"set", "--socket", hp.Socket, "--backend", "web", "--server", "b1"}, 2, "--state"},
		{[]string{"switch", "--socket", hp.Socket, "--backend", "web", "--set", "blue=b1", "--to", "blue"}, 2, "at least two sets"},
		{[]string{"switch", "--socket", hp.Socket, "--backend", "web", "--set", "blue=b1", "--set", "green=g1;x", "--to", "blue"}, 2, "server"},
		{[]string{"switch", "--socket", hp.Socket, "--backend", "web", "--set", "blue=b1", "--set", "green=g1", "--to", "red"}, 1, "no such set"},
		{[]string{"show", "--socket", hp.Socket, "--backend", "nope"}, 1, "no such backend"},
	} {
		code, _, errOut := runHAProxy(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stderr %q; want %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
