package discovery

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/service"
)

// announcer is a minimal host agent: it publishes announcements as the
// real agent will.
type announcer struct {
	e   *env
	clk clock.Clock
	n   int
}

func (a *announcer) announce(ann contracts.AgentAnnouncement) {
	a.e.t.Helper()
	a.n++
	b, err := contracts.Marshal(contracts.TypeAgentAnnouncement, fmt.Sprintf("%s/%d", ann.Host, a.n), "agent/"+ann.Host, "", a.clk.Now(), ann)
	if err != nil {
		a.e.t.Fatal(err)
	}
	if err := a.e.nc.Publish(contracts.AgentAnnounceSubject(ann.Environment), b); err != nil {
		a.e.t.Fatal(err)
	}
	if err := a.e.nc.Flush(); err != nil {
		a.e.t.Fatal(err)
	}
}

func (e *env) host(envName, name string) contracts.Host {
	e.t.Helper()
	envr, err := e.targets(contracts.TargetsQuery{Environment: envName})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range envr.Hosts {
		if h.Name == name {
			return h
		}
	}
	return contracts.Host{}
}

func (e *env) waitLiveness(envName, name, want string) {
	e.t.Helper()
	natstest.CheckFor(e.t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := e.host(envName, name).Liveness; got != want {
			return fmt.Errorf("%s liveness %q, want %q", name, got, want)
		}
		return nil
	})
}

func TestAgentLiveness(t *testing.T) {
	e := newEnv(t)
	clk := clock.NewFake(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	iv := e.watchInventory()
	e.start(func(c *Config, d *service.Deps) {
		c.OfflineAfter = 30 * time.Second
		d.Clock = clk
	})
	a := &announcer{e: e, clk: clk}
	known := contracts.AgentAnnouncement{Host: "qa-web-01", Environment: "qa", Address: "10.99.0.1", Versions: map[string]string{"web": "1.0.0"}}
	fresh := contracts.AgentAnnouncement{Host: "qa-agent-01", Environment: "qa", Address: "10.0.9.9", Groups: []string{"agents"}}

	// A host no agent has announced has no liveness.
	if h := e.host("qa", "qa-web-02"); h.Name == "" || h.Liveness != "" || h.LastSeen != nil {
		t.Fatalf("qa-web-02 = %+v", h)
	}
	a.announce(known)
	a.announce(fresh)
	// An announced host the inventory lacks joins its environment.
	iv.waitFor(t, "host_added qa-agent-01")
	iv.waitFor(t, "host_online qa-web-01")
	e.waitLiveness("qa", "qa-agent-01", contracts.LivenessOnline)
	if h := e.host("qa", "qa-web-01"); h.Address != "10.0.1.11:8080" || h.Liveness != contracts.LivenessOnline || !h.LastSeen.Equal(clk.Now()) {
		t.Fatalf("qa-web-01 = %+v: the inventory's address wins, and it is online", h)
	}
	if h := e.host("qa", "qa-agent-01"); h.Address != "10.0.9.9" || len(h.Groups) != 1 || h.Pool != contracts.DefaultPool {
		t.Fatalf("qa-agent-01 = %+v", h)
	}

	// Heartbeats keep a host online; silence past the timeout takes it
	// offline, on the injected clock.
	clk.Advance(20 * time.Second)
	a.announce(known)
	natstest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if h := e.host("qa", "qa-web-01"); !h.LastSeen.Equal(clk.Now()) {
			return fmt.Errorf("heartbeat not recorded: %+v", h.LastSeen)
		}
		return nil
	})
	clk.Advance(15 * time.Second) // agent-01 silent for 35s, web-01 for 15s
	iv.waitFor(t, "host_offline qa-agent-01")
	e.waitLiveness("qa", "qa-agent-01", contracts.LivenessOffline)
	if h := e.host("qa", "qa-web-01"); h.Liveness != contracts.LivenessOnline {
		t.Fatalf("qa-web-01 went offline after 15s: %+v", h)
	}
	clk.Advance(20 * time.Second)
	iv.waitFor(t, "host_offline qa-web-01")
	e.waitLiveness("qa", "qa-web-01", contracts.LivenessOffline)
	// An offline host stays in the inventory, marked.
	if h := e.host("qa", "qa-agent-01"); h.Name == "" {
		t.Fatal("an offline agent host left the inventory")
	}

	a.announce(fresh)
	iv.waitFor(t, "host_online qa-agent-01")
	e.waitLiveness("qa", "qa-agent-01", contracts.LivenessOnline)
}

func TestAgentAnnouncementsAreChecked(t *testing.T) {
	e := newEnv(t)
	s := e.start(nil)
	for _, tc := range []struct {
		subject string
		ann     contracts.AgentAnnouncement
	}{
		{contracts.AgentAnnounceSubject("production"), contracts.AgentAnnouncement{Host: "h-01", Environment: "qa"}},
		{contracts.AgentAnnounceSubject("qa"), contracts.AgentAnnouncement{Host: "bad host", Environment: "qa"}},
		{contracts.AgentAnnounceSubject("qa"), contracts.AgentAnnouncement{Host: "h-01", Environment: "qa", Groups: []string{"a b"}}},
		{contracts.AgentAnnounceSubject("qa"), contracts.AgentAnnouncement{Host: "h-01", Environment: "qa", Address: "127.0.0.1:1;touch x"}},
		{contracts.AgentAnnounceSubject("qa"), contracts.AgentAnnouncement{Host: "h-01", Environment: "qa", Address: "$(touch x)"}},
		{contracts.AgentAnnounceSubject("qa"), contracts.AgentAnnouncement{Host: "h-01", Environment: "qa", Address: "::1"}},
	} {
		b, err := contracts.Marshal(contracts.TypeAgentAnnouncement, "x", "test", "", time.Now(), tc.ann)
		if err != nil {
			t.Fatal(err)
		}
		err = s.announce(tc.subject, b)
		switch {
		case err == nil:
			t.Errorf("announcement %+v on %s accepted", tc.ann, tc.subject)
		case tc.ann.Address != "" && !strings.Contains(err.Error(), "address "+strconv.Quote(tc.ann.Address)):
			t.Errorf("announcement with address %q refused with %q, which does not name the address", tc.ann.Address, err)
		}
	}
	// Unknown fields are ignored: newer agents may send more.
	b := []byte(`{"specversion":"1.0","type":"` + contracts.TypeAgentAnnouncement + `","id":"1","source":"agent","time":"2026-05-01T12:00:00Z",` +
		`"data":{"host":"qa-web-01","environment":"qa","future_field":{"x":1}}}`)
	if err := s.announce(contracts.AgentAnnounceSubject("qa"), b); err != nil {
		t.Fatalf("tolerant decoding: %v", err)
	}
	if err := s.announce(contracts.AgentAnnounceSubject("qa"), []byte("not json")); err == nil {
		t.Fatal("garbage accepted")
	}
}
