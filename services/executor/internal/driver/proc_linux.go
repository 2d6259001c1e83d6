package driver

import (
	"os/exec"
	"runtime"
	"syscall"
)

// procAttr puts the program in its own process group, so the group can be
// killed as a whole, and asks the kernel to SIGKILL it when its parent
// dies: a kill -9 of the executor then leaves no deploy running that
// nobody watches.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// startLocked starts cmd on a thread locked to the calling goroutine and
// returns the function that unlocks it, to be called after Wait returns.
// Pdeathsig fires when the thread that forked the child exits, not the
// process. The Go runtime ends a thread only when a goroutine that locked
// it returns still locked; forking from an unlocked thread that another
// goroutine locks and then lets die would kill the child early. Keeping
// the forking thread locked until the child is reaped makes the signal
// mean exactly "the executor died". It costs one thread per running
// program.
func startLocked(cmd *exec.Cmd) (unlock func(), err error) {
	runtime.LockOSThread()
	if err := cmd.Start(); err != nil {
		runtime.UnlockOSThread()
		return func() {}, err
	}
	return runtime.UnlockOSThread, nil
}
