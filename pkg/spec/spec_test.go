package spec

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// designSpec is the spec of DESIGN.md, less the fields the contract does
// not carry yet (hooks, requires).
const designSpec = `app: web
version: 2.4.1
environment: production
strategy: rolling            # rolling | canary | blue-green
phases:
  - name: canary
    hosts: [web-01]          # hand-picked
    checks: [healthz]
  - name: east
    selector: {group: east}
    batch: 2                 # two hosts at a time
  - name: rest
    batch: 25%
failure: {max_failed: 1, on_failure: abort}
checks:
  healthz: {http: {url: "http://{{.Host.Address}}/healthz", status: 200, consecutive: 3, timeout: 2s}}
driver: {exec: {command: ["./deploy.sh", "{{.Host.Name}}", "{{.Version}}"]}}
start_at: "2026-11-27T02:00:00Z"
`

func TestParseDesignSpec(t *testing.T) {
	req, err := Parse([]byte(designSpec))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	switch {
	case req.ID != "":
		t.Errorf("id = %q, Parse must not set it", req.ID)
	case req.App != "web" || req.Version != "2.4.1" || req.Environment != "production":
		t.Errorf("ref = %s@%s to %s", req.App, req.Version, req.Environment)
	case req.Strategy != contracts.StrategyRolling:
		t.Errorf("strategy = %q", req.Strategy)
	case len(req.Phases) != 3:
		t.Fatalf("phases = %+v", req.Phases)
	case req.StartAt == nil || !req.StartAt.Equal(start):
		t.Errorf("start_at = %v", req.StartAt)
	case req.Failure.MaxFailed != contracts.Size{Count: 1} || req.Failure.OnFailure != contracts.OnFailureAbort:
		t.Errorf("failure = %+v", req.Failure)
	case req.Driver == nil || req.Driver.Exec == nil || len(req.Driver.Exec.Command) != 3:
		t.Errorf("driver = %+v", req.Driver)
	}
	canary, east, rest := req.Phases[0], req.Phases[1], req.Phases[2]
	if canary.Name != "canary" || len(canary.Hosts) != 1 || canary.Hosts[0] != "web-01" || canary.Checks[0] != "healthz" || !canary.Batch.IsZero() {
		t.Errorf("canary = %+v", canary)
	}
	if east.Selector == nil || east.Selector.Group != "east" || len(east.Batch.Steps) != 1 || east.Batch.Steps[0] != (contracts.Size{Count: 2}) {
		t.Errorf("east = %+v", east)
	}
	if len(rest.Batch.Steps) != 1 || rest.Batch.Steps[0] != (contracts.Size{Percent: 25}) || rest.Selector != nil || rest.Hosts != nil {
		t.Errorf("rest = %+v", rest)
	}
	h := req.Checks["healthz"].HTTP
	if h == nil || h.Status != 200 || h.Consecutive != 3 || h.Timeout.D() != 2*time.Second || !strings.Contains(h.URL, "{{.Host.Address}}") {
		t.Errorf("healthz = %+v", h)
	}
}

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want func(contracts.DeployRequest) bool
	}{
		{"escalating batch", `phases: [{name: a, batch: [1, 5, "20%"]}]`, func(r contracts.DeployRequest) bool {
			s := r.Phases[0].Batch.Steps
			return len(s) == 3 && s[0] == contracts.Size{Count: 1} && s[1] == contracts.Size{Count: 5} && s[2] == contracts.Size{Percent: 20}
		}},
		{"unquoted percentage", "phases:\n- name: a\n  batch: 10%\n", func(r contracts.DeployRequest) bool {
			return r.Phases[0].Batch.Steps[0] == contracts.Size{Percent: 10}
		}},
		{"percent max_failed", `failure: {max_failed: "5%"}`, func(r contracts.DeployRequest) bool {
			return r.Failure.MaxFailed == contracts.Size{Percent: 5}
		}},
		{"unquoted timestamp with zone", "start_at: 2026-11-27T03:00:00+01:00\n", func(r contracts.DeployRequest) bool {
			return r.StartAt.Equal(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC))
		}},
		{"duration as seconds", `checks: {h: {http: {url: x, interval: 1.5}}}`, func(r contracts.DeployRequest) bool {
			return r.Checks["h"].HTTP.Interval.D() == 1500*time.Millisecond
		}},
		{"sim driver", `driver: {sim: {median: 20ms, p99: 1s, failure_rate: 0.01, seed: 7, fail_hosts: [h1]}}`, func(r contracts.DeployRequest) bool {
			s := r.Driver.Sim
			return s.Median.D() == 20*time.Millisecond && s.P99.D() == time.Second && s.FailureRate == 0.01 && s.Seed == 7 && s.FailHosts[0] == "h1"
		}},
		{"selector labels", `phases: [{name: a, selector: {labels: {zone: "1", tier: web}}}]`, func(r contracts.DeployRequest) bool {
			return r.Phases[0].Selector.Labels["zone"] == "1" && r.Phases[0].Selector.Labels["tier"] == "web"
		}},
		{"anchors, aliases and merge keys", `
x-check: &check {url: "http://h/", status: 200}
checks:
  a: {http: *check}
  b: {http: {<<: *check, status: 204}}
`, func(r contracts.DeployRequest) bool {
			return r.Checks["a"].HTTP.Status == 200 && r.Checks["b"].HTTP.Status == 204 && r.Checks["b"].HTTP.URL == "http://h/"
		}},
		{"list of merges, first wins", `
x-a: &a {url: a, status: 1}
x-b: &b {url: b, status: 2, consecutive: 3}
checks: {c: {http: {<<: [*a, *b]}}}
`, func(r contracts.DeployRequest) bool {
			h := r.Checks["c"].HTTP
			return h.URL == "a" && h.Status == 1 && h.Consecutive == 3
		}},
		{"JSON input", `{"app": "web", "version": "1.0.0", "phases": [{"name": "all", "batch": "50%"}]}`, func(r contracts.DeployRequest) bool {
			return r.App == "web" && r.Version == "1.0.0" && r.Phases[0].Batch.Steps[0] == contracts.Size{Percent: 50}
		}},
		{"null leaves a field unset", "driver: ~\nphases: null\n", func(r contracts.DeployRequest) bool {
			return r.Driver == nil && r.Phases == nil
		}},
		{"YAML-only number forms", "checks: {h: {http: {url: x, status: 0xC8, consecutive: +3}}}\n", func(r contracts.DeployRequest) bool {
			return r.Checks["h"].HTTP.Status == 200 && r.Checks["h"].HTTP.Consecutive == 3
		}},
		{"explicit string tag", "version: !!str 2.4\n", func(r contracts.DeployRequest) bool { return r.Version == "2.4" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Parse([]byte(tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(req) {
				b, _ := json.Marshal(req)
				t.Fatalf("unexpected request %s", b)
			}
		})
	}
}

