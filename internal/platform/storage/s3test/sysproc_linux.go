package s3test

import "syscall"

// sysProcAttr makes the kernel kill versitygw when the test process dies,
// even by SIGKILL, so no server outlives its tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
