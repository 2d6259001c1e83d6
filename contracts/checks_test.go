package contracts

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckSpecValidate(t *testing.T) {
	one := 1.0
	nan := math.NaN()
	prom := func(edit func(*PrometheusCheck)) CheckSpec {
		p := PrometheusCheck{URL: "http://prometheus:9090", Query: `sum(rate(errors{instance="{{.Host.Address}}"}[1m]))`, Op: "<=", Threshold: &one}
		edit(&p)
		return CheckSpec{Prometheus: &p}
	}
	tests := []struct {
		name  string
		spec  CheckSpec
		field string // "" means valid
		msg   string
	}{
		{"none", CheckSpec{}, "c", "exactly one of: http, tcp, command, prometheus, nats"},
		{"two", CheckSpec{HTTP: &HTTPCheck{URL: "http://x"}, NATS: &NATSCheck{Subject: "a"}}, "c", "exactly one of"},
		{"tcp ok", CheckSpec{TCP: &TCPCheck{Address: "db-01:5432"}}, "", ""},
		{"tcp template", CheckSpec{TCP: &TCPCheck{Address: "{{.Host.Address}}:{{index .Params \"port\"}}"}}, "", ""},
		{"tcp missing", CheckSpec{TCP: &TCPCheck{}}, "c.tcp.address", "is required"},
		{"tcp no port", CheckSpec{TCP: &TCPCheck{Address: "db-01"}}, "c.tcp.address", "must be host:port"},
		{"tcp port range", CheckSpec{TCP: &TCPCheck{Address: "db-01:70000"}}, "c.tcp.address", "between 1 and 65535"},
		{"tcp bad template", CheckSpec{TCP: &TCPCheck{Address: "{{.Host.Address}:1"}}, "c.tcp.address", "not a valid template"},
		{"tcp negative timeout", CheckSpec{TCP: &TCPCheck{Address: "a:1", Timeout: -1}}, "c.tcp.timeout", "negative"},
		{"command ok", CheckSpec{Command: &CommandCheck{Command: []string{"/usr/bin/curl", "-f", "http://{{.Host.Address}}/"}}}, "", ""},
		{"command empty", CheckSpec{Command: &CommandCheck{}}, "c.command.command", "is required"},
		{"command blank program", CheckSpec{Command: &CommandCheck{Command: []string{" "}}}, "c.command.command[0]", "must name the program"},
		{"command template", CheckSpec{Command: &CommandCheck{Command: []string{"x", "{{.Version"}}}, "c.command.command[1]", "not a valid template"},
		{"command consecutive without deadline", CheckSpec{Command: &CommandCheck{Command: []string{"x"}, Consecutive: 3}}, "c.command.deadline", "is required with consecutive 3"},
		{"command consecutive with deadline", CheckSpec{Command: &CommandCheck{Command: []string{"x"}, Consecutive: 3, Deadline: Duration(time.Minute)}}, "", ""},
		{"prometheus ok", prom(func(*PrometheusCheck) {}), "", ""},
		{"prometheus url", prom(func(p *PrometheusCheck) { p.URL = "file:///etc/passwd" }), "c.prometheus.url", "http:// or https://"},
		{"prometheus url missing", prom(func(p *PrometheusCheck) { p.URL = "" }), "c.prometheus.url", "is required"},
		{"prometheus query", prom(func(p *PrometheusCheck) { p.Query = " " }), "c.prometheus.query", "is required"},
		{"prometheus query template", prom(func(p *PrometheusCheck) { p.Query = "{{" }), "c.prometheus.query", "not a valid template"},
		{"prometheus op", prom(func(p *PrometheusCheck) { p.Op = "lt" }), "c.prometheus.op", "must be one of <= < >= > =="},
		{"prometheus threshold", prom(func(p *PrometheusCheck) { p.Threshold = nil }), "c.prometheus.threshold", "is required"},
		{"prometheus threshold NaN", prom(func(p *PrometheusCheck) { p.Threshold = &nan }), "c.prometheus.threshold", "finite"},
		{"nats ok", CheckSpec{NATS: &NATSCheck{Subject: "verify.web"}}, "", ""},
		{"nats rollwave verify", CheckSpec{NATS: &NATSCheck{Subject: "rollwave.verify.web"}}, "", ""},
		{"nats template", CheckSpec{NATS: &NATSCheck{Subject: "verify.{{.App}}"}}, "", ""},
		{"nats missing", CheckSpec{NATS: &NATSCheck{}}, "c.nats.subject", "is required"},
		{"nats wildcard", CheckSpec{NATS: &NATSCheck{Subject: "verify.*"}}, "c.nats.subject", "without wildcards"},
		{"nats empty token", CheckSpec{NATS: &NATSCheck{Subject: "verify..web"}}, "c.nats.subject", "without wildcards"},
		{"nats control subject", CheckSpec{NATS: &NATSCheck{Subject: "rollwave.control.r1.approve"}}, "c.nats.subject", "Rollwave's own subjects"},
		{"nats system subject", CheckSpec{NATS: &NATSCheck{Subject: "$JS.API.INFO"}}, "c.nats.subject", "server subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := tt.spec.Validate("c")
			if tt.field == "" {
				if len(fe) != 0 {
					t.Fatalf("want valid, got %v", fe)
				}
				return
			}
			if len(fe) == 0 || fe[0].Field != tt.field || !strings.Contains(fe[0].Message, tt.msg) {
				t.Fatalf("got %v, want %s: ...%s...", fe, tt.field, tt.msg)
			}
		})
	}
}