func TestParseYAMLAndJSONAgree(t *testing.T) {
	fromYAML, err := Parse([]byte(designSpec))
	if err != nil {
		t.Fatal(err)
	}
	asJSON, err := json.MarshalIndent(fromYAML, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Parse(asJSON)
	if err != nil {
		t.Fatalf("%v\n%s", err, asJSON)
	}
	again, _ := json.Marshal(fromJSON)
	once, _ := json.Marshal(fromYAML)
	if string(again) != string(once) {
		t.Fatalf("YAML and JSON disagree:\n%s\n%s", once, again)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		spec  string
		field string // "" for errors about the document
		want  string // part of the message, including the line
	}{
		{"empty", "", "", "the spec is empty"},
		{"only a comment", "# nothing\n", "", "the spec is empty"},
		{"null document", "~\n", "", "the spec is empty"},
		{"a list", "- a\n- b\n", "", "line 1: the spec must be a mapping"},
		{"a scalar", "hello\n", "", "must be a mapping"},
		{"syntax", "app: web\nphases: [\n", "", "line 2"},
		{"bad indentation", "app: web\n  version: 1\n", "", "line 2"},
		{"two documents", "app: a\n---\napp: b\n", "", "one YAML document"},
		{"duplicate key", "app: a\nversion: 1.0.0\napp: b\n", "", `line 3: key "app" repeats the one on line 1`},
		{"duplicate nested key", "checks:\n  h:\n    http: {url: a, url: b}\n", "", `line 3: key "url" repeats`},
		{"self-referencing anchor", "phases: &p [*p]\n", "", "contains itself"},
		{"complex key", "? [a, b]\n: c\n", "", "line 1: a key must be a plain value"},
		{"merge of a scalar", "checks: {h: {<<: 3}}\n", "", "merge key"},
		{"unknown tag", "app: !vault secret/web\n", "", "line 1: unsupported YAML tag !vault"},
		{"infinite number", "failure: {max_failed: .inf}\n", "", "line 1: .inf is not a finite number"},
		{"invalid UTF-8", "app: web\nversion: \xff\n", "", "line 2: invalid UTF-8"},
		{"control character", "app: web\n\nversion: \x07\n", "", "line 3: control character"},
		{"unknown field", "app: web\nverison: 1.0.0\n", "verison", "is not a known field (line 2)"},
		{"unknown nested field", "phases:\n  - name: a\n  - name: b\n    batchsize: 2\n", "phases[1].batchsize", "is not a known field (line 4)"},
		{"number for a string", "app: web\nversion: 2.4\n", "version", "must be a string, got the number 2.4 (line 2)"},
		{"bool for a string", "app: true\n", "app", "must be a string, got a boolean (line 1)"},
		{"param number", "params:\n  port: 8080\n", "params.port", "must be a string, got the number 8080 (line 2)"},
		{"host number", "phases:\n  - name: a\n    hosts: [web-01, 7]\n", "phases[0].hosts[1]", "must be a string, got the number 7 (line 3)"},
		{"bad batch", "phases:\n  - name: a\n  - name: b\n    batch: lots\n", "phases[1].batch", `"lots" (line 4)`},
		{"bad batch step", "phases:\n  - name: a\n    batch: [1, 'x%']\n", "phases[0].batch[1]", `percentage "x%" is not a whole number (line 3)`},
		{"bad duration", "checks:\n  h:\n    http: {url: x, timeout: soon}\n", "checks.h.http.timeout", `"soon" is not a duration such as "2s"`},
		{"date only", "start_at: 2026-11-27\n", "start_at", `must be an RFC 3339 time such as "2026-11-27T02:00:00Z", got the string "2026-11-27" (line 1)`},
		{"phases not a list", "phases: {name: a}\n", "phases", "must be a list, got an object (line 1)"},
		{"phase not an object", "phases: [a]\n", "phases[0]", `must be an object, got the string "a" (line 1)`},
		{"fraction as written", "app: web\nversion: 1.0\n", "version", "must be a string, got the number 1.0 (line 2)"},
		{"fraction for a count", "phases: [{name: a, batch: 2.0}]\n", "phases[0].batch", "(line 1)"},
		{"fractional count", "phases: [{name: a, batch: 1.5}]\n", "phases[0].batch", "(line 1)"},
		{"status not a number", "checks: {h: {http: {url: x, status: ok}}}\n", "checks.h.http.status", `must be a whole number, got the string "ok" (line 1)`},
		{"number too large for a float", "checks: {h: {http: {url: x, status: 1e400}}}\n", "checks.h.http.status", "(line 1)"},
		{"repeated key differing in case", "app: web\nApp: web\n", "App", "(line 2)"},
		{"quoted key path", "params:\n  ok: x\n  \"a b\": 1\n", `params["a b"]`, "(line 3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.spec))
			if err == nil {
				t.Fatal("no error")
			}
			if !contracts.IsCode(err, contracts.CodeInvalid) && !isFieldErrors(err) {
				t.Fatalf("error %T %v is not an invalid_request error", err, err)
			}
			var fe contracts.FieldErrors
			if errors.As(err, &fe) {
				for _, f := range fe {
					if f.Field == tt.field && strings.Contains(f.Message, tt.want) {
						return
					}
				}
				t.Fatalf("no field error %s: ...%s... in %#v", tt.field, tt.want, fe)
			}
			e := contracts.AsError(err)
			if e.Field != tt.field || !strings.Contains(e.Message, tt.want) {
				t.Fatalf("got %q: %q, want %q: ...%s...", e.Field, e.Message, tt.field, tt.want)
			}
		})
	}
}

