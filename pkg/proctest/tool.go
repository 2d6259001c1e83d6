package proctest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Tool finds the binary of a real tool a test runs (haproxy, sshd,
// prometheus), in the sbin directories Debian installs daemons to or on
// PATH. Without it the test is skipped, naming the Debian package that
// provides it; with ROLLWAVE_REQUIRE_TOOLS set (make test), it fails
// instead, so CI never passes by skipping.
func Tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " is not installed (Debian package " + debianPackage + ": bash tools/lint/test-deps.sh " + debianPackage + ")"
	if os.Getenv("ROLLWAVE_REQUIRE_TOOLS") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Output collects a process's stdout and stderr for a test to show when the
// process misbehaves; it is safe for the process's writers and the test.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
