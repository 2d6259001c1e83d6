package contracts

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// Check kinds beyond http. Each kind polls like http: a try is repeated
// every Interval until Consecutive tries in a row pass or the Deadline
// passes, each try bounded by Timeout. Kinds whose default deadline is 0
// (command, prometheus, nats) try once unless a deadline is set: they are
// measurements, and an analysis repeats them.

// TCPCheck passes when a TCP connection to Address opens.
type TCPCheck struct {
	// Address is a template of host:port, such as "{{.Host.Address}}:5432".
	Address     string   `json:"address"`
	Consecutive int      `json:"consecutive,omitempty"`
	Interval    Duration `json:"interval,omitempty"`
	Timeout     Duration `json:"timeout,omitempty"`
	Deadline    Duration `json:"deadline,omitempty"`
}

// CommandCheck runs a program without a shell and passes when it exits 0.
// Commands are the operators': a request may carry one only where the
// environment sets allow_request_commands (see RequestCommandChecks);
// otherwise an operator defines the check in the inventory and the request
// names it.
type CommandCheck struct {
	// Command is the argument vector; each element is a template.
	Command     []string `json:"command"`
	Consecutive int      `json:"consecutive,omitempty"`
	Interval    Duration `json:"interval,omitempty"`
	Timeout     Duration `json:"timeout,omitempty"`
	Deadline    Duration `json:"deadline,omitempty"`
}

// PrometheusCheck runs a PromQL instant query against a Prometheus HTTP API
// and compares every sample of the answer with Threshold using Op, such as
// an error ratio "<=" 0.01. An empty answer (or NaN, as a ratio over no
// traffic gives) is inconclusive.
type PrometheusCheck struct {
	// URL is a template of the server's base URL, such as
	// "http://prometheus:9090"; the query goes to <URL>/api/v1/query.
	URL string `json:"url"`
	// Query is a PromQL template, such as
	// `sum(rate(http_errors_total{instance="{{.Host.Address}}"}[1m]))`.
	Query       string   `json:"query"`
	Op          string   `json:"op"`
	Threshold   *float64 `json:"threshold"`
	Consecutive int      `json:"consecutive,omitempty"`
	Interval    Duration `json:"interval,omitempty"`
	Timeout     Duration `json:"timeout,omitempty"`
	Deadline    Duration `json:"deadline,omitempty"`
}

// NATSCheck sends a VerificationRequest to Subject and reads the
// VerificationReply: any program that answers the subject, in any
// language, is a check (docs/VERIFICATION.md).
type NATSCheck struct {
	// Subject is a template, such as "verify.{{.App}}". Rollwave's own
	// subjects are refused, except under rollwave.verify.
	Subject     string   `json:"subject"`
	Consecutive int      `json:"consecutive,omitempty"`
	Interval    Duration `json:"interval,omitempty"`
	Timeout     Duration `json:"timeout,omitempty"`
	Deadline    Duration `json:"deadline,omitempty"`
}

// Threshold operators of a prometheus check.
var ThresholdOps = []string{"<=", "<", ">=", ">", "=="}

// Compare reports whether v op threshold holds. An unknown op never holds.
func Compare(v float64, op string, threshold float64) bool {
	switch op {
	case "<=":
		return v <= threshold
	case "<":
		return v < threshold
	case ">=":
		return v >= threshold
	case ">":
		return v > threshold
	case "==":
		return v == threshold
	}
	return false
}

// Kind names the variant that is set, or "" when none or several are.
func (c CheckSpec) Kind() string {
	kind, n := "", 0
	for _, v := range []struct {
		name string
		set  bool
	}{{"http", c.HTTP != nil}, {"tcp", c.TCP != nil}, {"command", c.Command != nil}, {"prometheus", c.Prometheus != nil}, {"nats", c.NATS != nil}} {
		if v.set {
			kind, n = v.name, n+1
		}
	}
	if n != 1 {
		return ""
	}
	return kind
}

const checkKinds = "http, tcp, command, prometheus, nats"

