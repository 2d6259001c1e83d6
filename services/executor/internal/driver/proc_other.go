//go:build !linux

package driver

import (
	"os/exec"
	"syscall"
)

// procAttr puts the program in its own process group. Only Linux can tie
// the program's life to the executor's (Pdeathsig); elsewhere a kill -9 of
// the executor can leave the program running.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func startLocked(cmd *exec.Cmd) (unlock func(), err error) { return func() {}, cmd.Start() }
