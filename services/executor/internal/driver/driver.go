// Package driver does the work of a host action: the sim driver pretends,
// the exec driver runs a program, the ssh driver runs one on the host,
// the agent driver asks the host's agent.
package driver

import (
	"context"

	"github.com/rollwave/rollwave/contracts"
)

// Driver acts on one host. A returned error fails the action; Outcome
// carries what is known either way.
type Driver interface {
	Run(ctx context.Context, a contracts.HostAction) (Outcome, error)
}

// Outcome is what a driver run produced.
type Outcome struct {
	// ExitCode is set when a program ran and exited.
	ExitCode *int
	// Output is the tail of the combined output.
	Output string
	// Installed says the new version took effect although the run then
	// failed (the agent switched current, then its start command failed).
	Installed bool
}

// Select returns the driver for the variant of spec that is set, from the
// drivers by name, or an error naming the field when none or several are
// set.
func Select(spec contracts.DriverSpec, drivers map[string]Driver) (string, Driver, error) {
	set := 0
	for _, v := range []bool{spec.Sim != nil, spec.Exec != nil, spec.SSH != nil, spec.Agent != nil} {
		if v {
			set++
		}
	}
	if set != 1 {
		return "", nil, contracts.Invalid("driver", "exactly one of sim, exec, ssh, agent must be set, got %d", set)
	}
	name := spec.Name()
	d, ok := drivers[name]
	if !ok {
		return name, nil, contracts.Invalid("driver", "driver %q is not available on this executor", name)
	}
	return name, d, nil
}
