package contracts

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// Validation here is static: it needs nothing but the request. Whether the
// hosts exist, the environment is known or a window is open is for the
// services to decide.

var (
	appName  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	envKey   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	paramKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
)

const (
	tokenRule  = "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit"
	hostLabel  = "a host name is labels of 1-63 letters, digits and '-' (not at either end), separated by '.', at most 253 characters"
	maxHostLen = 253
)

// Validate checks a deploy request and returns every problem found as
// FieldErrors, or nil.
func (r DeployRequest) Validate() error {
	var fe FieldErrors
	token(&fe, "id", r.ID)
	multi := r.validateApps(&fe)
	switch {
	case multi:
	case r.App == "":
		fe.Add("app", "is required")
	case !appName.MatchString(r.App):
		fe.Add("app", "must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", clip(r.App))
	}
	if err := CheckVersion("version", r.Version); err != nil && !multi {
		fe.Add("version", "%s", messageOf(err))
	}
	token(&fe, "environment", r.Environment)
	switch r.Strategy {
	case "", StrategyRolling, StrategyCanary, StrategyBlueGreen:
	default:
		fe.Add("strategy", "must be one of %q, %q or %q, got %q", StrategyRolling, StrategyCanary, StrategyBlueGreen, clip(string(r.Strategy)))
	}
	if r.StartAt != nil {
		if _, err := r.StartAt.MarshalJSON(); err != nil {
			fe.Add("start_at", "must be between the years 0 and 9999 in UTC")
		}
	}
	canary, blueGreen := r.validateCanary(&fe), r.validateBlueGreen(&fe)
	if !canary && !blueGreen {
		r.validatePhases(&fe)
	}
	nonNegative(&fe, "action_timeout", r.ActionTimeout)
	r.Failure.validate(&fe, "failure")
	r.Offline.validate(&fe, "offline")
	r.OnBlocked.validate(&fe, "on_blocked")
	r.OnFreeze.validate(&fe, "on_freeze")
	if !multi {
		r.validateRequires(&fe)
	}
	r.Override.validate(&fe, "override")
	if r.Team != "" {
		token(&fe, "team", r.Team)
	}
	for _, k := range sortedKeys(r.Labels) {
		if !ValidToken(k) {
			fe.Add(KeyPath("labels", k), "a label name must be 1-128 letters, digits, '-' or '_'")
		} else if v := r.Labels[k]; v == "" || len(v) > 128 || strings.ContainsAny(v, "=\x00\n\r") {
			fe.Add(KeyPath("labels", k), "a label value must be 1-128 characters without '=' or control characters, got %q", clip(v))
		}
	}
	for _, name := range sortedKeys(r.Checks) {
		field := KeyPath("checks", name)
		if !ValidToken(name) {
			fe.Add(field, "a check name %s", tokenRule)
		}
		fe = append(fe, r.Checks[name].Validate(field)...)
	}
	if r.Driver != nil {
		fe = append(fe, r.Driver.Validate("driver")...)
		if r.Driver.Hooks != nil {
			fe.Add("driver.hooks", "cannot come from a request: hooks are an operator's, in procedures.<name>.before_host and after_host of the inventory")
		}
	}
	if r.Procedure != "" {
		token(&fe, "procedure", r.Procedure)
		if r.Driver != nil {
			fe.Add("procedure", "cannot be combined with driver: the procedure says how hosts are deployed")
		}
	}
	for _, k := range sortedKeys(r.Params) {
		if !paramKey.MatchString(k) {
			fe.Add(KeyPath("params", k), "a parameter name must start with a letter or '_' and hold only letters, digits, '_', '.' or '-'")
		}
	}
	return fe.Err()
}

