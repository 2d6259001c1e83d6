package inventory

import (
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestParseChecks(t *testing.T) {
	inv, err := Parse([]byte(`
environments:
  - name: prod
    checks:
      smoke:
        command: {command: [/opt/smoke, "{{.Host.Address}}"], timeout: 30s}
      db: {tcp: {address: "{{.Host.Address}}:5432"}}
      errors:
        prometheus:
          url: http://prometheus:9090
          query: sum(rate(errors_total[1m]))
          op: "<="
          threshold: 0.01
      verify: {nats: {subject: verify.web, timeout: 2s}}
    hosts: [{name: a, address: b}]
`))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := inv.Find("prod")
	c := prod.Contract().Checks
	if len(c) != 4 || c["smoke"].Command.Command[0] != "/opt/smoke" || c["smoke"].Command.Timeout.D().Seconds() != 30 ||
		c["db"].TCP.Address != "{{.Host.Address}}:5432" || *c["errors"].Prometheus.Threshold != 0.01 || c["verify"].NATS.Subject != "verify.web" {
		t.Fatalf("checks = %+v", c)
	}

	for _, tc := range []struct{ doc, field, msg string }{
		{"environments: [{name: qa, checks: {db: {}}}]", "environments[0].checks.db", "must set exactly one of: http, tcp, command, prometheus, nats"},
		{"environments: [{name: qa, checks: {db: x}}]", "environments[0].checks.db", "must be a mapping"},
		{"environments: [{name: qa, checks: {'bad name': {tcp: {address: 'a:1'}}}}]", `environments[0].checks["bad name"]`, "a check name"},
		{"environments: [{name: qa, checks: {db: {ssh: {}}}}]", "environments[0].checks.db.ssh", "is not a known field"},
		{"environments:\n  - name: qa\n    checks:\n      db:\n        tcp:\n          address: a:1\n          timeout: soon\n", "environments[0].checks.db.tcp.timeout", "(line 7)"},
		{"environments:\n  - name: qa\n    checks:\n      db:\n        tcp:\n          address: nope\n", "environments[0].checks.db.tcp.address", "must be host:port, such as \"db-01:5432\", got \"nope\" (line 6)"},
		{"environments: [{name: qa, checks: {s: {command: {command: [x, '{{.Host']}}}}]", "environments[0].checks.s.command.command[1]", "not a valid template"},
		{"environments: [{name: qa, checks: {p: {prometheus: {url: 'http://p', query: up, op: '=>', threshold: 1}}}}]", "environments[0].checks.p.prometheus.op", "must be one of"},
		{"environments: [{name: qa, checks: {v: {nats: {subject: 'rollwave.control.x'}}}}]", "environments[0].checks.v.nats.subject", "Rollwave's own subjects"},
	} {
		_, err := Parse([]byte(tc.doc))
		fe := contracts.AsFieldErrors(err)
		if len(fe) == 0 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.msg) {
			t.Errorf("%s: got %v, want %s: %s", tc.doc, err, tc.field, tc.msg)
		}
	}
}
