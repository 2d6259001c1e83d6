package planstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/planstore"
)

func setup(t *testing.T) (context.Context, jetstream.JetStream, jetstream.ObjectStore) {
	t.Helper()
	js := natstest.JetStream(t, natstest.Connect(t, natstest.RunServer(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	store, err := planstore.Ensure(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, js, store
}

func bigPlan(rollout string, hosts int) contracts.Plan {
	p := contracts.Plan{Rollout: rollout, App: "web", Version: "1.0.0", Environment: "qa", Strategy: contracts.StrategyRolling,
		Hosts: map[string]contracts.PlannedHost{}}
	batch := []string{}
	for i := range hosts {
		name := fmt.Sprintf("host-%06d", i)
		p.Hosts[name] = contracts.PlannedHost{Address: "10.0.0.1"}
		batch = append(batch, name)
	}
	p.Phases = []contracts.PlannedPhase{{Name: "all", ID: "all", Batches: [][]string{batch}}}
	return p
}

func TestPutGet(t *testing.T) {
	ctx, js, store := setup(t)
	p := bigPlan("r1", 20000)
	got, ref, err := planstore.Put(ctx, store, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := contracts.CheckPlanRef("plan_ref", "r1", ref); err != nil {
		t.Fatalf("ref %+v: %v", ref, err)
	}
	if ref.Size <= contracts.PlanInlineLimit || ref.Summary.Hosts != 20000 || ref.Summary.Batches != 1 || got.TotalHosts() != 20000 {
		t.Fatalf("ref = %+v", ref)
	}
	st, err := planstore.Get(ctx, store, "r1", &ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.Plan.TotalHosts() != 20000 || st.Ref.SHA256 != ref.SHA256 || st.Plan.Hosts["host-000042"].Address != "10.0.0.1" {
		t.Fatalf("read back %+v", st.Ref)
	}

	// The bucket keeps plans as long as the events stream keeps events.
	info, err := js.Stream(ctx, "OBJ_"+contracts.PlansBucket)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := info.CachedInfo().Config; cfg.MaxAge != contracts.PlansMaxAge || cfg.Storage != jetstream.FileStorage {
		t.Fatalf("bucket max age %v storage %v", cfg.MaxAge, cfg.Storage)
	}
	// Opening it again keeps it.
	if _, err := planstore.Ensure(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
}

// A planner that crashed after storing the plan and plans the request
// again gets the stored plan back, so its event matches the object.
func TestPutKeepsTheFirstPlan(t *testing.T) {
	ctx, _, store := setup(t)
	_, first, err := planstore.Put(ctx, store, bigPlan("r1", 3))
	if err != nil {
		t.Fatal(err)
	}
	again, second, err := planstore.Put(ctx, store, bigPlan("r1", 5))
	if err != nil {
		t.Fatal(err)
	}
	if second.SHA256 != first.SHA256 || again.TotalHosts() != 3 || second.Summary.Hosts != 3 {
		t.Fatalf("second put = %+v (%d hosts), want the first %+v", second, again.TotalHosts(), first)
	}
}

func TestGetRefusesWhatDoesNotMatch(t *testing.T) {
	ctx, _, store := setup(t)
	_, ref, err := planstore.Put(ctx, store, bigPlan("r1", 3))
	if err != nil {
		t.Fatal(err)
	}
	wrong := ref
	wrong.SHA256 = contracts.PlanDigest([]byte("something else"))
	if _, err := planstore.Get(ctx, store, "r1", &wrong); !errors.Is(err, planstore.ErrDigestMismatch) {
		t.Fatalf("wrong digest: %v", err)
	}
	short := ref
	short.Size--
	if _, err := planstore.Get(ctx, store, "r1", &short); !errors.Is(err, planstore.ErrDigestMismatch) {
		t.Fatalf("wrong size: %v", err)
	}
	if _, err := planstore.Get(ctx, store, "r2", &ref); !errors.Is(err, planstore.ErrMissing) {
		t.Fatalf("missing: %v", err)
	}
	// Bytes replaced behind the planner's back.
	if _, err := store.Put(ctx, jetstream.ObjectMeta{Name: "r1"}, bytes.NewReader([]byte(`{"rollout":"r1"}`))); err != nil {
		t.Fatal(err)
	}
	if _, err := planstore.Get(ctx, store, "r1", &ref); !errors.Is(err, planstore.ErrDigestMismatch) {
		t.Fatalf("replaced object: %v", err)
	}
	if !planstore.Permanent(fmt.Errorf("x: %w", planstore.ErrDigestMismatch)) || planstore.Permanent(context.DeadlineExceeded) {
		t.Fatal("Permanent classifies wrongly")
	}
}
