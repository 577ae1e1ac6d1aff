//go:build unix

package journal

import "syscall"

func setUmask(m int) int { return syscall.Umask(m) }
