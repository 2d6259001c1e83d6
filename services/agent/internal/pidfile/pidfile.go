// Package pidfile reads pid files, which other programs write.
package pidfile

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Read reads a pid file: one positive decimal number, optionally followed
// by a newline. Errors name the file and the line.
func Read(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	return Parse(path, string(b))
}

// Parse reads the content of the pid file path.
func Parse(path, s string) (int, error) {
	s = strings.TrimSuffix(s, "\n")
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != s {
		return 0, fmt.Errorf("pid file %s: line 1: want a positive process id, got %q", path, clip(s, 40))
	}
	return pid, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
