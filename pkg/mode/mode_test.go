package mode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Short timings keep the tests quick; the detection bounds are the DESIGN
// §10 ones, taken relative to these.
const (
	testInterval = 100 * time.Millisecond
	testTimeout  = 500 * time.Millisecond
)

// env is a real simulator and a real journal file.
type env struct {
	srv     *centresim.Server
	journal *journal.Journal
	path    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := centresim.Start(t.Context(), centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &env{srv: srv, path: filepath.Join(t.TempDir(), "journal.db")}
	e.journal = e.open(t)
	return e
}

// open opens another handle on the journal file, as another process would.
func (e *env) open(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.Context(), e.path, journal.Options{Terminal: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func (e *env) client(t *testing.T) *centre.Client {
	t.Helper()
	c, err := centre.New(centre.Config{BaseURL: e.srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func (e *env) fault(t *testing.T, f centresim.Fault) time.Time {
	t.Helper()
	if err := e.srv.SetFault(f); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// probes is how many probes the simulator has answered with 200.
func (e *env) probes() int64 { return e.srv.Stats().ByStatus[http.StatusOK] }

// machine starts a Machine on store, probing the simulator, and stops it
// when the test ends, checking that Run returns nil.
func (e *env) machine(t *testing.T, store Store, cfg Config) *Machine {
	t.Helper()
	return e.machineWith(t, store, e.client(t), cfg)
}

func (e *env) machineWith(t *testing.T, store Store, p Prober, cfg Config) *Machine {
	t.Helper()
	if cfg.Interval == 0 {
		cfg.Interval = testInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = testTimeout
	}
	m := New(store, p, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	})
	return m
}

// waitFor polls until cond holds or within has passed, and returns how long
// it took from start.
func waitFor(t *testing.T, start time.Time, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	deadline := start.Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func waitMode(t *testing.T, m *Machine, start time.Time, within time.Duration, want rx.Mode) (rx.ModeState, time.Duration) {
	t.Helper()
	d := waitFor(t, start, within, "mode "+string(want)+fmt.Sprintf(" (now %+v)", m.State()), func() bool { return m.State().Mode == want })
	return m.State(), d
}

// change is a mode_change record as the journal stores it.
type change struct {
	From     rx.Mode `json:"from"`
	To       rx.Mode `json:"to"`
	Override bool    `json:"override"`
	Manual   bool    `json:"manual"`
	Cause    string  `json:"cause"`
}

func changes(t *testing.T, j *journal.Journal) []change {
	t.Helper()
	recs, err := j.List(t.Context(), journal.Filter{Kinds: []journal.Kind{journal.KindModeChange}})
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]change, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Body, &cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return cs
}

func TestConnectionRefusedGivesFaultWithin2s(t *testing.T) {
	e := newEnv(t)
	m := e.machine(t, e.journal, Config{})
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 && m.State().Mode == rx.ModeOnline })

	start := e.fault(t, centresim.Fault{Kind: centresim.FaultDown})
	st, took := waitMode(t, m, start, 2*time.Second, rx.ModeFault)
	t.Logf("connection refused → FAULT in %s (interval %s, target ≤ 2s)", took.Round(time.Millisecond), testInterval)
	if st.Cause != "probe: connection refused" || st.Override {
		t.Errorf("state %+v, want cause %q without override", st, "probe: connection refused")
	}
	if cs := changes(t, e.journal); len(cs) != 1 || cs[0] != (change{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: connection refused"}) {
		t.Errorf("journal mode changes %+v, want one ONLINE → FAULT naming the refused connection", cs)
	}
}

// Issue 20's bounds, with the default probe settings (interval 0.75 s,
// timeout 2 s, the client's connect bound 0.4 s). The tests allow half a
// second more for a loaded machine, still well under what waiting out the
// probe timeout takes (interval + timeout = 2.75 s).
const (
	blackholeBound = 1500 * time.Millisecond
	loadSlack      = 500 * time.Millisecond
	silentCause    = "probe: no connection: nothing answers"
)

// TestBlackholeGivesFaultWithin1500ms: the simulator's black hole is
// silence (not even a TCP handshake), so a probe gives up at its connect
// bound instead of waiting out its timeout.
func TestBlackholeGivesFaultWithin1500ms(t *testing.T) {
	e := newEnv(t)
	m := e.machine(t, e.journal, Config{Interval: DefaultInterval, Timeout: DefaultTimeout})
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 && m.State().Mode == rx.ModeOnline })

	start := e.fault(t, centresim.Fault{Kind: centresim.FaultBlackhole})
	st, took := waitMode(t, m, start, blackholeBound+loadSlack, rx.ModeFault)
	t.Logf("black hole → FAULT in %s (interval %s, target ≤ %s)", took.Round(time.Millisecond), DefaultInterval, blackholeBound)
	if st.Cause != silentCause {
		t.Errorf("cause %q, want %q", st.Cause, silentCause)
	}
}

// TestSlowServiceIsNeverFault: a service that answers every call in a
// second is slow, not down. It connects at once, and the probe then waits
// for its answer.
func TestSlowServiceIsNeverFault(t *testing.T) {
	e := newEnv(t)
	m := e.machine(t, e.journal, Config{Interval: DefaultInterval, Timeout: DefaultTimeout})
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 && m.State().Mode == rx.ModeOnline })

	e.fault(t, centresim.Fault{Kind: centresim.FaultSlow, Duration: "1s"})
	before := e.probes()
	const watch = 6 * time.Second
	deadline := time.Now().Add(watch)
	for time.Now().Before(deadline) {
		if st := m.State(); st.Mode != rx.ModeOnline {
			t.Fatalf("a service answering in 1 s gave %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.probes() - before; n < 3 {
		t.Fatalf("%d probes answered in %s; the watch proves nothing", n, watch)
	}
	if cs := changes(t, e.journal); len(cs) != 0 {
		t.Errorf("mode changes %+v, want none", cs)
	}
}

// TestToxiproxyTimeoutGivesFault puts toxiproxy between the counter and the
// simulator and plays its timeout toxic, the network-level black hole: the
// proxy accepts the TCP connection and then drops every byte, both ways. Over mutual
// TLS, as the Prescription Centre is reached, not even the handshake
// completes: FAULT within the bound. Over plain HTTP the proxy's TCP
// handshake is all a counter gets, which a slow service gives too, so the
// probe waits out its timeout: later, but FAULT.
func TestToxiproxyTimeoutGivesFault(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tls    bool
		within time.Duration
		cause  string
	}{
		{"mutual TLS", true, blackholeBound + loadSlack, silentCause},
		{"plain HTTP", false, DefaultInterval + DefaultTimeout + loadSlack, "probe: no answer within 2s"},
	} {
		// A probe caught mid-exchange as the toxics go in may see its
		// connection closed instead (toxiproxy passes on the server's
		// close of a request that got through): a fault too, at once.
		const caught = "probe: connection closed without an answer"
		t.Run(tt.name, func(t *testing.T) {
			cfg := centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: t.TempDir()}
			certs := t.TempDir()
			if tt.tls {
				if err := centresim.WriteCerts(certs, centresim.CertOptions{}); err != nil {
					t.Fatal(err)
				}
				cfg.TLSDir = certs
			}
			srv, err := centresim.Start(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			scheme, upstream, _ := strings.Cut(srv.URL(), "://")
			api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
			proxy := toxiproxy.NewProxy(api, "centre", "127.0.0.1:0", upstream)
			if err := proxy.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(proxy.Stop)
			cc := centre.Config{BaseURL: scheme + "://" + proxy.Listen}
			if tt.tls {
				cc.TLS = &centre.TLSConfig{CertFile: filepath.Join(certs, "client.crt"), KeyFile: filepath.Join(certs, "client.key"),
					CAFile: filepath.Join(certs, "ca.crt")}
			}
			c, err := centre.New(cc)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			j := newEnvJournal(t)
			m := (&env{srv: srv}).machineWith(t, j, c, Config{Interval: DefaultInterval, Timeout: DefaultTimeout})
			waitFor(t, time.Now(), 5*time.Second, "ONLINE through the proxy", func() bool { return m.State().Mode == rx.ModeOnline })

			// Both ways, as a dead route: a request that got through
			// would be answered, and its connection's close passed on.
			start := time.Now()
			for _, stream := range []string{"upstream", "downstream"} {
				toxic := `{"name":"silence-` + stream + `","type":"timeout","stream":"` + stream + `","attributes":{"timeout":0}}`
				if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
					t.Fatal(err)
				}
			}
			st, took := waitMode(t, m, start, tt.within, rx.ModeFault)
			t.Logf("toxiproxy timeout → FAULT in %s: %s", took.Round(time.Millisecond), st.Cause)
			if st.Cause != tt.cause && st.Cause != caught {
				t.Errorf("cause %q, want %q", st.Cause, tt.cause)
			}
		})
	}
}

// newEnvJournal opens a journal of its own.
func newEnvJournal(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.Context(), filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func TestHTTP503GivesFaultAndThrottlingDoesNot(t *testing.T) {
	e := newEnv(t)
	m := e.machine(t, e.journal, Config{})
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 && m.State().Mode == rx.ModeOnline })

	// 429 says the service is up but busy: not a fault.
	e.fault(t, centresim.Fault{Kind: centresim.FaultThrottle, Seconds: 1})
	throttled := func() int64 { return e.srv.Stats().Throttled }
	waitFor(t, time.Now(), 5*time.Second, "five throttled probes", func() bool { return throttled() >= 5 })
	if st := m.State(); st.Mode != rx.ModeOnline {
		t.Fatalf("throttling gave %+v, want ONLINE", st)
	}

	start := e.fault(t, centresim.Fault{Kind: centresim.FaultFlaky, Ratio: 1})
	st, _ := waitMode(t, m, start, 2*time.Second, rx.ModeFault)
	if st.Cause != "probe: HTTP 503" {
		t.Errorf("cause %q, want %q", st.Cause, "probe: HTTP 503")
	}
}

