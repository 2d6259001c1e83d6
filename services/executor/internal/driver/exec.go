package driver

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/procgroup"
	"github.com/rollwave/rollwave/pkg/render"
)

// DefaultExecTimeout bounds a program whose action sets no timeout.
const DefaultExecTimeout = 10 * time.Minute

// Exec runs the action's command without a shell: each rendered template
// is one argv element, so host names, versions and parameters arrive
// verbatim whatever characters they hold.
type Exec struct {
	// Env is the base environment of every program.
	Env []string
	// OutputTail is how many bytes of combined output are kept.
	OutputTail int
}

// Command is a rendered exec action, ready to run.
type Command struct {
	Argv    []string
	Env     []string
	Dir     string
	Timeout time.Duration
}

// Prepare renders the command line and environment of an action.
func (e Exec) Prepare(a contracts.HostAction) (Command, error) {
	spec := a.Driver.Exec
	if spec == nil {
		return Command{}, contracts.Invalid("driver.exec", "is required")
	}
	if len(spec.Command) == 0 {
		return Command{}, contracts.Invalid("driver.exec.command", "must name a program")
	}
	if spec.Timeout < 0 {
		return Command{}, contracts.Invalid("driver.exec.timeout", "must not be negative, got %v", spec.Timeout.D())
	}
	data := render.DataOf(a)
	c := Command{Dir: spec.Dir, Timeout: spec.Timeout.D()}
	if c.Timeout == 0 {
		c.Timeout = DefaultExecTimeout
	}
	for i, arg := range spec.Command {
		v, err := render.String(fmt.Sprintf("driver.exec.command[%d]", i), arg, data)
		if err != nil {
			return Command{}, err
		}
		c.Argv = append(c.Argv, v)
	}
	if c.Argv[0] == "" {
		return Command{}, contracts.Invalid("driver.exec.command[0]", "renders to an empty program name")
	}
	c.Env = append(c.Env, e.Env...)
	c.Env = append(c.Env, actionEnv(a, data.Params)...)
	for _, k := range sortedKeys(spec.Env) {
		field := fmt.Sprintf("driver.exec.env[%q]", k)
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return Command{}, contracts.Invalid(field, "is not a valid environment variable name")
		}
		v, err := render.String(field, spec.Env[k], data)
		if err != nil {
			return Command{}, err
		}
		c.Env = append(c.Env, k+"="+v)
	}
	for i, kv := range c.Env {
		if strings.ContainsRune(kv, 0) {
			name, _, _ := strings.Cut(kv, "=")
			return Command{}, contracts.Invalid("environment", "variable %s (entry %d) holds a NUL byte", name, i)
		}
	}
	for i, arg := range c.Argv {
		if strings.ContainsRune(arg, 0) {
			return Command{}, contracts.Invalid(fmt.Sprintf("driver.exec.command[%d]", i), "holds a NUL byte")
		}
	}
	return c, nil
}

// EnvName turns a parameter name into the suffix of a ROLLWAVE_PARAM_
// variable: upper case, anything but letters and digits becomes '_'.
func EnvName(k string) string {
	b := []byte(strings.ToUpper(k))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Run renders and runs the action's program.
func (e Exec) Run(ctx context.Context, a contracts.HostAction) (Outcome, error) {
	c, err := e.Prepare(a)
	if err != nil {
		return Outcome{}, err
	}
	return e.RunCommand(ctx, c)
}

// RunCommand runs a prepared command in its own process group, which is
// killed as a whole on timeout or when ctx ends, so that children of a
// deploy script do not outlive it.
func (e Exec) RunCommand(ctx context.Context, c Command) (Outcome, error) {
	tail := procgroup.NewTail(e.OutputTail)
	code, err := procgroup.Run(ctx, procgroup.Cmd{Argv: c.Argv, Env: c.Env, Dir: c.Dir, Timeout: c.Timeout, Output: tail})
	return Outcome{Output: tail.String(), ExitCode: code}, err
}
