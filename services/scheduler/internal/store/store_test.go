package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func plan(id, env string) contracts.Plan {
	return contracts.Plan{
		Rollout: id, App: "web", Version: "2.0.0", Environment: env, RequestedBy: "ci",
		Phases: []contracts.PlannedPhase{
			{Name: "canary", Batches: [][]string{{"h1"}}},
			{Name: "rest", Batches: [][]string{{"h2", "h3"}}},
		},
		Hosts: map[string]contracts.PlannedHost{
			"h1": {Name: "h1", Address: "a1", Params: map[string]string{"k": "v"}},
			"h2": {Name: "h2", Pool: "east"}, "h3": {Name: "h3"},
		},
		MaxFailed: 1, OnFailure: contracts.OnFailurePause,
	}
}

func step(t *testing.T, r rollout.Rollout, in rollout.Input, at time.Time) rollout.Rollout {
	t.Helper()
	next, _, err := rollout.Step(r, in, at)
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// saved is a rollout as the store gives it back: no changes pending.
func saved(r rollout.Rollout) rollout.Rollout {
	r.Changed = nil
	return r
}

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCommitLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "scheduler.db")
	s := open(t, path)

	r := step(t, rollout.Rollout{}, rollout.Input{Planned: &rollout.Planned{Plan: plan("r1", "prod"), Order: 7}}, t0)
	r = step(t, r, rollout.Input{Admission: &rollout.Admission{Allowed: true}}, t0.Add(time.Second))
	rec := Record{Rollout: r, Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	out := []OutboxRow{
		{Subject: "a.b", MsgID: "r1/event-1", Data: []byte(`{"x":1}`), Header: map[string][]string{"traceparent": {"tp"}}},
		{Subject: "a.c", MsgID: "r1/event-2", Data: []byte(`{}`)},
	}
	rows, err := s.Commit(ctx, Change{Writes: []Write{NewWrite(nil, rec)}, Outbox: out, Cursors: map[string]uint64{"EVENTS": 12}})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].ID == 0 || rows[1].ID <= rows[0].ID {
		t.Fatalf("outbox ids %d %d", rows[0].ID, rows[1].ID)
	}
	got, ok, err := s.Load(ctx, "r1")
	if err != nil || !ok {
		t.Fatalf("Load: %v %v", ok, err)
	}
	if want := (Record{Rollout: saved(rec.Rollout), Traceparent: rec.Traceparent}); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, rec)
	}

	// A result changes one host: only that host is written.
	h1 := r.Hosts[0]
	r2 := step(t, r, rollout.Input{Result: &contracts.HostResult{ActionID: h1.ActionID, Rollout: "r1", Environment: "prod",
		Host: "h1", Phase: contracts.PhaseRef{Index: 0, Name: "canary"}, Batch: 1, Attempt: 1,
		Status: contracts.ResultFailed, Error: "boom"}}, t0.Add(2*time.Second))
	w := NewWrite(&r, Record{Rollout: r2, Traceparent: rec.Traceparent})
	if w.New || !reflect.DeepEqual(w.Hosts, []int{0, 1, 2}) || !reflect.DeepEqual(w.Phases, []int{0, 1}) {
		// h1 finished, h2 and h3 dispatched; canary completed, rest started.
		t.Fatalf("write = new %v hosts %v phases %v", w.New, w.Hosts, w.Phases)
	}
	if _, err := s.Commit(ctx, Change{Writes: []Write{w}, Cursors: map[string]uint64{"RESULTS": 3}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, path)
	got, _, err = s.Load(ctx, "r1")
	if err != nil || !reflect.DeepEqual(got.Rollout, saved(r2)) {
		t.Fatalf("after reopen:\n got %+v\nwant %+v (%v)", got.Rollout, r2, err)
	}
	cur, err := s.Cursors(ctx)
	if err != nil || !reflect.DeepEqual(cur, map[string]uint64{"EVENTS": 12, "RESULTS": 3}) {
		t.Fatalf("cursors = %v, %v", cur, err)
	}
	ob, err := s.Outbox(ctx)
	if err != nil || len(ob) != 2 || ob[0].Header["traceparent"][0] != "tp" || string(ob[1].Data) != `{}` {
		t.Fatalf("outbox = %+v, %v", ob, err)
	}
	if err := s.DeleteOutbox(ctx, []int64{ob[0].ID}); err != nil {
		t.Fatal(err)
	}
	if ob, _ := s.Outbox(ctx); len(ob) != 1 || ob[0].MsgID != "r1/event-2" {
		t.Fatalf("outbox after delete = %+v", ob)
	}
	v, err := s.View(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if v.RequestedBy != "ci" || len(v.Phases) != 2 || v.Phases[0].State != "completed" || v.Phases[0].Hosts[0].Error != "boom" ||
		v.Phases[1].Hosts[1].State != "running" || v.Counts.Failed != 1 {
		t.Fatalf("view = %+v", v)
	}
}

func TestFailedCommitWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	r := step(t, rollout.Rollout{}, rollout.Input{Planned: &rollout.Planned{Plan: plan("r1", "prod"), Order: 1}}, t0)
	// Updating a rollout that was never inserted fails the whole change.
	_, err := s.Commit(ctx, Change{
		Writes:  []Write{{Record: Record{Rollout: r}}},
		Outbox:  []OutboxRow{{Subject: "x", MsgID: "m", Data: []byte("d")}},
		Cursors: map[string]uint64{"EVENTS": 5},
	})
	if err == nil {
		t.Fatal("commit succeeded")
	}
	if ob, _ := s.Outbox(ctx); len(ob) != 0 {
		t.Fatalf("outbox kept %d rows", len(ob))
	}
	if cur, _ := s.Cursors(ctx); len(cur) != 0 {
		t.Fatalf("cursors kept %v", cur)
	}
	if _, ok, _ := s.Load(ctx, "r1"); ok {
		t.Fatal("rollout stored")
	}
}

