package inventory

import (
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestParseProcedureHooks(t *testing.T) {
	inv, err := Parse([]byte(`
environments:
  - name: qa
    procedures:
      deploy:
        driver: {agent: {}}
        before_host:
          - haproxy: {socket: /run/haproxy/admin.sock, backend: web, server: "{{.Host.Name}}", state: drain, wait_sessions: 30s}
        after_host:
          - haproxy: {socket: "127.0.0.1:9999", backend: web, server: "{{.Host.Name}}", state: ready, weight: 100}
    hosts: [{name: a, address: b}]
`))
	if err != nil {
		t.Fatal(err)
	}
	qa, _ := inv.Find("qa")
	proc := qa.Contract().Procedures["deploy"]
	if len(proc.BeforeHost) != 1 || len(proc.AfterHost) != 1 {
		t.Fatalf("procedure = %+v", proc)
	}
	b, a := proc.BeforeHost[0].HAProxy, proc.AfterHost[0].HAProxy
	if b.Socket != "/run/haproxy/admin.sock" || b.Backend != "web" || b.Server != "{{.Host.Name}}" || b.State != "drain" || b.WaitSessions.D() != 30*time.Second {
		t.Fatalf("before_host = %+v", b)
	}
	if a.Socket != "127.0.0.1:9999" || a.State != "ready" || a.Weight == nil || *a.Weight != 100 {
		t.Fatalf("after_host = %+v", a)
	}

	const pre = "environments: [{name: qa, procedures: {deploy: {driver: {sim: {}}, "
	for _, tc := range []struct{ doc, field, msg string }{
		{pre + "before_host: {haproxy: {}}}}}]", "environments[0].procedures.deploy.before_host", "list"},
		{pre + "before_host: [{nginx: {}}]}}}]", "environments[0].procedures.deploy.before_host[0].nginx", "is not a known field"},
		{pre + "before_host: [{haproxy: {sockt: /s}}]}}}]", "environments[0].procedures.deploy.before_host[0].haproxy.sockt", "is not a known field"},
		{pre + "before_host: [{haproxy: {socket: /s, backend: web, server: x, state: drain, wait_sessions: soon}}]}}}]", "environments[0].procedures.deploy.before_host[0].haproxy.wait_sessions", ""},
		{pre + "before_host: [{haproxy: {socket: /s, backend: web, server: x, state: up}}]}}}]", "environments[0].procedures.deploy.before_host[0].haproxy.state", "must be one of ready, drain, maint, got \"up\" (line 1)"},
		{pre + "after_host: [{haproxy: {socket: 'x;touch y', backend: web, server: x, state: ready}}]}}}]", "environments[0].procedures.deploy.after_host[0].haproxy.socket", "must be an absolute unix socket path or host:port"},
		{pre + "after_host: [{}]}}}]", "environments[0].procedures.deploy.after_host[0]", "must set exactly one of: haproxy"},
		{"environments:\n  - name: qa\n    procedures:\n      deploy:\n        driver: {sim: {}}\n        after_host:\n          - haproxy:\n              socket: /s\n              backend: web/x\n", "environments[0].procedures.deploy.after_host[0].haproxy.backend", "(line 9)"},
		{"environments: [{name: qa, driver: {sim: {}, hooks: {}}}]", "environments[0].driver.hooks", "hooks go in a procedure's before_host"},
	} {
		_, err := Parse([]byte(tc.doc))
		fe := contracts.AsFieldErrors(err)
		if len(fe) == 0 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.msg) {
			t.Errorf("%s: got %v, want %s: %s", tc.doc, err, tc.field, tc.msg)
		}
	}
}
