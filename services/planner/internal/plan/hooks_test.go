package plan

import (
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestProcedureHooksReachEveryHost(t *testing.T) {
	drain := contracts.HostHook{HAProxy: &contracts.HAProxyHook{Socket: "/run/haproxy.sock", Backend: "web", Server: "{{.Host.Name}}", State: "drain"}}
	ready := contracts.HostHook{HAProxy: &contracts.HAProxyHook{Socket: "/run/haproxy.sock", Backend: "web", Server: "{{.Host.Name}}", State: "ready"}}
	inv := env(hosts(3))
	inv.Procedures = map[string]contracts.Procedure{
		"lb": {Driver: contracts.DriverSpec{Agent: &contracts.AgentDriver{}}, BeforeHost: []contracts.HostHook{drain}, AfterHost: []contracts.HostHook{ready}},
	}
	req := request(contracts.PhaseSpec{Name: "all"})
	req.Driver, req.Procedure = nil, "lb"
	p, err := Build(req, inv, now)
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range p.Hosts {
		hk := h.Driver.Hooks
		if h.Driver.Agent == nil || hk == nil || len(hk.Before) != 1 || hk.Before[0].HAProxy.State != "drain" || len(hk.After) != 1 || hk.After[0].HAProxy.State != "ready" {
			t.Fatalf("host %s driver %+v, want the procedure's agent with its hooks", name, h.Driver)
		}
	}

	// A server template that does not give an HAProxy name for a host
	// rejects the request before anything runs.
	bad := drain
	bad.HAProxy = &contracts.HAProxyHook{Socket: "/s", Backend: "web", Server: "{{.Host.Name}} x", State: "drain"}
	inv.Procedures["lb"] = contracts.Procedure{Driver: contracts.DriverSpec{Agent: &contracts.AgentDriver{}}, BeforeHost: []contracts.HostHook{bad}}
	_, err = Build(req, inv, now)
	fe := contracts.AsFieldErrors(err)
	if len(fe) == 0 || fe[0].Field != "procedure" || !strings.Contains(fe[0].Message, "before_host[0].haproxy.server renders to") {
		t.Fatalf("Build = %v, want a procedure problem on the server name", err)
	}
}