func TestRecoveryGoesThroughRecoveringToOnline(t *testing.T) {
	e := newEnv(t)
	m := e.machine(t, e.journal, Config{RecoverAfter: 3})
	seen, cancel := m.Subscribe()
	defer cancel()
	collected := make(chan []rx.Mode)
	go func() {
		var modes []rx.Mode
		for st := range seen { // until cancel closes the channel
			modes = append(modes, st.Mode)
		}
		collected <- modes
	}()
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 && m.State().Mode == rx.ModeOnline })

	waitMode(t, m, e.fault(t, centresim.Fault{Kind: centresim.FaultDown}), 2*time.Second, rx.ModeFault)
	before := e.probes()
	start := e.fault(t, centresim.Fault{Kind: centresim.FaultUp})
	_, toRecovering := waitMode(t, m, start, 2*time.Second, rx.ModeRecovering)
	_, toOnline := waitMode(t, m, start, 5*time.Second, rx.ModeOnline)
	t.Logf("after recovery: RECOVERING in %s, ONLINE in %s", toRecovering.Round(time.Millisecond), toOnline.Round(time.Millisecond))
	if n := e.probes() - before; n < 3 {
		t.Errorf("ONLINE after %d successful probes, want at least 3", n)
	}

	want := []change{
		{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: connection refused"},
		{From: rx.ModeFault, To: rx.ModeRecovering, Cause: "probe: answered again"},
		{From: rx.ModeRecovering, To: rx.ModeOnline, Cause: "probe: 3 answers in a row"},
	}
	if got := changes(t, e.journal); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("journal mode changes\n got %+v\nwant %+v", got, want)
	}

	// The subscriber saw the modes in order. It may skip a state only when
	// it falls behind, which this reader does not.
	cancel()
	if modes := <-collected; fmt.Sprint(modes) != "[ONLINE FAULT RECOVERING ONLINE]" {
		t.Errorf("subscriber saw %v", modes)
	}
}

