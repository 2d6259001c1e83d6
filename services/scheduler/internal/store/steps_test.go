package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

// The step model's state (wait and analysis timers, rollback, traffic,
// per-host rollback and measurements) survives a commit and a reopen.
func TestStepStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "scheduler.db")
	s := open(t, path)
	r := step(t, rollout.Rollout{}, rollout.Input{Planned: &rollout.Planned{Plan: plan("r1", "prod"), Order: 1}}, t0)
	r = step(t, r, rollout.Input{Admission: &rollout.Admission{Allowed: true}}, t0)
	if _, err := s.Commit(ctx, Change{Writes: []Write{NewWrite(nil, Record{Rollout: r})}}); err != nil {
		t.Fatal(err)
	}
	before := r
	r.WaitUntil, r.Rollback, r.RollbackBatch = t0.Add(time.Hour), rollout.RollbackFast, 2
	r.AnalysisRound, r.AnalysisFailed, r.MeasureSeq, r.Traffic, r.TrafficAttempt = 3, 1, 7, "green", -2
	r.Hosts[0].Installed, r.Hosts[0].Rollback, r.Hosts[0].Measured = true, rollout.HostSkipped, 7
	r.Changed = []int{0}
	if _, err := s.Commit(ctx, Change{Writes: []Write{NewWrite(&before, Record{Rollout: r})}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	got, ok, err := s.Load(ctx, "r1")
	if err != nil || !ok {
		t.Fatalf("load: %v %v", ok, err)
	}
	if !reflect.DeepEqual(got.Rollout, saved(r)) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got.Rollout, saved(r))
	}
	if live, err := s.Live(ctx); err != nil || len(live) != 1 {
		t.Fatalf("live %d %v", len(live), err)
	}
	r.State = contracts.StateRolledBack
	if _, err := s.Commit(ctx, Change{Writes: []Write{NewWrite(&before, Record{Rollout: r})}}); err != nil {
		t.Fatal(err)
	}
	if live, err := s.Live(ctx); err != nil || len(live) != 0 {
		t.Fatalf("a rolled back rollout is live: %d %v", len(live), err)
	}
}
