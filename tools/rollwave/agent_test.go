package main

import (
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestAgentFlags(t *testing.T) {
	f := agentFlags{name: "web-01", env: "qa", dir: "rel", labels: "zone=a,tier=web", groups: "web,east",
		restart: `["systemctl", "restart", "web; rm -rf /"]`, signal: "sighup", pidFile: "/run/web.pid", keep: 2}
	c, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Restart, []string{"systemctl", "restart", "web; rm -rf /"}) || c.Signal != syscall.SIGHUP ||
		c.Labels["tier"] != "web" || !slices.Equal(c.Groups, []string{"web", "east"}) || !strings.HasSuffix(c.Dir, "/rel") || c.Dir[0] != '/' {
		t.Fatalf("config: %+v", c)
	}
	for _, bad := range []struct {
		f    agentFlags
		want string
	}{
		{agentFlags{labels: "zone"}, "--labels: item 1"},
		{agentFlags{labels: "a=1,a=2"}, `--labels: key "a" given twice`},
		{agentFlags{start: "systemctl restart web"}, "--start-cmd: want a JSON array"},
		{agentFlags{stop: `["a"] ["b"]`}, "--stop-cmd: unexpected data"},
		{agentFlags{restart: `[]`}, "--restart-cmd: the first element"},
		{agentFlags{restart: `[1]`}, "--restart-cmd: want a JSON array"},
		{agentFlags{signal: "KILL"}, "--signal must be one of"},
	} {
		if _, err := bad.f.config(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want %q", bad.f, err, bad.want)
		}
	}
}

func TestAgentCommandRefusesBadConfig(t *testing.T) {
	code, _, errOut := runCLI(t, "agent", "--nats", "nats://127.0.0.1:1", "--name", "bad host", "--environment", "qa", "--dir", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "name") {
		t.Fatalf("%d %q", code, errOut)
	}
}

func FuzzAgentFlagParsers(f *testing.F) {
	f.Add(`["a","b"]`, "k=v,x=y")
	f.Add(`["a"] x`, "=")
	f.Fuzz(func(t *testing.T, argv, labels string) {
		if got, err := parseArgv("--x", argv); err == nil && (len(got) == 0 || got[0] == "") {
			t.Fatalf("accepted %q as %q", argv, got)
		}
		if got, err := parseLabels("--labels", labels); err == nil {
			for k, v := range got {
				if k == "" || v == "" || strings.Contains(k, ",") || strings.Contains(v, ",") {
					t.Fatalf("accepted %q as %v", labels, got)
				}
			}
		}
	})
}
