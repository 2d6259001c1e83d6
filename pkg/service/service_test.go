package service

import (
	"testing"

	"github.com/rollwave/rollwave/pkg/clock"
)

func TestWithDefaultsFillsOnlyWhatIsMissing(t *testing.T) {
	d := Deps{}.WithDefaults()
	if d.Log == nil || d.Tracer == nil || d.Clock == nil || d.Metrics == nil {
		t.Fatalf("defaults missing: %+v", d)
	}
	fake := clock.NewFake(d.Clock.Now())
	if got := (Deps{Clock: fake}).WithDefaults().Clock; got != fake {
		t.Fatal("a given clock was replaced")
	}
}
