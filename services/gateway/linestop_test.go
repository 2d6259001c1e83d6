package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// The line stop is written to the calendar's state bucket by the gateway
// itself (no calendar answers in this test), kept across a second stop,
// read back and released.
func TestLineStop(t *testing.T) {
	h := start(t)
	status, hdr, b := h.do(http.MethodPut, "/v1/stop", `{"created_by":"alice"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "reason" {
		t.Fatalf("stop without a reason: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPut, "/v1/stop", `{"reason":"x","why":"y"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "why" {
		t.Fatalf("stop with an unknown field: %d %s", status, b)
	}
	if status, _, b := h.do(http.MethodGet, "/v1/stop", ""); status != http.StatusNotFound {
		t.Fatalf("get before a stop: %d %s", status, b)
	}
	status, _, b = h.do(http.MethodPut, "/v1/stop", `{"reason":"incident 123","created_by":"alice"}`)
	var first contracts.LineStop
	if status != http.StatusOK || json.Unmarshal(b, &first) != nil || first.Reason != "incident 123" || first.Since.IsZero() {
		t.Fatalf("stop: %d %s", status, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := h.js.KeyValue(ctx, contracts.CalendarStateBucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, contracts.LineStopKey)
	if err != nil {
		t.Fatal(err)
	}
	var stored contracts.LineStop
	if err := json.Unmarshal(e.Value(), &stored); err != nil || stored != first {
		t.Fatalf("stored %s, answered %+v", e.Value(), first)
	}
	status, _, b = h.do(http.MethodPut, "/v1/stop", `{"reason":"incident 124","created_by":"bob"}`)
	var second contracts.LineStop
	if status != http.StatusOK || json.Unmarshal(b, &second) != nil || second.Reason != "incident 124" || !second.Since.Equal(first.Since) {
		t.Fatalf("second stop: %d %s (first %+v)", status, b, first)
	}
	if status, _, b := h.do(http.MethodGet, "/v1/stop", ""); status != http.StatusOK || json.Unmarshal(b, &second) != nil || second.CreatedBy != "bob" {
		t.Fatalf("get: %d %s", status, b)
	}
	if status, _, b := h.do(http.MethodDelete, "/v1/stop", ""); status != http.StatusNoContent {
		t.Fatalf("release: %d %s", status, b)
	}
	if _, err := kv.Get(ctx, contracts.LineStopKey); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("after release: %v", err)
	}
}