func TestLiveListAndCounts(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	var writes []Write
	for i, env := range []string{"prod", "qa", "prod", "prod"} {
		r := step(t, rollout.Rollout{}, rollout.Input{Planned: &rollout.Planned{Plan: plan(fmt.Sprintf("r%d", i), env), Order: uint64(10 + i)}}, t0)
		if i == 0 {
			r = step(t, r, rollout.Input{Command: &rollout.Command{Verb: contracts.VerbAbort}}, t0)
		}
		writes = append(writes, NewWrite(nil, Record{Rollout: r}))
	}
	if _, err := s.Commit(ctx, Change{Writes: writes}); err != nil {
		t.Fatal(err)
	}
	live, err := s.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range live {
		ids = append(ids, l.Rollout.ID())
	}
	if !reflect.DeepEqual(ids, []string{"r1", "r2", "r3"}) {
		t.Fatalf("live = %v", ids)
	}
	list := func(q contracts.RolloutListQuery) []string {
		l, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range l.Rollouts {
			out = append(out, r.Rollout)
		}
		return out
	}
	for _, tt := range []struct {
		q    contracts.RolloutListQuery
		want []string
	}{
		{contracts.RolloutListQuery{}, []string{"r3", "r2", "r1", "r0"}},
		{contracts.RolloutListQuery{Environment: "prod"}, []string{"r3", "r2", "r0"}},
		{contracts.RolloutListQuery{Environment: "prod", State: contracts.StateAborted}, []string{"r0"}},
		{contracts.RolloutListQuery{Limit: 2}, []string{"r3", "r2"}},
		{contracts.RolloutListQuery{Environment: "staging"}, nil},
	} {
		if got := list(tt.q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("List(%+v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	counts, err := s.CountByState(ctx)
	if err != nil || !reflect.DeepEqual(counts, map[contracts.State]int{contracts.StateQueued: 3, contracts.StateAborted: 1}) {
		t.Fatalf("counts = %v, %v", counts, err)
	}
	if _, err := s.View(ctx, "nope"); !contracts.IsCode(err, contracts.CodeNotFound) {
		t.Fatalf("View of unknown: %v", err)
	}
	if ok, err := s.Exists(ctx, "r2"); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
}
