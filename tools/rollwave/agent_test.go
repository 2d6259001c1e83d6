package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
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

// The command wires flags to a running agent: push with the CLI, run
// `rollwave agent`, send it an action, stop it with its context.
func TestAgentCommandServesActions(t *testing.T) {
	srv := natstest.RunServer(t)
	url := srv.ClientURL()
	work := t.TempDir()
	archive := filepath.Join(work, "web.tar.gz")
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "VERSION", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte("1.0.0"))
	_ = tw.Close()
	_ = gz.Close()
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "artifact", "push", "--nats", url, "web", "1.0.0", archive); code != 0 {
		t.Fatalf("push: %s", errOut)
	}
	marker := filepath.Join(work, "started")
	start, _ := json.Marshal([]string{"/bin/sh", "-c", `cat VERSION > "$0"`, marker})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- execute(ctx, []string{"agent", "--nats", url, "--name", "web-01", "--environment", "qa", "--dir", filepath.Join(work, "root"),
			"--start-cmd", string(start), "--log-level", "error"}, strings.NewReader(""), &bytes.Buffer{}, &errOut)
	}()
	nc := natstest.Connect(t, srv)
	a := contracts.HostAction{ID: "r1/0/web-01/attempt-1", Rollout: "r1", Environment: "qa", App: "web", Version: "1.0.0", Attempt: 1,
		Host: contracts.ActionHost{Name: "web-01"}, Driver: contracts.DriverSpec{Agent: &contracts.AgentDriver{}}}
	body, err := contracts.Marshal(contracts.TypeHostAction, a.ID, "test", a.ID, time.Now(), a)
	if err != nil {
		t.Fatal(err)
	}
	var res contracts.AgentActResult
	natstest.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		m, err := nc.Request(contracts.AgentActSubject("qa", "web-01"), body, 10*time.Second)
		if err != nil {
			return err // not subscribed yet
		}
		env, err := contracts.DecodeEnvelope(m.Data)
		if err != nil {
			return err
		}
		return env.DecodeDataTolerant(contracts.TypeAgentActResult, &res)
	})
	if res.Status != contracts.ResultSucceeded {
		t.Fatalf("result: %+v", res)
	}
	if b, _ := os.ReadFile(marker); string(b) != "1.0.0" {
		t.Fatalf("start command wrote %q", b)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("agent exited %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not stop")
	}
}
