package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// The bars need a terminal to be chosen; here they draw into a buffer.
func TestBarProgressCountsHostsPerPhase(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := newBarProgress(ctx, &buf)
	env := func(typ contracts.EventType) contracts.Envelope {
		return contracts.Envelope{Type: contracts.EventTypeID(typ), Time: time.Now()}
	}
	plan := &contracts.Plan{Phases: []contracts.PlannedPhase{
		{Name: "canary", Batches: [][]string{{"web-01"}}},
		{Name: "rest", Batches: [][]string{{"web-02", "web-03"}}},
	}}
	p0, p1 := &contracts.PhaseRef{Index: 0, Name: "canary"}, &contracts.PhaseRef{Index: 1, Name: "rest"}
	b.event(sseEvent{}, env(contracts.EventPlanned), contracts.Event{Rollout: "r-1", Plan: plan})
	b.event(sseEvent{}, env(contracts.EventHostSucceeded), contracts.Event{Phase: p0, Host: &contracts.HostOutcome{Name: "web-01"}})
	b.event(sseEvent{}, env(contracts.EventHostSucceeded), contracts.Event{Phase: p1, Host: &contracts.HostOutcome{Name: "web-02"}})
	b.event(sseEvent{}, env(contracts.EventHostFailed), contracts.Event{Phase: p1, Host: &contracts.HostOutcome{Name: "web-03", Status: contracts.ResultFailed, Error: "boom"}})
	// A phase the plan did not announce still gets a bar.
	b.event(sseEvent{}, env(contracts.EventHostSucceeded), contracts.Event{Phase: &contracts.PhaseRef{Index: 2, Name: "extra"}, Host: &contracts.HostOutcome{Name: "web-04"}})
	b.event(sseEvent{}, env(contracts.EventFailed), contracts.Event{Rollout: "r-1", State: contracts.StateFailed, Reason: "too many failures"})
	b.done()

	out := buf.String()
	for _, want := range []string{"0 canary", "1 rest", "1/1", "2/2", "1 failed", "2 extra", "web-03", "boom", "too many failures"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b.bars[0].Current() != 1 || b.bars[1].Current() != 2 || b.failed[1].Load() != 1 {
		t.Fatalf("counts: %d %d failed %d", b.bars[0].Current(), b.bars[1].Current(), b.failed[1].Load())
	}
}

func TestEventTypeName(t *testing.T) {
	for in, want := range map[string]string{
		contracts.EventTypeID(contracts.EventHostFailed): "host_failed",
		"io.rollwave.rollout.x.v2":                       "io.rollwave.rollout.x.v2",
		"other":                                          "other",
	} {
		if got := eventTypeName(in); got != want {
			t.Errorf("eventTypeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A plan stored by reference draws its bars from the event's summary.
func TestBarProgressFromPlanReference(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := newBarProgress(ctx, &buf)
	ref := &contracts.PlanRef{Summary: contracts.PlanSummary{Hosts: 3, Batches: 2, Phases: []contracts.PhaseSummary{
		{Name: "canary", Hosts: 1}, {Name: "rest", Hosts: 2}}}}
	b.event(sseEvent{}, contracts.Envelope{Type: contracts.EventTypeID(contracts.EventPlanned), Time: time.Now()}, contracts.Event{Rollout: "r-1", PlanRef: ref})
	b.done()
	if len(b.bars) != 2 || b.bars[0].Current() != 0 || !strings.Contains(buf.String(), "1 rest") {
		t.Fatalf("bars %d:\n%s", len(b.bars), buf.String())
	}
}
