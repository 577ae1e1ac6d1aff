package centre

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

func setFault(t *testing.T, srv *centresim.Server, f centresim.Fault) {
	t.Helper()
	if err := srv.SetFault(f); err != nil {
		t.Fatalf("set fault %v: %v", f, err)
	}
	t.Cleanup(func() {
		if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
			t.Errorf("end fault: %v", err)
		}
	})
}

// TestFaults plays the simulator's faults and checks that each failure is
// Transient, with Retry-After where the server sent one, and that a call
// never outlives its timeout.
func TestFaults(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	const timeout = 500 * time.Millisecond
	const margin = 1500 * time.Millisecond // generous, for a loaded CI machine
	c := newClient(t, Config{BaseURL: srv.URL(), Timeout: timeout, ConnectTimeout: 300 * time.Millisecond})
	ctx := context.Background()

	tests := []struct {
		name       string
		fault      centresim.Fault
		status     int
		reason     string
		retryAfter time.Duration
		timeout    bool
		inMessage  string
	}{
		{"throttled", centresim.Fault{Kind: centresim.FaultThrottle, Seconds: 7}, 429, "throttled", 7 * time.Second, false, "retry after 7s"},
		{"flaky", centresim.Fault{Kind: centresim.FaultFlaky, Ratio: 1}, 503, "unavailable", time.Second, false, "retry after 1s"},
		{"connection refused", centresim.Fault{Kind: centresim.FaultDown}, 0, "", 0, false, "cannot reach the Prescription Centre"},
		{"black hole", centresim.Fault{Kind: centresim.FaultBlackhole}, 0, "", 0, true, "did not answer in time"},
		{"slow", centresim.Fault{Kind: centresim.FaultSlow, Duration: "3s"}, 0, "", 0, true, "did not answer in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setFault(t, srv, tt.fault)
			start := time.Now()
			_, err := c.FindPatient(ctx, testHETU)
			elapsed := time.Since(start)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v", err)
			}
			if ce.Class != Transient || ce.Status != tt.status || ce.Reason != tt.reason || ce.RetryAfter != tt.retryAfter {
				t.Errorf("got class %v status %d reason %q retry after %v; want transient %d %q %v (%v)",
					ce.Class, ce.Status, ce.Reason, ce.RetryAfter, tt.status, tt.reason, tt.retryAfter, err)
			}
			if errors.Is(err, ErrTimeout) != tt.timeout {
				t.Errorf("timeout %v, want %v: %v", errors.Is(err, ErrTimeout), tt.timeout, err)
			}
			if elapsed > timeout+margin {
				t.Errorf("took %v with a timeout of %v", elapsed, timeout)
			}
			if rx.ErrorCode(err) != rx.EUNAVAILABLE || !strings.Contains(err.Error(), tt.inMessage) {
				t.Errorf("code %q, message %q", rx.ErrorCode(err), err)
			}
			if strings.Contains(err.Error(), testHETU) {
				t.Errorf("identity code in %q", err)
			}
			t.Log(err)
		})
		// Each fault ends; the client recovers at once.
		if err := c.Probe(ctx); err != nil {
			t.Fatalf("after %s: probe: %v", tt.name, err)
		}
	}

	t.Run("the caller's deadline bounds a call", func(t *testing.T) {
		slow := newClient(t, Config{BaseURL: srv.URL(), Timeout: time.Minute})
		setFault(t, srv, centresim.Fault{Kind: centresim.FaultBlackhole})
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := slow.Probe(cctx)
		if ClassOf(err) != Transient || !errors.Is(err, ErrTimeout) || time.Since(start) > 300*time.Millisecond+margin {
			t.Errorf("after %v: %v", time.Since(start), err)
		}
	})
	t.Run("the caller cancels", func(t *testing.T) {
		setFault(t, srv, centresim.Fault{Kind: centresim.FaultBlackhole})
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		err := c.Probe(cctx)
		if ClassOf(err) != Transient || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	})
}

// TestDropAfterCommit cuts the connection after the server stored the
// record: the client sees a Transient failure, and sending again finds the
// stored record instead of making a second one (DESIGN §6, crash safety).
func TestDropAfterCommit(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL(), Timeout: 2 * time.Second})
	ctx := context.Background()

	d := dispensingOf(t, "EP26000101", 200)
	p := recordedPrescription(t, rx.FormPaper, "190492-911L", "kavepenin-1milj-tabl")
	pd := dispensingWith(p)
	sends := []struct {
		name  string
		send  func() (created bool, err error)
		count func() int
	}{
		{"dispensing", func() (bool, error) {
			r, err := c.RecordDispensing(ctx, d)
			return r.Created, err
		}, func() int { return countRecord(t, srv, "MedicationDispense", d.ID) }},
		{"transaction", func() (bool, error) {
			r, err := c.RecordPrescription(ctx, p, []rx.Dispensing{pd})
			return r.Prescription.Created || (len(r.Dispensings) == 1 && r.Dispensings[0].Created), err
		}, func() int {
			return countRecord(t, srv, "MedicationRequest", p.RecordID) * countRecord(t, srv, "MedicationDispense", pd.ID)
		}},
	}
	for _, s := range sends {
		t.Run(s.name, func(t *testing.T) {
			if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultDropAfterCommit, Ratio: 1}); err != nil {
				t.Fatal(err)
			}
			_, err := s.send()
			if ClassOf(err) != Transient {
				t.Fatalf("got %v, want a transient failure", err)
			}
			t.Log(err)
			if n := s.count(); n != 1 {
				t.Fatalf("%d stored after the drop, want 1", n)
			}
			if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
				t.Fatal(err)
			}
			created, err := s.send()
			if err != nil || created {
				t.Errorf("resend: created %v, %v; want found", created, err)
			}
			if n := s.count(); n != 1 {
				t.Errorf("%d stored after the resend, want 1", n)
			}
		})
	}
}

