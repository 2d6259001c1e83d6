package requests

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestClaim(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "planner.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	step := func(id, digest string, want State) {
		t.Helper()
		got, err := s.Claim(ctx, id, digest, now)
		if err != nil || got != want {
			t.Fatalf("Claim(%s, %s) = %v, %v, want %v", id, digest, got, err, want)
		}
	}
	step("r1", "d1", New)
	step("r1", "d1", New) // claimed, no verdict yet: still this request's to decide
	step("r1", "d2", Conflict)
	if err := s.Decide(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	step("r1", "d1", Decided)
	step("r1", "d2", Conflict)
	step("r2", "d2", New)
	if _, err := s.Claim(ctx, "r3", "", now); err == nil {
		t.Fatal("empty digest claimed")
	}

	// The record survives a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	step("r1", "d1", Decided)
	step("r2", "d2", New)
	step("r2", "d9", Conflict)
}
