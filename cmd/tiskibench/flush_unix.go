//go:build unix

package main

import "syscall"

// flushDisks writes out every file's dirty pages (sync(2)), so that the
// writeback of what ran before (a build, a test run) does not fall into
// the measured fsyncs.
func flushDisks() { syscall.Sync() }
