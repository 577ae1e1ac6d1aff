// Package mode decides the counter's mode (DESIGN §4): ONLINE while the
// Prescription Centre answers, FAULT when it does not or a person says so,
// and RECOVERING while it comes back.
//
// Three inputs decide it: a health probe (GET /metadata, each with its own
// timeout, at an interval), the results of real calls (Report), and a manual
// override (Force, until Auto). The mode lives in the journal, not in this
// process: every decision re-reads it, every change is a mode_change record
// naming its cause, and so every process on one journal agrees.
//
// Detection (DESIGN §10, issue 20): a refused connection is seen by the
// next probe, within Interval (0.75 s by default, under the 1 s target). A
// black hole is told from a slow service by what comes back before the
// answer: each probe connects afresh, and *centre.Client gives up on one
// that cannot connect (TCP and TLS handshake) within its
// ProbeConnectTimeout, 0.4 s: nothing answers at all. So a black hole is
// FAULT within Interval + 0.4 s plus the journal write (1.15 s; the target
// is 1.5 s). A probe that connected waits for its answer up to Timeout (2 s),
// so a service that answers every call in a second is slow, never FAULT. A
// transient failure of a real call (Report), its own timeout included,
// gives FAULT at once.
package mode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Prober checks that the Prescription Centre answers. *centre.Client
// implements it (GET /metadata). Probe must return when ctx ends; the
// machine stops waiting for it then in any case.
type Prober interface {
	Probe(ctx context.Context) error
}

// Store holds the mode. *journal.Journal implements it.
type Store interface {
	// Mode returns the mode in force.
	Mode(ctx context.Context) (rx.ModeState, error)
	// ChangeMode applies a change atomically: it refuses one whose From is
	// not the mode in force (compare-and-set), ignores an automatic change
	// while a manual override holds and writes nothing when neither the
	// mode nor the override changes. It returns the state in force after
	// and whether it changed.
	ChangeMode(ctx context.Context, c rx.ModeChange) (rx.ModeState, bool, error)
}

// Defaults for the zero values of Config.
const (
	// DefaultInterval leaves room under the targets (issue 20) for the
	// journal write and a loaded machine: a refused connection is FAULT
	// within 1 s (at 0.9 s it once took 1.01 s), and a black hole within
	// 1.5 s: Interval + the probe's connect bound (0.4 s).
	DefaultInterval     = 750 * time.Millisecond
	DefaultTimeout      = 2 * time.Second
	DefaultRecoverAfter = 3
)

// reportTimeout bounds the journal read and write behind one Report, which
// has no context of its own.
const reportTimeout = 5 * time.Second

// logEvery is how often the same failure is logged again while it lasts.
const logEvery = time.Minute

// Config configures a Machine. The zero value gives the defaults.
type Config struct {
	// Interval between probes, and between reads of the journal while a
	// probe is out. Default 0.75 s.
	Interval time.Duration
	// Timeout of one probe that connected: how long a slow service may
	// take to answer before it counts as down. Default 2 s. (A probe that
	// cannot connect fails sooner: see the package doc.)
	Timeout time.Duration
	// FaultInterval, when longer than Interval, is the mean time between
	// probes while the mode is FAULT, each wait drawn from half to one and
	// a half times it. Pharmacies then see the Prescription Centre's
	// return at moments of their own rather than all within one Interval,
	// and 830 of them probe an outage at a tenth of the rate (DESIGN §10's
	// herd). Zero probes every Interval in FAULT too.
	FaultInterval time.Duration
	// RecoverAfter is how many successful probes in a row, counted from
	// the one that left FAULT, bring RECOVERING to ONLINE. Default 3.
	RecoverAfter int
	// Now is the clock for log throttling and for Kela's planned breaks
	// (a test runs a break on a test clock). Default time.Now.
	Now func() time.Time
	// Logger gets the transitions, probe failures (the same one at most
	// once a minute) and "recovered". Default: discard.
	Logger *slog.Logger
}

// Machine follows and decides the mode. Its methods are safe for concurrent
// use; Run must be called at most once at a time.
type Machine struct {
	store  Store
	prober Prober
	cfg    Config
	log    *slog.Logger

	// decide serialises read-decide-write on the journal, so this process
	// never races itself; the journal's transaction handles other
	// processes. The fields below it are guarded by it.
	decide    sync.Mutex
	successes int // answers in a row since the mode left FAULT
	probeLog  throttle
	storeLog  throttle

	// mu guards the cached state and the subscribers; it is never held
	// across I/O, so State never blocks on the network or the disk.
	mu    sync.Mutex
	state rx.ModeState
	known bool // state has been read from the journal at least once
	subs  map[chan rx.ModeState]struct{}
}

