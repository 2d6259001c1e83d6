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

	a := FromState("r", states, "prod", at, "", nil)
	if a.Allowed || a.Until == nil || !a.Until.Equal(h(3)) || !strings.HasPrefix(a.Reason, "freeze: release until") || !strings.HasSuffix(a.Reason, StaleSuffix) {
		t.Fatalf("frozen prod = %+v", a)
	}
	if a := FromState("r", states, "qa", at, "", nil); !a.Allowed {
		t.Fatalf("qa, with nothing published for it, = %+v", a)
	}
	if a := FromState("r", states, "qa", h(10), "", nil); a.Allowed || !strings.HasPrefix(a.Reason, "stop: incident") {
		t.Fatalf("qa during the stop = %+v", a)
	}
	if a := FromState("r", states, "db", at, "", nil); a.Allowed || !a.Until.Equal(h(1)) || !strings.HasPrefix(a.Reason, "outside every maintenance window") {
		t.Fatalf("db outside maintenance = %+v", a)
	}
	if a := FromState("r", states, "cache", h(1), "", nil); !a.Allowed {
		t.Fatalf("cache inside maintenance = %+v", a)
	}
	// Past what the calendar published nothing is known: fail closed.
	if a := FromState("r", states, "prod", through.Add(time.Hour), "", nil); a.Allowed || a.Reason != ReasonCalendarUnavailable {
		t.Fatalf("past the horizon = %+v", a)
	}

	// A reservation admits its holders, by team or by label, and holds
	// everyone else back.
	res := contracts.WindowState{Window: contracts.Window{ID: "r", Environment: "staging", Kind: contracts.WindowReservation, Team: "payments"},
		Occurrences: []contracts.Occurrence{{WindowID: "r", Start: h(-1), End: h(4)}}, Through: through}
	byLabel := contracts.WindowState{Window: contracts.Window{ID: "l", Environment: "perf", Kind: contracts.WindowReservation, Label: "suite=load"},
		Occurrences: []contracts.Occurrence{{WindowID: "l", Start: h(-1), End: h(4)}}, Through: through}
	states = []contracts.WindowState{res, byLabel}
	if a := FromState("r", states, "staging", at, "payments", nil); !a.Allowed {
		t.Fatalf("the holding team = %+v", a)
	}
	if a := FromState("r", states, "staging", at, "search", nil); a.Allowed || !a.Until.Equal(h(4)) {
		t.Fatalf("another team = %+v", a)
	}
	if a := FromState("r", states, "perf", at, "", map[string]string{"suite": "load"}); !a.Allowed {
		t.Fatalf("the holding label = %+v", a)
	}
	if a := FromState("r", states, "perf", at, "", map[string]string{"suite": "smoke"}); a.Allowed {
		t.Fatalf("another label = %+v", a)
	}
}
