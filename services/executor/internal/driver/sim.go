package driver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
)

// z99 is the standard normal quantile of the 99th percentile.
const z99 = 2.3263

// Sim simulates a deployment with a latency drawn from a log-normal
// distribution and a failure rate, both reproducible from the seed, host
// and attempt.
type Sim struct {
	Clock clock.Clock
}

// SimDraw is what the simulation decides for one action.
type SimDraw struct {
	Latency time.Duration
	Fail    bool
	Reason  string
}

// Draw decides the latency and outcome of an action without waiting. It is
// a pure function of the spec, host and attempt.
func Draw(spec contracts.SimDriver, host string, attempt int) (SimDraw, error) {
	median, p99 := spec.Median.D(), spec.P99.D()
	switch {
	case median < 0:
		return SimDraw{}, contracts.Invalid("driver.sim.median", "must not be negative, got %v", median)
	case p99 != 0 && p99 < median:
		return SimDraw{}, contracts.Invalid("driver.sim.p99", "must be at least the median %v, got %v", median, p99)
	case math.IsNaN(spec.FailureRate) || spec.FailureRate < 0 || spec.FailureRate > 1:
		return SimDraw{}, contracts.Invalid("driver.sim.failure_rate", "must be between 0 and 1, got %v", spec.FailureRate)
	}
	rng := rand.New(rand.NewPCG(seedOf(spec.Seed, host, attempt)))
	var d SimDraw
	if median > 0 {
		sigma := 0.0
		if p99 > median {
			sigma = math.Log(float64(p99)/float64(median)) / z99
		}
		lat := float64(median) * math.Exp(sigma*rng.NormFloat64())
		d.Latency = time.Duration(min(lat, float64(math.MaxInt64/2)))
	}
	fail := rng.Float64() < spec.FailureRate
	switch {
	case slices.Contains(spec.FailHosts, host):
		d.Fail, d.Reason = true, "simulated failure: host is in fail_hosts"
	case fail:
		d.Fail, d.Reason = true, fmt.Sprintf("simulated failure (failure rate %v)", spec.FailureRate)
	}
	return d, nil
}

func seedOf(seed int64, host string, attempt int) (uint64, uint64) {
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(seed))
	binary.LittleEndian.PutUint64(b[8:], uint64(attempt))
	h.Write(b[:])
	h.Write([]byte(host))
	s1 := h.Sum64()
	h.Write([]byte{0xff})
	return s1, h.Sum64()
}

// Run waits the drawn latency on the clock and reports the drawn outcome.
func (s Sim) Run(ctx context.Context, a contracts.HostAction) (Outcome, error) {
	if a.Driver.Sim == nil {
		return Outcome{}, contracts.Invalid("driver.sim", "is required")
	}
	d, err := Draw(*a.Driver.Sim, a.Host.Name, a.Attempt)
	if err != nil {
		return Outcome{}, err
	}
	if d.Latency > 0 {
		select {
		case <-s.Clock.After(d.Latency):
		case <-ctx.Done():
			return Outcome{}, fmt.Errorf("simulated deployment interrupted: %w", ctx.Err())
		}
	}
	out := Outcome{Output: fmt.Sprintf("sim: %s@%s on %s took %v", a.App, a.Version, a.Host.Name, d.Latency)}
	if d.Fail {
		return out, errors.New(d.Reason)
	}
	return out, nil
}