func TestCheckKind(t *testing.T) {
	for _, tt := range []struct {
		spec CheckSpec
		want string
	}{
		{CheckSpec{}, ""},
		{CheckSpec{HTTP: &HTTPCheck{}}, "http"},
		{CheckSpec{TCP: &TCPCheck{}}, "tcp"},
		{CheckSpec{Command: &CommandCheck{}}, "command"},
		{CheckSpec{Prometheus: &PrometheusCheck{}}, "prometheus"},
		{CheckSpec{NATS: &NATSCheck{}}, "nats"},
		{CheckSpec{TCP: &TCPCheck{}, NATS: &NATSCheck{}}, ""},
	} {
		if got := tt.spec.Kind(); got != tt.want {
			t.Errorf("Kind(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestCompare(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		op   string
		th   float64
		want bool
	}{
		{0.01, "<=", 0.01, true}, {0.02, "<=", 0.01, false},
		{0.01, "<", 0.01, false}, {0.009, "<", 0.01, true},
		{1, ">=", 1, true}, {0.5, ">=", 1, false},
		{2, ">", 1, true}, {1, ">", 1, false},
		{3, "==", 3, true}, {3.1, "==", 3, false},
		{1, "=<", 1, false}, {math.NaN(), "<=", 1, false},
	} {
		if got := Compare(tt.v, tt.op, tt.th); got != tt.want {
			t.Errorf("Compare(%v %s %v) = %v, want %v", tt.v, tt.op, tt.th, got, tt.want)
		}
	}
}

func TestRequestCommandChecks(t *testing.T) {
	got := RequestCommandChecks(map[string]CheckSpec{
		"web":   {HTTP: &HTTPCheck{URL: "http://x"}},
		"smoke": {Command: &CommandCheck{Command: []string{"x"}}},
		"a b":   {Command: &CommandCheck{Command: []string{"y"}}},
	})
	if want := []string{`checks["a b"].command`, "checks.smoke.command"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPhaseNamesEnvironmentCheck(t *testing.T) {
	r := validRequest()
	r.Phases[0].Checks = []string{"healthz", "db-reachable"}
	if err := r.Validate(); err != nil {
		t.Fatalf("a check the request does not define may be the environment's: %v", err)
	}
}

func TestDecodeVerificationReply(t *testing.T) {
	r, err := DecodeVerificationReply([]byte(`{"status":"inconclusive","reason":"no traffic"}`))
	if err != nil || r.Status.Result() != ResultInconclusive || r.Reason != "no traffic" {
		t.Fatalf("got %+v, %v", r, err)
	}
	long := `{"status":"fail","reason":"` + strings.Repeat("é", 2000) + `"}`
	r, err = DecodeVerificationReply([]byte(long))
	if err != nil || len(r.Reason) > maxReason+3 || !strings.HasSuffix(r.Reason, "é...") {
		t.Fatalf("long reason: len %d, %v", len(r.Reason), err)
	}
	for _, s := range []VerificationStatus{VerificationPass, VerificationFail, VerificationInconclusive} {
		if got := s.Result(); (s == VerificationPass) != (got == ResultSucceeded) || (s == VerificationInconclusive) != !got.Conclusive() {
			t.Errorf("%s -> %s", s, got)
		}
	}
}

func FuzzDecodeVerificationReply(f *testing.F) {
	for _, s := range []string{`{"status":"pass"}`, `{"status":"fail","reason":"x"}`, `{"status":"inconclusive"}`, `{"status":"pass","status":"fail"}`, `{"Status":"pass"}`, `[]`, `{"status":"pass","reason":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeVerificationReply(b)
		if err != nil {
			if AsError(err).Code != CodeInvalid {
				t.Fatalf("error %v is not invalid_request", err)
			}
			return
		}
		switch r.Status {
		case VerificationPass, VerificationFail, VerificationInconclusive:
		default:
			t.Fatalf("accepted status %q", r.Status)
		}
		if len(r.Reason) > maxReason+3 {
			t.Fatalf("reason of %d bytes kept", len(r.Reason))
		}
	})
}
