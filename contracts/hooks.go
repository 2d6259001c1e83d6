package contracts

import (
	"regexp"
	"strings"
)

// HostHooks are the steps an executor runs around a host's deploy: Before
// in order before the driver, After in order once the driver and the
// checks have succeeded. They come from an operator procedure
// (procedures.<name>.before_host and after_host) and ride to the executor
// inside the planned driver, so the scheduler passes them on unchanged.
// A failing hook fails the host action.
type HostHooks struct {
	Before []HostHook `json:"before,omitempty"`
	After  []HostHook `json:"after,omitempty"`
}

// HostHook is one step around a host; exactly one variant is set.
type HostHook struct {
	HAProxy *HAProxyHook `json:"haproxy,omitempty"`
}

// HAProxyHook changes one server of an HAProxy backend through its
// runtime API: its state (drain, ready or maint) and/or its weight; with
// WaitSessions, it then waits until the server has no current sessions,
// failing once WaitSessions has passed.
type HAProxyHook struct {
	// Socket is the runtime API ("stats socket"): an absolute unix socket
	// path or host:port.
	Socket  string `json:"socket"`
	Backend string `json:"backend"`
	// Server is a template over the action, e.g. "{{.Host.Name}}".
	Server       string   `json:"server"`
	State        string   `json:"state,omitempty"`
	Weight       *int     `json:"weight,omitempty"`
	WaitSessions Duration `json:"wait_sessions,omitempty"`
}

// HAProxy server states a hook may set.
var haproxyStates = []string{"ready", "drain", "maint"}

// haproxyName is a backend name HAProxy takes, which cannot change the
// runtime API's command line.
var haproxyName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,127}$`)

// ValidHAProxyName reports whether s can be an HAProxy backend or server
// name, as a hook sends it: a rendered server name must be one.
func ValidHAProxyName(s string) bool { return haproxyName.MatchString(s) }

// haproxySocket is an absolute path or host:port, with nothing that could
// reach a shell or a command line.
var haproxySocket = regexp.MustCompile(`^(/[A-Za-z0-9_./-]{1,106}|[A-Za-z0-9.-]{1,253}:[0-9]{1,5}|\[[0-9A-Fa-f:.]{2,45}\]:[0-9]{1,5})$`)

// Validate checks the hooks; field is their path, such as
// "environments[0].procedures.deploy".
func (h HostHooks) Validate(field string) FieldErrors {
	var fe FieldErrors
	for i, hook := range h.Before {
		hook.validate(&fe, IndexPath(field+".before", i))
	}
	for i, hook := range h.After {
		hook.validate(&fe, IndexPath(field+".after", i))
	}
	return fe
}

// ValidateHooks checks a procedure's hook list at field (before_host or
// after_host).
func ValidateHooks(field string, hooks []HostHook) FieldErrors {
	var fe FieldErrors
	for i, hook := range hooks {
		hook.validate(&fe, IndexPath(field, i))
	}
	return fe
}

// Validate checks one hook; field is its path.
func (h HostHook) Validate(field string) FieldErrors {
	var fe FieldErrors
	h.validate(&fe, field)
	return fe
}

func (h HostHook) validate(fe *FieldErrors, field string) {
	if h.HAProxy == nil {
		fe.Add(field, "must set exactly one of: haproxy")
		return
	}
	h.HAProxy.validate(fe, field+".haproxy")
}

func (h HAProxyHook) validate(fe *FieldErrors, field string) {
	switch {
	case h.Socket == "":
		fe.Add(field+".socket", "is required: the runtime API socket, an absolute unix socket path or host:port")
	case !haproxySocket.MatchString(h.Socket) || strings.Contains(h.Socket, ".."):
		fe.Add(field+".socket", "must be an absolute unix socket path or host:port, got %q", clip(h.Socket))
	}
	switch {
	case h.Backend == "":
		fe.Add(field+".backend", "is required")
	case !haproxyName.MatchString(h.Backend):
		fe.Add(field+".backend", "must be 1-127 letters, digits, '_', '.', ':' or '-', got %q", clip(h.Backend))
	}
	switch {
	case h.Server == "":
		fe.Add(field+".server", "is required, e.g. \"{{.Host.Name}}\"")
	default:
		if msg := templateProblem(h.Server); msg != "" {
			fe.Add(field+".server", "%s", msg)
		}
	}
	if h.State == "" && h.Weight == nil {
		fe.Add(field, "must set state (%s) or weight, or both", strings.Join(haproxyStates, ", "))
	}
	if h.State != "" && !containsString(haproxyStates, h.State) {
		fe.Add(field+".state", "must be one of %s, got %q", strings.Join(haproxyStates, ", "), clip(h.State))
	}
	if h.Weight != nil && (*h.Weight < 0 || *h.Weight > 256) {
		fe.Add(field+".weight", "must be 0-256, got %d", *h.Weight)
	}
	nonNegative(fe, field+".wait_sessions", h.WaitSessions)
}