func (r DeployRequest) validatePhases(fe *FieldErrors) {
	if len(r.Phases) == 0 {
		fe.Add("phases", "needs at least one phase")
		return
	}
	names := map[string]int{}
	hostPhase := map[string]int{}
	rest := -1
	deploys := 0
	for i, ph := range r.Phases {
		field := IndexPath("phases", i)
		switch {
		case ph.Name == "":
			fe.Add(field+".name", "is required")
		case !ValidToken(ph.Name):
			fe.Add(field+".name", "%s, got %q", tokenRule, clip(ph.Name))
		case ph.Name == RollbackStepID:
			fe.Add(field+".name", "%q is reserved for the rollback step", ph.Name)
		default:
			if j, dup := names[ph.Name]; dup {
				fe.Add(field+".name", "%q is already the name of phases[%d]", ph.Name, j)
			} else {
				names[ph.Name] = i
			}
		}
		if !ph.validateStep(fe, field, r.Checks, deploys > 0) {
			continue // not a phase: it has no hosts
		}
		deploys++
		if len(ph.Hosts) > 0 && ph.Selector != nil {
			fe.Add(field+".selector", "cannot be combined with hosts: pick hosts by name or by selector")
		}
		seen := map[string]int{}
		for j, h := range ph.Hosts {
			hf := IndexPath(field+".hosts", j)
			if msg := hostNameProblem(h); msg != "" {
				fe.Add(hf, "%s", msg)
				continue
			}
			if k, dup := seen[h]; dup {
				fe.Add(hf, "%q is already listed at hosts[%d]", h, k)
				continue
			}
			seen[h] = j
			if k, dup := hostPhase[h]; dup {
				fe.Add(hf, "%q is already in phases[%d]: a host is deployed once per rollout", h, k)
				continue
			}
			hostPhase[h] = i
		}
		if ph.Selector != nil {
			sf := field + ".selector"
			if ph.Selector.Group == "" && len(ph.Selector.Labels) == 0 {
				fe.Add(sf, "needs a group or labels")
			}
			for _, k := range sortedKeys(ph.Selector.Labels) {
				if k == "" {
					fe.Add(sf+".labels", "a label name must not be empty")
				}
			}
		}
		if len(ph.Hosts) == 0 && ph.Selector == nil {
			if rest >= 0 {
				fe.Add(field, "phases[%d] already takes the hosts no other phase names; give this phase hosts or a selector", rest)
			} else {
				rest = i
			}
		}
		ph.Batch.validate(fe, field+".batch")
		checks := map[string]int{}
		for j, c := range ph.Checks {
			cf := IndexPath(field+".checks", j)
			// A name the request does not define may be one the
			// environment's operators define: the planner resolves it.
			if _, ok := r.Checks[c]; !ok && !ValidToken(c) {
				fe.Add(cf, "%q is not defined under checks, and a check name %s", clip(c), tokenRule)
				continue
			}
			if k, dup := checks[c]; dup {
				fe.Add(cf, "%q is already listed at checks[%d]", c, k)
				continue
			}
			checks[c] = j
		}
	}
	if deploys == 0 {
		fe.Add("phases", "needs at least one phase that deploys hosts, not only wait or gate steps")
	}
}

func (b BatchSpec) validate(fe *FieldErrors, field string) {
	if len(b.Steps) == 1 {
		if msg := b.Steps[0].problem(false); msg != "" {
			fe.Add(field, "%s", msg)
		}
		return
	}
	for i, s := range b.Steps {
		if msg := s.problem(false); msg != "" {
			fe.Add(IndexPath(field, i), "%s", msg)
		}
	}
}

func (f FailurePolicy) validate(fe *FieldErrors, field string) {
	if msg := f.MaxFailed.problem(true); msg != "" {
		fe.Add(field+".max_failed", "%s", msg)
	}
	switch f.OnFailure {
	case "", OnFailurePause, OnFailureAbort, OnFailureRollback, OnFailureGuided:
	default:
		fe.Add(field+".on_failure", "must be one of %q, %q, %q or %q, got %q", OnFailurePause, OnFailureAbort, OnFailureRollback, OnFailureGuided, clip(string(f.OnFailure)))
	}
}

// Validate checks a driver definition; field is its JSON path, such as
// "driver" or "environments[0].hosts[3].driver".
// validateProgram checks the argv templates and environment of a driver
// that runs a program (exec, ssh) under field: a program is named, and
// every template and variable name is well formed.
func validateProgram(fe *FieldErrors, field string, command []string, env map[string]string) {
	if len(command) == 0 {
		fe.Add(field+".command", "is required: the program and its arguments")
	}
	for i, arg := range command {
		af := IndexPath(field+".command", i)
		if i == 0 && strings.TrimSpace(arg) == "" {
			fe.Add(af, "must name the program to run")
			continue
		}
		if msg := templateProblem(arg); msg != "" {
			fe.Add(af, "%s", msg)
		}
	}
	for _, k := range sortedKeys(env) {
		kf := KeyPath(field+".env", k)
		if !envKey.MatchString(k) {
			fe.Add(kf, "an environment variable name must start with a letter or '_' and hold only letters, digits and '_'")
		}
		if msg := templateProblem(env[k]); msg != "" {
			fe.Add(kf, "%s", msg)
		}
	}
}

func (d DriverSpec) Validate(field string) FieldErrors {
	var fe FieldErrors
	set := 0
	for _, v := range []bool{d.Sim != nil, d.Exec != nil, d.SSH != nil, d.Agent != nil} {
		if v {
			set++
		}
	}
	switch {
	case set == 0:
		fe.Add(field, "must set exactly one of: sim, exec, ssh, agent")
		return fe
	case set > 1:
		fe.Add(field, "must set exactly one of: sim, exec, ssh, agent; %d are set", set)
		return fe
	}
	if d.Agent != nil {
		nonNegative(&fe, field+".agent.timeout", d.Agent.Timeout)
	}
	if d.SSH != nil {
		validateSSH(&fe, field+".ssh", d.SSH)
	}
	if s := d.Sim; s != nil {
		sf := field + ".sim"
		if !(s.FailureRate >= 0 && s.FailureRate <= 1) {
			fe.Add(sf+".failure_rate", "must be between 0 and 1, got %g", s.FailureRate)
		}
		nonNegative(&fe, sf+".median", s.Median)
		nonNegative(&fe, sf+".p99", s.P99)
		if s.Median > 0 && s.P99 > 0 && s.P99 < s.Median {
			fe.Add(sf+".p99", "must not be below median (%s), got %s", s.Median.D(), s.P99.D())
		}
		for i, h := range s.FailHosts {
			if msg := hostNameProblem(h); msg != "" {
				fe.Add(IndexPath(sf+".fail_hosts", i), "%s", msg)
			}
		}
	}
	if x := d.Exec; x != nil {
		xf := field + ".exec"
		validateProgram(&fe, xf, x.Command, x.Env)
		nonNegative(&fe, xf+".timeout", x.Timeout)
	}
	if d.Hooks != nil {
		fe = append(fe, d.Hooks.Validate(field+".hooks")...)
	}
	return fe
}

