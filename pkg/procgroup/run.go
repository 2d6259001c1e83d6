package procgroup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// DefaultWaitDelay is how long Run waits for output pipes after the
// process group was killed, in case a descendant escaped the group.
const DefaultWaitDelay = 2 * time.Second

// Cmd is a program to run as an argument vector, never through a shell.
type Cmd struct {
	Argv    []string
	Env     []string
	Dir     string
	Timeout time.Duration
	// Output receives stdout and stderr, typically a Tail.
	Output io.Writer
	// WaitDelay overrides DefaultWaitDelay.
	WaitDelay time.Duration
}

// Run runs c in its own process group, which is killed as a whole on
// timeout, when ctx ends, and when the program exits, so that children of
// a deploy script do not outlive it. It returns the exit code (nil when
// the program never exited) and an error saying how it ended otherwise:
// timed out, interrupted, killed by a signal, or exited non-zero.
func Run(ctx context.Context, c Cmd) (exitCode *int, err error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("no program to run")
	}
	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, c.Argv[0], c.Argv[1:]...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	cmd.Stdout, cmd.Stderr = c.Output, c.Output
	cmd.SysProcAttr = Attr()
	cmd.Cancel = func() error {
		// The negative pid signals the whole group the program leads.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = DefaultWaitDelay
	if c.WaitDelay > 0 {
		cmd.WaitDelay = c.WaitDelay
	}
	unlock, err := StartLocked(cmd)
	if err == nil {
		err = cmd.Wait()
		// Whatever ended the program (exit, timeout, cancel), descendants
		// it left in its group die with it. The group id cannot have been
		// reused while members remain; ESRCH means none did.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	unlock()
	if cmd.ProcessState != nil {
		code := cmd.ProcessState.ExitCode()
		exitCode = &code
	}
	switch {
	case err == nil:
		return exitCode, nil
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success():
		// The program succeeded; a descendant that left its process group
		// still holds the output open and is no longer ours to wait for.
		return exitCode, nil
	case errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return exitCode, fmt.Errorf("timed out after %v", c.Timeout)
	case ctx.Err() != nil:
		return exitCode, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitCode, fmt.Errorf("killed by signal %v", ws.Signal())
		}
		return exitCode, fmt.Errorf("exited with code %d", exitErr.ExitCode())
	}
	return exitCode, fmt.Errorf("run %s: %w", c.Argv[0], err)
}
