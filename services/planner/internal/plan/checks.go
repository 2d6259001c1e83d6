package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/render"
)

// Checks resolves the checks a request's phases and analyses name: the request's own,
// else the environment's (operator-defined, by name). A request's command
// check runs a program of the requester's choosing, so it is refused,
// naming the field, unless the environment allows request commands; a
// command check the environment defines is the operators' and runs. The
// plan carries every check the request defines plus the environment's it
// names.
func Checks(req contracts.DeployRequest, env contracts.Environment) (map[string]contracts.CheckSpec, contracts.FieldErrors) {
	var fe contracts.FieldErrors
	if !env.AllowRequestCommands {
		for _, f := range contracts.RequestCommandChecks(req.Checks) {
			fe.Add(f, "environment %q does not take commands from requests: name a check its operators define (%s), or have an operator set allow_request_commands: true on the environment",
				env.Name, checkList(env))
		}
	}
	out := maps.Clone(req.Checks)
	resolve := func(field, name string) {
		if _, ok := req.Checks[name]; ok {
			return
		}
		spec, ok := env.Checks[name]
		if !ok {
			fe.Add(field, "check %q is defined neither under checks nor by environment %q (%s)", name, env.Name, checkList(env))
			return
		}
		if out == nil {
			out = map[string]contracts.CheckSpec{}
		}
		out[name] = spec
	}
	for i, ph := range req.Phases {
		for j, name := range ph.Checks {
			resolve(fmt.Sprintf("phases[%d].checks[%d]", i, j), name)
		}
		// A canary's steps are made from req.Canary: its analysis is
		// named by that field, below.
		if ph.Analysis != nil && req.Canary == nil {
			for j, name := range ph.Analysis.Checks {
				resolve(fmt.Sprintf("phases[%d].analysis.checks[%d]", i, j), name)
			}
		}
	}
	if req.Canary != nil {
		for j, name := range req.Canary.Analysis.Checks {
			resolve(fmt.Sprintf("canary.analysis.checks[%d]", j), name)
		}
	}
	return out, fe
}

func checkList(env contracts.Environment) string {
	if len(env.Checks) == 0 {
		return "it defines none"
	}
	return "defined: " + strings.Join(slices.Sorted(maps.Keys(env.Checks)), ", ")
}

// check renders every template of one check for one host and checks what
// the executor needs of the result; field is the phase's reference to it
// ("phases[1].checks[0]"). An http URL keeps its historical field
// "<field>.url"; the other kinds name "<field>.<kind>.<field>".
func (r *renderer) check(field, name string, spec contracts.CheckSpec, d render.Data) {
	tmpl := "checks." + name
	switch {
	case spec.HTTP != nil:
		f := field + ".url"
		if u, ok := r.render(f, tmpl+".http.url", spec.HTTP.URL, d); ok {
			if msg := checkURLProblem(u); msg != "" {
				r.add(f, "check %q renders %s for host %q", name, msg, d.Host.Name)
			}
		}
	case spec.TCP != nil:
		f := field + ".tcp.address"
		if a, ok := r.render(f, tmpl+".tcp.address", spec.TCP.Address, d); ok {
			if msg := contracts.TCPAddressProblem(a); msg != "" {
				r.add(f, "check %q renders an address that %s, for host %q", name, msg, d.Host.Name)
			}
		}
	case spec.Command != nil:
		for i, arg := range spec.Command.Command {
			f := contracts.IndexPath(field+".command.command", i)
			out, ok := r.render(f, contracts.IndexPath(tmpl+".command.command", i), arg, d)
			switch {
			case ok && i == 0 && out == "":
				r.add(f, "check %q renders to an empty program name for host %q", name, d.Host.Name)
			case ok && strings.ContainsRune(out, 0):
				r.add(f, "check %q renders a NUL byte for host %q", name, d.Host.Name)
			}
		}
	case spec.Prometheus != nil:
		f := field + ".prometheus.url"
		if u, ok := r.render(f, tmpl+".prometheus.url", spec.Prometheus.URL, d); ok {
			if msg := checkURLProblem(u); msg != "" {
				r.add(f, "check %q renders %s for host %q", name, msg, d.Host.Name)
			}
		}
		f = field + ".prometheus.query"
		if q, ok := r.render(f, tmpl+".prometheus.query", spec.Prometheus.Query, d); ok && strings.TrimSpace(q) == "" {
			r.add(f, "check %q renders an empty query for host %q", name, d.Host.Name)
		}
	case spec.NATS != nil:
		f := field + ".nats.subject"
		if s, ok := r.render(f, tmpl+".nats.subject", spec.NATS.Subject, d); ok {
			if msg := contracts.VerificationSubjectProblem(s); msg != "" {
				r.add(f, "check %q renders a subject that %s, for host %q", name, msg, d.Host.Name)
			}
		}
	}
}
