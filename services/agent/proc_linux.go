package agent

import (
	"os/exec"
	"runtime"
	"syscall"
)

// procAttr puts a command in its own process group, killed as a whole on
// timeout, and has the kernel kill it if the agent dies (see the exec
// driver's startLocked for why the forking thread stays locked).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func startLocked(cmd *exec.Cmd) (unlock func(), err error) {
	runtime.LockOSThread()
	if err := cmd.Start(); err != nil {
		runtime.UnlockOSThread()
		return func() {}, err
	}
	return runtime.UnlockOSThread, nil
}
