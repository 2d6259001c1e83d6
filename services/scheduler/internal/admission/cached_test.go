package admission

import (
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestFromState(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return at.Add(time.Duration(n) * time.Hour) }
	through := h(24 * 30)
	freeze := contracts.WindowState{Window: contracts.Window{ID: "f", Environment: "prod", Kind: contracts.WindowFreeze, Reason: "release"},
		Occurrences: []contracts.Occurrence{{WindowID: "f", Start: h(-1), End: h(2)}, {WindowID: "f", Start: h(2), End: h(3)}}, Through: through}
	stop := contracts.WindowState{Window: contracts.Window{ID: "s", Environment: "*", Kind: contracts.WindowStop, Reason: "incident"},
		Occurrences: []contracts.Occurrence{{WindowID: "s", Start: h(10), End: h(11)}}, Through: through}
	maint := contracts.WindowState{Window: contracts.Window{ID: "m", Environments: []string{"db", "cache"}, Kind: contracts.WindowMaintenance},
		Occurrences: []contracts.Occurrence{{WindowID: "m", Start: h(1), End: h(2)}}, Through: through}
	states := []contracts.WindowState{freeze, stop, maint}

	a := FromState("r", states, "prod", at)
	if a.Allowed || a.Until == nil || !a.Until.Equal(h(3)) || !strings.HasPrefix(a.Reason, "freeze: release until") || !strings.HasSuffix(a.Reason, StaleSuffix) {
		t.Fatalf("frozen prod = %+v", a)
	}
	if a := FromState("r", states, "qa", at); !a.Allowed {
		t.Fatalf("qa, with nothing published for it, = %+v", a)
	}
	if a := FromState("r", states, "qa", h(10)); a.Allowed || !strings.HasPrefix(a.Reason, "stop: incident") {
		t.Fatalf("qa during the stop = %+v", a)
	}
	if a := FromState("r", states, "db", at); a.Allowed || !a.Until.Equal(h(1)) || !strings.HasPrefix(a.Reason, "outside every maintenance window") {
		t.Fatalf("db outside maintenance = %+v", a)
	}
	if a := FromState("r", states, "cache", h(1)); !a.Allowed {
		t.Fatalf("cache inside maintenance = %+v", a)
	}
	// Past what the calendar published nothing is known: fail closed.
	if a := FromState("r", states, "prod", through.Add(time.Hour)); a.Allowed || a.Reason != ReasonCalendarUnavailable {
		t.Fatalf("past the horizon = %+v", a)
	}
}