// New returns a Machine over store, probing with prober. A nil prober makes
// a Machine that only follows the journal and takes Reports.
func New(store Store, prober Prober, cfg Config) *Machine {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RecoverAfter <= 0 {
		cfg.RecoverAfter = DefaultRecoverAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Machine{
		store: store, prober: prober, cfg: cfg, log: cfg.Logger,
		probeLog: throttle{what: "probe"}, storeLog: throttle{what: "journal"},
		subs: map[chan rx.ModeState]struct{}{},
	}
}

// State returns the mode as last read from the journal, without any I/O.
// Before Run or Report first reads the journal it is the zero ModeState,
// whose Mode is "" (unknown).
func (m *Machine) State() rx.ModeState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Subscribe returns a channel that receives the mode whenever it changes,
// starting with the current one when it is known. The channel holds only the
// latest state: a slow reader skips to it. cancel stops the deliveries and
// closes the channel.
func (m *Machine) Subscribe() (<-chan rx.ModeState, func()) {
	ch := make(chan rx.ModeState, 1)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	if m.known {
		ch <- m.state
	}
	m.mu.Unlock()
	return ch, sync.OnceFunc(func() {
		m.mu.Lock()
		delete(m.subs, ch)
		close(ch)
		m.mu.Unlock()
	})
}

// publish caches st and tells the subscribers when it differs.
func (m *Machine) publish(st rx.ModeState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.known && st.Seq == m.state.Seq && st.Mode == m.state.Mode && st.Override == m.state.Override {
		return
	}
	m.state, m.known = st, true
	for ch := range m.subs {
		// Sends happen only under mu, so after the drain there is room.
		select {
		case <-ch:
		default:
		}
		ch <- st
	}
}

// Run probes at the configured interval and decides the mode until ctx
// ends, which is a normal exit: it returns nil. Between probes, and while a
// probe is out, it re-reads the journal every interval, so a change made by
// another process (tiski mode fault) shows within one interval.
//
// A probe still out at the next tick is hedged: a second one starts
// beside it. A probe that connected just before the service went silent
// would otherwise hold the next one back for its whole timeout; the hedge
// connects afresh and finds the silence within its connect bound. At most
// two are out at once. A failure of a probe that started before one that
// was answered is stale, and ignored.
func (m *Machine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait() // runs last: after the cancel below
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	const maxOut = 2
	results := make(chan probeResult, maxOut) // never more out than that
	var out []time.Time                       // when each probe out started
	var lastAnswered time.Time                // start of the latest probe answered
	start := func() {
		if m.prober == nil {
			return
		}
		at := time.Now()
		out = append(out, at)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := m.probe(ctx)
			r.started = at
			results <- r
		}()
	}
	m.refresh(ctx)
	start()
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	var next time.Time // in FAULT, no probe before this
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-results:
			out = slices.DeleteFunc(out, func(t time.Time) bool { return t.Equal(r.started) })
			switch {
			case r.verdict == answered:
				if r.started.After(lastAnswered) {
					lastAnswered = r.started
				}
			case r.verdict == failed && r.started.Before(lastAnswered):
				r.verdict = ignored // a later probe was answered
			}
			m.observe(ctx, "probe", r.verdict, r.cause)
			next = m.nextProbe()
		case <-tick.C:
			switch {
			case m.prober == nil || time.Now().Before(next):
				m.refresh(ctx)
			case len(out) == 0:
				start()
			case len(out) < maxOut && time.Since(out[len(out)-1]) >= m.cfg.Interval/2:
				// The hedge. An answer takes milliseconds; one still
				// out at the next tick is late. (Half an interval, as
				// the ticks drift against the probe's start.)
				start()
			default:
				m.refresh(ctx)
			}
		}
	}
}

// nextProbe is when the next probe may start: in FAULT with a
// FaultInterval, after a wait drawn from half to one and a half times it;
// otherwise at the next tick.
func (m *Machine) nextProbe() time.Time {
	fi := m.cfg.FaultInterval
	if fi <= m.cfg.Interval || m.State().Mode != rx.ModeFault {
		return time.Time{}
	}
	return time.Now().Add(fi/2 + rand.N(fi))
}

