// Package proctest holds helpers for tests that start and kill real
// processes.
package proctest

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Alive reports whether pid runs. A zombie (killed, not yet reaped by
// whoever inherited it) counts as dead.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
