//go:build unix

package herd

import "syscall"

// fdLimit is the process's limit on open file descriptors (its soft
// limit, which Go raises to the hard one at start), 0 when unknown.
func fdLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return uint64(l.Cur)
}
