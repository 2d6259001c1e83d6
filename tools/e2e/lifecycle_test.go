package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// lifecycleInventory: qa → staging → prod, two simulated hosts each.
func lifecycleInventory() string {
	var b strings.Builder
	b.WriteString("lifecycle: [qa, staging, prod]\nenvironments:\n")
	for _, env := range []string{"qa", "staging", "prod"} {
		fmt.Fprintf(&b, "  - name: %s\n    driver: {sim: {median: 5ms, p99: 20ms}}\n    hosts:\n", env)
		for i := 1; i <= 2; i++ {
			fmt.Fprintf(&b, "      - {name: %s-web-%02d, address: 127.0.0.1:%d, groups: [web]}\n", env, i, 21000+i)
		}
	}
	return b.String()
}

// api calls the gateway and decodes its JSON answer.
func (h *harness) api(method, path string, body any) (int, map[string]any) {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+h.st.Gateway.Addr()+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("%s %s: body %s: %v", method, path, raw, err)
	}
	return resp.StatusCode, out
}

func TestPromotionThroughTheLifecycle(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: lifecycleInventory(), services: []string{"discovery", "calendar", "planner", "scheduler", "executor", "gateway"}})
	spec := contracts.DeployRequest{ID: "r-qa", App: "web", Version: "2.5.0", Environment: "qa", RequestedBy: "ci",
		Phases: []contracts.PhaseSpec{{Name: "all", Selector: &contracts.Selector{Group: "web"}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}}}
	if status, out := h.api(http.MethodPost, "/v1/rollouts", spec); status != http.StatusAccepted {
		t.Fatalf("deploy to qa: %d %v", status, out)
	}
	h.waitState("r-qa", contracts.StateCompleted)

	// Straight to prod: staging has not passed.
	promote := func(id, to string, override *contracts.Override) (int, map[string]any) {
		return h.api(http.MethodPost, "/v1/promote", contracts.PromoteRequest{App: "web", Version: "2.5.0", To: to, ID: id, RequestedBy: "alice", Override: override})
	}
	status, out := promote("r-prod-early", "prod", nil)
	if status != http.StatusUnprocessableEntity || out["code"] != string(contracts.CodeLifecycle) || out["field"] != "environment" ||
		!strings.Contains(fmt.Sprint(out["message"]), "has not completed in staging") {
		t.Fatalf("promote to prod before staging: %d %v", status, out)
	}
	if _, err := h.rollout("r-prod-early"); err == nil {
		t.Fatal("a refused promotion made a rollout")
	}
	// A plain deploy request to prod over HTTP is refused the same way,
	// before anything is published; the id stays free.
	requests := streamMsgs(t, h, contracts.StreamRequests)
	direct := spec
	direct.ID, direct.Environment = "r-prod-direct", "prod"
	status, out = h.api(http.MethodPost, "/v1/rollouts", direct)
	if status != http.StatusUnprocessableEntity || out["code"] != string(contracts.CodeLifecycle) || out["field"] != "environment" {
		t.Fatalf("deploy to prod before staging: %d %v", status, out)
	}
	if n := streamMsgs(t, h, contracts.StreamRequests); n != requests {
		t.Fatalf("a refused request was published: %d -> %d", requests, n)
	}

	// The same with an override: planned with the reason in the events.
	status, out = promote("r-prod-hotfix", "prod", &contracts.Override{Lifecycle: true, Reason: "hotfix for INC-42"})
	if status != http.StatusAccepted || out["rollout"] != "r-prod-hotfix" || out["from"] != "r-qa" || out["from_environment"] != "qa" {
		t.Fatalf("promote with override: %d %v", status, out)
	}
	h.waitState("r-prod-hotfix", contracts.StateCompleted)
	var audited bool
	for _, e := range h.events("r-prod-hotfix") {
		if e.Type == contracts.EventPlanned {
			audited = strings.Contains(e.Event.Reason, "hotfix for INC-42") && strings.Contains(e.Event.Reason, "alice") &&
				e.Event.Plan != nil && e.Event.Plan.LifecycleOverride != nil && e.Event.Plan.LifecycleOverride.Missing == "staging"
		}
	}
	if !audited {
		t.Fatalf("the override is not in the planned event: %v", eventNames(h.events("r-prod-hotfix")))
	}

	// The ordinary path: staging, then prod, each with its own hosts.
	if status, out := promote("r-stg", "staging", nil); status != http.StatusAccepted {
		t.Fatalf("promote to staging: %d %v", status, out)
	}
	v := h.waitState("r-stg", contracts.StateCompleted)
	if len(v.Phases) != 1 || len(v.Phases[0].Hosts) != 2 || !strings.HasPrefix(v.Phases[0].Hosts[0].Name, "staging-") {
		t.Fatalf("staging rollout = %+v", v.Phases)
	}
	if status, out := promote("r-prod", "prod", nil); status != http.StatusAccepted || out["from"] != "r-stg" {
		t.Fatalf("promote to prod: %d %v", status, out)
	}
	h.waitState("r-prod", contracts.StateCompleted)

	// History: newest first, who asked, how it ended, the override kept.
	var hist contracts.RolloutHistory
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		_, out := h.api(http.MethodGet, "/v1/history?app=web&environment=prod", nil)
		b, _ := json.Marshal(out)
		hist = contracts.RolloutHistory{}
		_ = json.Unmarshal(b, &hist)
		if len(hist.Rollouts) == 2 && hist.Rollouts[0].State == contracts.StateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history = %+v", hist)
		}
	}
	newest, oldest := hist.Rollouts[0], hist.Rollouts[1]
	if newest.Rollout != "r-prod" || newest.RequestedBy != "alice" || newest.StartedAt == nil || newest.EndedAt == nil ||
		oldest.Rollout != "r-prod-hotfix" || oldest.LifecycleOverride != "hotfix for INC-42" || oldest.State != contracts.StateCompleted {
		t.Fatalf("history = %+v", hist.Rollouts)
	}
}
