// Package queue reconciles the journal with the Prescription Centre (DESIGN
// §6): it leases outbox entries, uploads them, classifies what comes back,
// and records conflicts for a pharmacist. It never loses a record, never
// sends one twice to a different effect (every create is conditional on the
// record's UUID), and never drops a conflict.
//
// The Worker takes interfaces (Store, Centre, Reporter); only cmd/ builds
// the concrete journal and client. It keeps no global state and takes its
// clock from Config, so many Workers can run in one process (the
// reconnect-storm simulation) on real or simulated time.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Store is what the Worker needs of the journal. *journal.Journal
// implements it.
type Store interface {
	Lease(ctx context.Context, owner string, max int, ttl time.Duration) ([]journal.OutboxEntry, error)
	LeaseDependents(ctx context.Context, owner, recordID string, ttl time.Duration) ([]journal.OutboxEntry, error)
	Complete(ctx context.Context, id, owner, upstreamID string) error
	CompleteAll(ctx context.Context, owner string, cs []journal.Completion) error
	Retry(ctx context.Context, id, owner string, next time.Time, lastErr string) error
	RetryAll(ctx context.Context, owner string, ids []string, next time.Time, lastErr string) error
	Conflict(ctx context.Context, id, owner, reason string) error
	Reject(ctx context.Context, id, owner, reason string) error
	Get(ctx context.Context, id string) (journal.Record, error)
	List(ctx context.Context, f journal.Filter) ([]journal.Record, error)
	Outbox(ctx context.Context, id string) (journal.OutboxEntry, error)
	OutboxList(ctx context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error)
	Resolve(ctx context.Context, nr journal.NewRecord, to journal.OutboxState) (journal.Record, error)
	WakeRetries(ctx context.Context) (int, error)
}

// Centre is what the Worker needs of the Prescription Centre.
// *centre.Client implements it.
type Centre interface {
	RecordDispensing(ctx context.Context, d rx.Dispensing, opts ...centre.Option) (centre.Receipt, error)
	RecordPrescription(ctx context.Context, p rx.Prescription, ds []rx.Dispensing, opts ...centre.Option) (centre.TransactionReceipt, error)
	VoidDispensing(ctx context.Context, recordID, reason string) (centre.Receipt, error)
	VoidPrescription(ctx context.Context, recordID, reason string) (centre.Receipt, error)
	// RecordRenewal sends a renewal request as a Task, a conditional
	// create on its record id (issue 23).
	RecordRenewal(ctx context.Context, r rx.Renewal) (centre.Receipt, error)
	// Prescription reads an e-prescription, which must be patient's
	// (centre.Client.Prescription: another patient's is ErrWrongPatient).
	Prescription(ctx context.Context, id, patient string) (rx.Prescription, error)
	Prescriptions(ctx context.Context, hetu string) ([]rx.Prescription, error)
}

// Reporter takes the result of every call to the Prescription Centre: nil
// for a success, else the error. *mode.Machine implements it, so a failing
// upload puts the counter in FAULT at once and a succeeding one starts
// recovery.
type Reporter interface {
	Report(err error)
}

// Defaults for the zero values of Config.
const (
	DefaultConcurrency     = 4
	DefaultLeaseTTL        = 2 * time.Minute
	DefaultInitialInterval = time.Second
	DefaultMaxInterval     = 5 * time.Minute
	DefaultMultiplier      = 2.0
	DefaultRate            = 20.0 // requests a second
	DefaultDuplicateWindow = 7 * 24 * time.Hour
	DefaultPollInterval    = time.Second
	DefaultWakeJitter      = time.Second
	DefaultWakeRate        = 0.25 // requests a second at the start of a slow start (pace.go)
)