func isFieldErrors(err error) bool {
	var fe contracts.FieldErrors
	return errors.As(err, &fe)
}

func TestParseAliasBomb(t *testing.T) {
	// Each level doubles the expansion: 2^40 leaves if fully expanded.
	var b strings.Builder
	b.WriteString("x-l0: &l0 [aaaaaaaaaaaaaaaaaaaa]\n")
	for i := 1; i <= 40; i++ {
		p := "l" + strconv.Itoa(i-1)
		b.WriteString("x-l" + strconv.Itoa(i) + ": &l" + strconv.Itoa(i) + " [*" + p + ", *" + p + "]\n")
	}
	b.WriteString("phases: [{name: a, hosts: *l40}]\n")
	start := time.Now()
	_, err := Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse(make([]byte, MaxSize+1))
	if err == nil || !strings.Contains(err.Error(), "MiB allowed") {
		t.Fatalf("err = %v", err)
	}
}

func TestAnnotate(t *testing.T) {
	doc := []byte("app: web\nphases:\n  - name: a\n  - name: b\n    batch: 0\n    hosts:\n      - h1\n      - h2\nchecks:\n  healthz:\n    http: {url: x}\n")
	in := contracts.FieldErrors{
		{Field: "phases[1].batch", Message: "must be at least 1"},
		{Field: "phases[1].hosts[1]", Message: "unknown host"},
		{Field: "phases[1].selector", Message: "missing"}, // deepest found: phases[1]
		{Field: "checks.healthz.http.url", Message: "bad"},
		{Field: "id", Message: "is required"}, // not in the document
		{Field: "", Message: "general"},
	}
	out := Annotate(doc, in)
	var fe contracts.FieldErrors
	if !errors.As(out, &fe) {
		t.Fatalf("out = %T", out)
	}
	want := []string{
		"must be at least 1 (line 5)",
		"unknown host (line 8)",
		"missing (line 4)",
		"bad (line 11)",
		"is required",
		"general",
	}
	for i, w := range want {
		if fe[i].Message != w || fe[i].Field != in[i].Field {
			t.Errorf("%d: %s: %q, want %q", i, fe[i].Field, fe[i].Message, w)
		}
	}
	single := Annotate(doc, contracts.Invalid("phases[0]", "selects no hosts"))
	if e := contracts.AsError(single); e.Message != "selects no hosts (line 3)" {
		t.Errorf("single = %v", single)
	}
	plain := errors.New("boom")
	if Annotate(doc, plain) != plain || Annotate([]byte("[bad"), in) == nil || Annotate(doc, nil) != nil {
		t.Error("Annotate changed an error it cannot place")
	}
}
