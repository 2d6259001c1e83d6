package check

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/render"
	"github.com/rollwave/rollwave/services/executor/internal/driver"
)

// Defaults of a command check: one run unless a deadline is set.
const (
	DefaultCommandTimeout = 30 * time.Second
	// commandTail is how much of a failed program's output the check's
	// error keeps: it travels in results and events.
	commandTail = 1024
)

// Command runs operator-defined programs as checks, the way the exec driver
// runs deploy programs: without a shell, each rendered template one argv
// element, in a process group killed on every exit path.
type Command struct {
	Clock clock.Clock
	// Env is the base environment of every program (such as PATH).
	Env []string
}

// CommandSettings applies the defaults to spec, naming the field at fault
// under prefix.
func CommandSettings(prefix string, spec contracts.CommandCheck) (Polling, error) {
	return PollingOf(prefix, spec.Consecutive, spec.Interval, spec.Timeout, spec.Deadline,
		PollingDefaults{Timeout: DefaultCommandTimeout})
}

// Argv renders the argument vector of spec for an action; field prefixes
// the element named in errors ("checks[0].spec.command").
func Argv(field string, spec contracts.CommandCheck, d render.Data) ([]string, error) {
	if len(spec.Command) == 0 {
		return nil, contracts.Invalid(field+".command", "must name a program")
	}
	argv := make([]string, len(spec.Command))
	for i, arg := range spec.Command {
		f := contracts.IndexPath(field+".command", i)
		v, err := render.String(f, arg, d)
		if err != nil {
			return nil, err
		}
		if strings.ContainsRune(v, 0) {
			return nil, contracts.Invalid(f, "holds a NUL byte")
		}
		argv[i] = v
	}
	if argv[0] == "" {
		return nil, contracts.Invalid(field+".command[0]", "renders to an empty program name")
	}
	return argv, nil
}

// Run runs argv until it exits 0 Consecutive times in a row or the deadline
// passes. The program gets the action in ROLLWAVE_* variables, as a deploy
// program does, and ROLLWAVE_CHECK.
func (c Command) Run(ctx context.Context, name string, argv []string, a contracts.HostAction, p Polling) contracts.CheckResult {
	env := append([]string{}, c.Env...)
	env = append(env,
		"ROLLWAVE_CHECK="+name,
		"ROLLWAVE_HOST="+a.Host.Name,
		"ROLLWAVE_ADDRESS="+a.Host.Address,
		"ROLLWAVE_APP="+a.App,
		"ROLLWAVE_VERSION="+a.Version,
		"ROLLWAVE_PREVIOUS_VERSION="+a.PreviousVersion,
		"ROLLWAVE_ROLLOUT="+a.Rollout,
		"ROLLWAVE_ENVIRONMENT="+a.Environment,
		"ROLLWAVE_ACTION_ID="+a.ID,
		"ROLLWAVE_ATTEMPT="+strconv.Itoa(a.Attempt),
	)
	for i, kv := range env {
		if strings.ContainsRune(kv, 0) {
			k, _, _ := strings.Cut(kv, "=")
			return contracts.CheckResult{Name: name, Status: contracts.ResultFailed,
				Error: fmt.Sprintf("environment variable %s (entry %d) holds a NUL byte", k, i)}
		}
	}
	x := driver.Exec{OutputTail: commandTail}
	return poll(ctx, c.Clock, name, p, func(ctx context.Context, _ int) (contracts.ResultStatus, string) {
		out, err := x.RunCommand(ctx, driver.Command{Argv: argv, Env: env, Timeout: p.Timeout})
		if err == nil {
			return contracts.ResultSucceeded, ""
		}
		msg := fmt.Sprintf("%s %v", argv[0], err)
		if tail := strings.TrimSpace(out.Output); tail != "" {
			msg += "; output: " + tail
		}
		return contracts.ResultFailed, msg
	})
}
