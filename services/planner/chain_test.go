package planner

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// chainWait is generous: the machine running the tests may be busy.
const chainWait = 60 * time.Second

func multiRequest(id string, apps ...contracts.AppRelease) contracts.DeployRequest {
	req := deployRequest(id)
	req.App, req.Version, req.Apps = "", "", apps
	return req
}

// chainEvent waits for the last event on subject and decodes it.
func (h *harness) chainEvent(subject string) contracts.Event {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chainWait)
	defer cancel()
	stream, err := h.js.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		h.t.Fatal(err)
	}
	var ev contracts.Event
	natstest.CheckFor(h.t, chainWait, 20*time.Millisecond, func() error {
		raw, err := stream.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			return err
		}
		_, ev, err = contracts.DecodeEvent(raw.Data)
		return err
	})
	return ev
}

// TestMultiApplicationRequestRollsOutInOrder: db, api and web (web needs
// api, api needs db) roll out as db, api, web, each requested only once
// the one before completed, across a restart of the planner.
func TestMultiApplicationRequestRollsOutInOrder(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	db := filepath.Join(t.TempDir(), "planner.db")
	first := h.startPlanner(Config{DBPath: db})
	req := multiRequest("rel",
		contracts.AppRelease{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: ">=3.2.0 <4.0.0"}}},
		contracts.AppRelease{App: "api", Version: "3.2.0", Requires: []contracts.Requirement{{App: "db", Version: "^5"}}},
		contracts.AppRelease{App: "db", Version: "5.1.0"},
	)
	h.publishRequest(context.Background(), req)

	order := []struct{ id, app, version string }{{"rel-db", "db", "5.1.0"}, {"rel-api", "api", "3.2.0"}, {"rel-web", "web", "2.5.0"}}
	for i, m := range order {
		ev := h.chainEvent(contracts.EventSubject("prod", m.id, contracts.EventPlanned))
		if ev.App != m.app || ev.Version != m.version || ev.Plan == nil || ev.Plan.App != m.app || ev.Plan.TotalHosts() != 4 {
			t.Fatalf("%s planned as %+v", m.id, ev)
		}
		h.settled()
		for _, later := range order[i+1:] {
			if n := h.eventCount(contracts.EventFilter("prod", later.id, "")); n != 0 {
				t.Fatalf("%s has %d events before %s completed", later.id, n, m.id)
			}
		}
		if i == 0 {
			// The chain is in the planner's file: a new planner goes on.
			ctx, cancel := context.WithTimeout(context.Background(), chainWait)
			if err := first.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			h.startPlanner(Config{DBPath: db})
		}
		h.schedulerEvent("prod", m.id, m.app, m.version, contracts.EventStarted, 1, "")
		h.schedulerEvent("prod", m.id, m.app, m.version, contracts.EventCompleted, 2, "")
	}
	// The request's own id names no rollout.
	if n := h.eventCount(contracts.EventFilter("prod", "rel", "")); n != 0 {
		t.Fatalf("%d events for the request id itself", n)
	}
	// Each member was planned once.
	for _, m := range order {
		if n := h.eventCount(contracts.EventFilter("prod", m.id, contracts.EventPlanned)); n != 1 {
			t.Fatalf("%s planned %d times", m.id, n)
		}
	}
}

// TestMultiApplicationFailureStopsTheRest: when api fails, web and cdn
// (after it) are rejected naming api's rollout, and nothing else is planned.
func TestMultiApplicationFailureStopsTheRest(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	req := multiRequest("rel2",
		contracts.AppRelease{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: "^3"}}},
		contracts.AppRelease{App: "cdn", Version: "1.0.0", Requires: []contracts.Requirement{{App: "web", Version: "^2"}}},
		contracts.AppRelease{App: "api", Version: "3.2.0"},
	)
	h.publishRequest(context.Background(), req)
	h.chainEvent(contracts.EventSubject("prod", "rel2-api", contracts.EventPlanned))
	h.schedulerEvent("prod", "rel2-api", "api", "3.2.0", contracts.EventFailed, 2, "host web-01 failed: exit status 1")
	for _, id := range []string{"rel2-web", "rel2-cdn"} {
		ev := h.chainEvent(contracts.EventSubject("prod", id, contracts.EventRejected))
		if ev.State != contracts.StateRejected || !strings.Contains(ev.Reason, "rel2-api of api@3.2.0 ended failed") ||
			!strings.Contains(ev.Reason, "host web-01 failed") || len(ev.Reasons) != 1 || ev.Reasons[0].Field != "apps" {
			t.Fatalf("%s: %+v", id, ev)
		}
	}
	h.settled()
	for _, id := range []string{"rel2-web", "rel2-cdn"} {
		if n := h.eventCount(contracts.EventFilter("prod", id, contracts.EventPlanned)); n != 0 {
			t.Fatalf("%s planned after api failed", id)
		}
	}
}

