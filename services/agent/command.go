package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/rollwave/rollwave/pkg/procgroup"
)

// runCommand runs one of the operator's commands as argv, never through a
// shell, in its own process group that is killed on timeout and when the
// command ends. It returns the exit code (nil if it never exited).
func runCommand(ctx context.Context, argv, env []string, dir string, timeout time.Duration, out *procgroup.Tail) (*int, error) {
	code, err := procgroup.Run(ctx, procgroup.Cmd{Argv: argv, Env: env, Dir: dir, Timeout: timeout, Output: out})
	if err != nil {
		return code, fmt.Errorf("%s: %w", argv[0], err)
	}
	return code, nil
}
