// Package procgroup starts programs so that they never outlive the process
// that started them: each in its own process group (killed as a whole),
// and on Linux with a parent-death signal.
package procgroup

import (
	"os/exec"
	"runtime"
	"syscall"
)

// Attr puts the program in its own process group, so the group can be
// killed as a whole, and asks the kernel to SIGKILL it when its parent
// dies: a kill -9 of the executor or the agent then leaves no deploy
// running that nobody watches.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// StartLocked starts cmd on a thread locked to the calling goroutine and
// returns the function that unlocks it, to be called after Wait returns.
// Pdeathsig fires when the thread that forked the child exits, not the
// process. The Go runtime ends a thread only when a goroutine that locked
// it returns still locked; forking from an unlocked thread that another
// goroutine locks and then lets die would kill the child early. Keeping
// the forking thread locked until the child is reaped makes the signal
// mean exactly "the parent died". It costs one thread per running program.
func StartLocked(cmd *exec.Cmd) (unlock func(), err error) {
	runtime.LockOSThread()
	if err := cmd.Start(); err != nil {
		runtime.UnlockOSThread()
		return func() {}, err
	}
	return runtime.UnlockOSThread, nil
}
