package plan

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/render"
)

// Everything a rollout will render is rendered here first, for every host it
// targets, with the data the executor will use: a template that cannot
// render, or a check URL that is not http(s), rejects the request before
// anything runs, instead of failing hosts (and pausing the environment's
// queue) halfway through.

// renderer renders with templates compiled once per text.
type renderer struct {
	compiled map[string]*render.Template
	problems contracts.FieldErrors
	// reported counts problems per field, so that thousands of hosts
	// failing the same way name the first few.
	reported map[string]int
}

func (r *renderer) render(field, name, text string, d render.Data) (string, bool) {
	t, ok := r.compiled[name+"\x00"+text]
	if !ok {
		var err error
		if t, err = render.Compile(name, text); err != nil {
			// Parsing is checked statically; this is a safety net.
			r.add(field, "does not parse: %v", err)
			return "", false
		}
		r.compiled[name+"\x00"+text] = t
	}
	out, err := t.Execute(d)
	if err != nil {
		r.add(field, "does not render for host %q: %v", d.Host.Name, err)
		return "", false
	}
	return out, true
}

func (r *renderer) add(field, format string, args ...any) {
	r.reported[field]++
	if r.reported[field] <= maxDriverErrors {
		r.problems.Add(field, format, args...)
	}
}

// renderProblems renders the driver and the checks (resolved by Checks) of
// every assigned host.
// driverField names where a request-level driver came from ("driver" or
// "procedure"); "" means each host's inventory driver.
func renderProblems(req contracts.DeployRequest, checks map[string]contracts.CheckSpec, phases [][]string, planned map[string]contracts.PlannedHost, driverField string) contracts.FieldErrors {
	r := &renderer{compiled: map[string]*render.Template{}, reported: map[string]int{}}
	for i, names := range phases {
		for _, name := range names {
			ph := planned[name]
			d := render.DataOf(contracts.HostAction{
				Rollout: req.ID, Environment: req.Environment, App: req.App,
				Version: req.Version, PreviousVersion: ph.PreviousVersion,
				Host:   contracts.ActionHost{Name: ph.Name, Address: ph.Address, Params: ph.Params},
				Params: req.Params,
			})
			r.driver(driverField, ph.Driver, d)
			r.hooks(ph.Driver.Hooks, d)
			for j, check := range req.Phases[i].Checks {
				r.check(fmt.Sprintf("phases[%d].checks[%d]", i, j), check, checks[check], d)
			}
		}
	}
	for _, field := range slices.Sorted(maps.Keys(r.reported)) {
		if n := r.reported[field]; n > maxDriverErrors {
			r.problems.Add(field, "and %d more hosts", n-maxDriverErrors)
		}
	}
	return r.problems
}

// driver renders an exec or ssh driver's argv and environment. A request's
// own driver is named by its path; a procedure's by "procedure" and a
// host's inventory driver by "driver", with the template's own path in the
// message.
func (r *renderer) driver(from string, spec contracts.DriverSpec, d render.Data) {
	var command []string
	var env map[string]string
	var base string
	switch {
	case spec.Exec != nil:
		command, env, base = spec.Exec.Command, spec.Exec.Env, "driver.exec"
	case spec.SSH != nil:
		command, env, base = spec.SSH.Command, spec.SSH.Env, "driver.ssh"
	default:
		return
	}
	fieldOf := func(path string) string {
		switch from {
		case "driver":
			return path
		case "procedure":
			return "procedure"
		}
		return "driver"
	}
	for i, arg := range command {
		name := fmt.Sprintf("%s.command[%d]", base, i)
		out, ok := r.render(fieldOf(name), name, arg, d)
		switch {
		case !ok || i != 0:
		case out == "":
			r.add(fieldOf(name), "%s renders to an empty program name for host %q", name, d.Host.Name)
		case spec.SSH != nil && (strings.ContainsRune(out, '=') || strings.HasPrefix(out, "-")):
			// The remote env(1) would read it as an assignment or option.
			r.add(fieldOf(name), "%s renders to %q for host %q; a program name must not hold '=' or start with '-'", name, out, d.Host.Name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		r.render(fieldOf(contracts.KeyPath(base+".env", k)), fmt.Sprintf("%s.env[%q]", base, k), env[k], d)
	}
}

// checkURLProblem describes why a rendered check URL cannot be polled.
func checkURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%q, which is not an http:// or https:// URL with a host", raw)
	}
	return ""
}