// TestMultiApplicationRejectedMemberStopsTheRest: a member the planner
// rejects (here: a host that does not exist) stops the ones after it.
func TestMultiApplicationRejectedMemberStopsTheRest(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	req := multiRequest("rel3",
		contracts.AppRelease{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: "^3"}}},
		contracts.AppRelease{App: "api", Version: "3.2.0"},
	)
	req.Phases[0].Hosts = []string{"web-09"}
	h.publishRequest(context.Background(), req)
	api := h.chainEvent(contracts.EventSubject("prod", "rel3-api", contracts.EventRejected))
	if !strings.Contains(reasonsText(api), "web-09") {
		t.Fatalf("api: %+v", api)
	}
	web := h.chainEvent(contracts.EventSubject("prod", "rel3-web", contracts.EventRejected))
	if !strings.Contains(web.Reason, "rel3-api of api@3.2.0 ended rejected") {
		t.Fatalf("web: %+v", web)
	}
}

// TestMultiApplicationRequestRefused: a cycle is refused naming it, and a
// requirement the request's own version of an app does not meet names
// both; nothing is planned.
func TestMultiApplicationRequestRefused(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	for _, tc := range []struct {
		id    string
		apps  []contracts.AppRelease
		field string
		msg   string
	}{
		{"cyc", []contracts.AppRelease{
			{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: "^3"}}},
			{App: "api", Version: "3.2.0", Requires: []contracts.Requirement{{App: "db", Version: "^5"}}},
			{App: "db", Version: "5.1.0", Requires: []contracts.Requirement{{App: "web", Version: "^2"}}},
		}, "apps", "applications require each other in a cycle: api -> db -> web -> api"},
		{"unmet", []contracts.AppRelease{
			{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: "^4"}}},
			{App: "api", Version: "3.2.0"},
		}, "apps[0].requires[0]", "requires api ^4, but this request rolls out api 3.2.0 (apps[1])"},
	} {
		h.publishRequest(context.Background(), multiRequest(tc.id, tc.apps...))
		ev := h.chainEvent(contracts.EventSubject("prod", tc.id, contracts.EventRejected))
		if len(ev.Reasons) != 1 || ev.Reasons[0].Field != tc.field || ev.Reasons[0].Message != tc.msg {
			t.Fatalf("%s: %+v", tc.id, ev.Reasons)
		}
		h.settled()
		if n := h.eventCount(contracts.EventFilter("prod", "*", contracts.EventPlanned)); n != 0 {
			t.Fatalf("%s: %d planned", tc.id, n)
		}
	}
	// A member's rollout id already used by another request is refused
	// up front, not found taken when its turn comes.
	h.publishRequest(context.Background(), deployRequest("taken-api"))
	h.chainEvent(contracts.EventSubject("prod", "taken-api", contracts.EventPlanned))
	h.publishRequest(context.Background(), multiRequest("taken",
		contracts.AppRelease{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: "^3"}}},
		contracts.AppRelease{App: "api", Version: "3.2.0"}))
	ev := h.chainEvent(contracts.EventSubject("prod", "taken", contracts.EventRejected))
	if len(ev.Reasons) != 1 || ev.Reasons[0].Field != "apps[1].app" || !strings.Contains(ev.Reasons[0].Message, `"taken-api", which another request already used`) {
		t.Fatalf("taken: %+v", ev.Reasons)
	}
	// Previews refuse a multi-application request on apps.
	reply, err := (&planning{}).Preview(context.Background(), multiRequest("p", contracts.AppRelease{App: "web", Version: "1.0.0"}))
	if err != nil || reply.Plan != nil || len(reply.Reasons) != 1 || reply.Reasons[0].Field != "apps" {
		t.Fatalf("preview: %+v %v", reply, err)
	}
}

// TestClaimOfAMultiApplicationRequest: the gateway's claim answers the
// rollouts in order, and refuses a cycle before the id is taken.
func TestClaimOfAMultiApplicationRequest(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), chainWait)
	defer cancel()
	apps := []contracts.AppRelease{
		{App: "web", Version: "2.5.0", Requires: []contracts.Requirement{{App: "api", Version: "^3"}}},
		{App: "api", Version: "3.2.0", Requires: []contracts.Requirement{{App: "web", Version: "^2"}}},
	}
	_, err := natsx.Request[contracts.ClaimReply](ctx, h.nc, contracts.APIPlannerClaim, multiRequest("c1", apps...))
	if e := contracts.AsError(err); e == nil || e.Field != "apps" || !strings.Contains(e.Message, "api -> web -> api") {
		t.Fatalf("cycle: %v", err)
	}
	apps[1].Requires = nil
	reply, err := natsx.Request[contracts.ClaimReply](ctx, h.nc, contracts.APIPlannerClaim, multiRequest("c1", apps...))
	if err != nil || reply.Rollout != "c1" || reply.Existing || !reflect.DeepEqual(reply.Rollouts, []string{"c1-api", "c1-web"}) {
		t.Fatalf("claim: %+v %v", reply, err)
	}
}
