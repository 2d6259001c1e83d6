package discovery

import (
	"fmt"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func hostsEnv(n int) contracts.Environment {
	e := contracts.Environment{Name: "prod"}
	for i := range n {
		e.Hosts = append(e.Hosts, contracts.Host{Name: fmt.Sprintf("h%05d", i), Address: "10.0.0.1"})
	}
	return e
}

// Pages cover every host once, in order, each within the byte budget.
func TestPageHosts(t *testing.T) {
	const budget = 4096
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		e := hostsEnv(1000)
		pageHosts(&e, after, budget)
		if len(e.Hosts) == 0 {
			t.Fatalf("empty page after %q", after)
		}
		size := 0
		for _, h := range e.Hosts {
			size += len(fmt.Sprintf(`{"name":%q,"address":%q}`, h.Name, h.Address)) + 1
			got = append(got, h.Name)
		}
		if size > budget {
			t.Fatalf("page of %d bytes, budget %d", size, budget)
		}
		after = e.Hosts[len(e.Hosts)-1].Name
		if !e.HostsMore {
			break
		}
	}
	if len(got) != 1000 || got[0] != "h00000" || got[999] != "h00999" {
		t.Fatalf("paged %d hosts", len(got))
	}
	// A host larger than the budget still makes a page of its own.
	e := hostsEnv(3)
	pageHosts(&e, "", 1)
	if len(e.Hosts) != 1 || !e.HostsMore {
		t.Fatalf("tiny budget: %d hosts, more %v", len(e.Hosts), e.HostsMore)
	}
	// After the last host: nothing more.
	e = hostsEnv(3)
	pageHosts(&e, "h00002", budget)
	if len(e.Hosts) != 0 || e.HostsMore {
		t.Fatalf("past the end: %d hosts, more %v", len(e.Hosts), e.HostsMore)
	}
}