func TestManualOverrideHoldsUntilAuto(t *testing.T) {
	e := newEnv(t)
	m := e.machine(t, e.journal, Config{})
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 })

	// tiski mode fault runs in another process: its own journal handle.
	cli := e.open(t)
	st, err := Force(t.Context(), cli, "Kela's fault notice 12.11.", "maija")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != rx.ModeFault || !st.Override || st.Cause != "manual: Kela's fault notice 12.11. (by maija)" {
		t.Fatalf("Force gave %+v", st)
	}
	waitFor(t, time.Now(), time.Second, "the machine to see the override", func() bool { return m.State().Override })

	// Probes keep succeeding; the mode holds.
	before := e.probes()
	waitFor(t, time.Now(), 5*time.Second, "5 more successful probes", func() bool { return e.probes() >= before+5 })
	if st := m.State(); st.Mode != rx.ModeFault || !st.Override {
		t.Fatalf("the override did not hold while probes succeeded: %+v", st)
	}
	// A real call's result does not lift it either.
	m.Report(nil)
	if st := m.State(); st.Mode != rx.ModeFault || !st.Override {
		t.Fatalf("Report(nil) lifted the override: %+v", st)
	}

	st, err = Auto(t.Context(), cli, "maija")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != rx.ModeFault || st.Override {
		t.Errorf("Auto gave %+v, want FAULT without override, for the probes to recover", st)
	}
	waitMode(t, m, time.Now(), 5*time.Second, rx.ModeOnline)

	want := []change{
		{From: rx.ModeOnline, To: rx.ModeFault, Override: true, Manual: true, Cause: "manual: Kela's fault notice 12.11. (by maija)"},
		{From: rx.ModeFault, To: rx.ModeFault, Manual: true, Cause: "manual: automatic mode (by maija)"},
		{From: rx.ModeFault, To: rx.ModeRecovering, Cause: "probe: answered again"},
		{From: rx.ModeRecovering, To: rx.ModeOnline, Cause: "probe: 3 answers in a row"},
	}
	if got := changes(t, e.journal); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("journal mode changes\n got %+v\nwant %+v", got, want)
	}

	// Auto without an override changes nothing.
	n := len(changes(t, e.journal))
	if st, err := Auto(t.Context(), cli, "maija"); err != nil || st.Mode != rx.ModeOnline {
		t.Errorf("Auto when automatic: %+v, %v", st, err)
	}
	if len(changes(t, e.journal)) != n {
		t.Error("Auto without an override wrote a record")
	}
}

