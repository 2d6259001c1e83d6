package rollout

import (
	"fmt"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// BenchmarkRollout drives a whole rollout through Step: planned, admitted,
// then one result per host, in batches of 10%.
func BenchmarkRollout(b *testing.B) {
	for _, n := range []int{1, 10, 1000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			p := widePlan(n)
			b.ReportAllocs()
			for b.Loop() {
				r, _, err := Step(Rollout{}, Input{Planned: &Planned{Plan: p, Order: 1}}, t0)
				if err != nil {
					b.Fatal(err)
				}
				r, eff, err := Step(r, Input{Admission: &Admission{Allowed: true}}, t0)
				if err != nil {
					b.Fatal(err)
				}
				for len(eff) > 0 {
					var next []Effect
					for _, e := range eff {
						d, ok := e.(Dispatch)
						if !ok {
							continue
						}
						a := d.Action
						var more []Effect
						r, more, err = Step(r, Input{Result: &contracts.HostResult{
							ActionID: a.ID, Rollout: a.Rollout, Environment: a.Environment, Host: a.Host.Name,
							Phase: a.Phase, Batch: a.Batch, Attempt: a.Attempt, Status: contracts.ResultSucceeded,
						}}, t0)
						if err != nil {
							b.Fatal(err)
						}
						next = append(next, more...)
					}
					eff = next
				}
				if r.State != contracts.StateCompleted {
					b.Fatalf("state %s", r.State)
				}
			}
			b.ReportMetric(float64(n), "hosts/op")
		})
	}
}

func widePlan(n int) contracts.Plan {
	hosts := make(map[string]contracts.PlannedHost, n)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("h%06d", i)
		hosts[names[i]] = contracts.PlannedHost{Name: names[i], Address: "10.0.0.1:80", Pool: "default",
			Driver: contracts.DriverSpec{Sim: &contracts.SimDriver{}}}
	}
	size := max(1, n/10)
	var batches [][]string
	for i := 0; i < n; i += size {
		batches = append(batches, names[i:min(n, i+size)])
	}
	return contracts.Plan{Rollout: "r1", App: "web", Version: "2.0.0", Environment: "prod", Strategy: contracts.StrategyRolling,
		Phases: []contracts.PlannedPhase{{Name: "all", Batches: batches}}, Hosts: hosts, OnFailure: contracts.OnFailurePause}
}

// BenchmarkHostResult measures applying one host result to a rollout of n
// hosts in batches of 10%: the cost must not grow with n (O(1) amortised;
// a batch's dispatch is spread over its hosts' results).
func BenchmarkHostResult(b *testing.B) {
	for _, n := range []int{100, 10000, 100000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			p := widePlan(n)
			var r Rollout
			var queue []contracts.HostAction
			start := func() {
				var eff []Effect
				var err error
				if r, _, err = Step(Rollout{}, Input{Planned: &Planned{Plan: p, Order: 1}}, t0); err != nil {
					b.Fatal(err)
				}
				if r, eff, err = Step(r, Input{Admission: &Admission{Allowed: true}}, t0); err != nil {
					b.Fatal(err)
				}
				queue = appendActions(queue[:0], eff)
			}
			b.ReportAllocs()
			start()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if len(queue) == 0 {
					b.StopTimer()
					if r.State != contracts.StateCompleted {
						b.Fatalf("state %s with nothing in flight", r.State)
					}
					start()
					b.StartTimer()
				}
				a := queue[0]
				queue = queue[1:]
				next, eff, err := Step(r, Input{Result: &contracts.HostResult{
					ActionID: a.ID, Rollout: a.Rollout, Environment: a.Environment, Host: a.Host.Name,
					Phase: a.Phase, Batch: a.Batch, Attempt: a.Attempt, Status: contracts.ResultSucceeded,
				}}, t0)
				if err != nil {
					b.Fatal(err)
				}
				r = next
				r.Changed = r.Changed[:0] // as the service loop does after a commit
				queue = appendActions(queue, eff)
			}
		})
	}
}

func appendActions(q []contracts.HostAction, eff []Effect) []contracts.HostAction {
	for _, e := range eff {
		if d, ok := e.(Dispatch); ok {
			q = append(q, d.Action)
		}
	}
	return q
}
