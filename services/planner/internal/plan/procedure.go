package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rollwave/rollwave/contracts"
)

// Procedure decides how the hosts of a request are deployed in env:
// the named procedure's driver, the request's own driver when the
// environment allows request commands (or the driver runs no command), or
// nil for each host's inventory default. Every problem names its field.
func Procedure(req contracts.DeployRequest, env contracts.Environment) (*contracts.DriverSpec, contracts.FieldErrors) {
	var fe contracts.FieldErrors
	if f := contracts.RequestCommandField(req.Driver); f != "" && !env.AllowRequestCommands {
		fe.Add(f, "environment %q does not take commands from requests: name one of its procedures with \"procedure\" (%s), or have an operator set allow_request_commands: true on the environment",
			env.Name, procedureList(env))
	}
	if req.Procedure == "" {
		if fe != nil {
			return nil, fe
		}
		if req.Driver != nil && req.Driver.Name() != "" {
			d := *req.Driver
			return &d, nil
		}
		return nil, nil
	}
	proc, ok := env.Procedures[req.Procedure]
	switch {
	case !ok:
		fe.Add("procedure", "unknown procedure %q in environment %q (%s)", req.Procedure, env.Name, procedureList(env))
	case len(proc.Apps) > 0 && !slices.Contains(proc.Apps, req.App):
		fe.Add("procedure", "procedure %q of environment %q is for %s, not %q", req.Procedure, env.Name, strings.Join(proc.Apps, ", "), req.App)
	}
	if fe != nil {
		return nil, fe
	}
	d := proc.Driver
	d.Hooks = proc.Hooks()
	return &d, nil
}

func procedureList(env contracts.Environment) string {
	if len(env.Procedures) == 0 {
		return "it defines none"
	}
	return fmt.Sprintf("defined: %s", strings.Join(slices.Sorted(maps.Keys(env.Procedures)), ", "))
}
