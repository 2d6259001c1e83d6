package clock

import (
	"testing"
	"time"
)

func TestFakeFiresWhenDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	early, late := f.After(time.Second), f.After(time.Minute)
	f.Advance(2 * time.Second)
	select {
	case got := <-early:
		if !got.Equal(start.Add(2 * time.Second)) {
			t.Fatalf("fired at %v", got)
		}
	default:
		t.Fatal("due waiter did not fire")
	}
	select {
	case <-late:
		t.Fatal("waiter fired early")
	default:
	}
	if f.Waiters() != 1 {
		t.Fatalf("waiters = %d, want 1", f.Waiters())
	}
	f.Set(start) // never backwards
	if !f.Now().Equal(start.Add(2 * time.Second)) {
		t.Fatalf("clock went backwards to %v", f.Now())
	}
}
