package plan

import (
	"fmt"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// BenchmarkBuild lays out a three-phase plan over an environment of n hosts.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			env := contracts.Environment{Name: "prod"}
			for i := range n {
				group := "west"
				if i%2 == 0 {
					group = "east"
				}
				env.Hosts = append(env.Hosts, contracts.Host{Name: fmt.Sprintf("web-%05d", i), Address: "10.0.0.1:80",
					Groups: []string{"web", group}, Driver: &contracts.DriverSpec{Sim: &contracts.SimDriver{}}})
			}
			req := contracts.DeployRequest{ID: "r1", App: "web", Version: "2.4.1", Environment: "prod",
				Phases: []contracts.PhaseSpec{
					{Name: "canary", Hosts: []string{"web-00000"}},
					{Name: "east", Selector: &contracts.Selector{Group: "east"}, Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}, {Count: 5}, {Percent: 20}}}},
					{Name: "rest", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Percent: 25}}}},
				}}
			now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(req, env, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
