package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

const sample = `
environments:
  - name: qa
    position: 1
    params: {region: eu-west}
    driver: {sim: {median: 50ms, p99: 400ms, failure_rate: 0.02}}
    pool: default
    hosts:
      - name: qa-web-02
        address: 10.0.1.12:8080
        groups: [web]
      - name: qa-web-01
        address: 10.0.1.11:8080
        groups: [web, east]
        labels: {tier: web}
        params: {port: 8080, region: eu-central}
        pool: edge
        driver: {exec: {command: ["./deploy.sh", "{{.Host.Name}}"], timeout: 2m}}
  - name: production
    hosts:
      - name: prod-web-01
        address: prod-web-01.example.com
`

func TestParseResolvesDefaults(t *testing.T) {
	inv, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Environments) != 2 {
		t.Fatalf("environments = %d", len(inv.Environments))
	}
	qa, ok := inv.Find("qa")
	if !ok || qa.Position != 1 || qa.Pool != "default" || qa.Params["region"] != "eu-west" {
		t.Fatalf("qa = %+v", qa)
	}
	simDriver := &contracts.DriverSpec{Sim: &contracts.SimDriver{
		Median: contracts.Duration(50 * time.Millisecond), P99: contracts.Duration(400 * time.Millisecond), FailureRate: 0.02}}
	want := []contracts.Host{
		{
			Name: "qa-web-01", Address: "10.0.1.11:8080", Groups: []string{"web", "east"},
			Labels: map[string]string{"tier": "web"},
			// Host params override environment params; YAML numbers are kept as text.
			Params: map[string]string{"port": "8080", "region": "eu-central"},
			Pool:   "edge",
			Driver: &contracts.DriverSpec{Exec: &contracts.ExecDriver{
				Command: []string{"./deploy.sh", "{{.Host.Name}}"}, Timeout: contracts.Duration(2 * time.Minute)}},
		},
		{
			Name: "qa-web-02", Address: "10.0.1.12:8080", Groups: []string{"web"},
			Params: map[string]string{"region": "eu-west"},
			Pool:   "default", Driver: simDriver,
		},
	}
	if !reflect.DeepEqual(qa.Hosts, want) {
		t.Fatalf("qa hosts:\n got %+v\nwant %+v", qa.Hosts, want)
	}
	prod, _ := inv.Find("production")
	if prod.Position != 0 || len(prod.Hosts) != 1 || prod.Hosts[0].Pool != contracts.DefaultPool || prod.Hosts[0].Driver != nil {
		t.Fatalf("production = %+v", prod)
	}
	if _, ok := inv.Find("staging"); ok {
		t.Fatal("found an environment that does not exist")
	}
	// Contract copies hosts, so filling versions does not touch the inventory.
	c := qa.Contract()
	c.Hosts[0].Versions = map[string]contracts.HostVersion{"web": {Version: "1.0.0"}}
	if qa.Hosts[0].Versions != nil {
		t.Fatal("Contract shares the host slice")
	}
}

func TestParseAnchorsAndMerges(t *testing.T) {
	doc := `
defaults: &defaults
environments:
  - name: qa
    driver: &sim {sim: {median: 10ms}}
    hosts:
      - &web {name: web-01, address: a1, labels: &labels {tier: web}}
      - <<: *web
        name: web-02
        address: a2
      - name: web-03
        address: a3
        labels: {<<: *labels, zone: b}
        driver: *sim
`
	// "defaults" is not a known key: anchors live inside known fields.
	if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "defaults: is not a known field") {
		t.Fatalf("err = %v", err)
	}
	doc = strings.Replace(doc, "defaults: &defaults\n", "", 1)
	inv, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	hosts := inv.Environments[0].Hosts
	if hosts[1].Name != "web-02" || hosts[1].Address != "a2" || hosts[1].Labels["tier"] != "web" {
		t.Fatalf("merged host = %+v", hosts[1])
	}
	if !reflect.DeepEqual(hosts[2].Labels, map[string]string{"tier": "web", "zone": "b"}) {
		t.Fatalf("merged labels = %v", hosts[2].Labels)
	}
	if hosts[2].Driver == nil || hosts[2].Driver.Sim == nil {
		t.Fatalf("aliased driver = %+v", hosts[2].Driver)
	}
}

