package planner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// A paging discovery stand-in: n hosts, per pages of at most `per`.
func pager(n, per int, calls *int) func(context.Context, contracts.TargetsQuery) (contracts.Environment, error) {
	var all []contracts.Host
	for i := range n {
		all = append(all, contracts.Host{Name: fmt.Sprintf("h%05d", i)})
	}
	return func(_ context.Context, q contracts.TargetsQuery) (contracts.Environment, error) {
		*calls++
		if q.HostsMaxBytes != contracts.TargetsPageBytes {
			return contracts.Environment{}, fmt.Errorf("page size %d", q.HostsMaxBytes)
		}
		start := 0
		for start < len(all) && all[start].Name <= q.HostsAfter {
			start++
		}
		end := min(start+per, len(all))
		return contracts.Environment{Name: q.Environment, Params: map[string]string{"a": "b"}, Hosts: all[start:end], HostsMore: end < len(all)}, nil
	}
}

func TestTargetPagesJoinsEveryPage(t *testing.T) {
	calls := 0
	e, err := targetPages(context.Background(), "prod", pager(2500, 1000, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 || len(e.Hosts) != 2500 || e.HostsMore || e.Params["a"] != "b" || e.Hosts[2499].Name != "h02499" {
		t.Fatalf("calls %d, hosts %d, more %v", calls, len(e.Hosts), e.HostsMore)
	}
	for i := 1; i < len(e.Hosts); i++ {
		if e.Hosts[i].Name <= e.Hosts[i-1].Name {
			t.Fatalf("hosts out of order at %d", i)
		}
	}
	// A discovery that does not page answers in one go.
	calls = 0
	if e, err := targetPages(context.Background(), "prod", pager(10, 100, &calls)); err != nil || calls != 1 || len(e.Hosts) != 10 {
		t.Fatalf("one page: %d calls, %v", calls, err)
	}
}

func TestTargetPagesRefusesBrokenPaging(t *testing.T) {
	repeat := func(_ context.Context, q contracts.TargetsQuery) (contracts.Environment, error) {
		return contracts.Environment{Hosts: []contracts.Host{{Name: "h1"}}, HostsMore: true}, nil
	}
	if _, err := targetPages(context.Background(), "prod", repeat); err == nil || !strings.Contains(err.Error(), "repeats or reorders") {
		t.Fatalf("repeating pages: %v", err)
	}
	empty := func(_ context.Context, q contracts.TargetsQuery) (contracts.Environment, error) {
		return contracts.Environment{HostsMore: true}, nil
	}
	if _, err := targetPages(context.Background(), "prod", empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty page: %v", err)
	}
}