func TestForceAndAutoNeedReasonAndPerson(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ reason, by, field string }{{"", "maija", "reason"}, {"notice", " ", "by"}} {
		_, err := Force(t.Context(), e.journal, tt.reason, tt.by)
		var v *rx.ValidationError
		if !errors.As(err, &v) || v.Problems[0].Field != tt.field {
			t.Errorf("Force(%q, %q) = %v, want a problem with %s", tt.reason, tt.by, err, tt.field)
		}
	}
	if _, err := Auto(t.Context(), e.journal, ""); rx.ErrorCode(err) != rx.EINVALID {
		t.Errorf("Auto without a person: %v", err)
	}
	if cs := changes(t, e.journal); len(cs) != 0 {
		t.Errorf("refused requests wrote %+v", cs)
	}
}

func TestTwoMachinesOnOneJournalAgree(t *testing.T) {
	e := newEnv(t)
	a := e.machine(t, e.journal, Config{})
	b := e.machine(t, e.open(t), Config{})
	agree := func(want rx.Mode) func() bool {
		return func() bool {
			sa, sb := a.State(), b.State()
			return sa.Mode == want && sb.Mode == want && sa.Seq == sb.Seq
		}
	}
	waitFor(t, time.Now(), 5*time.Second, "both ONLINE", agree(rx.ModeOnline))

	waitFor(t, e.fault(t, centresim.Fault{Kind: centresim.FaultDown}), 2*time.Second, "both FAULT", agree(rx.ModeFault))
	waitFor(t, e.fault(t, centresim.Fault{Kind: centresim.FaultUp}), 5*time.Second, "both ONLINE again", agree(rx.ModeOnline))

	// A third process forces FAULT; both machines follow within an interval
	// or so.
	if _, err := Force(t.Context(), e.open(t), "drill", "trainer"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Now(), time.Second, "both see the override", func() bool {
		return agree(rx.ModeFault)() && a.State().Override && b.State().Override
	})

	// Two machines decided, yet each transition is written once.
	cs := changes(t, e.journal)
	var seq []string
	for _, c := range cs {
		seq = append(seq, string(c.To))
		if c.From == c.To {
			t.Errorf("a change that changes nothing: %+v", c)
		}
	}
	if got := strings.Join(seq, " "); got != "FAULT RECOVERING ONLINE FAULT" {
		t.Errorf("journal modes %s, want FAULT RECOVERING ONLINE FAULT", got)
	}
}

func TestReportTransientFailureGivesFaultAtOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	m := New(e.journal, c, Config{Interval: testInterval, Timeout: testTimeout}) // not running: no probes

	// A permanent refusal, a cancelled call and throttling say nothing
	// about the service being down.
	m.Report(&centre.Error{Op: "record dispensing", Class: centre.Permanent, Status: http.StatusUnprocessableEntity})
	m.Report(&centre.Error{Op: "record dispensing", Class: centre.Transient, Err: context.Canceled})
	m.Report(&centre.Error{Op: "record dispensing", Class: centre.Transient, Status: http.StatusTooManyRequests})
	if cs := changes(t, e.journal); len(cs) != 0 {
		t.Fatalf("non-fault results changed the mode: %+v", cs)
	}

	// A real call against a Prescription Centre that refuses connections.
	e.fault(t, centresim.Fault{Kind: centresim.FaultDown})
	_, err := c.FindPatient(t.Context(), "010101-900R")
	if centre.ClassOf(err) != centre.Transient {
		t.Fatalf("FindPatient with the centre down: %v, want a transient error", err)
	}
	m.Report(err)
	// At once: when Report returns, the journal holds FAULT.
	st, err := e.journal.Mode(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != rx.ModeFault || st.Cause != "call: connection refused" || m.State() != st {
		t.Errorf("after Report: journal %+v, machine %+v; want FAULT by the call", st, m.State())
	}

	// A real call that succeeds moves FAULT to RECOVERING, not further.
	e.fault(t, centresim.Fault{Kind: centresim.FaultUp})
	m.Report(c.Probe(t.Context()))
	m.Report(nil)
	m.Report(nil)
	if st := m.State(); st.Mode != rx.ModeRecovering || st.Cause != "call: answered again" {
		t.Errorf("after successes: %+v, want RECOVERING by the call", st)
	}
	m.Report(&centre.Error{Op: "record dispensing", Class: centre.Transient, Status: http.StatusServiceUnavailable})
	if st := m.State(); st.Mode != rx.ModeFault || st.Cause != "call: HTTP 503" {
		t.Errorf("a 503 while RECOVERING gave %+v, want FAULT", st)
	}
}

// stuckProber ignores its context, as a broken Prober might.
// catchingProber probes through the real client, except that the probe
// after catch is set hangs until its context ends: a probe caught on a
// connection just as the service went silent.
type catchingProber struct {
	c      *centre.Client
	catch  atomic.Bool
	caught chan struct{}
}

func (p *catchingProber) Probe(ctx context.Context) error {
	if p.catch.CompareAndSwap(true, false) {
		close(p.caught)
		<-ctx.Done()
		return ctx.Err()
	}
	return p.c.Probe(ctx)
}

// TestHedgedProbeOvertakesAStuckOne: a probe out at the next tick is
// hedged, so a probe that hangs cannot hold detection back for its whole
// timeout: the hedge finds the refused connection.
func TestHedgedProbeOvertakesAStuckOne(t *testing.T) {
	e := newEnv(t)
	p := &catchingProber{c: e.client(t), caught: make(chan struct{})}
	const timeout = 3 * time.Second
	m := e.machineWith(t, e.journal, p, Config{Interval: testInterval, Timeout: timeout})
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 && m.State().Mode == rx.ModeOnline })

	p.catch.Store(true)
	select {
	case <-p.caught:
	case <-time.After(5 * time.Second):
		t.Fatal("no probe caught")
	}
	start := e.fault(t, centresim.Fault{Kind: centresim.FaultDown})
	st, took := waitMode(t, m, start, timeout/2, rx.ModeFault)
	t.Logf("refused → FAULT in %s with a probe stuck (timeout %s)", took.Round(time.Millisecond), timeout)
	if st.Cause != "probe: connection refused" {
		t.Errorf("cause %q, want the hedge's refused connection", st.Cause)
	}
}

