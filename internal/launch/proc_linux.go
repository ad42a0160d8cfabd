package launch

import "syscall"

// childAttr makes the kernel kill a started process if its starter dies
// without stopping it (killed, or a test timing out), so no server is
// left behind holding a port.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
