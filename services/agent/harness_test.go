package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/archivetest"
	"github.com/rollwave/rollwave/pkg/artifact"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/service"
)

// The test archives come from archivetest; short names keep the cases
// readable.
type tarEntry = archivetest.Entry

var (
	file     = archivetest.File
	dir      = archivetest.Dir
	symlink  = archivetest.Symlink
	hardlink = archivetest.Hardlink
	tarGz    = archivetest.TarGz
	rawTar   = archivetest.Tar
)

// rig is a real JetStream server, the artifacts bucket, and an agent with
// a start command that counts its runs in a file.
type rig struct {
	t       *testing.T
	srv     *server.Server
	nc      *nats.Conn // the test's own connection, as an executor's
	store   jetstream.ObjectStore
	dir     string
	counter string
	agent   *Service
	cfg     Config
}

func newRig(t *testing.T, mod func(*Config)) *rig {
	t.Helper()
	srv := natstest.RunServer(t)
	return newRigOn(t, srv, mod)
}

func newRigOn(t *testing.T, srv *server.Server, mod func(*Config)) *rig {
	t.Helper()
	r := &rig{t: t, srv: srv, nc: natstest.Connect(t, srv), dir: t.TempDir()}
	js, err := jetstream.New(r.nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.store, err = artifact.Ensure(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	// The operator's start command: a real program that records each run.
	r.counter = filepath.Join(t.TempDir(), "starts")
	script := filepath.Join(t.TempDir(), "start.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$ROLLWAVE_VERSION $ROLLWAVE_ACTION_ID $(cat VERSION)\" >> \"$COUNTER\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.cfg = Config{
		Name: "web-01.example.com", Environment: "qa", Address: "127.0.0.1:8080", Labels: map[string]string{"zone": "a"},
		Dir: filepath.Join(r.dir, "root"), Start: []string{script}, Interval: 200 * time.Millisecond,
		Env: []string{"PATH=" + os.Getenv("PATH"), "COUNTER=" + r.counter},
	}
	if mod != nil {
		mod(&r.cfg)
	}
	r.startAgent()
	return r
}

// startAgent starts an agent with its own connection, which reconnects
// for ever, as `rollwave agent` does.
func (r *rig) startAgent() {
	r.t.Helper()
	nc, err := nats.Connect(r.srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		r.t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("ROLLWAVE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(service.Deps{NC: nc, JS: js, Log: log}, r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		r.t.Fatal(err)
	}
	r.agent = a
	r.t.Cleanup(func() { r.stopAgent(a) })
}

func (r *rig) stopAgent(a *Service) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = a.Stop(ctx)
}

func (r *rig) push(app, version string, archive []byte) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := artifact.Push(ctx, r.store, app, version, bytes.NewReader(archive)); err != nil {
		r.t.Fatal(err)
	}
}

// release is an archive of a release that says its version.
func release(t testing.TB, version string) []byte {
	return tarGz(t, file("VERSION", version), dir("bin/"), file("bin/app", "#!/bin/sh\n"), symlink("bin/version", "../VERSION"))
}

func action(id, app, version string) contracts.HostAction {
	return contracts.HostAction{ID: id, Rollout: "r1", Environment: "qa", App: app, Version: version, Attempt: 1,
		Host: contracts.ActionHost{Name: "web-01.example.com"}, Driver: contracts.DriverSpec{Agent: &contracts.AgentDriver{}}}
}

// act sends an action the way the executor's agent driver does.
func (r *rig) act(a contracts.HostAction) contracts.AgentActResult {
	r.t.Helper()
	res, err := r.tryAct(a, 60*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

func (r *rig) tryAct(a contracts.HostAction, wait time.Duration) (contracts.AgentActResult, error) {
	b, err := contracts.Marshal(contracts.TypeHostAction, a.ID, "test", a.ID, time.Now(), a)
	if err != nil {
		return contracts.AgentActResult{}, err
	}
	m, err := r.nc.Request(contracts.AgentActSubject(a.Environment, a.Host.Name), b, wait)
	if err != nil {
		return contracts.AgentActResult{}, fmt.Errorf("request %s: %w", a.ID, err)
	}
	env, err := contracts.DecodeEnvelope(m.Data)
	if err != nil {
		return contracts.AgentActResult{}, err
	}
	var res contracts.AgentActResult
	if err := env.DecodeDataTolerant(contracts.TypeAgentActResult, &res); err != nil {
		return contracts.AgentActResult{}, err
	}
	return res, nil
}

func (r *rig) current(app string) string {
	r.t.Helper()
	v, err := appDir(filepath.Join(r.cfg.Dir, app)).Current()
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

// starts returns the lines the start command wrote.
func (r *rig) starts() []string {
	b, err := os.ReadFile(r.counter)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (r *rig) releases(app string) []string {
	r.t.Helper()
	entries, err := os.ReadDir(filepath.Join(r.cfg.Dir, app, "releases"))
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
