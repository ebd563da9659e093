package vip

import (
	"fmt"
	"os"
	"syscall"
)

// killIfOurs signals pid only if it runs this very executable: a stale
// pidfile must not kill a process that reused the PID.
func killIfOurs(pid int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || exe != self {
		return errNotOurs
	}
	return syscall.Kill(pid, syscall.SIGTERM)
}
