package gateway

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
)

func TestEventsStartWithNewEventsAndFilter(t *testing.T) {
	h := start(t)
	old := h.publishEvent("prod", "r-1", contracts.EventStarted, 1)

	s := h.events("?environment=prod&rollout=r-1")
	if s.resp.StatusCode != http.StatusOK || s.resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", s.resp.StatusCode, s.resp.Header.Get("Content-Type"))
	}
	// The opening comment says the consumer is in place.
	if f := s.next(true); f.Comment == "" {
		t.Fatalf("first frame = %+v", f)
	}
	h.publishEvent("prod", "r-2", contracts.EventStarted, 1) // other rollout
	h.publishEvent("qa", "r-1", contracts.EventStarted, 1)   // other environment
	want := h.publishEvent("prod", "r-1", contracts.EventPhaseStarted, 2)

	f := s.next(false)
	if f.ID != strconv.FormatUint(want, 10) || f.Event != string(contracts.EventPhaseStarted) {
		t.Fatalf("frame = %+v, want id %d (not the older %d)", f, want, old)
	}
	env, err := contracts.DecodeEnvelope([]byte(f.Data))
	if err != nil {
		t.Fatal(err)
	}
	var ev contracts.Event
	if err := env.DecodeData(contracts.EventTypeID(contracts.EventPhaseStarted), &ev); err != nil || ev.Rollout != "r-1" || ev.Seq != 2 {
		t.Fatalf("event %+v, %v", ev, err)
	}

	// A type filter narrows further.
	typed := h.events("?type=completed")
	_ = typed.next(true)
	h.publishEvent("prod", "r-1", contracts.EventHostSucceeded, 3)
	done := h.publishEvent("prod", "r-1", contracts.EventCompleted, 4)
	if f := typed.next(false); f.ID != strconv.FormatUint(done, 10) || f.Event != "completed" {
		t.Fatalf("typed frame = %+v", f)
	}
	if f := s.next(false); f.Event != "host_succeeded" {
		t.Fatalf("frame = %+v", f)
	}
}

func TestEventsResume(t *testing.T) {
	h := start(t)
	var seqs []uint64
	for i := int64(1); i <= 4; i++ {
		seqs = append(seqs, h.publishEvent("prod", "r-1", contracts.EventHostSucceeded, i))
	}
	h.publishEvent("prod", "r-9", contracts.EventStarted, 1)

	// since=0 replays from the first event.
	s := h.events("?rollout=r-1&since=0")
	for _, want := range seqs {
		if f := s.next(false); f.ID != strconv.FormatUint(want, 10) {
			t.Fatalf("frame = %+v, want id %d", f, want)
		}
	}
	// A reconnecting EventSource repeats its URL and sends the last id it
	// saw: the header wins over since.
	r := h.events("?rollout=r-1&since=0", "Last-Event-ID", strconv.FormatUint(seqs[1], 10))
	for _, want := range seqs[2:] {
		if f := r.next(false); f.ID != strconv.FormatUint(want, 10) {
			t.Fatalf("resumed frame = %+v, want id %d", f, want)
		}
	}
	status, hdr, b := h.do(http.MethodGet, "/v1/events", "", "Last-Event-ID", "yesterday")
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "Last-Event-ID" {
		t.Fatalf("bad Last-Event-ID: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodGet, "/v1/events?rollout=r.>", "")
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "rollout" {
		t.Fatalf("bad rollout: %d %s", status, b)
	}
}

func TestEventsSnapshotEnds(t *testing.T) {
	h := start(t)
	// No events at all: the snapshot is empty and ends at once.
	h.events("?since=0&snapshot=true").ended()

	a := h.publishEvent("prod", "r-1", contracts.EventStarted, 1)
	h.publishEvent("prod", "r-2", contracts.EventStarted, 1)
	b := h.publishEvent("prod", "r-1", contracts.EventCompleted, 2)
	h.publishEvent("prod", "r-2", contracts.EventCompleted, 2)

	s := h.events("?rollout=r-1&since=0&snapshot=true")
	for _, want := range []uint64{a, b} {
		if f := s.next(false); f.ID != strconv.FormatUint(want, 10) {
			t.Fatalf("frame = %+v, want %d", f, want)
		}
	}
	s.ended()
	// Nothing matches after the last event.
	h.events("?rollout=r-1&snapshot=true&since=" + strconv.FormatUint(b, 10)).ended()
	h.events("?rollout=r-3&snapshot=true&since=0").ended()
}

func TestEventsHeartbeat(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := start(t, withClock(fake))
	s := h.events("")
	if f := s.next(true); f.Comment == "" {
		t.Fatalf("first frame = %+v", f)
	}
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if fake.Waiters() == 0 {
			return context.DeadlineExceeded
		}
		return nil
	})
	fake.Advance(HeartbeatInterval)
	if f := s.next(true); f.Comment != "heartbeat" {
		t.Fatalf("frame = %+v, want a heartbeat", f)
	}
	// The client leaving ends the handler: the gauge goes back to 0.
	s.close()
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		status, _, b := h.do(http.MethodGet, "/metrics", "")
		if status != http.StatusOK || !containsLine(string(b), "rollwave_gateway_event_streams 0") {
			return context.DeadlineExceeded
		}
		return nil
	})
}

func containsLine(text, line string) bool {
	return slices.Contains(strings.Split(text, "\n"), line)
}
