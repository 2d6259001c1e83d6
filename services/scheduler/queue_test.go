package scheduler_test

import (
	"fmt"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// A long queue moves without a new queued event for every rollout each
// time: each waits for one reason (the environment is busy) and is told
// once; its position, which does change, is in get and list.
func TestQueueMovesWithoutRepeatingQueuedEvents(t *testing.T) {
	e := newEnv(t)
	e.calendar()
	e.start()
	const n = 6
	id := func(i int) string { return fmt.Sprintf("q%d", i) }
	for i := range n {
		e.publishPlanned(newPlan(id(i), "prod", [][]string{{fmt.Sprintf("h%d", i)}}))
	}
	e.waitFor(id(0), contracts.EventStarted, 1)
	for i := 1; i < n; i++ {
		e.waitFor(id(i), contracts.EventQueued, 1)
	}
	for i := range n {
		// q0 runs; q1..q5 are at positions 1..5.
		if got := e.get(id(i)).QueuePosition; got != i {
			t.Fatalf("%s at position %d, want %d", id(i), got, i)
		}
	}
	for i := range n - 1 {
		a := e.take(1)[0]
		e.result(a, true)
		e.waitFor(id(i), contracts.EventCompleted, 1)
		e.waitFor(id(i+1), contracts.EventStarted, 1)
		l := e.list(contracts.RolloutListQuery{Environment: "prod", State: contracts.StateQueued})
		if len(l.Rollouts) != n-2-i {
			t.Fatalf("after %s: %d queued", id(i), len(l.Rollouts))
		}
		for _, s := range l.Rollouts { // newest first
			var k int
			fmt.Sscanf(s.Rollout, "q%d", &k)
			if s.QueuePosition != k-i-1 {
				t.Fatalf("after %s: %s at position %d, want %d", id(i), s.Rollout, s.QueuePosition, k-i-1)
			}
		}
	}
	e.result(e.take(1)[0], true)
	e.waitFor(id(n-1), contracts.EventCompleted, 1)
	for i := 1; i < n; i++ {
		if q := countType(e.events(id(i)), contracts.EventQueued); q != 1 {
			t.Fatalf("%s has %d queued events, want 1", id(i), q)
		}
		if p := e.get(id(i)).QueuePosition; p != 0 {
			t.Fatalf("%s ended with position %d", id(i), p)
		}
	}
}

func countType(evs []event, typ contracts.EventType) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}
