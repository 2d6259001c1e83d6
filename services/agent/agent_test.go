package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsembed"
	"github.com/rollwave/rollwave/pkg/natstest"
)

func TestDeploySwitchesCurrentAndRollsBackWithoutDownload(t *testing.T) {
	r := newRig(t, nil)
	r.push("web", "1.0.0", release(t, "1.0.0"))
	r.push("web", "2.0.0", release(t, "2.0.0"))

	res := r.act(action("r1/0/web-01/attempt-1", "web", "1.0.0"))
	if res.Status != contracts.ResultSucceeded || !res.Installed || !res.Downloaded || res.Replayed {
		t.Fatalf("v1: %s", mustJSON(res))
	}
	if got := r.current("web"); got != "1.0.0" {
		t.Fatalf("current after v1: %q", got)
	}
	b, err := os.ReadFile(filepath.Join(r.cfg.Dir, "web", "current", "bin", "version"))
	if err != nil || string(b) != "1.0.0" {
		t.Fatalf("current/bin/version: %q %v", b, err)
	}
	res = r.act(action("r2/0/web-01/attempt-1", "web", "2.0.0"))
	if res.Status != contracts.ResultSucceeded || !res.Downloaded {
		t.Fatalf("v2: %s", mustJSON(res))
	}
	if got := r.current("web"); got != "2.0.0" {
		t.Fatalf("current after v2: %q", got)
	}
	// The start command ran once per deploy, in the new release.
	if got := r.starts(); !slices.Equal(got, []string{"1.0.0 r1/0/web-01/attempt-1 1.0.0", "2.0.0 r2/0/web-01/attempt-1 2.0.0"}) {
		t.Fatalf("start command runs: %q", got)
	}

	// Rolling back to a kept release downloads nothing: with the artifact
	// gone from the store it still works.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.store.Delete(ctx, contracts.ArtifactName("web", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	res = r.act(action("r3/0/web-01/attempt-1", "web", "1.0.0"))
	if res.Status != contracts.ResultSucceeded || res.Downloaded {
		t.Fatalf("rollback: %s", mustJSON(res))
	}
	if got := r.current("web"); got != "1.0.0" {
		t.Fatalf("current after rollback: %q", got)
	}

	// The heartbeat reports the version current points at.
	sub, err := r.nc.SubscribeSync(contracts.AgentAnnounceSubject("qa"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	env, err := contracts.DecodeEnvelope(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	var ann contracts.AgentAnnouncement
	if err := json.Unmarshal(env.Data, &ann); err != nil {
		t.Fatal(err)
	}
	if ann.Host != "web-01.example.com" || ann.Address != "127.0.0.1:8080" || ann.Versions["web"] != "1.0.0" || ann.Labels["zone"] != "a" {
		t.Fatalf("announcement: %s", mustJSON(ann))
	}
}

// A second delivery of a completed action key runs nothing and answers the
// recorded result, also from an agent restarted on the same directory.
func TestJournalAnswersRedeliveryWithoutRunning(t *testing.T) {
	r := newRig(t, nil)
	r.push("web", "1.0.0", release(t, "1.0.0"))
	a := action("r1/0/web-01/attempt-1", "web", "1.0.0")
	first := r.act(a)
	if first.Status != contracts.ResultSucceeded || len(r.starts()) != 1 {
		t.Fatalf("first: %s, starts %q", mustJSON(first), r.starts())
	}
	second := r.act(a)
	if !second.Replayed || second.Status != first.Status || second.Output != first.Output {
		t.Fatalf("second: %s", mustJSON(second))
	}
	if n := len(r.starts()); n != 1 {
		t.Fatalf("start command ran %d times", n)
	}
	r.stopAgent(r.agent)
	r.startAgent()
	third := r.act(a)
	if !third.Replayed || len(r.starts()) != 1 {
		t.Fatalf("after restart: %s, starts %q", mustJSON(third), r.starts())
	}
	// A new attempt is a new key: it runs.
	a.ID, a.Attempt = "r1/0/web-01/attempt-2", 2
	if res := r.act(a); res.Replayed || len(r.starts()) != 2 {
		t.Fatalf("attempt 2: %s, starts %q", mustJSON(res), r.starts())
	}
}

// Requests for an action in flight wait for its one run.
func TestConcurrentDeliveriesRunOnce(t *testing.T) {
	slow := filepath.Join(t.TempDir(), "slow.sh")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 1\necho run >> \"$COUNTER\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, func(c *Config) { c.Start = []string{slow} })
	r.push("web", "1.0.0", release(t, "1.0.0"))
	a := action("r1/0/web-01/attempt-1", "web", "1.0.0")
	results := make(chan contracts.AgentActResult, 3)
	for range 3 {
		go func() { res, _ := r.tryAct(a, 60*time.Second); results <- res }()
	}
	for range 3 {
		if res := <-results; res.Status != contracts.ResultSucceeded {
			t.Fatalf("result: %s", mustJSON(res))
		}
	}
	if n := len(r.starts()); n != 1 {
		t.Fatalf("start command ran %d times", n)
	}
}

func TestDigestMismatchRefused(t *testing.T) {
	r := newRig(t, nil)
	r.push("web", "1.0.0", release(t, "1.0.0"))
	r.act(action("r1/0/web-01/attempt-1", "web", "1.0.0"))
	r.push("web", "2.0.0", release(t, "2.0.0"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := contracts.ArtifactName("web", "2.0.0")
	if err := r.store.UpdateMeta(ctx, name, jetstream.ObjectMeta{Name: name,
		Metadata: map[string]string{contracts.ArtifactDigestKey: strings.Repeat("0", 64)}}); err != nil {
		t.Fatal(err)
	}
	res := r.act(action("r2/0/web-01/attempt-1", "web", "2.0.0"))
	if res.Status != contracts.ResultFailed || res.Installed || !strings.Contains(res.Error, "digest mismatch") {
		t.Fatalf("result: %s", mustJSON(res))
	}
	if got := r.current("web"); got != "1.0.0" {
		t.Fatalf("current: %q", got)
	}
	if got := r.releases("web"); !slices.Equal(got, []string{"1.0.0"}) {
		t.Fatalf("releases: %q (nothing of 2.0.0 may stay)", got)
	}
	if n := len(r.starts()); n != 1 {
		t.Fatalf("start ran %d times", n)
	}
}

// Archives that climb out are refused through the agent, and nothing is
// written outside the release.
func TestTraversalRefusedByAgent(t *testing.T) {
	r := newRig(t, nil)
	cases := map[string]struct {
		entries []tarEntry
		want    string
	}{
		"dotdot":          {[]tarEntry{file("../../escaped", "x")}, "path traversal"},
		"absolute":        {[]tarEntry{file("/tmp/escaped-abs", "x")}, "absolute path"},
		"symlink-outside": {[]tarEntry{symlink("link", "../../../escaped")}, "points outside the release"},
		"symlink-abs":     {[]tarEntry{symlink("link", "/etc")}, "symlink to absolute path"},
		"write-through":   {[]tarEntry{dir("d/"), symlink("d/up", ".."), file("d/up/x", "y")}, "never written through"},
		"hardlink-out":    {[]tarEntry{hardlink("h", "../../etc/passwd")}, "path traversal"},
	}
	i := 0
	for name, c := range cases {
		i++
		version := "1.0." + string(rune('0'+i))
		r.push("web", version, tarGz(t, append([]tarEntry{file("VERSION", version)}, c.entries...)...))
		res := r.act(action("r/"+name, "web", version))
		if res.Status != contracts.ResultFailed || res.Installed || !strings.Contains(res.Error, c.want) {
			t.Errorf("%s: %s, want an error with %q", name, mustJSON(res), c.want)
		}
		if _, err := os.Stat(filepath.Join(r.cfg.Dir, "web", "releases", version)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: release directory left: %v", name, err)
		}
	}
	for _, p := range []string{filepath.Join(r.dir, "escaped"), filepath.Join(r.cfg.Dir, "escaped"), filepath.Join(r.cfg.Dir, "web", "escaped"), "/tmp/escaped-abs"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists", p)
		}
	}
	if len(r.starts()) != 0 || r.current("web") != "" {
		t.Fatalf("something was deployed")
	}
}

func TestKeepsLastNReleases(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Keep = 2 })
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		r.push("web", v, release(t, v))
		if res := r.act(action("r/"+v, "web", v)); res.Status != contracts.ResultSucceeded {
			t.Fatalf("%s: %s", v, mustJSON(res))
		}
		want := []string{"1.0.0", "1.1.0", "1.2.0"}[max(0, i-1) : i+1]
		if got := r.releases("web"); !slices.Equal(got, want) {
			t.Fatalf("after %s: releases %q, want %q", v, got, want)
		}
	}
	// Back to 1.1.0 (kept): 1.2.0 stays as the other kept one.
	if res := r.act(action("r/back", "web", "1.1.0")); res.Status != contracts.ResultSucceeded || res.Downloaded {
		t.Fatalf("back: %s", mustJSON(res))
	}
	if got := r.releases("web"); !slices.Equal(got, []string{"1.1.0", "1.2.0"}) {
		t.Fatalf("after going back: %q", got)
	}
}

// Stop and start the NATS server on the same port and store: the agent
// reconnects and serves the next action.
func TestAgentSurvivesNATSRestart(t *testing.T) {
	store := t.TempDir()
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	port := srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { srv.Shutdown() })
	r := newRigOn(t, srv, nil)
	r.push("web", "1.0.0", release(t, "1.0.0"))
	r.push("web", "2.0.0", release(t, "2.0.0"))
	if res := r.act(action("r1", "web", "1.0.0")); res.Status != contracts.ResultSucceeded {
		t.Fatalf("before restart: %s", mustJSON(res))
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	srv2, err := natsembed.Start(natsembed.Options{Port: port, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv2.Shutdown() })
	natstest.CheckFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		if !r.nc.IsConnected() {
			return errors.New("test connection not back")
		}
		res, err := r.tryAct(action("r2", "web", "2.0.0"), 5*time.Second)
		if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if err != nil {
			return err
		}
		if res.Status != contracts.ResultSucceeded {
			t.Fatalf("after restart: %s", mustJSON(res))
		}
		return nil
	})
	if got := r.current("web"); got != "2.0.0" {
		t.Fatalf("current: %q", got)
	}
}