func TestParseErrors(t *testing.T) {
	host := func(extra string) string {
		return "environments:\n  - name: qa\n    hosts:\n      - name: web-01\n        address: a\n" + extra
	}
	tests := []struct {
		name string
		doc  string
		// want lists "field: message" prefixes, each of which must match
		// a problem; "*" stands for any text.
		want []string
	}{
		{"empty", "", []string{"(root): the inventory is empty"}},
		{"comment only", "# nothing\n", []string{"(root): the inventory is empty"}},
		{"not yaml", "environments: [", []string{"(root): is not valid YAML"}},
		{"two documents", "environments: []\n---\nenvironments: []\n", []string{"(root): holds more than one YAML document; the second starts at line 2"}},
		{"root is a list", "- a\n", []string{"(root): must be a mapping, got a list (line 1)"}},
		{"unknown top key", "environments: [{name: qa}]\nhosts: []\n", []string{"hosts: is not a known field (known: environments, lifecycle, app_lifecycles) (line 2)"}},
		{"no environments key", "{}\n", []string{"environments: is required"}},
		{"no environments", "environments: []\n", []string{"environments: must list at least one environment (line 1)"}},
		{"environments not a list", "environments: {qa: 1}\n", []string{"environments: must be a list, got a mapping (line 1)"}},
		{"environment not a mapping", "environments: [qa]\n", []string{"environments[0]: must be a mapping, got a scalar (line 1)"}},
		{"missing name", "environments:\n  - hosts: []\n", []string{"environments[0].name: is required (line 2)"}},
		{"null name", "environments:\n  - name:\n", []string{"environments[0].name: is required (line 2)"}},
		{"bad env name", "environments:\n  - name: qa.eu\n", []string{`environments[0].name: must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got "qa.eu" (line 2)`}},
		{"env name is a list", "environments:\n  - name: [qa]\n", []string{"environments[0].name: must be a string, got a list (line 2)"}},
		{"duplicate env", "environments:\n  - name: qa\n  - name: qa\n", []string{`environments[1].name: duplicate environment "qa" (also environments[0]) (line 3)`}},
		{"duplicate key", "environments:\n  - name: qa\n    name: qb\n", []string{"environments[0].name: is given twice (line 3)"}},
		{"unknown env key", "environments:\n  - name: qa\n    region: eu\n", []string{"environments[0].region: is not a known field (known: name, position, params, driver, pool, hosts, procedures, allow_request_commands, allow_request_params, applications, sources, checks, on_blocked, on_freeze) (line 3)"}},
		{"position text", "environments:\n  - name: qa\n    position: first\n", []string{"environments[0].position: must be a whole number (line 3)"}},
		{"position zero", "environments:\n  - name: qa\n    position: 0\n", []string{"environments[0].position: must be between 1 and 1000, got 0 (line 3)"}},
		{"bad pool", "environments:\n  - name: qa\n    pool: a b\n", []string{`environments[0].pool: must be 1-128`}},
		{"empty pool", "environments:\n  - name: qa\n    pool: ''\n", []string{`environments[0].pool: must not be empty (line 3)`}},
		{"params not a map", "environments:\n  - name: qa\n    params: [a]\n", []string{"environments[0].params: must be a mapping, got a list (line 3)"}},
		{"param null", "environments:\n  - name: qa\n    params: {region: }\n", []string{`environments[0].params.region: has no value; write "" for an empty string (line 3)`}},
		{"param nested", "environments:\n  - name: qa\n    params: {region: {a: b}}\n", []string{"environments[0].params.region: must be a string, got a mapping (line 3)"}},
		{"param odd key", "environments:\n  - name: qa\n    params: {'a.b': [1]}\n", []string{`environments[0].params["a.b"]: must be a string, got a list (line 3)`}},
		{"hosts not a list", "environments:\n  - name: qa\n    hosts: web-01\n", []string{"environments[0].hosts: must be a list, got a scalar (line 3)"}},
		{"host missing address", "environments:\n  - name: qa\n    hosts:\n      - name: web-01\n      - name: web-02\n      - name: web-03\n", []string{
			"environments[0].hosts[0].address: is required (line 4)",
			"environments[0].hosts[2].address: is required (line 6)"}},
		{"host missing name", "environments:\n  - name: qa\n    hosts:\n      - address: a\n", []string{"environments[0].hosts[0].name: is required (line 4)"}},
		{"empty host name", host("      - name: ''\n        address: b\n"), []string{"environments[0].hosts[1].name: must not be empty (line 6)"}},
		{"empty env name", "environments:\n  - name: \"\"\n", []string{"environments[0].name: must not be empty (line 2)"}},
		{"empty address", host("      - name: web-02\n        address: ''\n"), []string{"environments[0].hosts[1].address: must not be empty (line 7)"}},
		{"blank address", host("      - name: web-02\n        address: ' '\n"), []string{"environments[0].hosts[1].address: must not be blank (line 7)"}},
		{"address with space", host("      - name: web-02\n        address: 'a b'\n"), []string{`environments[0].hosts[1].address: "a b" is neither a DNS name*(line 7)`}},
		{"address with a command", host("      - name: web-02\n        address: 127.0.0.1:1;touch x\n"), []string{`environments[0].hosts[1].address: "127.0.0.1:1;touch x" has a port that is not a number 1-65535; an address is host[:port]*(line 7)`}},
		{"address with a substitution", host("      - name: web-02\n        address: $(touch x)\n"), []string{`environments[0].hosts[1].address: "$(touch x)" is neither a DNS name*(line 7)`}},
		{"address IPv6 unbracketed", host("      - name: web-02\n        address: '::1'\n"), []string{`environments[0].hosts[1].address: "::1" looks like an IPv6 address; write it in brackets*(line 7)`}},
		{"address port out of range", host("      - name: web-02\n        address: web-02:70000\n"), []string{`environments[0].hosts[1].address: "web-02:70000" has a port that is not a number 1-65535*(line 7)`}},
		{"host name underscore", host("      - name: web_02\n        address: a\n"), []string{`environments[0].hosts[1].name: must be an RFC 1123 host name*; got "web_02" (line 6)`}},
		{"host name leading dash", host("      - name: -web\n        address: a\n"), []string{`environments[0].hosts[1].name: must be an RFC 1123 host name`}},
		{"host name empty label", host("      - name: web..example\n        address: a\n"), []string{`environments[0].hosts[1].name: must be an RFC 1123 host name`}},
		{"host name too long label", host("      - name: " + strings.Repeat("a", 64) + "\n        address: a\n"), []string{`environments[0].hosts[1].name: must be an RFC 1123 host name`}},
		{"duplicate host", host("      - name: WEB-01\n        address: b\n"), []string{`environments[0].hosts[1].name: duplicate host "WEB-01" in environment (also environments[0].hosts[0]) (line 6)`}},
		{"unknown host key", host("        port: 80\n"), []string{"environments[0].hosts[0].port: is not a known field (known: name, address, groups, labels, params, pool, driver) (line 6)"}},
		{"groups not a list", host("        groups: web\n"), []string{"environments[0].hosts[0].groups: must be a list, got a scalar (line 6)"}},
		{"bad group", host("        groups: [web, 'a b', web, '']\n"), []string{
			`environments[0].hosts[0].groups[1]: must be 1-128 letters`,
			`environments[0].hosts[0].groups[2]: repeats group "web" (line 6)`,
			`environments[0].hosts[0].groups[3]: must not be empty (line 6)`}},
		{"labels empty key", host("        labels: {'': x}\n"), []string{"environments[0].hosts[0].labels: has an empty key (line 6)"}},
		{"host pool", host("        pool: 'a.b'\n"), []string{"environments[0].hosts[0].pool: must be 1-128"}},
		{"driver not a map", host("        driver: sim\n"), []string{"environments[0].hosts[0].driver: must be a mapping, got a scalar (line 6)"}},
		{"driver empty", host("        driver: {}\n"), []string{"environments[0].hosts[0].driver: must set exactly one of: sim, exec, ssh, agent (line 6)"}},
		{"driver null variant", host("        driver: {sim: }\n"), []string{"environments[0].hosts[0].driver: must set exactly one of: sim, exec, ssh, agent (line 6)"}},
		{"driver two variants", host("        driver: {sim: {}, exec: {command: [x]}}\n"), []string{"environments[0].hosts[0].driver: must set exactly one of: sim, exec, ssh, agent; 2 are set (line 6)"}},
		{"driver unknown", "environments:\n  - name: qa\n    driver:\n      telnet: {user: root}\n", []string{"environments[0].driver.telnet: is not a known driver (line 4)"}},
		{"ssh driver incomplete", "environments:\n  - name: qa\n    driver:\n      ssh: {user: 'root;id', command: [x]}\n", []string{
			`environments[0].driver.ssh.user: must be a login name*(line 4)`,
			"environments[0].driver.ssh.key_file: is required*(line 4)"}},
		{"ssh driver unknown field", "environments:\n  - name: qa\n    driver:\n      ssh:\n        user: deploy\n        keyfile: /k\n", []string{"environments[0].driver.ssh.keyfile: is not a known field (line 6)"}},
		{"ssh driver port type", "environments:\n  - name: qa\n    driver:\n      ssh:\n        user: deploy\n        port: ssh\n", []string{"environments[0].driver.ssh.port: *(line 6)"}},
		{"driver unknown field", host("        driver: {sim: {median: 1s, medain: 2s}}\n"), []string{"environments[0].hosts[0].driver.sim.medain: is not a known field (line 6)"}},
		{"driver bad duration", host("        driver:\n          sim:\n            median: soon\n"), []string{`environments[0].hosts[0].driver.sim.median: *"soon"*(line 8)`}},
		{"driver bad type", host("        driver: {sim: {failure_rate: high}}\n"), []string{"environments[0].hosts[0].driver.sim.failure_rate: must be a number*(line 6)"}},
		{"driver variant scalar", host("        driver: {sim: 3}\n"), []string{"environments[0].hosts[0].driver.sim: must be an object*(line 6)"}},
		{"driver command string", host("        driver: {exec: {command: ./deploy.sh}}\n"), []string{"environments[0].hosts[0].driver.exec.command: must be a list*(line 6)"}},
		{"driver repeated key", host("        driver: {sim: {median: 1s, median: 2s}}\n"), []string{"environments[0].hosts[0].driver.sim.median: is given twice (line 6)"}},
		{"driver env value", host("        driver: {exec: {command: [x], env: {A: [1]}}}\n"), []string{"environments[0].hosts[0].driver.exec.env"}},
		{"driver empty command", host("        driver: {exec: {command: []}}\n"), []string{"environments[0].hosts[0].driver.exec.command: is required*(line 6)"}},
		{"driver out of range", host("        driver: {sim: {failure_rate: 2}}\n"), []string{"environments[0].hosts[0].driver.sim.failure_rate: must be between 0 and 1*(line 6)"}},
		{"driver infinite", host("        driver: {sim: {failure_rate: .inf}}\n"), []string{"environments[0].hosts[0].driver.sim.failure_rate: must be a finite number, got .inf (line 6)"}},
		{"merge of scalar", host("        <<: 3\n"), []string{"environments[0].hosts[0][\"<<\"]: must be a mapping or a list of mappings to merge, got a scalar (line 6)"}},
		{"self anchor", "environments: &e\n  - name: qa\n    hosts: *e\n", []string{"environments[0].hosts[0]"}},
		{"key not a string", "environments:\n  - name: qa\n    ? [a]\n    : b\n", []string{"environments[0]: has a key that is a list; keys must be strings (line 3)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var fe contracts.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want FieldErrors", err)
			}
			var got []string
			for _, f := range fe {
				got = append(got, f.String())
			}
			seen := map[string]bool{}
			for _, g := range got {
				if seen[g] {
					t.Errorf("problem reported twice: %q", g)
				}
				seen[g] = true
			}
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					if matches(g, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// matches reports whether got starts with pattern, where "*" in pattern
// stands for any text.
func matches(got, pattern string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(got, parts[0]) {
		return false
	}
	rest := got[len(parts[0]):]
	for _, p := range parts[1:] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}

func TestParseReportsEveryProblem(t *testing.T) {
	doc := "environments:\n  - name: 'q a'\n    hosts:\n      - name: ok\n      - address: x\n  - name: p\n    bogus: 1\n"
	_, err := Parse([]byte(doc))
	var fe contracts.FieldErrors
	if !errors.As(err, &fe) || len(fe) != 4 {
		t.Fatalf("want 4 problems, got %v", fe)
	}
}

func TestParseAliasBomb(t *testing.T) {
	// Each level multiplies the expansion by ten: 10^9 nodes if followed.
	var b strings.Builder
	b.WriteString("a0: &a0 {name: x}\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	doc := "environments:\n  - name: qa\n    params:\n" + indent(b.String(), "      ") +
		"    hosts:\n      - name: h\n        address: a\n        driver: {exec: {command: [x], env: {A: *a9}}}\n"
	start := time.Now()
	_, err := Parse([]byte(doc))
	if err == nil {
		t.Fatal("alias bomb parsed")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "read inventory") {
		t.Fatalf("err = %v", err)
	}
	if err := os.WriteFile(path, []byte("environments: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "environments:") {
		t.Fatalf("err = %v", err)
	}
	var fe contracts.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("Load does not wrap FieldErrors: %v", err)
	}
}

func TestParseProcedures(t *testing.T) {
	inv, err := Parse([]byte(`
environments:
  - name: qa
    allow_request_commands: true
    procedures:
      deploy:
        driver: {exec: {command: [/opt/deploy, "{{.Version}}", "{{index .Params \"channel\"}}"]}}
      web-only:
        driver: {sim: {}}
        apps: [web]
        traffic: {exec: {command: [/opt/lb, switch, "{{.Target}}"]}}
    hosts: [{name: a, address: b}]
  - name: prod
    hosts: [{name: a, address: b}]
`))
	if err != nil {
		t.Fatal(err)
	}
	qa, _ := inv.Find("qa")
	c := qa.Contract()
	if !c.AllowRequestCommands || len(c.Procedures) != 2 ||
		c.Procedures["deploy"].Driver.Exec.Command[0] != "/opt/deploy" ||
		!reflect.DeepEqual(c.Procedures["web-only"].Apps, []string{"web"}) ||
		c.Procedures["web-only"].Traffic == nil || c.Procedures["web-only"].Traffic.Command[2] != "{{.Target}}" {
		t.Fatalf("qa = %+v", c)
	}
	prod, _ := inv.Find("prod")
	if c := prod.Contract(); c.AllowRequestCommands || c.Procedures != nil {
		t.Fatalf("prod = %+v", c)
	}

	for _, tc := range []struct{ doc, field, msg string }{
		{"environments: [{name: qa, allow_request_commands: yes please}]", "environments[0].allow_request_commands", "must be true or false (line 1)"},
		{"environments: [{name: qa, procedures: {deploy: {}}}]", "environments[0].procedures.deploy.driver", "is required"},
		{"environments: [{name: qa, procedures: {deploy: {driver: {exec: {}}}}}]", "environments[0].procedures.deploy.driver.exec.command", "is required"},
		{"environments: [{name: qa, procedures: {deploy: {driver: {sim: {}}, apps: [Web]}}}]", "environments[0].procedures.deploy.apps[0]", "must be an application name"},
		{"environments: [{name: qa, procedures: {deploy: {driver: {sim: {}}, run: x}}}]", "environments[0].procedures.deploy.run", "is not a known field"},
		{"environments: [{name: qa, procedures: {'bad name': {driver: {sim: {}}}}}]", `environments[0].procedures["bad name"]`, "a procedure name"},
		{"environments: [{name: qa, procedures: {lb: {driver: {sim: {}}, traffic: {sim: {}}}}}]", "environments[0].procedures.lb.traffic", "must be exec"},
		{"environments: [{name: qa, procedures: {lb: {driver: {sim: {}}, traffic: {exec: {command: [\"{{.Target\"]}}}}}]", "environments[0].procedures.lb.traffic.exec.command[0]", "not a valid template"},
	} {
		_, err := Parse([]byte(tc.doc))
		fe := contracts.AsFieldErrors(err)
		if len(fe) == 0 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.msg) {
			t.Errorf("%s: got %v, want %s: %s", tc.doc, err, tc.field, tc.msg)
		}
	}
}

func TestParseApplications(t *testing.T) {
	inv, err := Parse([]byte(`
environments:
  - name: prod
    applications:
      web: {groups: [web]}
      api: {labels: {tier: api}, hosts: [prod-misc-01]}
    hosts:
      - {name: prod-web-01, address: a, groups: [web, east]}
      - {name: prod-api-01, address: b, groups: [api, east], labels: {tier: api}}
      - {name: prod-misc-01, address: c, groups: [web]}
      - {name: prod-db-01, address: d}
  - name: qa
    hosts: [{name: qa-01, address: a}]
`))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := inv.Find("prod")
	c := prod.Contract()
	got := map[string][]string{}
	for _, h := range c.Hosts {
		got[h.Name] = h.Apps
	}
	want := map[string][]string{"prod-web-01": {"web"}, "prod-api-01": {"api"}, "prod-misc-01": {"api", "web"}, "prod-db-01": nil}
	if !c.AppsDeclared || !reflect.DeepEqual(got, want) {
		t.Fatalf("apps %v declared %v, want %v", got, c.AppsDeclared, want)
	}
	qa, _ := inv.Find("qa")
	if qa.Contract().AppsDeclared {
		t.Fatal("qa declares no applications")
	}

	for _, tc := range []struct{ doc, field, msg string }{
		{"environments: [{name: qa, applications: {Web: {groups: [web]}}, hosts: [{name: a, address: b}]}]", "environments[0].applications.Web", "application name"},
		{"environments: [{name: qa, applications: {web: {}}, hosts: [{name: a, address: b}]}]", "environments[0].applications.web", "names no hosts"},
		{"environments: [{name: qa, applications: {web: {hosts: [nope]}}, hosts: [{name: a, address: b}]}]", "environments[0].applications.web.hosts[0]", `unknown host "nope"`},
		{"environments: [{name: qa, applications: {web: {group: web}}, hosts: [{name: a, address: b}]}]", "environments[0].applications.web.group", "is not a known field"},
		{"environments: [{name: qa, applications: {web: {groups: ['a.b']}}, hosts: [{name: a, address: b}]}]", "environments[0].applications.web.groups[0]", "letters"},
	} {
		_, err := Parse([]byte(tc.doc))
		fe := contracts.AsFieldErrors(err)
		if len(fe) == 0 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.msg) {
			t.Errorf("%s: got %v, want %s: %s", tc.doc, err, tc.field, tc.msg)
		}
	}
}

// The compose inventory in deployments/ parses and declares its applications.
func TestDeploymentsInventory(t *testing.T) {
	inv, err := Load(filepath.Join("..", "..", "..", "..", "deployments", "inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range inv.Environments {
		for _, h := range e.Contract().Hosts {
			if !reflect.DeepEqual(h.Apps, []string{"web"}) {
				t.Fatalf("%s/%s runs %v", e.Name, h.Name, h.Apps)
			}
		}
	}
	if got := inv.LifecycleFor("web", "production"); !reflect.DeepEqual(got, []string{"qa", "staging", "production"}) {
		t.Fatalf("lifecycle = %v", got)
	}
}

func TestParseSources(t *testing.T) {
	inv, err := Parse([]byte(`
environments:
  - name: qa
    sources:
      - {path: ./hosts.ini, interval: 1m, timeout: 10s}
      - path: /etc/rollwave/ec2.py
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{{Path: "./hosts.ini", Interval: time.Minute, Timeout: 10 * time.Second}, {Path: "/etc/rollwave/ec2.py"}}
	if got := inv.Environments[0].Sources; !reflect.DeepEqual(got, want) {
		t.Fatalf("sources %+v, want %+v", got, want)
	}
	_, err = Parse([]byte(`
environments:
  - name: qa
    sources:
      - {path: "", interval: soon}
      - {timeout: 48h, every: 1m}
`))
	for _, w := range []string{
		"environments[0].sources[0].path: must not be empty (line 5)",
		`environments[0].sources[0].interval: must be a positive duration up to 24h such as 30s or 5m, got "soon" (line 5)`,
		"environments[0].sources[1].path: is required (line 6)",
		`environments[0].sources[1].timeout: must be a positive duration up to 24h such as 30s or 5m, got "48h" (line 6)`,
		"environments[0].sources[1].every: is not a known field",
	} {
		var fe contracts.FieldErrors
		if !errors.As(err, &fe) {
			t.Fatalf("error %v is not field errors", err)
		}
		var all []string
		for _, e := range fe {
			all = append(all, e.String())
		}
		if !strings.Contains(strings.Join(all, "\n"), w) {
			t.Errorf("missing %q in\n%v", w, err)
		}
	}
}

func TestWithSourceHosts(t *testing.T) {
	inv, err := Parse([]byte(`
environments:
  - name: qa
    pool: blue
    params: {region: eu, tier: env}
    hosts:
      - {name: static-01, address: 10.0.0.1}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := inv.Environments[0]
	got, err := env.WithSourceHosts([]contracts.Host{{Name: "dyn-01", Address: "10.0.0.2", Groups: []string{"web"}, Params: map[string]string{"tier": "group"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hosts) != 2 || got.Hosts[0].Name != "dyn-01" || got.Hosts[0].Pool != "blue" ||
		!reflect.DeepEqual(got.Hosts[0].Params, map[string]string{"region": "eu", "tier": "group"}) {
		t.Fatalf("hosts %+v", got.Hosts)
	}
	if len(env.Hosts) != 1 {
		t.Fatal("WithSourceHosts changed its receiver")
	}
	for _, tc := range []struct {
		h    contracts.Host
		want string
	}{
		{contracts.Host{Name: "STATIC-01", Address: "x"}, `host "STATIC-01" is listed twice`},
		{contracts.Host{Name: "bad name", Address: "x"}, `host "bad name": name must be an RFC 1123`},
		{contracts.Host{Name: "h", Address: "a b"}, `host "h": address "a b" is neither a DNS name`},
		{contracts.Host{Name: "h", Address: "127.0.0.1:1;touch x"}, `host "h": address "127.0.0.1:1;touch x" has a port that is not a number 1-65535`},
	} {
		if _, err := env.WithSourceHosts([]contracts.Host{tc.h}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WithSourceHosts(%+v) = %v, want %q", tc.h, err, tc.want)
		}
	}
}

func TestParseSSHProcedure(t *testing.T) {
	doc := `environments:
  - name: qa
    procedures:
      deploy:
        driver:
          ssh:
            user: deploy
            command: [/opt/deploy, '{{.Version}}']
            env: {MODE: fast}
            port: 2222
            key_file: /etc/rollwave/id_ed25519
            known_hosts: /etc/rollwave/known_hosts
            timeout: 5m
            connect_timeout: 10s
    hosts:
      - {name: web-01, address: '10.0.0.1:8080'}
`
	inv, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := inv.Environments[0].Procedures["deploy"].Driver.SSH
	want := &contracts.SSHDriver{User: "deploy", Command: []string{"/opt/deploy", "{{.Version}}"}, Env: map[string]string{"MODE": "fast"},
		Port: 2222, KeyFile: "/etc/rollwave/id_ed25519", KnownHosts: "/etc/rollwave/known_hosts",
		Timeout: contracts.Duration(5 * time.Minute), ConnectTimeout: contracts.Duration(10 * time.Second)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ssh driver %+v, want %+v", got, want)
	}
}

func TestParseRequestParams(t *testing.T) {
	inv, err := Parse([]byte(`
environments:
  - name: qa
    allow_request_params: true
  - name: staging
    allow_request_params: [feature, channel]
  - name: prod
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env   string
		all   bool
		names []string
	}{{"qa", true, nil}, {"staging", false, []string{"channel", "feature"}}, {"prod", false, nil}} {
		e, _ := inv.Find(tc.env)
		c := e.Contract()
		if c.AllowRequestParams != tc.all || !reflect.DeepEqual(c.AllowedRequestParams, tc.names) {
			t.Fatalf("%s: all %v names %v, want %v %v", tc.env, c.AllowRequestParams, c.AllowedRequestParams, tc.all, tc.names)
		}
	}
	for _, tc := range []struct{ doc, field, msg string }{
		{"environments: [{name: qa, allow_request_params: yes please}]", "environments[0].allow_request_params", "must be true, false or a list of parameter names, got a scalar (line 1)"},
		{"environments: [{name: qa, allow_request_params: {a: b}}]", "environments[0].allow_request_params", "got a mapping"},
		{"environments: [{name: qa, allow_request_params: [ok, '1bad']}]", "environments[0].allow_request_params[1]", `must be a parameter name`},
		{"environments: [{name: qa, allow_request_params: [a, a]}]", "environments[0].allow_request_params[1]", `repeats "a"`},
		{"environments: [{name: qa, allow_request_params: [[a]]}]", "environments[0].allow_request_params[0]", "must be a string"},
	} {
		_, err := Parse([]byte(tc.doc))
		var fe contracts.FieldErrors
		if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.msg) {
			t.Errorf("%s: %v, want %s: %s", tc.doc, err, tc.field, tc.msg)
		}
	}
}
