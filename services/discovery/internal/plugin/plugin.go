// Package plugin fetches inventory from a discovery source: an executable
// that speaks the Ansible dynamic-inventory protocol, or an Ansible INI
// file. A fetch either returns a whole inventory or an error; it never
// returns part of one, so the caller can keep its last good inventory.
package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/rollwave/rollwave/services/discovery/internal/ansible"
)

// Defaults for a source that sets no limits.
const (
	DefaultTimeout  = 30 * time.Second
	DefaultMaxBytes = 4 << 20
	// stderrTail is how much of a failing script's stderr an error quotes.
	stderrTail = 512
	// maxHostCalls bounds the --host calls one fetch makes.
	maxHostCalls = 10_000
)

// ErrTooLarge is wrapped by errors for output over the size limit.
var ErrTooLarge = errors.New("output over the size limit")

// Limits bound one fetch.
type Limits struct {
	// Timeout bounds the whole fetch, every --host call included.
	Timeout time.Duration
	// MaxBytes bounds the output of each run and the size of a file.
	MaxBytes int
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// Fetch reads the source at path: an executable file is run with --list
// (and with --host <name> for each host when its answer has no _meta);
// any other file is read as an INI inventory.
func Fetch(ctx context.Context, path string, lim Limits) (ansible.Inventory, error) {
	lim = lim.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	fi, err := os.Stat(path)
	if err != nil {
		return ansible.Inventory{}, fmt.Errorf("source %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return ansible.Inventory{}, fmt.Errorf("source %s: not a regular file", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		b, err := readFile(path, lim.MaxBytes)
		if err != nil {
			return ansible.Inventory{}, fmt.Errorf("source %s: %w", path, err)
		}
		inv, err := ansible.ParseINI(b)
		if err != nil {
			return ansible.Inventory{}, fmt.Errorf("source %s: %w", path, err)
		}
		return inv, nil
	}
	out, err := Run(ctx, lim.MaxBytes, path, "--list")
	if err != nil {
		return ansible.Inventory{}, fmt.Errorf("source %s --list: %w", path, err)
	}
	inv, err := ansible.ParseList(out)
	if err != nil {
		return ansible.Inventory{}, fmt.Errorf("source %s: %w", path, err)
	}
	if inv.HasMeta {
		return inv, nil
	}
	names := inv.HostNames()
	if len(names) > maxHostCalls {
		return ansible.Inventory{}, fmt.Errorf("source %s: %d hosts without _meta; more than %d --host calls", path, len(names), maxHostCalls)
	}
	for _, h := range names {
		out, err := Run(ctx, lim.MaxBytes, path, "--host", h)
		if err != nil {
			return ansible.Inventory{}, fmt.Errorf("source %s --host %s: %w", path, h, err)
		}
		vars, err := ansible.ParseHostVars(out)
		if err != nil {
			return ansible.Inventory{}, fmt.Errorf("source %s: host %q: %w", path, h, err)
		}
		inv.HostVars[h] = vars
	}
	return inv, nil
}

func readFile(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%w of %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// Run runs argv without a shell in its own process group and returns its
// standard output. The whole group is killed when ctx ends or when the
// output passes limit bytes, so a hung or runaway script cannot outlive
// the fetch.
func Run(ctx context.Context, limit int, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &capped{limit: limit}
	var errb tail
	cmd.Stdout, cmd.Stderr = out, &errb
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out.kill = func() {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	err := cmd.Run()
	switch {
	case out.over:
		return nil, fmt.Errorf("%w of %d bytes", ErrTooLarge, limit)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("did not finish in time: %w", ctx.Err())
	case err != nil:
		if s := bytes.TrimSpace(errb.b); len(s) > 0 {
			return nil, fmt.Errorf("%w: %s", err, s)
		}
		return nil, err
	}
	return out.b.Bytes(), nil
}

// capped keeps up to limit bytes and kills the process on the first byte
// over it.
type capped struct {
	b     bytes.Buffer
	limit int
	over  bool
	kill  func()
}

func (c *capped) Write(p []byte) (int, error) {
	if c.over {
		return 0, ErrTooLarge
	}
	if c.b.Len()+len(p) > c.limit {
		c.over = true
		c.kill()
		return 0, ErrTooLarge
	}
	return c.b.Write(p)
}

// tail keeps the last stderrTail bytes written.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > stderrTail {
		t.b = t.b[len(t.b)-stderrTail:]
	}
	return len(p), nil
}
