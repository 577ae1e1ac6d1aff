package centresim

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestParseFault(t *testing.T) {
	tests := []struct {
		args    []string
		want    Fault
		wantErr string
	}{
		{[]string{"down"}, Fault{Kind: "down"}, ""},
		{[]string{"UP"}, Fault{Kind: "up"}, ""},
		{[]string{"blackhole"}, Fault{Kind: "blackhole"}, ""},
		{[]string{"slow", "2s"}, Fault{Kind: "slow", Duration: "2s"}, ""},
		{[]string{"slow", "1500ms"}, Fault{Kind: "slow", Duration: "1.5s"}, ""},
		{[]string{"flaky", "0.3"}, Fault{Kind: "flaky", Ratio: 0.3}, ""},
		{[]string{"flaky", "30%"}, Fault{Kind: "flaky", Ratio: 0.3}, ""},
		{[]string{"throttle", "5"}, Fault{Kind: "throttle", Seconds: 5}, ""},
		{[]string{"drop-after-commit"}, Fault{Kind: "drop-after-commit", Ratio: 1}, ""},
		{[]string{"drop-after-commit", "0.5"}, Fault{Kind: "drop-after-commit", Ratio: 0.5}, ""},
		{[]string{"error"}, Fault{Kind: "error"}, ""},
		{[]string{"skew", "-10m"}, Fault{Kind: "skew", Duration: "-10m0s"}, ""},
		{[]string{"wrong-patient"}, Fault{Kind: "wrong-patient"}, ""},
		{[]string{"wrong-patient", "x"}, Fault{}, "takes 0 argument"},
		{[]string{"skew", "90s"}, Fault{Kind: "skew", Duration: "1m30s"}, ""},
		{[]string{"skew", "0s"}, Fault{}, "non-zero Go duration"},
		{[]string{"skew"}, Fault{}, "needs a duration"},
		{[]string{"error", "500"}, Fault{}, "takes 0 argument"},
		{nil, Fault{}, "no fault given"},
		{[]string{"melt"}, Fault{}, "unknown fault"},
		{[]string{"slow"}, Fault{}, "needs a duration"},
		{[]string{"slow", "fast"}, Fault{}, "not a positive Go duration"},
		{[]string{"slow", "-1s"}, Fault{}, "not a positive Go duration"},
		{[]string{"flaky", "1.5"}, Fault{}, "at most 1"},
		{[]string{"flaky", "0"}, Fault{}, "more than 0"},
		{[]string{"flaky", "lots"}, Fault{}, "not a number"},
		{[]string{"throttle", "0"}, Fault{}, "from 1"},
		{[]string{"throttle", "x"}, Fault{}, "whole number"},
		{[]string{"down", "now"}, Fault{}, "takes 0 argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := ParseFault(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestAdminAPI(t *testing.T) {
	s := startSim(t, Config{})
	ctx := context.Background()
	if a := call(t, nil, "GET", s.AdminURL()+"/healthz", nil); a.status != 200 {
		t.Errorf("healthz %d", a.status)
	}
	got, err := SetRemoteFault(ctx, s.AdminURL(), Fault{Kind: "throttle", Seconds: 7})
	if err != nil || got != (Fault{Kind: "throttle", Seconds: 7}) {
		t.Fatalf("SetRemoteFault: %+v %v", got, err)
	}
	if s.Fault() != got {
		t.Errorf("Fault() %+v", s.Fault())
	}
	var f Fault
	if err := json.Unmarshal(call(t, nil, "GET", s.AdminURL()+"/fault", nil).body, &f); err != nil || f != got {
		t.Errorf("GET /fault: %+v %v", f, err)
	}
	if _, err := SetRemoteFault(ctx, s.AdminURL(), Fault{Kind: "flaky", Ratio: 2}); err == nil || !strings.Contains(err.Error(), "at most 1") {
		t.Errorf("bad fault accepted: %v", err)
	}
	if a := call(t, nil, "PUT", s.AdminURL()+"/fault", `{"kind":"slow","delay":"2s"}`); a.status != 400 {
		t.Errorf("unknown field: %d %s", a.status, a.body)
	}
	if _, err := SetRemoteFault(ctx, s.AdminURL(), Fault{Kind: "up"}); err != nil {
		t.Fatal(err)
	}
	call(t, nil, "GET", s.URL()+"/Patient?identifier="+hetuAino, nil)
	var log []LoggedRequest
	if err := json.Unmarshal(call(t, nil, "GET", s.AdminURL()+"/requests", nil).body, &log); err != nil || len(log) != 1 {
		t.Fatalf("requests: %v %v", log, err)
	}
	if strings.Contains(log[0].Path, hetuAino) || !strings.Contains(log[0].Path, "***") {
		t.Errorf("logged path %q is not masked", log[0].Path)
	}
	// The admin API is not on the FHIR port.
	if a := call(t, nil, "GET", s.URL()+"/fault", nil); a.status != 404 {
		t.Errorf("FHIR port answers /fault with %d", a.status)
	}
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func TestFaultDownAndUp(t *testing.T) {
	s := startSim(t, Config{})
	client := &http.Client{Timeout: 2 * time.Second}
	// A kept-alive connection must be cut too.
	call(t, client, "GET", s.URL()+"/metadata", nil)
	if err := s.SetFault(Fault{Kind: "down"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tryCall(client, "GET", s.URL()+"/metadata", nil); !isRefused(err) {
		t.Fatalf("down: error %v, want connection refused", err)
	}
	if err := s.SetFault(Fault{Kind: "down"}); err != nil {
		t.Fatalf("down twice: %v", err)
	}
	if err := s.SetFault(Fault{Kind: "up"}); err != nil {
		t.Fatal(err)
	}
	if a := call(t, client, "GET", s.URL()+"/metadata", nil); a.status != 200 {
		t.Fatalf("up again: %d", a.status)
	}
	if !strings.HasSuffix(s.URL(), strconv.Itoa(portOf(t, s.URL()))) {
		t.Error("URL changed")
	}
}

func portOf(t testing.TB, u string) int {
	_, port, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return n
}

// silentConns is how many connections a black hole holds silent.
func silentConns(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.silent
}

// rawRequest writes a GET /metadata on conn.
func rawRequest(t *testing.T, conn net.Conn) {
	t.Helper()
	if _, err := io.WriteString(conn, "GET /metadata HTTP/1.1\r\nHost: centre\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
}

// servedConn opens a connection and has one request answered on it, so
// that the server has surely accepted it: it is then an open keep-alive
// connection, as a client's would be.
func servedConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rawRequest(t, c)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metadata: %s", resp.Status)
	}
	return c
}

// TestFaultBlackhole: a black hole is silence (issue 20), as behind a
// dead route: on Linux a new connect hangs, and a connection opened before
// gets not a byte back. Both are cut when the fault changes, and the port
// answers again.
func TestFaultBlackhole(t *testing.T) {
	s := startSim(t, Config{})
	addr := strings.TrimPrefix(s.URL(), "http://")
	before := servedConn(t, addr) // open before the black hole
	if err := s.SetFault(Fault{Kind: "blackhole"}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 300 * time.Millisecond}
	_, err := tryCall(client, "GET", s.URL()+"/metadata", nil)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("blackhole: error %v, want a timeout", err)
	}
	if runtime.GOOS == "linux" {
		// Several in a row: none may slip through a queue not quite full.
		for i := range 3 {
			c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
			if err == nil {
				c.Close()
				t.Fatalf("connect %d to a black hole succeeded; want it to hang", i+1)
			}
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("connect %d: %v, want a timeout", i+1, err)
			}
		}
	}
	// The connection opened before: the request goes in, nothing comes
	// out, until the fault changes and the connection is cut.
	held := silentConns(s)
	rawRequest(t, before)
	waitFor(t, "the request to be held silent", func() bool { return silentConns(s) == held+1 })
	got := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		n, err := before.Read(b)
		if n > 0 {
			err = fmt.Errorf("read %q from a black hole", b[:n])
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the black hole answered: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := s.SetFault(Fault{Kind: "up"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("the held connection: %v; want it cut", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held connection was not released")
	}
	waitFor(t, "the silent connections to be let go", func() bool { return silentConns(s) == 0 })
	if a := call(t, nil, "GET", s.URL()+"/metadata", nil); a.status != 200 {
		t.Errorf("after blackhole: %d", a.status)
	}
	// New connects are answered at once again.
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		t.Fatalf("connect after the black hole: %v", err)
	}
	c.Close()
}

// TestFaultBlackholeTLS: with TLS, a black hole does not even finish the
// handshake, on a connection opened before it either.
func TestFaultBlackholeTLS(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCerts(dir, CertOptions{}); err != nil {
		t.Fatal(err)
	}
	s := startSim(t, Config{TLSDir: dir})
	addr := strings.TrimPrefix(s.URL(), "https://")
	raw, err := net.Dial("tcp", addr) // TCP only, before the black hole
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := s.SetFault(Fault{Kind: "blackhole"}); err != nil {
		t.Fatal(err)
	}
	conn := tls.Client(raw, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the handshake must not even start
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = conn.HandshakeContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("TLS handshake with a black hole: %v, want no answer", err)
	}
}

func TestCloseReleasesBlackhole(t *testing.T) {
	s, err := Start(context.Background(), Config{DataDir: t.TempDir(), Fixtures: testFixtures(), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 5 {
		conns = append(conns, servedConn(t, strings.TrimPrefix(s.URL(), "http://")))
	}
	if err := s.SetFault(Fault{Kind: "blackhole"}); err != nil {
		t.Fatal(err)
	}
	held := silentConns(s)
	for _, c := range conns {
		rawRequest(t, c)
	}
	waitFor(t, "requests in the black hole", func() bool { return silentConns(s) == held+5 })
	for range 3 { // and some that hang in the connect, or are held from it
		go tryCall(&http.Client{Timeout: 30 * time.Second}, "GET", s.URL()+"/metadata", nil)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close hangs on black-holed requests")
	}
	waitFor(t, "the silent connections to be let go", func() bool { return silentConns(s) == 0 })
	if err := s.SetFault(Fault{Kind: "up"}); err == nil {
		t.Error("SetFault after Close succeeded")
	}
}

func TestFaultAnswers(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	tests := []struct {
		fault      Fault
		status     int
		reason     string
		retryAfter string
	}{
		{Fault{Kind: "throttle", Seconds: 5}, 429, "throttled", "5"},
		{Fault{Kind: "flaky", Ratio: 1}, 503, "unavailable", "1"},
		{Fault{Kind: "slow", Duration: "50ms"}, 200, "", ""},
		{Fault{Kind: "up"}, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			if err := s.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			a := call(t, nil, "GET", s.URL()+"/metadata", nil)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d", a.status, tt.status)
			}
			if got := a.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if a.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			v.Check(t, "answer", a.body)
			if tt.reason != "" {
				if _, reason, _, _ := reasonOf(t, a); reason != tt.reason {
					t.Errorf("reason %q", reason)
				}
			}
			if tt.fault.Kind == "slow" && time.Since(start) < 50*time.Millisecond {
				t.Errorf("slow answered in %v", time.Since(start))
			}
		})
	}
	if st := s.Stats(); st.Throttled != 1 || st.ByStatus[503] != 1 || st.Requests != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultDropAfterCommit(t *testing.T) {
	s := startSim(t, Config{})
	if err := s.SetFault(Fault{Kind: "drop-after-commit", Ratio: 1}); err != nil {
		t.Fatal(err)
	}
	// Reads are not writes: answered.
	if a := call(t, nil, "GET", s.URL()+"/metadata", nil); a.status != 200 {
		t.Fatalf("read under drop-after-commit: %d", a.status)
	}
	rec := newUUID()
	_, err := tryCall(nil, "POST", s.URL()+"/MedicationDispense", dispensing(rec, hetuAino, "EP1", "990011", 10, "Apteekki Yksi"),
		"If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+rec)
	if err == nil {
		t.Fatal("the client got an answer; want the connection cut")
	}
	if n, _ := s.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec); n != 1 {
		t.Fatalf("%d stored, want 1: the write commits before the cut", n)
	}
	// A refused write commits nothing, so it is answered.
	a := call(t, nil, "POST", s.URL()+"/MedicationDispense", dispensing(newUUID(), hetuAino, "EP2", "990011", 1, "Apteekki Yksi"))
	if a.status != 422 {
		t.Errorf("refused write: %d", a.status)
	}
	// The retry, once the fault clears, finds the stored record.
	if err := s.SetFault(Fault{Kind: "up"}); err != nil {
		t.Fatal(err)
	}
	a = call(t, nil, "POST", s.URL()+"/MedicationDispense", dispensing(rec, hetuAino, "EP1", "990011", 10, "Apteekki Yksi"),
		"If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+rec)
	if a.status != 200 {
		t.Errorf("retry: %d %s", a.status, a.body)
	}
	var dropped int
	for _, lr := range s.Requests() {
		if lr.Dropped {
			dropped++
		}
	}
	if dropped != 1 || s.Stats().Dropped != 1 {
		t.Errorf("%d dropped in the log, stats %+v\n%+v", dropped, s.Stats(), s.Requests())
	}
}

// TestDeterministicFaults: the same seed fails the same requests.
func TestDeterministicFaults(t *testing.T) {
	pattern := func(seed int64) string {
		s := startSim(t, Config{Seed: seed})
		if err := s.SetFault(Fault{Kind: "flaky", Ratio: 0.5}); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := 0; i < 40; i++ {
			b.WriteString(strconv.Itoa(call(t, nil, "GET", s.URL()+"/metadata", nil).status / 100))
		}
		return b.String()
	}
	a, b, c := pattern(7), pattern(7), pattern(8)
	if a != b {
		t.Errorf("seed 7 gave %s then %s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same pattern %s", a)
	}
	if !strings.Contains(a, "2") || !strings.Contains(a, "5") {
		t.Errorf("flaky 0.5 pattern %s", a)
	}
}

func TestCapacity(t *testing.T) {
	s := startSim(t, Config{Capacity: 5})
	throttled := 0
	for i := 0; i < 20; i++ {
		a := call(t, nil, "GET", s.URL()+"/metadata", nil)
		if a.status == 429 {
			throttled++
			if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
			}
		}
	}
	if throttled == 0 || throttled == 20 {
		t.Errorf("%d of 20 throttled at 5 requests/s", throttled)
	}
	if st := s.Stats(); st.Throttled != int64(throttled) {
		t.Errorf("stats %+v, want %d throttled", st, throttled)
	}
}

func tlsClient(t testing.TB, dir string, withCert bool) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withCert {
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"))
		if err != nil {
			t.Fatal(err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
}

func TestTLS(t *testing.T) {
	good, expired := t.TempDir(), t.TempDir()
	if err := WriteCerts(good, CertOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteCerts(expired, CertOptions{ClientNotAfter: time.Now().Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ca.key", "server.key", "client.key"} {
		fi, err := os.Stat(filepath.Join(good, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, err %v; want 0600", name, fi.Mode().Perm(), err)
		}
	}
	tests := []struct {
		name     string
		serverCA string
		clientCA string
		withCert bool
		ok       bool
	}{
		{"with a client certificate", good, good, true, true},
		{"without a client certificate", good, good, false, false},
		{"with an expired client certificate", expired, expired, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSim(t, Config{TLSDir: tt.serverCA})
			if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
				t.Fatalf("URL %s", s.URL())
			}
			a, err := tryCall(tlsClient(t, tt.clientCA, tt.withCert), "GET", s.URL()+"/metadata", nil)
			if tt.ok && (err != nil || a.status != 200) {
				t.Fatalf("got %d, %v; want 200", a.status, err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("got %d; want the handshake refused", a.status)
			}
		})
	}
	t.Run("localhost is in the server certificate", func(t *testing.T) {
		s := startSim(t, Config{TLSDir: good})
		u := strings.Replace(s.URL(), "127.0.0.1", "localhost", 1)
		if a, err := tryCall(tlsClient(t, good, true), "GET", u+"/metadata", nil); err != nil || a.status != 200 {
			t.Fatalf("%d %v", a.status, err)
		}
	})
	t.Run("drop-after-commit over TLS", func(t *testing.T) {
		s := startSim(t, Config{TLSDir: good})
		if err := s.SetFault(Fault{Kind: "drop-after-commit", Ratio: 1}); err != nil {
			t.Fatal(err)
		}
		rec := newUUID()
		if _, err := tryCall(tlsClient(t, good, true), "POST", s.URL()+"/MedicationDispense", dispensing(rec, hetuAino, "EP1", "990011", 1, "Apteekki Yksi")); err == nil {
			t.Fatal("answered")
		}
		if n, _ := s.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec); n != 1 {
			t.Errorf("%d stored", n)
		}
	})
}

// TestHandlerNeverPanicsOut checks the recover middleware: a panic in a
// handler is a logged 500 with an OperationOutcome, not a dead connection.
func TestRecoverMiddleware(t *testing.T) {
	s := startSim(t, Config{})
	st := s.store
	s.store = nil // every route that touches the store now panics
	defer func() { s.store = st }()
	rec := httptest.NewRecorder()
	s.serveFHIR(rec, httptest.NewRequest("GET", "/Patient/pat-1", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "OperationOutcome") {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
}

func TestFaultStringsRoundTrip(t *testing.T) {
	for _, f := range []Fault{{Kind: "slow", Duration: "2s"}, {Kind: "flaky", Ratio: 0.3}, {Kind: "throttle", Seconds: 5}, {Kind: "down"}} {
		got, err := ParseFault(strings.Fields(f.String()))
		if err != nil || !reflect.DeepEqual(got, f) {
			t.Errorf("%v: %+v %v", f, got, err)
		}
	}
}

// TestErrorAndSkewFaults: error answers 500 with an OperationOutcome to
// every request, /metadata included; skew answers as usual with its Date
// header shifted by the duration (issue 22).
func TestErrorAndSkewFaults(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	get := func(t *testing.T) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(s.URL() + "/metadata")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if err := s.SetFault(Fault{Kind: FaultError}); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "OperationOutcome") {
		t.Fatalf("error: %d %s", resp.StatusCode, body)
	}
	if err := s.SetFault(Fault{Kind: FaultSkew, Duration: "-10m"}); err != nil {
		t.Fatal(err)
	}
	resp, _ := get(t)
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("skew: %d, Date %q: %v", resp.StatusCode, resp.Header.Get("Date"), err)
	}
	if off := time.Until(d); off > -9*time.Minute || off < -11*time.Minute {
		t.Fatalf("skew -10m: Date is %s from now", off)
	}
}

// TestWrongPatientFault: a search by a patient's identity code answers with
// another patient, well formed (issue 22, criterion (d)); a search by
// anything else is left alone, and up ends it.
func TestWrongPatientFault(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	get := func(t *testing.T, path string) string {
		t.Helper()
		resp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	patient := "/Patient?identifier=" + url.QueryEscape(rx.SystemHETU+"|"+hetuAino)
	if body := get(t, patient); !strings.Contains(body, hetuAino) {
		t.Fatalf("before the fault, the search does not answer with the patient asked for: %s", body)
	}
	if err := s.SetFault(Fault{Kind: FaultWrongPatient}); err != nil {
		t.Fatal(err)
	}
	if body := get(t, patient); strings.Contains(body, hetuAino) || !strings.Contains(body, `"Patient"`) {
		t.Fatalf("wrong-patient: the search still answers with the patient asked for, or with none: %s", body)
	}
	rxs := "/MedicationRequest?patient.identifier=" + url.QueryEscape(rx.SystemHETU+"|"+hetuAino) + "&_include=MedicationRequest:patient"
	if body := get(t, rxs); strings.Contains(body, hetuAino) || !strings.Contains(body, `"MedicationRequest"`) {
		t.Fatalf("wrong-patient: the prescriptions are still the asked patient's, or none: %s", body)
	}
	// A read by id: the prescription asked for, served as another
	// patient's, with that patient included; and a plain read the same.
	byID := get(t, "/MedicationRequest?_id=EP1&_include=MedicationRequest:patient")
	if strings.Contains(byID, hetuAino) || !strings.Contains(byID, hetuMatti) || !strings.Contains(byID, `"id":"EP1"`) {
		t.Fatalf("wrong-patient: the read of EP1 by _id is not EP1 about another patient: %s", byID)
	}
	if body := get(t, "/MedicationRequest/EP1"); !strings.Contains(body, `"id":"EP1"`) || strings.Contains(body, `"Patient/`+patientIDOf(t, s, hetuAino)+`"`) {
		t.Fatalf("wrong-patient: the read of EP1 still refers to its own patient: %s", body)
	}
	if err := s.SetFault(Fault{Kind: FaultUp}); err != nil {
		t.Fatal(err)
	}
	if body := get(t, patient); !strings.Contains(body, hetuAino) {
		t.Fatalf("after up, the search does not answer with the patient asked for: %s", body)
	}
	if body := get(t, "/MedicationRequest?_id=EP1&_include=MedicationRequest:patient"); !strings.Contains(body, hetuAino) {
		t.Fatalf("after up, the read of EP1 is not about its patient: %s", body)
	}
}

// patientIDOf is the simulator's Patient id of the identity code.
func patientIDOf(t *testing.T, s *Server, code string) string {
	t.Helper()
	var id string
	if err := s.store.r.QueryRow(`SELECT id FROM patient WHERE hetu = ?`, code).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
