package centresim

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
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

// TestListenThenStart: Listen gives the simulator's address before its
// database is opened and seeded; a request sent meanwhile is not refused
// but waits in the listen queue and is answered once Start has run, and a
// simulator whose start fails closes its ports.
func TestListenThenStart(t *testing.T) {
	l, err := Listen(Config{DataDir: t.TempDir(), Fixtures: testFixtures()})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "http://"))
	if err != nil {
		l.Close()
		t.Fatalf("the port is not open before Start: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /metadata HTTP/1.1\r\nHost: tiski\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	s, err := l.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.URL() != l.URL() || s.AdminURL() != l.AdminURL() {
		t.Errorf("started at %s and %s, listened at %s and %s", s.URL(), s.AdminURL(), l.URL(), l.AdminURL())
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request sent before Start: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the request sent before Start: %s", resp.Status)
	}

	fx := testFixtures()
	delete(fx, "patients.json")
	l, err = Listen(Config{DataDir: t.TempDir(), Fixtures: fx})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded without patients.json")
	}
	if c, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "http://")); err == nil {
		c.Close()
		t.Error("the FHIR port is still open after a failed Start")
	}
}