type probeResult struct {
	verdict verdict
	cause   string
	started time.Time // set by Run
}

// probe runs one probe under its own timeout. It returns when the timeout
// expires even if the Prober does not.
func (m *Machine) probe(ctx context.Context) probeResult {
	pctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	done := make(chan error, 1) // buffered: a late Prober never blocks
	go func() { done <- m.prober.Probe(pctx) }()
	var err error
	select {
	case err = <-done:
	case <-pctx.Done():
	}
	switch {
	case ctx.Err() != nil:
		return probeResult{verdict: ignored} // Run is ending
	case errors.Is(pctx.Err(), context.DeadlineExceeded):
		return probeResult{verdict: failed, cause: "no answer within " + m.cfg.Timeout.String()}
	case err == nil:
		return probeResult{verdict: answered}
	}
	v := judgeProbe(err)
	return probeResult{verdict: v, cause: describe(err)}
}

// Report gives the machine the result of a real call to the Prescription
// Centre: nil for a success, or the call's error. A transient failure (no
// connection, a timeout, 5xx) gives FAULT at once; a success in FAULT gives
// RECOVERING. Only the paced probes bring RECOVERING to ONLINE, so a burst
// of quick uploads cannot declare the service stable. Errors that are not
// transient (422, 409) and cancelled calls say nothing about the service
// and are ignored; so is throttling (429), which says it is up but busy.
//
// Report never touches the network. When the mode may change it reads and
// writes the journal, waiting at most a few seconds. It decides the common
// cases from the state last read, which Run keeps fresh.
func (m *Machine) Report(err error) {
	v := judgeCall(err)
	if v != answered && v != failed {
		return
	}
	// The common cases need no I/O: a success while not in FAULT, and a
	// failure while already in FAULT. The next probe corrects a stale
	// cache within an interval.
	// While a person holds the mode no result of a call changes it, and
	// Run notices the release.
	cached := m.State()
	if m.knownState() && (cached.Override || (v == answered) == (cached.Mode != rx.ModeFault)) {
		return
	}
	cause := ""
	if v == failed {
		cause = describe(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	m.observe(ctx, "call", v, cause)
}

func (m *Machine) knownState() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.known
}

// refresh re-reads the journal and publishes what it holds.
func (m *Machine) refresh(ctx context.Context) {
	m.decide.Lock()
	defer m.decide.Unlock()
	if cur, ok := m.read(ctx); ok {
		m.inBreak(ctx, cur) // a planned break begins without waiting for a probe
	}
}

// read returns the mode in the journal and publishes it; false when the
// journal could not be read.
func (m *Machine) read(ctx context.Context) (rx.ModeState, bool) {
	st, err := m.store.Mode(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.storeLog.fail(m, "read mode: "+err.Error())
		}
		return rx.ModeState{}, false
	}
	m.storeLog.ok(m)
	m.publish(st)
	return st, true
}

// observe applies one observation from source ("probe" or "call") to the
// mode in the journal.
func (m *Machine) observe(ctx context.Context, source string, v verdict, cause string) {
	if v == ignored {
		return
	}
	m.decide.Lock()
	defer m.decide.Unlock()
	if source == "probe" {
		switch v {
		case failed:
			m.probeLog.fail(m, "probe: "+cause)
		case answered:
			m.probeLog.ok(m)
		}
	}
	cur, ok := m.read(ctx)
	if !ok || v == busy {
		return
	}
	if cur.Override {
		// A person holds the mode; only they release it. Recovery counts
		// from the release.
		m.successes = 0
		return
	}
	if _, ok := m.inBreak(ctx, cur); ok {
		// Kela's planned break: FAULT until its end, whatever the probes
		// say; then they decide again, recovery counted from there.
		m.successes = 0
		return
	}
	// Each change names the mode it was decided on: decide serialises
	// this process only, and another process, or a pharmacist's override
	// in this one (the counter's F6 calls Force directly), may change the
	// mode between the read above and the write. The journal then refuses
	// the change, and the next observation decides afresh.
	switch {
	case v == failed:
		m.successes = 0
		if cur.Mode != rx.ModeFault {
			m.change(ctx, cur.Mode, rx.ModeFault, source+": "+cause)
		}
	case cur.Mode == rx.ModeFault:
		m.successes = 1
		cur = m.change(ctx, rx.ModeFault, rx.ModeRecovering, source+": answered again")
		if cur.Mode == rx.ModeRecovering && m.successes >= m.cfg.RecoverAfter && source == "probe" {
			m.change(ctx, rx.ModeRecovering, rx.ModeOnline, fmt.Sprintf("probe: %d answers in a row", m.successes))
		}
	case cur.Mode == rx.ModeRecovering && source == "probe":
		m.successes++
		if m.successes >= m.cfg.RecoverAfter {
			m.change(ctx, rx.ModeRecovering, rx.ModeOnline, fmt.Sprintf("probe: %d answers in a row", m.successes))
		}
	}
}

