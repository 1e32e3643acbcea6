//go:build !linux

package redistest

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: a server may outlive
// a test process killed by a signal.
func sysProcAttr() *syscall.SysProcAttr { return nil }