// startProxy puts an in-process toxiproxy in front of upstream.
func startProxy(t *testing.T, upstream string) *toxiproxy.Proxy {
	t.Helper()
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(api, "centre", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// TestCutAnswers cuts the server's answers short on the wire with
// toxiproxy's limit_data, and reads an answer too large for the limit.
func TestCutAnswers(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	ctx := context.Background()
	upstream := strings.TrimPrefix(srv.URL(), "http://")

	tests := []struct {
		name  string
		bytes int
		body  bool // the cut falls in the body, after the headers
	}{
		{"in the body", 2000, true},
		{"in the headers", 40, false},
		{"before anything", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, upstream)
			toxic := `{"name":"cut","type":"limit_data","stream":"downstream","attributes":{"bytes":` + strconv.Itoa(tt.bytes) + `}}`
			if _, err := p.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, Config{BaseURL: "http://" + p.Listen, Timeout: 2 * time.Second})
			list, err := c.Prescriptions(ctx, testHETU)
			if err == nil {
				t.Fatalf("read %d prescriptions through a cut connection", len(list))
			}
			if ClassOf(err) != Transient || errors.Is(err, ErrTimeout) {
				t.Errorf("got %v, want a transient failure that is not a timeout", err)
			}
			if tt.body && (!errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "cut off")) {
				t.Errorf("got %v, want a cut-off answer", err)
			}
			t.Log(err)
		})
	}
	t.Run("larger than the limit", func(t *testing.T) {
		c := newClient(t, Config{BaseURL: srv.URL(), MaxResponseBytes: 1000})
		_, err := c.Prescriptions(ctx, testHETU)
		if ClassOf(err) != Permanent || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1000") {
			t.Errorf("got %v", err)
		}
		t.Log(err)
	})
}

// TestProbeTellsSilentFromSlow: a probe connects afresh every time. A
// black hole, where nothing answers (not even the TCP or TLS handshake),
// fails it at its connect bound, as ErrSilent; a service that takes a
// second to answer connects at once and is waited for (issue 20).
func TestProbeTellsSilentFromSlow(t *testing.T) {
	t.Parallel()
	const bound = 300 * time.Millisecond
	const margin = time.Second // generous, for a loaded CI machine
	certs := t.TempDir()
	if err := centresim.WriteCerts(certs, centresim.CertOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		tlsDir string
	}{{"plain HTTP", ""}, {"mutual TLS", certs}} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tlsDir == "" && runtime.GOOS != "linux" {
				t.Skip("the simulator's plain-HTTP black hole drops connects on Linux only")
			}
			srv := startSim(t, tt.tlsDir)
			cfg := Config{BaseURL: srv.URL(), ProbeConnectTimeout: bound}
			if tt.tlsDir != "" {
				cfg.TLS = &TLSConfig{CertFile: filepath.Join(certs, "client.crt"), KeyFile: filepath.Join(certs, "client.key"), CAFile: filepath.Join(certs, "ca.crt")}
			}
			c := newClient(t, cfg)
			ctx := t.Context()
			if err := c.Probe(ctx); err != nil {
				t.Fatalf("probe: %v", err)
			}

			setFault(t, srv, centresim.Fault{Kind: centresim.FaultBlackhole})
			start := time.Now()
			err := c.Probe(ctx)
			took := time.Since(start)
			if ClassOf(err) != Transient || !errors.Is(err, ErrSilent) || !errors.Is(err, ErrTimeout) {
				t.Fatalf("probe of a black hole: %v; want a transient ErrSilent", err)
			}
			if took < bound || took > bound+margin {
				t.Errorf("probe of a black hole took %s; want its connect bound %s", took, bound)
			}
			t.Log(err)

			setFault(t, srv, centresim.Fault{Kind: centresim.FaultSlow, Duration: "1s"})
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			start = time.Now()
			if err := c.Probe(sctx); err != nil {
				t.Fatalf("probe of a service answering in 1s: %v", err)
			}
			if took := time.Since(start); took < time.Second {
				t.Errorf("answered in %s, before the delay: not the slow service", took)
			}
		})
	}
}
