package scheduler

import (
	"fmt"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestBoundHosts(t *testing.T) {
	small := contracts.Event{Hosts: []string{"a", "b"}}
	if got := boundHosts(small); len(got.Hosts) != 2 || got.HostsTotal != 0 {
		t.Fatalf("small = %+v", got)
	}
	var many []string
	for i := range 100000 {
		many = append(many, fmt.Sprintf("host-%06d", i))
	}
	got := boundHosts(contracts.Event{Hosts: many})
	if len(got.Hosts) != contracts.MaxEventHosts || got.HostsTotal != 100000 || got.Hosts[999] != "host-000999" || len(many) != 100000 {
		t.Fatalf("bounded to %d of %d", len(got.Hosts), got.HostsTotal)
	}
}
