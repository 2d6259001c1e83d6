package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// TestPlanPreviewHasNoSideEffects previews through the gateway with every
// service running: the plan's batches, a real calendar freeze, an estimate
// from a real completed rollout, and nothing published or claimed.
func TestPlanPreviewHasNoSideEffects(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: lifecycleInventory(), services: []string{"discovery", "calendar", "planner", "scheduler", "executor", "gateway"}})
	spec := contracts.DeployRequest{ID: "r-qa-1", App: "web", Version: "1.0.0", Environment: "qa",
		Phases: []contracts.PhaseSpec{{Name: "canary", Hosts: []string{"qa-web-01"}}, {Name: "rest"}}}
	if status, out := h.api(http.MethodPost, "/v1/rollouts", spec); status != http.StatusAccepted {
		t.Fatalf("deploy: %d %v", status, out)
	}
	h.waitState("r-qa-1", contracts.StateCompleted)

	now := time.Now().UTC()
	if status, out := h.api(http.MethodPost, "/v1/calendar/windows", contracts.WindowInput{Environment: "qa", Kind: contracts.WindowFreeze,
		Start: now.Add(-time.Minute).Format(time.RFC3339), End: now.Add(time.Hour).Format(time.RFC3339), Reason: "quiet hour"}); status != http.StatusCreated {
		t.Fatalf("add freeze: %d %v", status, out)
	}
	requests, events := streamMsgs(t, h, contracts.StreamRequests), streamMsgs(t, h, contracts.StreamEvents)

	preview := spec
	preview.ID, preview.Version = "r-qa-2", "1.1.0"
	var pr contracts.PreviewReply
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		status, out := h.api(http.MethodPost, "/v1/plan", preview)
		b, _ := json.Marshal(out)
		pr = contracts.PreviewReply{}
		if err := json.Unmarshal(b, &pr); err != nil || status != http.StatusOK {
			t.Fatalf("plan: %d %v", status, out)
		}
		// The record learns the completion from the stream.
		if pr.Estimate != nil && pr.Estimate.Samples == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("estimate = %+v", pr.Estimate)
		}
	}
	if p := pr.Plan; p == nil || len(p.Phases) != 2 || strings.Join(p.Phases[0].Batches[0], ",") != "qa-web-01" ||
		strings.Join(p.Phases[1].Batches[0], ",") != "qa-web-02" {
		t.Fatalf("plan = %+v", pr.Plan)
	}
	if len(pr.Calendar) != 1 || pr.Calendar[0].Allowed || pr.Calendar[0].Window == nil || pr.Calendar[0].Window.Reason != "quiet hour" {
		t.Fatalf("calendar = %+v", pr.Calendar)
	}
	if e := pr.Estimate; e.Batches != 2 || e.Duration <= 0 {
		t.Fatalf("estimate = %+v", e)
	}
	if r, e := streamMsgs(t, h, contracts.StreamRequests), streamMsgs(t, h, contracts.StreamEvents); r != requests || e != events {
		t.Fatalf("the preview published: requests %d -> %d, events %d -> %d", requests, r, events, e)
	}
	// The previewed id was not claimed: another body under it is accepted.
	preview.Version = "1.2.0"
	if status, out := h.api(http.MethodPost, "/v1/rollouts", preview); status != http.StatusAccepted || out["duplicate"] != false {
		t.Fatalf("deploy under the previewed id: %d %v", status, out)
	}
}
