package centresim

import (
	"net"
	"strconv"
	"testing"
)

// TestListenFHIRBelowEphemeral: a kernel-picked FHIR port comes from below
// the ephemeral range, so an outgoing connection cannot take it while a
// "down" fault has it closed, and two such listeners get two ports.
func TestListenFHIRBelowEphemeral(t *testing.T) {
	ln, err := listenFHIR("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if p, _ := strconv.Atoi(port); p >= ephemeralLow() || p < 20000 {
		t.Errorf("port %d, want one in [20000, %d)", p, ephemeralLow())
	}
	other, err := listenFHIR("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.Addr().String() == ln.Addr().String() {
		t.Error("two listeners on one port")
	}
}