// Config configures a Worker. The zero value gives the defaults.
type Config struct {
	// Owner names this sender in leases; it must be unique among the
	// processes on one journal. Default: host, process id and a random
	// suffix.
	Owner string
	// Concurrency bounds the records uploaded at once. Default 4.
	Concurrency int
	// LeaseTTL is how long a leased record is ours before another sender
	// may take it over (we crashed). It must outlast one upload. Default
	// 2 min.
	LeaseTTL time.Duration
	// InitialInterval, MaxInterval and Multiplier shape the exponential
	// backoff of a record after a transient failure; the wait is drawn
	// uniformly below the ceiling (full jitter). Defaults 1 s, 5 min, 2.
	InitialInterval time.Duration
	MaxInterval     time.Duration
	Multiplier      float64
	// Rate limits requests to the Prescription Centre a second, with
	// bursts of Burst. Default 20 a second, burst Concurrency. A negative
	// Rate is unlimited.
	Rate  float64
	Burst int
	// DuplicateWindow: a paper or telephone prescription issued within
	// this of an e-prescription with the same ATC code and prescriber is a
	// possible duplicate. Default 7 days.
	DuplicateWindow time.Duration
	// SubstitutionGroup, when set, looks up the substitution group of a
	// package number (VNR) in the local medicine catalogue: "" when the
	// package is not there or has none. The duplicate check asks it for a
	// medicine that carries no group of its own (an e-prescription's
	// Medication), so that a paper prescription of a generic, another
	// product in the same group, is caught as a possible duplicate.
	SubstitutionGroup func(ctx context.Context, vnr string) (string, error)
	// PollInterval is how often, on average, an idle Worker looks for records another
	// process added (Kick wakes it at once in this one). Default 1 s.
	PollInterval time.Duration
	// NoJitter turns full jitter off: a retry waits its whole backoff
	// ceiling, and Wake makes every waiting retry due at once. It is the
	// naive client that the reconnect-storm drill compares with (tiski
	// drill herd --jitter none); a counter never sets it.
	NoJitter bool
	// WakeJitter and WakeRate shape Wake under full jitter. The first
	// upload after a recovery starts at a random moment within WakeJitter
	// (DESIGN §10: within 2 s of the successful probe), and the backlog
	// follows in a slow start from WakeRate a second, growing as the
	// server's answers allow, up to Rate (pace.go). So 830 pharmacies
	// recovering together reach the server's capacity together instead of
	// sending their backlogs in the same second, and a lone counter is
	// back at its full rate within seconds. Defaults 1 s and a quarter a
	// second.
	WakeJitter time.Duration
	WakeRate   float64
	// Now and After are the clock. Defaults time.Now and time.After.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Logger gets failures (the same one at most once a minute),
	// "recovered", conflicts and rejections. No identity code is logged.
	// Default: discard.
	Logger *slog.Logger
	// OnOutcome, when set, is called after each record is settled, from
	// the goroutine that settled it (a progress bar, a test): an upload's,
	// or for a record done the committer's, so calls may overlap even at
	// Concurrency 1.
	OnOutcome func(Outcome)
}

// Outcome is what happened to one record in one attempt.
type Outcome struct {
	RecordID   string              `json:"record_id"`
	Kind       journal.Kind        `json:"kind"`
	State      journal.OutboxState `json:"state"` // done, retry, conflict, rejected or voided
	UpstreamID string              `json:"upstream_id,omitempty"`
	Detail     string              `json:"detail,omitempty"` // the conflict, rejection or failure
	Next       time.Time           `json:"next,omitzero"`    // the next attempt, for retry
}

// Worker uploads the outbox. Its methods are safe for concurrent use; Run
// and Drain must not run at the same time on one Worker.
type Worker struct {
	store    Store
	centre   Centre
	reporter Reporter
	cfg      Config
	log      *slog.Logger
	bucket   *tokenBucket
	kick     chan struct{}

	mu     sync.Mutex
	floors map[string]time.Time // Retry-After floors by record, for records woken early
	woken  map[string]int       // attempts of each record at its Wake: its backoff starts again from there
	logs   map[string]*logState // throttled log lines by key
	stats  Summary              // outcomes of the current Drain or Run
	// commits feeds the committer while Run or Drain runs; nil otherwise.
	commits chan commit
	// unsettled counts the completions handed to the committer and not
	// yet written (upload.go).
	unsettled atomic.Int64
}

