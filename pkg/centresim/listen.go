package centresim

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// listenFHIR listens on addr for the FHIR port. A fault "down" closes that
// listener and "up" opens it again on the same port; a port the kernel
// picked (port 0) comes from the ephemeral range, where an outgoing
// connection may take it while it is closed, and "up" would then fail with
// "address already in use". So for port 0 it picks a free port below the
// ephemeral range, and falls back to the kernel's pick when none is free.
func listenFHIR(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != "0" {
		return net.Listen("tcp", addr)
	}
	lo := ephemeralLow()
	if first := 20000; lo > first+1000 {
		for range 64 {
			p := first + rand.IntN(lo-first)
			if ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p))); err == nil {
				return ln, nil
			}
		}
	}
	return net.Listen("tcp", addr)
}

// ephemeralLow is the lowest port the kernel hands to outgoing
// connections: Linux says in /proc; 32768 is Linux's default and below
// the BSDs', macOS's and Windows' 49152.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil || lo < 1024 {
		return 32768
	}
	return lo
}
