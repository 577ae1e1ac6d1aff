//go:build !windows

package drill

import (
	"errors"
	"syscall"
)

// alive reports whether the process pid still runs: signal 0 checks
// without sending anything; EPERM means it runs as someone else.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
