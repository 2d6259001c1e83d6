//go:build !linux

package procgroup

import (
	"os/exec"
	"syscall"
)

// Attr puts the program in its own process group. Only Linux can tie the
// program's life to its parent's (Pdeathsig); elsewhere a kill -9 of the
// parent can leave the program running.
func Attr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// StartLocked starts cmd; unlock does nothing off Linux.
func StartLocked(cmd *exec.Cmd) (unlock func(), err error) { return func() {}, cmd.Start() }
