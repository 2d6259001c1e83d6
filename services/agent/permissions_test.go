package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/artifact"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/service"
)

// AgentPermissions is what docs/ARCHITECTURE.md lists as the permissions
// of an agent's own NATS user; the test below runs an agent with exactly
// these.
func agentPermissions(env, host string) *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			contracts.AgentAnnounceSubject(env),
			"$JS.API.STREAM.INFO.OBJ_" + contracts.ArtifactsBucket,
			"$JS.API.DIRECT.GET.OBJ_" + contracts.ArtifactsBucket + ".>",
			"$JS.API.CONSUMER.CREATE.OBJ_" + contracts.ArtifactsBucket + ".>",
			"$JS.API.CONSUMER.DELETE.OBJ_" + contracts.ArtifactsBucket + ".>",
			"$JS.FC.>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			contracts.AgentActSubject(env, host),
			contracts.EventFilter(env, "", contracts.EventAborted),
			"_INBOX.>",
		}},
		Response: &server.ResponsePermission{MaxMsgs: 1, Expires: time.Minute},
	}
}

// An agent whose user may do only what the documented permissions allow
// deploys, and may not, for example, read the work queue.
func TestAgentRunsWithLeastPermissions(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
		Users: []*server.User{
			{Username: "admin", Password: "admin"},
			{Username: "web-01", Password: "agent", Permissions: agentPermissions("qa", "web-01.example.com")},
		}}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(srv.Shutdown)

	r := &rig{t: t, srv: srv, dir: t.TempDir()}
	var err2 error
	if r.nc, err2 = nats.Connect(srv.ClientURL(), nats.UserInfo("admin", "admin")); err2 != nil {
		t.Fatal(err2)
	}
	t.Cleanup(r.nc.Close)
	adminJS, _ := jetstream.New(r.nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.store, err = ensureStore(ctx, adminJS); err != nil {
		t.Fatal(err)
	}
	r.push("web", "1.0.0", release(t, "1.0.0"))

	var mu sync.Mutex
	var denied []string
	agentNC, err := nats.Connect(srv.ClientURL(), nats.UserInfo("web-01", "agent"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			mu.Lock()
			denied = append(denied, err.Error())
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(agentNC.Close)
	agentJS, _ := jetstream.New(agentNC)
	r.counter = filepath.Join(t.TempDir(), "starts")
	script := filepath.Join(t.TempDir(), "start.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$ROLLWAVE_VERSION\" >> \"$COUNTER\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.cfg = Config{Name: "web-01.example.com", Environment: "qa", Dir: filepath.Join(r.dir, "root"), Start: []string{script},
		Interval: 100 * time.Millisecond, Env: []string{"PATH=" + os.Getenv("PATH"), "COUNTER=" + r.counter}}
	a, err := New(service.Deps{NC: agentNC, JS: agentJS, Log: slog.New(slog.DiscardHandler)}, r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.agent = a
	t.Cleanup(func() { r.stopAgent(a) })

	// The heartbeat gets through.
	sub, err := r.nc.SubscribeSync(contracts.AgentAnnounceSubject("qa"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("no announcement: %v", err)
	}
	res := r.act(action("r1/0/web-01/attempt-1", "web", "1.0.0"))
	if res.Status != contracts.ResultSucceeded || !res.Downloaded {
		t.Fatalf("result: %s", mustJSON(res))
	}
	if got := r.current("web"); got != "1.0.0" {
		t.Fatalf("current: %q", got)
	}
	mu.Lock()
	if len(denied) != 0 {
		t.Fatalf("permission errors while deploying: %q", denied)
	}
	mu.Unlock()
	// Anything else is refused.
	if _, err := agentNC.SubscribeSync(contracts.ActionPoolFilter(contracts.DefaultPool)); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range denied {
			if strings.Contains(d, "Permissions Violation") {
				return nil
			}
		}
		return fmt.Errorf("no permissions violation yet: %q", denied)
	})
}

func ensureStore(ctx context.Context, js jetstream.JetStream) (jetstream.ObjectStore, error) {
	return artifact.Ensure(ctx, js, 1)
}
