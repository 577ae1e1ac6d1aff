//go:build !linux

package centresim

import (
	"errors"
	"net"
)

// setBacklog is Linux only: elsewhere a connection to a black hole
// completes in the kernel and then stays silent.
func setBacklog(net.Listener, int) error { return errors.ErrUnsupported }
