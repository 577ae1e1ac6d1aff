package triage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

var testPharmacy = rx.Pharmacy{OID: "1.2.246.10.12345678.10.1", Name: "Testiapteekki"}

func certDir(t *testing.T, opts centresim.CertOptions) string {
	t.Helper()
	dir := t.TempDir()
	if err := centresim.WriteCerts(dir, opts); err != nil {
		t.Fatalf("write certs: %v", err)
	}
	return dir
}

func startSim(t *testing.T, tlsDir string) *centresim.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := centresim.Start(ctx, centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: t.TempDir(), Seed: 1, TLSDir: tlsDir})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func openJournal(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatalf("open journal: %v", err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// config is a triage of the simulator at url with the certificates in dir
// (the client's from clientDir, the CA bundle from caDir).
func config(url, clientDir, caDir string, j *journal.Journal) Config {
	return Config{
		BaseURL:  url,
		CertFile: filepath.Join(clientDir, "client.crt"), KeyFile: filepath.Join(clientDir, "client.key"),
		CAFile:         filepath.Join(caDir, "ca.crt"),
		ConnectTimeout: 500 * time.Millisecond, Timeout: 5 * time.Second,
		Journal: j,
	}
}

// calls makes n probes through a client whose fault log is j, the way the
// counter's calls reach it, and waits for the log to be written.
func calls(t *testing.T, url, dir string, j *journal.Journal, n int) {
	t.Helper()
	rec := newRecorder(j, 20*time.Millisecond)
	c, err := centre.New(centre.Config{BaseURL: url, Pharmacy: testPharmacy, Observer: rec.Observe,
		ConnectTimeout: 5 * time.Second, Timeout: 5 * time.Second, // a loaded machine's mutual-TLS handshake is no fault
		TLS: &centre.TLSConfig{CertFile: filepath.Join(dir, "client.crt"), KeyFile: filepath.Join(dir, "client.key"), CAFile: filepath.Join(dir, "ca.crt")}})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer c.Close()
	for range n {
		_ = c.Probe(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec.Close(ctx)
}

func expect(t *testing.T, r Result, verdict string, evidence ...string) {
	t.Helper()
	for _, s := range r.Steps {
		t.Logf("  %-9s %-12s %-5s %-18s %s", s.Layer, s.Name, s.Status, s.Class, s.Detail)
	}
	t.Logf("verdict %s: %v", r.Verdict, r.Evidence)
	if r.Verdict != verdict {
		t.Fatalf("verdict %q, want %q", r.Verdict, verdict)
	}
	all := strings.Join(r.Evidence, "\n")
	for _, e := range evidence {
		if !strings.Contains(all, e) {
			t.Errorf("evidence %q lacks %q", all, e)
		}
	}
}

// TestVerdictBySimulatedCause plays each of the simulator's faults and
// checks triage's verdict and its evidence.
func TestVerdictBySimulatedCause(t *testing.T) {
	t.Parallel()
	dir := certDir(t, centresim.CertOptions{})
	srv := startSim(t, dir)
	j := openJournal(t)
	calls(t, srv.URL(), dir, j, 10) // this counter's normal
	ctx := context.Background()
	set := func(t *testing.T, words ...string) {
		t.Helper()
		f, err := centresim.ParseFault(words)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.SetFault(f); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		fault    []string
		logged   int // calls made under the fault before the triage
		verdict  string
		evidence []string
	}{
		{[]string{"up"}, 0, None, nil},
		{[]string{"down"}, 0, Unknown, []string{"tcp: cannot connect", "refused"}},
		{[]string{"blackhole"}, 0, Unknown, []string{"tcp: cannot connect"}},
		{[]string{"flaky", "0.5"}, 30, Kanta, []string{"503"}},
		{[]string{"throttle", "5"}, 0, Kanta, []string{"429"}},
		{[]string{"slow", "2s"}, 0, Kanta, []string{"metadata: /metadata answered 200 in 2"}},
		{[]string{"error"}, 0, Kanta, []string{"answered 500"}},
		{[]string{"skew", "-10m"}, 0, ThisPC, []string{"clock: this PC's clock is 10m"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.fault, " "), func(t *testing.T) {
			began := time.Now().Round(0) // wall clock: the fault log's times are
			set(t, c.fault...)
			defer set(t, "up")
			if c.logged > 0 {
				calls(t, srv.URL(), dir, j, c.logged)
			}
			start := time.Now()
			cfg := config(srv.URL(), dir, dir, j)
			cfg.Recent = time.Now().Round(0).Sub(began)
			r := Run(ctx, cfg)
			t.Logf("triage took %s", time.Since(start).Round(time.Millisecond))
			expect(t, r, c.verdict, c.evidence...)
		})
	}
}

// TestFlakyIsSeenInTheFaultLog checks that a flaky service is judged from
// the recent calls when /metadata itself happens to get through.
func TestFlakyIsSeenInTheFaultLog(t *testing.T) {
	t.Parallel()
	dir := certDir(t, centresim.CertOptions{})
	srv := startSim(t, dir)
	j := openJournal(t)
	calls(t, srv.URL(), dir, j, 5)
	// The window of recent calls counts back from the triage's own
	// start, a little after cfg.Recent is taken: give it a second of
	// slack, and keep the five calls before the fault two seconds
	// earlier, out of it (without the slack the first flaky call fell
	// out of the window now and then: 29 of 30).
	time.Sleep(2 * time.Second)
	began := time.Now().Round(0) // wall clock: the fault log's times are
	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultFlaky, Ratio: 0.5}); err != nil {
		t.Fatal(err)
	}
	calls(t, srv.URL(), dir, j, 30)
	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		t.Fatal(err)
	}
	cfg := config(srv.URL(), dir, dir, j)
	cfg.Recent = time.Now().Round(0).Sub(began) + time.Second
	r := Run(context.Background(), cfg)
	expect(t, r, Kanta, "calls: ", "probe calls failed", "5xx", "503×")
	var probe *OpStats
	for i := range r.Calls {
		if r.Calls[i].Op == centre.OpProbe {
			probe = &r.Calls[i]
		}
	}
	if probe == nil || probe.Calls != 30 || probe.Statuses[503] == 0 || probe.Statuses[503]+probe.OK != 30 {
		t.Fatalf("recent probe calls %+v, want 30 with 503s and oks", probe)
	}
}

// TestVerdictByCertificateAndName: an expired client certificate, a server
// certificate from another CA, and a name that does not resolve.
func TestVerdictByCertificateAndName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("expired client certificate", func(t *testing.T) {
		t.Parallel()
		dir := certDir(t, centresim.CertOptions{ClientNotAfter: time.Now().Add(-48 * time.Hour)})
		srv := startSim(t, dir)
		expect(t, Run(ctx, config(srv.URL(), dir, dir, openJournal(t))), ThisPC, "certificate: the client certificate", "expired on")
	})
	t.Run("server certificate from another CA", func(t *testing.T) {
		t.Parallel()
		simDir, ours := certDir(t, centresim.CertOptions{}), certDir(t, centresim.CertOptions{})
		srv := startSim(t, simDir)
		r := Run(ctx, config(srv.URL(), ours, ours, openJournal(t)))
		expect(t, r, PharmacyNetwork, "tls: the TLS handshake", "unknown authority")
		if s := stepNamed(r, "tls"); s == nil || s.Class != "unknown-authority" {
			t.Errorf("tls step %+v", s)
		}
	})
	t.Run("a name that does not resolve", func(t *testing.T) {
		t.Parallel()
		dir := certDir(t, centresim.CertOptions{})
		expect(t, Run(ctx, config("https://kanta-prescription-centre.invalid:8443", dir, dir, nil)), PharmacyNetwork, "dns: cannot resolve kanta-prescription-centre.invalid")
	})
}

