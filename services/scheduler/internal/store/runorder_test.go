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

// TestRuntimeControlRoundTrip: a new run order, a skipped step, an
// excluded host and a guided-failure pause survive a reopen.
func TestRuntimeControlRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "scheduler.db")
	s := open(t, path)
	p := plan("r1", "prod")
	p.Phases = append(p.Phases, contracts.PlannedPhase{Name: "last", Batches: [][]string{{"h4"}}})
	p.Hosts["h4"] = contracts.PlannedHost{Name: "h4"}
	p.MaxFailed, p.OnFailure = 0, contracts.OnFailureGuided
	cmd := func(c rollout.Command) rollout.Input { c.Actor = "alice"; return rollout.Input{Command: &c} }

	r := step(t, rollout.Rollout{}, rollout.Input{Planned: &rollout.Planned{Plan: p, Order: 1}}, t0)
	r = step(t, r, cmd(rollout.Command{Verb: contracts.VerbReorder, Steps: []string{"last", "rest", "canary"}}), t0)
	r = step(t, r, cmd(rollout.Command{Verb: contracts.VerbSkip, Step: "canary"}), t0)
	r = step(t, r, cmd(rollout.Command{Verb: contracts.VerbExclude, Host: "h3"}), t0)
	r = step(t, r, rollout.Input{Admission: &rollout.Admission{Allowed: true}}, t0)
	h4 := r.Hosts[3]
	r = step(t, r, rollout.Input{Result: &contracts.HostResult{ActionID: h4.ActionID, Rollout: "r1", Environment: "prod",
		Host: "h4", Phase: contracts.PhaseRef{Index: 2, Name: "last", ID: "last"}, Batch: 1, Attempt: 1,
		Status: contracts.ResultFailed, Error: "boom"}}, t0.Add(time.Second))
	if r.State != contracts.StatePaused || !r.Guided || len(r.View().Offer) != 1 {
		t.Fatalf("state %s guided %v offer %+v", r.State, r.Guided, r.View().Offer)
	}
	if _, err := s.Commit(ctx, Change{Writes: []Write{NewWrite(nil, Record{Rollout: r})}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	got, _, err := s.Load(ctx, "r1")
	if err != nil || !reflect.DeepEqual(got.Rollout, saved(r)) {
		t.Fatalf("after reopen:\n got %+v\nwant %+v (%v)", got.Rollout, saved(r), err)
	}
	v, err := s.View(ctx, "r1")
	if err != nil || len(v.Offer) != 1 || v.Offer[0].Host != "h4" || v.Counts.Skipped != 1 || v.Counts.Excluded != 1 {
		t.Fatalf("view %+v, %v", v, err)
	}
	list, err := s.List(ctx, contracts.RolloutListQuery{})
	if err != nil || list.Rollouts[0].Counts != r.Counts {
		t.Fatalf("list %+v, %v", list, err)
	}
}

func TestParseRunOrder(t *testing.T) {
	for _, bad := range []string{"0,0", "0,1,2", "1", "0,x", "0,-1"} {
		if _, err := parseRunOrder(bad, 2); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got, err := parseRunOrder(formatRunOrder([]int{2, 0, 1}), 3); err != nil || !reflect.DeepEqual(got, []int{2, 0, 1}) {
		t.Fatalf("round trip %v %v", got, err)
	}
	if got, err := parseRunOrder("", 3); err != nil || got != nil {
		t.Fatalf("empty %v %v", got, err)
	}
}