// New returns a Worker over the store and the client. reporter may be nil.
func New(store Store, c Centre, reporter Reporter, cfg Config) *Worker {
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.InitialInterval <= 0 {
		cfg.InitialInterval = DefaultInitialInterval
	}
	if cfg.MaxInterval <= 0 {
		cfg.MaxInterval = DefaultMaxInterval
	}
	cfg.MaxInterval = max(cfg.MaxInterval, cfg.InitialInterval)
	if cfg.Multiplier < 1 {
		cfg.Multiplier = DefaultMultiplier
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = cfg.Concurrency
	}
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = DefaultDuplicateWindow
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.WakeJitter <= 0 {
		cfg.WakeJitter = DefaultWakeJitter
	}
	if cfg.WakeRate <= 0 {
		cfg.WakeRate = DefaultWakeRate
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rate := cfg.Rate
	if rate < 0 {
		rate = 0
	}
	bucket := newTokenBucket(rate, cfg.Burst, cfg.Now)
	if !cfg.NoJitter {
		bucket.spread = rand.Float64 // pace.go: spread
	}
	return &Worker{
		store: store, centre: c, reporter: reporter, cfg: cfg, log: cfg.Logger,
		bucket: bucket,
		kick:   make(chan struct{}, 1),
		floors: map[string]time.Time{},
		woken:  map[string]int{},
		logs:   map[string]*logState{},
	}
}

// Owner is the name this Worker leases under.
func (w *Worker) Owner() string { return w.cfg.Owner }

// Kick asks the Worker to look for records now: the counter calls it after
// a new record, and Wake after recovery. It never blocks.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Wake brings forward the records waiting out a backoff and kicks the
// Worker: for when the mode goes RECOVERING, so the first upload starts
// within 2 s of a successful probe (DESIGN §10). A record whose server
// stated a Retry-After still waits for it.
//
// Under full jitter the first upload waits a random moment within
// WakeJitter and the backlog follows in a slow start from WakeRate (see
// pace.go): a backlog is not sent in one burst by every pharmacy at the
// moment the Prescription Centre comes back, yet it drains at what the
// server takes, not at what a fixed schedule allows. With NoJitter (the
// naive client) every retry goes at once at the full rate. Either way the
// backoff of a woken record starts again: failures during the outage say
// nothing about the load after it.
func (w *Worker) Wake(ctx context.Context) error {
	waiting, err := w.store.OutboxList(ctx, journal.OutboxRetry)
	if err != nil {
		w.Kick()
		return fmt.Errorf("list records to wake: %w", err)
	}
	w.mu.Lock()
	for _, e := range waiting {
		w.woken[e.RecordID] = e.Attempts
	}
	w.mu.Unlock()
	if !w.cfg.NoJitter {
		w.bucket.restart(w.cfg.WakeRate)
		w.bucket.holdUntil(w.cfg.Now().Add(jitter(w.cfg.WakeJitter)))
	}
	_, err = w.store.WakeRetries(ctx)
	w.Kick()
	return err
}

// FollowMode calls Wake whenever the mode goes RECOVERING, until ctx ends
// or states closes. Pass the channel of (*mode.Machine).Subscribe.
func (w *Worker) FollowMode(ctx context.Context, states <-chan rx.ModeState) {
	last := rx.Mode("")
	for {
		select {
		case <-ctx.Done():
			return
		case st, ok := <-states:
			if !ok {
				return
			}
			if st.Mode == rx.ModeRecovering && last != rx.ModeRecovering {
				if err := w.Wake(ctx); err != nil && ctx.Err() == nil {
					w.fail("wake", fmt.Errorf("wake retries: %w", err))
				}
			}
			last = st.Mode
		}
	}
}

// Summary counts what one Drain or Run did, and what is left.
type Summary struct {
	Uploaded  int `json:"uploaded"`  // records now done
	Retries   int `json:"retries"`   // transient failures, each to be tried again
	Conflicts int `json:"conflicts"` // records that went to conflict
	Rejected  int `json:"rejected"`  // records the Prescription Centre refused
	Voided    int `json:"voided"`    // records voided before upload
	Left      int `json:"left"`      // records still to send that are not blocked
	Blocked   int `json:"blocked"`   // records waiting on a record that needs review
}

// Run uploads until ctx ends, which is a normal exit (nil): new records
// (Kick, or found by polling), retries when due, leases of crashed senders
// when they expire.
func (w *Worker) Run(ctx context.Context) error {
	_, err := w.loop(ctx, runForever)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Drain uploads what there is to upload and returns. With once it makes
// one pass over the records due now, leaving retries for later; without, it
// keeps going, waiting out backoffs and faults, until nothing is left to
// send except records blocked behind one that needs review. Its error is
// ctx's when it ends first.
func (w *Worker) Drain(ctx context.Context, once bool) (Summary, error) {
	m := drainAll
	if once {
		m = drainOnce
	}
	return w.loop(ctx, m)
}

type loopMode int

const (
	runForever loopMode = iota
	drainAll
	drainOnce
)

func (w *Worker) loop(ctx context.Context, m loopMode) (Summary, error) {
	w.mu.Lock()
	w.stats = Summary{}
	w.mu.Unlock()

	commits := make(chan commit, max(w.cfg.Concurrency, maxGroup))
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		w.committer(commits)
	}()
	w.mu.Lock()
	w.commits = commits
	w.mu.Unlock()
	var wg sync.WaitGroup
	defer func() {
		// The uploads first, then the committer they may be waiting on.
		wg.Wait()
		w.mu.Lock()
		w.commits = nil
		w.mu.Unlock()
		close(commits)
		<-committed
	}()
	done := make(chan struct{}, w.cfg.Concurrency)
	inflight := 0
	var queue []leased
	leaseFailed := false
	for {
		if ctx.Err() != nil {
			for ; inflight > 0; inflight-- {
				<-done
			}
			w.flushCommits()
			return w.summary(), ctx.Err()
		}
		// Lease ahead, in batches: a slot freed is refilled without a
		// journal transaction, and one lease serves many uploads. The
		// entries wait in memory well within their lease.
		leaseFailed = false
		if len(queue) <= w.cfg.Concurrency/4 {
			n := max(1, w.cfg.Concurrency*4-inflight-len(queue))
			got, err := w.store.Lease(ctx, w.cfg.Owner, n, w.cfg.LeaseTTL)
			switch {
			case err != nil && ctx.Err() == nil:
				w.fail("lease", fmt.Errorf("lease outbox entries: %w", err))
				leaseFailed = true
			case err == nil:
				w.ok("lease")
				queue = append(queue, w.prefetch(ctx, got)...)
			}
		}
		for inflight < w.cfg.Concurrency && len(queue) > 0 {
			l := queue[0]
			queue = queue[1:]
			inflight++
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.handle(ctx, l)
				done <- struct{}{}
			}()
		}
		if inflight > 0 {
			select {
			case <-done:
				inflight--
			case <-ctx.Done():
			}
			continue
		}
		if w.flushCommits() {
			continue // what was written may have freed records waiting for it
		}
		// Nothing in flight and nothing due.
		// Polls are jittered about PollInterval: senders started together
		// (the counters of a pharmacy after a power cut, the herd) do not
		// look, and send what came due, in step.
		wait := w.cfg.PollInterval/2 + jitter(w.cfg.PollInterval)
		if !leaseFailed && m != runForever {
			if m == drainOnce {
				err := w.fillLeft(ctx)
				return w.summary(), err
			}
			left, next, err := w.left(ctx)
			if err == nil && left == 0 {
				err := w.fillLeft(ctx)
				return w.summary(), err
			}
			if err == nil && !next.IsZero() {
				wait = min(wait, max(next.Sub(w.cfg.Now()), time.Millisecond))
			}
		}
		select {
		case <-w.kick:
		case <-w.cfg.After(wait):
		case <-ctx.Done():
		}
	}
}

