package driver

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
)

func simSpec(median, p99 time.Duration, rate float64) contracts.SimDriver {
	return contracts.SimDriver{Median: contracts.Duration(median), P99: contracts.Duration(p99), FailureRate: rate, Seed: 42}
}

func TestSimDeterministic(t *testing.T) {
	spec := simSpec(time.Second, 10*time.Second, 0.3)
	for _, host := range []string{"web-01", "web-02", "db-1"} {
		for attempt := 1; attempt <= 3; attempt++ {
			a, err := Draw(spec, host, attempt)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Draw(spec, host, attempt)
			if a != b {
				t.Fatalf("%s/%d: %+v then %+v", host, attempt, a, b)
			}
		}
	}
	x, _ := Draw(spec, "web-01", 1)
	y, _ := Draw(spec, "web-01", 2)
	other := spec
	other.Seed = 43
	z, _ := Draw(other, "web-01", 1)
	if x.Latency == y.Latency || x.Latency == z.Latency {
		t.Fatalf("attempt or seed does not change the draw: %v %v %v", x.Latency, y.Latency, z.Latency)
	}
}

func TestSimDistribution(t *testing.T) {
	const n = 20000
	median, p99 := 200*time.Millisecond, 2*time.Second
	spec := simSpec(median, p99, 0.1)
	lat := make([]time.Duration, 0, n)
	fails := 0
	for i := range n {
		d, err := Draw(spec, "host-"+string(rune('a'+i%26))+strings.Repeat("x", i/26%7), i)
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, d.Latency)
		if d.Fail {
			fails++
		}
	}
	slices.Sort(lat)
	gotMedian, gotP99 := lat[n/2], lat[n*99/100]
	if r := float64(gotMedian) / float64(median); r < 0.93 || r > 1.07 {
		t.Errorf("median = %v, want about %v", gotMedian, median)
	}
	if r := float64(gotP99) / float64(p99); r < 0.85 || r > 1.15 {
		t.Errorf("p99 = %v, want about %v", gotP99, p99)
	}
	if rate := float64(fails) / n; math.Abs(rate-0.1) > 0.01 {
		t.Errorf("failure rate = %v, want about 0.1", rate)
	}
}

func TestSimDrawRules(t *testing.T) {
	tests := []struct {
		name     string
		spec     contracts.SimDriver
		host     string
		wantLat  time.Duration
		wantFail bool
		wantErr  string
	}{
		{name: "zero median is instant", spec: simSpec(0, 0, 0), host: "a"},
		{name: "no p99 is constant", spec: simSpec(time.Second, 0, 0), host: "a", wantLat: time.Second},
		{name: "fail host", spec: func() contracts.SimDriver { s := simSpec(0, 0, 0); s.FailHosts = []string{"bad"}; return s }(), host: "bad", wantFail: true},
		{name: "always fails", spec: simSpec(0, 0, 1), host: "a", wantFail: true},
		{name: "p99 below median", spec: simSpec(time.Second, time.Millisecond, 0), wantErr: "driver.sim.p99"},
		{name: "rate above 1", spec: simSpec(0, 0, 1.5), wantErr: "driver.sim.failure_rate"},
		{name: "NaN rate", spec: simSpec(0, 0, math.NaN()), wantErr: "driver.sim.failure_rate"},
		{name: "negative median", spec: simSpec(-time.Second, 0, 0), wantErr: "driver.sim.median"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Draw(tt.spec, tt.host, 1)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Latency != tt.wantLat || d.Fail != tt.wantFail {
				t.Fatalf("draw = %+v, want latency %v fail %v", d, tt.wantLat, tt.wantFail)
			}
		})
	}
}

func TestSimRunWaitsOnClock(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	spec := simSpec(time.Minute, 0, 0)
	spec.FailHosts = []string{"web-01"}
	a := contracts.HostAction{App: "web", Version: "1.0.0", Attempt: 1,
		Host: contracts.ActionHost{Name: "web-01"}, Driver: contracts.DriverSpec{Sim: &spec}}
	done := make(chan error, 1)
	go func() {
		_, err := Sim{Clock: fake}.Run(context.Background(), a)
		done <- err
	}()
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if fake.Waiters() == 0 {
			return context.DeadlineExceeded
		}
		return nil
	})
	select {
	case err := <-done:
		t.Fatalf("returned before the clock moved: %v", err)
	default:
	}
	fake.Advance(time.Minute)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "fail_hosts") {
		t.Fatalf("err = %v, want the fail_hosts failure", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := Sim{Clock: fake}.Run(ctx, a)
		done <- err
	}()
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want interrupted", err)
	}
}

func TestSelect(t *testing.T) {
	drivers := map[string]Driver{"sim": Sim{}}
	if _, _, err := Select(contracts.DriverSpec{}, drivers); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Fatalf("no variant: %v", err)
	}
	both := contracts.DriverSpec{Sim: &contracts.SimDriver{}, Exec: &contracts.ExecDriver{}}
	if _, _, err := Select(both, drivers); err == nil {
		t.Fatal("two variants accepted")
	}
	if _, _, err := Select(contracts.DriverSpec{Exec: &contracts.ExecDriver{}}, drivers); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("missing driver: %v", err)
	}
	if name, d, err := Select(contracts.DriverSpec{Sim: &contracts.SimDriver{}}, drivers); err != nil || name != "sim" || d == nil {
		t.Fatalf("sim: %v %v %v", name, d, err)
	}
}
