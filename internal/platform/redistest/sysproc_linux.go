package redistest

import "syscall"

// sysProcAttr makes the kernel kill redis-server when the test process dies,
// even by SIGKILL, so no server outlives its tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