// change asks the journal for an automatic change from the mode the
// decision was made on, and publishes the state in force after it.
func (m *Machine) change(ctx context.Context, from, to rx.Mode, cause string) rx.ModeState {
	before := m.State()
	st, changed, err := m.store.ChangeMode(ctx, rx.ModeChange{From: from, To: to, Cause: cause})
	if err != nil {
		if ctx.Err() == nil {
			m.storeLog.fail(m, "change mode: "+err.Error())
		}
		return before
	}
	m.storeLog.ok(m)
	m.publish(st)
	if changed {
		m.log.LogAttrs(context.Background(), levelOf(to), "mode changed",
			slog.String(keyFrom, string(before.Mode)), slog.String(keyTo, string(to)), slog.String(keyCause, cause))
	}
	return st
}

// Log attribute keys.
const (
	keyFrom  = "from"
	keyTo    = "to"
	keyCause = "cause"
	keyError = "error"
	keyWhat  = "what"
)

func levelOf(to rx.Mode) slog.Level {
	if to == rx.ModeFault {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// throttle logs a failure when it first happens, again at most once a
// minute while the same one lasts, and "recovered" once when it ends
// (STYLE §5). It is guarded by Machine.decide.
type throttle struct {
	what    string
	last    string
	at      time.Time
	failing bool
}

func (t *throttle) fail(m *Machine, msg string) {
	now := m.cfg.Now()
	if t.failing && msg == t.last && now.Sub(t.at) < logEvery {
		return
	}
	t.failing, t.last, t.at = true, msg, now
	m.log.LogAttrs(context.Background(), slog.LevelWarn, t.what+" failed",
		slog.String(keyWhat, t.what), slog.String(keyError, msg))
}

func (t *throttle) ok(m *Machine) {
	if !t.failing {
		return
	}
	t.failing, t.last = false, ""
	m.log.LogAttrs(context.Background(), slog.LevelInfo, t.what+" recovered", slog.String(keyWhat, t.what))
}

// Force puts the counter in FAULT mode and holds it there, whatever the
// probes say, until Auto: for example on Kela's notice of a fault. reason
// and by (the person) are required and go into the audit record.
func Force(ctx context.Context, store Store, reason, by string) (rx.ModeState, error) {
	reason, by = strings.TrimSpace(reason), strings.TrimSpace(by)
	var v rx.ValidationError
	if reason == "" {
		v.Add("reason", "give the reason for fault mode, for example Kela's fault notice")
	}
	if by == "" {
		v.Add("by", "name the person forcing fault mode")
	}
	if err := v.Err(); err != nil {
		return rx.ModeState{}, err
	}
	// A person's word holds whatever mode it finds: the journal reads the
	// mode in force and writes the change in one transaction, so no probe
	// can slip in between, and the record names the mode it really left.
	st, _, err := store.ChangeMode(ctx, rx.ModeChange{
		To: rx.ModeFault, Cause: "manual: " + reason + " (by " + by + ")", Manual: true, Override: true, By: by,
	})
	if err != nil {
		return rx.ModeState{}, fmt.Errorf("force fault mode: %w", err)
	}
	return st, nil
}

// Auto releases a manual override and returns the mode to the probes. The
// mode itself stays as it is (FAULT after Force), so recovery goes through
// RECOVERING to ONLINE as the probes succeed, each step recorded. Without an
// override it changes nothing.
func Auto(ctx context.Context, store Store, by string) (rx.ModeState, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return rx.ModeState{}, rx.Errorf(rx.EINVALID, "Name the person returning the counter to automatic mode.")
	}
	// The release keeps the mode it finds, read and written in one
	// transaction; without an override it writes nothing.
	st, _, err := store.ChangeMode(ctx, rx.ModeChange{
		Cause: "manual: automatic mode (by " + by + ")", Manual: true, By: by,
	})
	if err != nil {
		return rx.ModeState{}, fmt.Errorf("return to automatic mode: %w", err)
	}
	return st, nil
}
