package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// Through the HTTP gateway: the same id with the same body is the existing
// rollout, the same id with another body is 409 conflict naming "id", and
// neither publishes anything, so no phantom planned event appears.
func TestRequestIDsAreSingleUseOverHTTP(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {}}"), services: []string{"discovery", "calendar", "planner", "scheduler", "gateway"}})
	body := `{"id":"r-http-idem","app":"web","version":"2.4.1","environment":"prod","phases":[{"name":"all"}]}`
	post := func(b string) (int, map[string]any) {
		t.Helper()
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Post("http://"+h.st.Gateway.Addr()+"/v1/rollouts", "application/json", bytes.NewBufferString(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("body %s: %v", raw, err)
		}
		return resp.StatusCode, out
	}
	if status, out := post(body); status != http.StatusAccepted || out["duplicate"] != false {
		t.Fatalf("first POST: %d %v", status, out)
	}
	natstest.CheckFor(t, waitLong, 10*time.Millisecond, func() error {
		_, err := h.rollout("r-http-idem")
		return err
	})
	requests := streamMsgs(t, h, contracts.StreamRequests)

	status, out := post(body)
	if status != http.StatusAccepted || out["duplicate"] != true || out["rollout"] != "r-http-idem" {
		t.Fatalf("same body again: %d %v", status, out)
	}
	status, out = post(strings.Replace(body, `"2.4.1"`, `"2.5.0"`, 1))
	if status != http.StatusConflict || out["code"] != string(contracts.CodeConflict) || out["field"] != "id" {
		t.Fatalf("another body under the id: %d %v", status, out)
	}
	if n := streamMsgs(t, h, contracts.StreamRequests); n != requests {
		t.Fatalf("REQUESTS went from %d to %d messages", requests, n)
	}
	planned := 0
	for _, e := range h.events("r-http-idem") {
		if e.Type == contracts.EventPlanned {
			planned++
			if e.Event.Version != "2.4.1" {
				t.Fatalf("phantom planned event %+v", e)
			}
		}
	}
	if planned != 1 {
		t.Fatalf("%d planned events, want 1", planned)
	}
}

func streamMsgs(t *testing.T, h *harness, name string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.st.JS.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