// NATS restarts while the agent runs an action: the reply is lost, the
// re-sent action after the restart is answered from the journal (or
// joins the run), and the command ran once.
func TestActionAcrossNATSRestartRunsOnce(t *testing.T) {
	store := t.TempDir()
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	port := srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { srv.Shutdown() })
	slow := filepath.Join(t.TempDir(), "slow.sh")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\necho run >> \"$COUNTER\"\nsleep 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRigOn(t, srv, func(c *Config) { c.Start = []string{slow} })
	r.push("web", "1.0.0", release(t, "1.0.0"))
	a := action("r1/0/web-01/attempt-1", "web", "1.0.0")
	first := make(chan error, 1)
	go func() { _, err := r.tryAct(a, 5*time.Second); first <- err }()
	natstest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if len(r.starts()) == 0 {
			return errors.New("not started")
		}
		return nil
	})
	srv.Shutdown()
	srv.WaitForShutdown()
	srv2, err := natsembed.Start(natsembed.Options{Port: port, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv2.Shutdown() })
	<-first // lost with the old server, or answered if it reconnected in time
	natstest.CheckFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		res, err := r.tryAct(a, 10*time.Second)
		if err != nil {
			return err
		}
		if res.Status != contracts.ResultSucceeded {
			t.Fatalf("result: %s", mustJSON(res))
		}
		return nil
	})
	if n := len(r.starts()); n != 1 {
		t.Fatalf("the start command ran %d times", n)
	}
}