func (w *Worker) summary() Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// fillLeft counts what is left into the summary.
func (w *Worker) fillLeft(ctx context.Context) error {
	blocked, err := Blocked(ctx, w.store)
	if err != nil {
		return err
	}
	left, _, err := w.left(ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.stats.Left, w.stats.Blocked = left, len(blocked)
	w.mu.Unlock()
	return nil
}

// left returns how many records are still to send and not blocked behind
// one that needs review, and when the earliest of them falls due (a retry,
// or another sender's lease running out).
func (w *Worker) left(ctx context.Context) (int, time.Time, error) {
	unsent, err := w.store.OutboxList(ctx, journal.OutboxPending, journal.OutboxRetry, journal.OutboxSending)
	if err != nil {
		return 0, time.Time{}, err
	}
	blocked, err := Blocked(ctx, w.store)
	if err != nil {
		return 0, time.Time{}, err
	}
	isBlocked := map[string]bool{}
	for _, b := range blocked {
		isBlocked[b.Entry.RecordID] = true
	}
	n := 0
	var next time.Time
	for _, e := range unsent {
		if isBlocked[e.RecordID] {
			continue
		}
		n++
		var due time.Time
		switch e.State {
		case journal.OutboxRetry, journal.OutboxPending:
			due = e.NextAttempt
		case journal.OutboxSending:
			due = e.LeaseExpires
		}
		if !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return n, next, nil
}

// count adds an outcome to the summary and tells OnOutcome.
func (w *Worker) count(o Outcome) {
	w.mu.Lock()
	switch o.State {
	case journal.OutboxDone:
		w.stats.Uploaded++
	case journal.OutboxRetry:
		w.stats.Retries++
	case journal.OutboxConflict:
		w.stats.Conflicts++
	case journal.OutboxRejected:
		w.stats.Rejected++
	case journal.OutboxVoided:
		w.stats.Voided++
	}
	w.mu.Unlock()
	if w.cfg.OnOutcome != nil {
		w.cfg.OnOutcome(o)
	}
}

// Log attribute keys (STYLE §6). Records are named by UUID, never by
// patient.
const (
	logKeyRecord   = "record"
	logKeyKind     = "kind"
	logKeyWhat     = "what"
	logKeyError    = "error"
	logKeyConflict = "conflict"
	logKeyUpstream = "upstream"
	logKeyVNR      = "vnr"
)

// logEvery is how often the same failure is logged again while it lasts.
const logEvery = time.Minute

type logState struct {
	msg     string
	at      time.Time
	failing bool
}

// fail logs a failure of what when it first happens, and again at most
// once a minute while the same failure lasts (STYLE §5).
func (w *Worker) fail(what string, err error) {
	now := w.cfg.Now()
	msg := err.Error()
	w.mu.Lock()
	st := w.logs[what]
	if st == nil {
		st = &logState{}
		w.logs[what] = st
	}
	quiet := st.failing && st.msg == msg && now.Sub(st.at) < logEvery
	if !quiet {
		st.failing, st.msg, st.at = true, msg, now
	}
	w.mu.Unlock()
	if !quiet {
		w.log.LogAttrs(context.Background(), slog.LevelWarn, what+" failed", slog.String(logKeyWhat, what), slog.String(logKeyError, msg))
	}
}

// ok logs "recovered" once when what worked again after failing.
func (w *Worker) ok(what string) {
	w.mu.Lock()
	st := w.logs[what]
	recovered := st != nil && st.failing
	if recovered {
		st.failing, st.msg = false, ""
	}
	w.mu.Unlock()
	if recovered {
		w.log.LogAttrs(context.Background(), slog.LevelInfo, what+" recovered", slog.String(logKeyWhat, what))
	}
}

// errorsAs is errors.As for the centre's error type.
func centreError(err error) (*centre.Error, bool) {
	var ce *centre.Error
	ok := errors.As(err, &ce)
	return ce, ok
}
