package centresim

import (
	"errors"
	"net"
	"syscall"
)

// setBacklog changes the accept queue of a listening TCP socket: Linux
// takes a second listen(2) on a listening socket as a new backlog. With a
// full queue the kernel drops new SYNs without a word.
func setBacklog(ln net.Listener, n int) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return errors.ErrUnsupported
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), n) }); err != nil {
		return err
	}
	return lerr
}