// Validate checks the fields an executor relies on before acting.
func (a HostAction) Validate() error {
	var fe FieldErrors
	required(&fe, "id", a.ID)
	token(&fe, "rollout", a.Rollout)
	token(&fe, "environment", a.Environment)
	required(&fe, "app", a.App)
	required(&fe, "version", a.Version)
	required(&fe, "host.name", a.Host.Name)
	if a.Attempt < 0 {
		fe.Add("attempt", "must not be negative, got %d", a.Attempt)
	}
	if a.Kind == ActionTraffic {
		if a.Traffic == nil {
			fe.Add("traffic", "is required for a traffic action")
		} else {
			fe = append(fe, a.Traffic.Validate("traffic")...)
		}
	} else {
		fe = append(fe, a.Driver.Validate("driver")...)
	}
	for i, c := range a.Checks {
		cf := IndexPath("checks", i)
		required(&fe, cf+".name", c.Name)
		fe = append(fe, c.Spec.Validate(cf+".spec")...)
	}
	return fe.Err()
}

// Validate checks the fields the scheduler relies on to apply a result.
func (r HostResult) Validate() error {
	var fe FieldErrors
	required(&fe, "action_id", r.ActionID)
	token(&fe, "rollout", r.Rollout)
	token(&fe, "environment", r.Environment)
	required(&fe, "host", r.Host)
	if r.Status != ResultCancelled {
		validStatus(&fe, "status", r.Status)
	}
	for i, c := range r.Checks {
		if c.Status != ResultInconclusive {
			validStatus(&fe, IndexPath("checks", i)+".status", c.Status)
		}
	}
	return fe.Err()
}

func validStatus(fe *FieldErrors, field string, s ResultStatus) {
	if s != ResultSucceeded && s != ResultFailed {
		fe.Add(field, "must be %q or %q, got %q", ResultSucceeded, ResultFailed, clip(string(s)))
	}
}

func required(fe *FieldErrors, field, v string) {
	if v == "" {
		fe.Add(field, "is required")
	}
}

func token(fe *FieldErrors, field, v string) {
	switch {
	case v == "":
		fe.Add(field, "is required")
	case !ValidToken(v):
		fe.Add(field, "%s, got %q", tokenRule, clip(v))
	}
}

func nonNegative(fe *FieldErrors, field string, d Duration) {
	if d < 0 {
		fe.Add(field, "must not be negative, got %s", d.D())
	}
}

// hostNameProblem checks an RFC 1123 host name.
func hostNameProblem(h string) string {
	switch {
	case h == "":
		return "must not be empty"
	case len(h) > maxHostLen:
		return fmt.Sprintf("is %d characters long; %s", len(h), hostLabel)
	}
	for _, label := range strings.Split(h, ".") {
		if !validLabel(label) {
			return fmt.Sprintf("%q is not a host name: %s", clip(h), hostLabel)
		}
	}
	return ""
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// templateProblem reports whether s fails to parse as a text/template.
// Only parsing is checked: the data a template sees is the executor's.
func templateProblem(s string) string {
	if _, err := template.New("value").Option("missingkey=error").Parse(s); err != nil {
		// "template: value:1: unclosed action" -> "unclosed action"
		msg := strings.TrimPrefix(err.Error(), "template: value:")
		if line, rest, ok := strings.Cut(msg, ": "); ok && allDigits(line) {
			msg = rest
		}
		return "is not a valid template: " + strings.TrimSpace(msg)
	}
	return ""
}

// messageOf returns the message of a typed error without its field.
func messageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// sortedKeys makes the order of problems found in maps stable.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// urlSchemeProblem refuses a check URL whose scheme is written out and is
// not http or https ("file:///etc/passwd", "not a url"). A URL that starts
// with a template is judged when the planner renders it for each host.
func urlSchemeProblem(u string) string {
	if strings.HasPrefix(u, "{{") {
		return ""
	}
	lower := strings.ToLower(u)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return ""
	}
	return fmt.Sprintf("must be an http:// or https:// URL, got %q", clip(u))
}