// Validate checks a check definition; field is its JSON path, such as
// "checks.healthz".
func (c CheckSpec) Validate(field string) FieldErrors {
	var fe FieldErrors
	if c.Kind() == "" {
		fe.Add(field, "must set exactly one of: %s", checkKinds)
		return fe
	}
	switch {
	case c.HTTP != nil:
		validateHTTPCheck(&fe, field+".http", *c.HTTP)
	case c.TCP != nil:
		t, tf := c.TCP, field+".tcp"
		switch {
		case t.Address == "":
			fe.Add(tf+".address", "is required: host:port, such as \"{{.Host.Address}}:5432\"")
		default:
			if msg := templateProblem(t.Address); msg != "" {
				fe.Add(tf+".address", "%s", msg)
			} else if !strings.Contains(t.Address, "{{") {
				if msg := TCPAddressProblem(t.Address); msg != "" {
					fe.Add(tf+".address", "%s", msg)
				}
			}
		}
		validatePolling(&fe, tf, t.Consecutive, t.Interval, t.Timeout, t.Deadline, true)
	case c.Command != nil:
		x, xf := c.Command, field+".command"
		validateProgram(&fe, xf, x.Command, nil)
		validatePolling(&fe, xf, x.Consecutive, x.Interval, x.Timeout, x.Deadline, false)
	case c.Prometheus != nil:
		p, pf := c.Prometheus, field+".prometheus"
		switch {
		case p.URL == "":
			fe.Add(pf+".url", "is required: the Prometheus server's base URL, such as \"http://prometheus:9090\"")
		default:
			if msg := templateProblem(p.URL); msg != "" {
				fe.Add(pf+".url", "%s", msg)
			} else if msg := urlSchemeProblem(p.URL); msg != "" {
				fe.Add(pf+".url", "%s", msg)
			}
		}
		if strings.TrimSpace(p.Query) == "" {
			fe.Add(pf+".query", "is required: a PromQL expression")
		} else if msg := templateProblem(p.Query); msg != "" {
			fe.Add(pf+".query", "%s", msg)
		}
		if !validOp(p.Op) {
			fe.Add(pf+".op", "must be one of %s, got %q", strings.Join(ThresholdOps, " "), clip(p.Op))
		}
		switch {
		case p.Threshold == nil:
			fe.Add(pf+".threshold", "is required: the number the query's value is compared with")
		case math.IsNaN(*p.Threshold) || math.IsInf(*p.Threshold, 0):
			fe.Add(pf+".threshold", "must be a finite number")
		}
		validatePolling(&fe, pf, p.Consecutive, p.Interval, p.Timeout, p.Deadline, false)
	case c.NATS != nil:
		n, nf := c.NATS, field+".nats"
		switch {
		case n.Subject == "":
			fe.Add(nf+".subject", "is required: the request/reply subject of the verification service")
		default:
			if msg := templateProblem(n.Subject); msg != "" {
				fe.Add(nf+".subject", "%s", msg)
			} else if !strings.Contains(n.Subject, "{{") {
				if msg := VerificationSubjectProblem(n.Subject); msg != "" {
					fe.Add(nf+".subject", "%s", msg)
				}
			}
		}
		validatePolling(&fe, nf, n.Consecutive, n.Interval, n.Timeout, n.Deadline, false)
	}
	return fe
}

func validateHTTPCheck(fe *FieldErrors, hf string, h HTTPCheck) {
	switch {
	case h.URL == "":
		fe.Add(hf+".url", "is required")
	default:
		if msg := templateProblem(h.URL); msg != "" {
			fe.Add(hf+".url", "%s", msg)
		} else if msg := urlSchemeProblem(h.URL); msg != "" {
			fe.Add(hf+".url", "%s", msg)
		}
	}
	if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
		fe.Add(hf+".status", "must be an HTTP status between 100 and 599, got %d", h.Status)
	}
	validatePolling(fe, hf, h.Consecutive, h.Interval, h.Timeout, h.Deadline, true)
}

// validatePolling checks the fields every kind shares. polls says the kind
// has a default deadline; for the others, more than one success in a row
// needs a deadline, since one try is all they make without one.
func validatePolling(fe *FieldErrors, field string, consecutive int, interval, timeout, deadline Duration, polls bool) {
	if consecutive < 0 {
		fe.Add(field+".consecutive", "must not be negative, got %d", consecutive)
	}
	nonNegative(fe, field+".interval", interval)
	nonNegative(fe, field+".timeout", timeout)
	nonNegative(fe, field+".deadline", deadline)
	if !polls && consecutive > 1 && deadline == 0 {
		fe.Add(field+".deadline", "is required with consecutive %d: without a deadline the check tries once", consecutive)
	}
}

func validOp(op string) bool {
	for _, o := range ThresholdOps {
		if op == o {
			return true
		}
	}
	return false
}

// TCPAddressProblem describes why s is not a host:port to dial, or "".
func TCPAddressProblem(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Sprintf("must be host:port, such as \"db-01:5432\", got %q", clip(s))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("must end in a port between 1 and 65535, got %q", clip(s))
	}
	return ""
}

// VerificationSubjectProblem describes why s cannot be the subject of a
// nats check, or "": it must be a literal subject (no wildcards, no empty
// tokens or white space), and not one of Rollwave's own or the server's,
// so that a check cannot send commands to the system it verifies.
func VerificationSubjectProblem(s string) string {
	switch {
	case len(s) > 255:
		return fmt.Sprintf("must be at most 255 characters, got %d", len(s))
	case strings.HasPrefix(s, "$") || strings.HasPrefix(s, "_INBOX."):
		return fmt.Sprintf("must not be a server subject ($..., _INBOX...), got %q", clip(s))
	case strings.HasPrefix(s, "rollwave.") && !strings.HasPrefix(s, VerificationSubjectPrefix):
		return fmt.Sprintf("must not be one of Rollwave's own subjects (only %s... is for verification services), got %q", VerificationSubjectPrefix, clip(s))
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n\x00") {
			return fmt.Sprintf("must be a subject of '.'-separated tokens without wildcards or white space, got %q", clip(s))
		}
	}
	return ""
}

// RequestCommandChecks lists the fields of a request's own checks that run a
// command of the requester's choosing ("checks.smoke.command"), sorted.
func RequestCommandChecks(checks map[string]CheckSpec) []string {
	var out []string
	for _, name := range sortedKeys(checks) {
		if checks[name].Command != nil {
			out = append(out, KeyPath("checks", name)+".command")
		}
	}
	return out
}