// TestStaleProbeFailureIsIgnored: one probe hangs until its timeout while
// the hedges beside it are answered. Its failure is older than their
// answers, and says nothing about the service now: no FAULT.
func TestStaleProbeFailureIsIgnored(t *testing.T) {
	e := newEnv(t)
	p := &catchingProber{c: e.client(t), caught: make(chan struct{})}
	const timeout = time.Second
	m := e.machineWith(t, e.journal, p, Config{Interval: testInterval, Timeout: timeout})
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 && m.State().Mode == rx.ModeOnline })

	p.catch.Store(true)
	<-p.caught
	answered := e.probes()
	deadline := time.Now().Add(timeout + 5*testInterval) // past the stuck probe's timeout
	for time.Now().Before(deadline) {
		if st := m.State(); st.Mode != rx.ModeOnline {
			t.Fatalf("a stuck probe beside answered ones gave %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if e.probes() == answered {
		t.Fatal("no probe answered beside the stuck one")
	}
	if cs := changes(t, e.journal); len(cs) != 0 {
		t.Errorf("mode changes %+v, want none", cs)
	}
}

type stuckProber struct{ release chan struct{} }

func (p stuckProber) Probe(context.Context) error { <-p.release; return nil }

func TestProbeNeverHangsPastItsTimeout(t *testing.T) {
	e := newEnv(t)
	p := stuckProber{release: make(chan struct{})}
	defer close(p.release)
	m := New(e.journal, p, Config{Interval: testInterval, Timeout: testTimeout})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- m.Run(ctx) }()
	st, _ := waitMode(t, m, start, testTimeout+time.Second, rx.ModeFault)
	if st.Cause != "probe: no answer within 500ms" {
		t.Errorf("cause %q", st.Cause)
	}
	// Cancelling Run while a probe hangs is a normal, prompt exit.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil on cancel", err)
		}
	case <-time.After(testTimeout + time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// countingProber counts the probes and the failures of a real prober.
type countingProber struct {
	Prober
	n, failures atomic.Int64
}

func (p *countingProber) Probe(ctx context.Context) error {
	p.n.Add(1)
	err := p.Prober.Probe(ctx)
	if err != nil {
		p.failures.Add(1)
	}
	return err
}

func TestLogsAFailureOnceAndRecoveredOnce(t *testing.T) {
	e := newEnv(t)
	var buf syncBuffer
	p := &countingProber{Prober: e.client(t)}
	m := e.machineWith(t, e.journal, p, Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	waitFor(t, time.Now(), 5*time.Second, "a first probe", func() bool { return e.probes() > 0 })

	waitMode(t, m, e.fault(t, centresim.Fault{Kind: centresim.FaultDown}), 2*time.Second, rx.ModeFault)
	waitFor(t, time.Now(), 5*time.Second, "a dozen failed probes", func() bool { return p.failures.Load() >= 12 })
	waitMode(t, m, e.fault(t, centresim.Fault{Kind: centresim.FaultUp}), 5*time.Second, rx.ModeOnline)

	log := buf.String()
	for _, tt := range []struct {
		line string
		want int
	}{
		{`msg="probe failed"`, 1},
		{`msg="probe recovered"`, 1},
		{`msg="mode changed"`, 3},
	} {
		if got := strings.Count(log, tt.line); got != tt.want {
			t.Errorf("%s logged %d times, want %d:\n%s", tt.line, got, tt.want, log)
		}
	}
}

// TestFaultIntervalSpacesProbesInFault: in FAULT a Machine with a
// FaultInterval probes about once a FaultInterval, not every Interval, and
// still sees the recovery within one and a half of it.
func TestFaultIntervalSpacesProbesInFault(t *testing.T) {
	e := newEnv(t)
	p := &countingProber{Prober: e.client(t)}
	const fault = 600 * time.Millisecond
	m := e.machineWith(t, e.journal, p, Config{FaultInterval: fault})
	waitMode(t, m, time.Now(), 5*time.Second, rx.ModeOnline)
	waitMode(t, m, e.fault(t, centresim.Fault{Kind: centresim.FaultDown}), 2*time.Second, rx.ModeFault)
	before := p.n.Load()
	time.Sleep(3 * fault)
	// Waits of at least fault/2: at most 6 probes in 3 faults' time, where
	// one every Interval would be 3*fault/testInterval.
	if n := p.n.Load() - before; n > 6 || n < 1 {
		t.Errorf("%d probes in FAULT over %s; want 1 to 6 with FaultInterval %s (Interval %s)", n, 3*fault, fault, testInterval)
	}
	start := e.fault(t, centresim.Fault{Kind: centresim.FaultUp})
	_, took := waitMode(t, m, start, 3*fault/2+testTimeout+time.Second, rx.ModeRecovering)
	t.Logf("recovery seen after %s", took.Round(time.Millisecond))
}
