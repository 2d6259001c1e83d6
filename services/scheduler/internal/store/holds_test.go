package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rollwave/rollwave/services/scheduler/internal/calhold"
)

// Calendar holds are committed with the batch, survive reopening the
// database, are updated in place and deleted.
func TestHoldsPersist(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := calhold.Hold{Rollout: "a", Window: "w1", Label: "freeze w1 (x)", State: calhold.Paused, Since: t0}
	b := calhold.Hold{Rollout: "b", Window: "w2", State: calhold.Paused, Since: t0}
	if _, err := st.Commit(ctx, Change{Holds: []HoldChange{{Rollout: "a", Hold: &a}, {Rollout: "b", Hold: &b}}}); err != nil {
		t.Fatal(err)
	}
	b.State, b.OverrideActor, b.OverrideReason = calhold.Overridden, "alice", "hotfix for incident 7"
	if _, err := st.Commit(ctx, Change{Holds: []HoldChange{{Rollout: "b", Hold: &b}, {Rollout: "a"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Holds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]calhold.Hold{"b": b}; !reflect.DeepEqual(got, want) {
		t.Fatalf("holds = %+v, want %+v", got, want)
	}
}
