package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/planstore"
)

// A 100,000-host rollout on a server with the stock 1 MB max_payload:
// discovery answers the planner in pages, the plan (about 10 MB) goes to
// the plans object store by reference, the scheduler fetches and verifies
// it, and the first batch's actions are dispatched.
func TestHundredThousandHostPlanOnStockMaxPayload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and plans a 100,000-host environment")
	}
	const hosts = 100000
	var inv strings.Builder
	inv.WriteString("environments:\n  - name: big\n    driver: {sim: {}}\n    hosts:\n")
	for i := range hosts {
		fmt.Fprintf(&inv, "      - {name: h%06d, address: 10.0.%d.%d:80}\n", i, i/250%250, i%250)
	}
	h := newHarness(t, harnessOpts{services: []string{"discovery", "calendar", "planner", "scheduler"}, inventory: inv.String()})
	if got := h.st.NC.MaxPayload(); got != 1<<20 {
		t.Fatalf("server max_payload %d, want the stock 1 MB", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitLong)
	defer cancel()
	h.deploy(ctx, contracts.DeployRequest{ID: "big-1", App: "web", Version: "1.0.0", Environment: "big",
		Phases: []contracts.PhaseSpec{{Name: "all", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Percent: 10}}}}}})

	// The planned event carries a reference that matches the stored plan.
	var ev contracts.Event
	natstest.CheckFor(t, 4*waitLong, 100*time.Millisecond, func() error {
		m, err := lastMsg(ctx, h, contracts.EventSubject("big", "big-1", contracts.EventPlanned))
		if err != nil {
			return err
		}
		_, ev, err = contracts.DecodeEvent(m.Data)
		return err
	})
	if ev.Plan != nil || ev.PlanRef == nil || ev.PlanRef.Summary.Hosts != hosts || ev.PlanRef.Size <= 1<<20 {
		t.Fatalf("planned event: plan inline %v, ref %+v", ev.Plan != nil, ev.PlanRef)
	}
	store, err := planstore.Ensure(ctx, h.st.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := planstore.Get(ctx, store, "big-1", ev.PlanRef); err != nil || st.Plan.TotalHosts() != hosts {
		t.Fatalf("stored plan: %v", err)
	}

	// The first batch (10%) is dispatched.
	natstest.CheckFor(t, 4*waitLong, 100*time.Millisecond, func() error {
		info, err := h.st.JS.Stream(ctx, contracts.StreamActions)
		if err != nil {
			return err
		}
		if n := info.CachedInfo().State.Msgs; n < hosts/10 {
			return fmt.Errorf("%d actions dispatched, want %d", n, hosts/10)
		}
		return nil
	})
	// phase_started names the first 1,000 hosts and says how many there are.
	m, err := lastMsg(ctx, h, contracts.EventSubject("big", "big-1", contracts.EventPhaseStarted))
	if err != nil {
		t.Fatal(err)
	}
	_, started, err := contracts.DecodeEvent(m.Data)
	if err != nil || len(started.Hosts) != contracts.MaxEventHosts || started.HostsTotal != hosts {
		t.Fatalf("phase_started: %d hosts listed, total %d, %v", len(started.Hosts), started.HostsTotal, err)
	}
}

func lastMsg(ctx context.Context, h *harness, subject string) (*jetstream.RawStreamMsg, error) {
	s, err := h.st.JS.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		return nil, err
	}
	return s.GetLastMsgForSubject(ctx, subject)
}
