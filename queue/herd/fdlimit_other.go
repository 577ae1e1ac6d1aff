//go:build !unix

package herd

// fdLimit is 0, unknown, where the system has no descriptor limit to read.
func fdLimit() uint64 { return 0 }