func stepNamed(r Result, name string) *Step {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// TestRecorderFlushesOnClose: calls observed are in the journal once the
// Recorder is closed, in one batch, though its tick never came.
func TestRecorderFlushesOnClose(t *testing.T) {
	t.Parallel()
	j := openJournal(t)
	rec := newRecorder(j, time.Hour)
	at := time.Now().Round(time.Millisecond)
	for i := range 10 {
		rec.Observe(centre.Call{Time: at.Add(time.Duration(i) * time.Millisecond), Op: centre.OpWrite, Outcome: centre.Outcome5xx, Status: 503, Latency: time.Millisecond})
	}
	got, err := j.FaultCalls(context.Background(), time.Time{}, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("before Close: %d calls, %v", len(got), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec.Close(ctx)
	got, err = j.FaultCalls(context.Background(), time.Time{}, 0)
	if err != nil || len(got) != 10 || got[9].Status != 503 || got[9].Op != centre.OpWrite || rec.Dropped() != 0 {
		t.Fatalf("after Close: %+v, %v", got, err)
	}
}

// TestVerdictWithTheHub: the service refuses connections; with another
// counter of the pharmacy in FAULT too the verdict is unknown (assumed
// wide), naming that counter and since when; with the other counter
// ONLINE it is this PC's own. The hub is a real one on loopback, and the
// other counter announces its journal's mode as a running counter does.
func TestVerdictWithTheHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, err := hub.Start(ctx, hub.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	connect := func(counter string) *hub.Client {
		c, err := hub.Connect(ctx, hub.ClientOptions{URL: srv.URL(), Counter: counter})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	here, there := connect("kassa-1"), connect("kassa-2")
	theirs := openJournal(t)
	if err := there.Announce(ctx, theirs); err != nil {
		t.Fatal(err)
	}

	dir := certDir(t, centresim.CertOptions{})
	sim := startSim(t, dir)
	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultDown}); err != nil {
		t.Fatal(err)
	}
	cfg := config(sim.URL(), dir, dir, openJournal(t))
	cfg.Peers = HubPeers(here)
	expect(t, Run(ctx, cfg), ThisPC, "tcp: cannot connect", "counters: none of 1 other counters is in FAULT")

	st, changed, err := theirs.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: connection refused"})
	if err != nil || !changed {
		t.Fatalf("kassa-2 to FAULT: %v %v", changed, err)
	}
	if err := there.Announce(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	expect(t, Run(ctx, cfg), Unknown, "tcp: cannot connect", "counters: 1 of 1 other counters in FAULT", "kassa-2 since "+st.Since.UTC().Format(time.RFC3339))
}
