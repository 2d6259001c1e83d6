package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/rollwave/rollwave/pkg/procgroup"
)

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.ToValidUTF8(t.buf, []byte("?")))
}

// runCommand runs one of the operator's commands as argv, never through a
// shell, in its own process group that is killed on timeout and when the
// command ends. It returns the exit code (nil if it never exited).
func runCommand(ctx context.Context, argv, env []string, dir string, timeout time.Duration, out *tail) (*int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, out, out
	cmd.SysProcAttr = procgroup.Attr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	unlock, err := procgroup.StartLocked(cmd)
	if err == nil {
		err = cmd.Wait()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	unlock()
	var code *int
	if cmd.ProcessState != nil {
		c := cmd.ProcessState.ExitCode()
		code = &c
	}
	switch {
	case err == nil:
		return code, nil
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success():
		return code, nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return code, fmt.Errorf("%s: timed out after %v", argv[0], timeout)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return code, fmt.Errorf("%s: exited with code %d", argv[0], exitErr.ExitCode())
	}
	return code, fmt.Errorf("%s: %w", argv[0], err)
}
