package plan

import (
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestEnvironmentChecksAndRequestCommands(t *testing.T) {
	smoke := contracts.CheckSpec{Command: &contracts.CommandCheck{Command: []string{"/opt/smoke", "{{.Host.Address}}"}}}
	operators := env(hosts(2))
	operators.Checks = map[string]contracts.CheckSpec{
		"smoke": smoke,
		"db":    {TCP: &contracts.TCPCheck{Address: "{{.Host.Address}}:5432"}},
	}

	// A phase names the environment's checks; the plan carries them with
	// the request's own.
	req := request(contracts.PhaseSpec{Name: "all", Checks: []string{"live", "smoke", "db"}})
	req.Checks = map[string]contracts.CheckSpec{"live": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/live"}}}
	p, err := Build(req, operators, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Checks) != 3 || p.Checks["smoke"].Command == nil || p.Checks["db"].TCP == nil || p.Checks["live"].HTTP == nil {
		t.Fatalf("plan checks = %+v", p.Checks)
	}

	// A name neither defines is refused, naming the phase's reference.
	req.Phases[0].Checks = []string{"live", "nope"}
	_, err = Build(req, operators, now)
	if fe := contracts.AsFieldErrors(err); len(fe) != 1 || fe[0].Field != "phases[0].checks[1]" ||
		!strings.Contains(fe[0].Message, `check "nope" is defined neither under checks nor by environment "prod" (defined: db, smoke)`) {
		t.Fatalf("unknown check: %v", err)
	}

	// The request's own command check is refused unless the environment
	// allows request commands, whether or not a phase uses it.
	req.Phases[0].Checks = []string{"live"}
	req.Checks["mine"] = contracts.CheckSpec{Command: &contracts.CommandCheck{Command: []string{"/bin/rm", "-rf", "/"}}}
	_, err = Build(req, operators, now)
	if fe := contracts.AsFieldErrors(err); len(fe) != 1 || fe[0].Field != "checks.mine.command" ||
		!strings.Contains(fe[0].Message, "does not take commands from requests") || !strings.Contains(fe[0].Message, "defined: db, smoke") {
		t.Fatalf("request command: %v", err)
	}
	operators.AllowRequestCommands = true
	if _, err := Build(req, operators, now); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	// A request's own check shadows the environment's of the same name.
	operators.AllowRequestCommands = false
	delete(req.Checks, "mine")
	req.Checks["db"] = contracts.CheckSpec{TCP: &contracts.TCPCheck{Address: "{{.Host.Address}}:6432"}}
	req.Phases[0].Checks = []string{"db"}
	if p, err := Build(req, operators, now); err != nil || p.Checks["db"].TCP.Address != "{{.Host.Address}}:6432" {
		t.Fatalf("shadowing: %+v, %v", p.Checks, err)
	}
}

func TestEveryCheckKindRendersUpFront(t *testing.T) {
	hs := hosts(3)
	hs[1].Params = map[string]string{"port": "x"}
	hs[2].Params = map[string]string{"port": "8080", "verify": "rollwave.control", "prom": "file:///etc/passwd"}
	one := 0.01
	tests := []struct {
		name  string
		spec  contracts.CheckSpec
		field string
		msg   string
	}{
		{"tcp missing param", contracts.CheckSpec{TCP: &contracts.TCPCheck{Address: `{{.Host.Address}}:{{index .Host.Params "port"}}`}},
			"phases[0].checks[0].tcp.address", `does not render for host "web-01"`},
		{"tcp bad port", contracts.CheckSpec{TCP: &contracts.TCPCheck{Address: `{{.Host.Address}}:{{index .Params "port"}}`}},
			"phases[0].checks[0].tcp.address", `must end in a port between 1 and 65535, got "10.0.0.2:x"`},
		{"command argument", contracts.CheckSpec{Command: &contracts.CommandCheck{Command: []string{"/opt/check", `{{index .Params "port"}}`}}},
			"phases[0].checks[0].command.command[1]", `does not render for host "web-01"`},
		{"command empty program", contracts.CheckSpec{Command: &contracts.CommandCheck{Command: []string{`{{.Rollout | printf "%.0s"}}`}}},
			"phases[0].checks[0].command.command[0]", "empty program name"},
		{"prometheus url", contracts.CheckSpec{Prometheus: &contracts.PrometheusCheck{URL: "{{.Host.Address}}", Query: "up", Op: "<=", Threshold: &one}},
			"phases[0].checks[0].prometheus.url", "not an http:// or https:// URL"},
		{"prometheus query", contracts.CheckSpec{Prometheus: &contracts.PrometheusCheck{URL: "http://prom:9090", Query: `up{port="{{index .Params "port"}}"}`, Op: "<=", Threshold: &one}},
			"phases[0].checks[0].prometheus.query", `does not render for host "web-01"`},
		{"nats subject", contracts.CheckSpec{NATS: &contracts.NATSCheck{Subject: `{{index .Params "verify"}}.x`}},
			"phases[0].checks[0].nats.subject", `does not render for host "web-01"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			operators := env(hs)
			operators.Checks = map[string]contracts.CheckSpec{"c": tt.spec}
			_, err := Build(request(contracts.PhaseSpec{Name: "all", Checks: []string{"c"}}), operators, now)
			for _, f := range contracts.AsFieldErrors(err) {
				if f.Field == tt.field && strings.Contains(f.Message, tt.msg) {
					return
				}
			}
			t.Fatalf("Build = %v, want %s: %s", err, tt.field, tt.msg)
		})
	}
	// A subject that renders into Rollwave's own space, for the one host
	// whose parameter says so.
	hs[0].Params, hs[1].Params = map[string]string{"verify": "verify"}, map[string]string{"verify": "verify"}
	operators := env(hs)
	operators.Checks = map[string]contracts.CheckSpec{"c": {NATS: &contracts.NATSCheck{Subject: `{{index .Host.Params "verify"}}.web`}}}
	_, err := Build(request(contracts.PhaseSpec{Name: "all", Checks: []string{"c"}}), operators, now)
	if fe := contracts.AsFieldErrors(err); len(fe) != 1 || fe[0].Field != "phases[0].checks[0].nats.subject" ||
		!strings.Contains(fe[0].Message, "Rollwave's own subjects") || !strings.Contains(fe[0].Message, "web-03") {
		t.Fatalf("subject: %v", err)
	}
}
