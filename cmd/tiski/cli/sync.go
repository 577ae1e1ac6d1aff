package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/syncbar"
)

// NewCmdSync builds `tiski sync`.
func NewCmdSync(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Show the upload queue, drain it now, or follow it live",
		Long: `Every record is committed to the journal first and then uploaded to the
Prescription Centre by the reconciliation queue: exactly once, with backoff
while the service is away, and with conflicts held for a pharmacist.

Exit codes of 'sync status' and 'sync run':
  0  everything is uploaded
  3  records are recorded locally and not yet uploaded
  4  records need a pharmacist's review ('tiski conflicts list')`,
	}
	cmd.AddCommand(NewCmdSyncStatus(f, nil), NewCmdSyncRun(f, nil), NewCmdSyncWatch(f, nil), NewCmdSyncAdopt(f, nil))
	return cmd
}

// SyncOptions are the options of `tiski sync status|run|watch`.
type SyncOptions struct {
	Factory  *Factory
	JSON     bool
	Once     bool
	Interval time.Duration
	Now      func() time.Time
}

// SyncStatus is what `tiski sync status --json` prints.
type SyncStatus struct {
	Mode rx.ModeState `json:"mode"`
	journal.Counts
	// OldestPendingSeconds is the age of the oldest record not yet
	// uploaded; 0 when there is none.
	OldestPendingSeconds int64 `json:"oldest_pending_seconds"`
	// Hub is the pharmacy's hub and the other counters (issue 19).
	Hub SyncHub `json:"hub"`
}

// openReadOnly opens the journal for a command that only reads and must
// answer at once: without the full integrity check (DESIGN §10: sync status
// in 100 ms on a journal of a million records).
func openReadOnly(ctx context.Context, f *Factory) (*journal.Journal, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("make data folder: %w", err)
	}
	return journal.Open(ctx, c.JournalPath(), journal.Options{Terminal: c.Terminal, SkipIntegrityCheck: true})
}

func syncStatus(ctx context.Context, j *journal.Journal, now time.Time) (SyncStatus, error) {
	st, err := j.Mode(ctx)
	if err != nil {
		return SyncStatus{}, err
	}
	counts, err := j.Counts(ctx)
	if err != nil {
		return SyncStatus{}, err
	}
	s := SyncStatus{Mode: st, Counts: counts, Hub: SyncHub{Counters: []SyncPeer{}}}
	if !counts.OldestPending.IsZero() {
		s.OldestPendingSeconds = int64(now.Sub(counts.OldestPending).Seconds())
	}
	return s, nil
}

// queueExit maps what is left in the outbox to the exit code of sync: 4
// when records wait for review (their dependents with them), else 3 while
// records are not uploaded, else 0.
func queueExit(c journal.Counts) error {
	switch {
	case c.NeedsReview() > 0:
		return &ExitError{Code: ExitConflicts}
	case c.Unsent() > 0:
		return &ExitError{Code: ExitPending}
	}
	return nil
}

// NewCmdSyncStatus builds `tiski sync status`.
func NewCmdSyncStatus(f *Factory, runF func(context.Context, *SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the mode and the upload queue at a glance",
		Long: `Print the mode and how many records are pending, being sent, waiting to be
retried, in conflict, rejected, parked, voided and done; the age of the oldest
record not yet uploaded; the last successful upload, the last attempt and the
last error. It reads counters the journal keeps, so it answers at once however
large the journal. Exit code 0, 3 or 4 as for 'tiski sync'.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return syncStatusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func syncStatusRun(ctx context.Context, opts *SyncOptions) error {
	f := opts.Factory
	j, err := openReadOnly(ctx, f)
	if err != nil {
		return err
	}
	defer j.Close()
	f.hubCatchUp(ctx, j)
	s, err := syncStatus(ctx, j, opts.Now())
	if err != nil {
		return err
	}
	if s.Hub, err = syncHub(ctx, f, j); err != nil {
		return err
	}
	if opts.JSON {
		if err := json.NewEncoder(f.IO.Out).Encode(s); err != nil {
			return err
		}
	} else {
		printSyncStatus(f.IO.Out, f.Lang(), s, opts.Now())
		if s.Hub.Configured {
			printSyncHub(f.IO.Out, f.Lang(), s.Hub, opts.Now())
		}
	}
	return queueExit(s.Counts)
}

func printSyncStatus(out io.Writer, l i18n.Lang, s SyncStatus, now time.Time) {
	mode := modeText(l, s.Mode.Mode)
	if s.Mode.Override {
		mode += " " + l.T(i18n.CLIHeldManually)
	}
	if !s.Mode.Since.IsZero() {
		mode += " " + l.T(i18n.CLISince, s.Mode.Since.Local().Format("2006-01-02 15:04:05"), s.Mode.Cause)
	}
	c := s.Counts
	lastError := l.T(i18n.CLINone)
	if c.LastError != "" {
		lastError = l.T(i18n.CLISyncErrorAt, c.LastError, ago(l, c.LastErrorAt, now, l.T(i18n.CLIUnknownTime)))
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	writeFields(out, l, true, 0, syncLabels, [][2]string{
		{l.T(i18n.CLISyncMode), mode},
		{l.T(i18n.CLISyncPending), n(c.Pending)},
		{l.T(i18n.CLISyncSending), n(c.Sending)},
		{l.T(i18n.CLISyncRetry), n(c.Retry)},
		{l.T(i18n.CLISyncConflict), n(c.Conflict)},
		{l.T(i18n.CLISyncRejected), n(c.Rejected)},
		{l.T(i18n.CLISyncParked), n(c.Parked)},
		{l.T(i18n.CLISyncVoided), n(c.Voided)},
		{l.T(i18n.CLISyncDone), n(c.Done)},
		{l.T(i18n.CLISyncOldest), ago(l, c.OldestPending, now, l.T(i18n.CLINone))},
		{l.T(i18n.CLISyncLastUpload), ago(l, c.LastDone, now, l.T(i18n.CLINever))},
		{l.T(i18n.CLISyncLastAttempt), ago(l, c.LastAttempt, now, l.T(i18n.CLINever))},
		{l.T(i18n.CLISyncLastError), lastError},
	})
	if c.NeedsReview() > 0 {
		fmt.Fprintln(out, l.T(i18n.CLIReviewHint, c.NeedsReview()))
	}
}

// syncLabels are the labels of `tiski sync status`, which set the width
// of its label column.
var syncLabels = []i18n.Key{i18n.CLISyncMode, i18n.CLISyncPending, i18n.CLISyncSending, i18n.CLISyncRetry,
	i18n.CLISyncConflict, i18n.CLISyncRejected, i18n.CLISyncParked, i18n.CLISyncVoided, i18n.CLISyncDone,
	i18n.CLISyncOldest, i18n.CLISyncLastUpload, i18n.CLISyncLastAttempt, i18n.CLISyncLastError}

// ago shows a time with how long ago it was.
func ago(l i18n.Lang, t, now time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return l.T(i18n.CLIAgo, t.Local().Format("2006-01-02 15:04:05"), now.Sub(t).Round(time.Second))
}

// NewCmdSyncRun builds `tiski sync run`.
func NewCmdSyncRun(f *Factory, runF func(context.Context, *SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "run [--once]",
		Short: "Upload the queue now, with a progress bar",
		Long: `Upload the records waiting in the journal to the Prescription Centre now. The
health probe runs beside the upload and keeps the mode up to date.

Without --once it keeps going until nothing is left to send, waiting out
faults and backoffs (Ctrl-C stops it safely: a record being sent is sent
again later, never twice). With --once it makes one pass over the records
due now and leaves the rest for later.

A progress bar shows on a terminal; piped, it prints plain lines. With --json
it prints JSON lines instead, the same keys in every language: "progress"
(at most one a second, when the counts change), "review" (each record that
went to conflict or was rejected) and, last, "summary". Exit code 0, 3 or 4
as for 'tiski sync'.`,
		Example: `  tiski sync run
  tiski sync run --once --centre https://centre.example:8443
  tiski sync run --json | jq -c 'select(.event == "review")'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return syncRunRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Once, "once", false, "one pass over the records due now, then exit")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON lines (progress, review, summary), never the bar")
	return cmd
}

// workerConfig is the queue's configuration from the effective one.
func workerConfig(f *Factory) (queue.Config, error) {
	c, err := f.Config()
	if err != nil {
		return queue.Config{}, err
	}
	return queue.Config{
		Concurrency:       c.Sync.Concurrency,
		LeaseTTL:          c.Sync.Lease,
		InitialInterval:   c.Sync.InitialInterval,
		MaxInterval:       c.Sync.MaxInterval,
		Multiplier:        c.Sync.Multiplier,
		Rate:              c.Sync.Rate,
		DuplicateWindow:   c.Sync.DuplicateWindow,
		SubstitutionGroup: f.substitutionGroups(),
		Logger:            f.Logger(),
	}, nil
}

func syncRunRun(ctx context.Context, opts *SyncOptions) error {
	f := opts.Factory
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	f.hubCatchUp(ctx, j)
	client, err := f.Centre()
	if err != nil {
		return err
	}
	defer client.Close()
	cfg, err := workerConfig(f)
	if err != nil {
		return err
	}
	start, err := j.Counts(ctx)
	if err != nil {
		return err
	}
	p := newProgress(f.IO.Out, f.Lang(), start.Unsent(), opts.Now, f.Getenv)
	if opts.JSON {
		p.tty, p.json = false, json.NewEncoder(f.IO.Out)
	}
	cfg.OnOutcome = p.outcome

	m, w, err := uploader(f, j, client, cfg)
	if err != nil {
		return err
	}
	f.Logger().Info("sync run", logKeyCmd, "sync run", "owner", w.Owner(), "once", opts.Once)

	// The mode machine runs beside the worker: uploads report to it, and
	// its recovery wakes the worker's backoffs.
	p.start()
	stop := runBeside(ctx, m, w, func(ctx context.Context) { p.tick(ctx, m.State) })
	sum, err := w.Drain(ctx, opts.Once)
	stop()
	if err := p.finish(); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "tiski: warning: the progress bar: %v\n", err)
	}
	if err != nil {
		return err
	}
	end, err := j.Counts(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	if opts.JSON {
		if err := p.json.Encode(SyncRunEvent{Event: "summary", Uploaded: int64(sum.Uploaded), Conflicts: int64(sum.Conflicts),
			Rejected: int64(sum.Rejected), Retries: int64(sum.Retries), Left: end.Unsent() - int64(sum.Blocked),
			Blocked: int64(sum.Blocked), NeedsReview: end.NeedsReview()}); err != nil {
			return err
		}
		return queueExit(end)
	}
	fmt.Fprintln(f.IO.Out, f.Lang().T(i18n.CLISyncRunSummary,
		sum.Uploaded, sum.Conflicts, sum.Rejected, sum.Retries, end.Unsent()-int64(sum.Blocked), sum.Blocked, end.NeedsReview()))
	return queueExit(end)
}

// progress shows a drain: on a terminal, a bar (tui/syncbar) redrawn at
// most ten times a second, with the conflicts and rejections printed above
// it; piped, plain lines (at most one a second, plus one per record that
// needs review), which scripts read and which stay as they were.
type progress struct {
	out   io.Writer
	lang  i18n.Lang
	tty   bool
	now   func() time.Time
	total int64

	mu        sync.Mutex
	done      int64
	retries   int64
	conflicts int64
	rejected  int64
	lastLine  string
	lastPrint time.Time
	bar       *syncbar.Bar  // on a terminal, between start and finish
	json      *json.Encoder // with --json: JSON lines instead of text
}

// SyncRunEvent is one line of `tiski sync run --json`: "progress" (the
// counts so far, at most one a second when they change), "review" (a
// record that went to conflict or was rejected), "note" (a record done
// with something to say: a renewal request answered as already requested)
// or "summary" (the last line). Its keys are the same in every language.
type SyncRunEvent struct {
	Event string `json:"event"`
	// progress
	Total int64   `json:"total,omitempty"`
	Mode  rx.Mode `json:"mode,omitempty"`
	// progress and summary
	Uploaded  int64 `json:"uploaded"`
	Retries   int64 `json:"retries"`
	Conflicts int64 `json:"conflicts"`
	Rejected  int64 `json:"rejected"`
	// summary
	Left        int64 `json:"left,omitempty"`         // still to send (not counting blocked)
	Blocked     int64 `json:"blocked,omitempty"`      // waiting for a record that needs review
	NeedsReview int64 `json:"needs_review,omitempty"` // conflicts and rejections in the journal
	// review
	State    string `json:"state,omitempty"`
	Kind     string `json:"kind,omitempty"`
	RecordID string `json:"record_id,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

func newProgress(out io.Writer, lang i18n.Lang, total int64, now func() time.Time, getenv func(string) string) *progress {
	return &progress{out: out, lang: lang, tty: barTerminal(out, getenv), total: total, now: now}
}

// barTerminal reports whether out is a terminal that can draw the bar: a
// redirect or a pipe gets the plain lines, and so does a terminal that
// says it cannot move its cursor (TERM=dumb, Emacs' shell).
func barTerminal(out io.Writer, getenv func(string) string) bool {
	file, ok := out.(*os.File)
	return ok && term.IsTerminal(int(file.Fd())) && getenv("TERM") != "dumb"
}

// start shows the bar on a terminal.
func (p *progress) start() {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar = syncbar.Start(p.out, p.lang, p.counts(""))
}

// counts is where the run stands. p.mu is held.
func (p *progress) counts(mode rx.Mode) syncbar.Counts {
	return syncbar.Counts{Total: p.total, Uploaded: p.done, Conflicts: p.conflicts, Rejected: p.rejected,
		Retries: p.retries, Mode: mode, At: p.now()}
}

func (p *progress) outcome(o queue.Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch o.State {
	case journal.OutboxDone, journal.OutboxVoided:
		p.done++
		if o.Detail != "" {
			// Done without a review, but worth a line: a renewal
			// request answered as already requested (issue 23).
			if p.json != nil {
				p.json.Encode(SyncRunEvent{Event: "note", State: string(o.State), Kind: string(o.Kind), RecordID: o.RecordID, Detail: o.Detail})
				break
			}
			line := fmt.Sprintf("%s %s %s: %s", o.State, o.Kind, o.RecordID, o.Detail)
			if p.bar == nil || !p.bar.Print(line) {
				fmt.Fprintln(p.out, line)
			}
		}
	case journal.OutboxRetry:
		p.retries++
	case journal.OutboxConflict, journal.OutboxRejected:
		if o.State == journal.OutboxConflict {
			p.conflicts++
		} else {
			p.rejected++
		}
		if p.json != nil {
			p.json.Encode(SyncRunEvent{Event: "review", State: string(o.State), Kind: string(o.Kind), RecordID: o.RecordID, Detail: o.Detail})
			break
		}
		line := fmt.Sprintf("%s %s %s: %s", o.State, o.Kind, o.RecordID, o.Detail)
		if p.bar == nil || !p.bar.Print(line) {
			fmt.Fprintln(p.out, line)
		}
	}
	if review := p.conflicts + p.rejected; p.total < p.done+review {
		p.total = p.done + review // records added while running
	}
}

// tick redraws ten times a second on a terminal, once a second when piped.
func (p *progress) tick(ctx context.Context, mode func() rx.ModeState) {
	every := time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.draw(mode().Mode)
		}
	}
}

func (p *progress) draw(mode rx.Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Show(p.counts(mode))
		return
	}
	if p.tty {
		return // the bar is not up yet, or is down already
	}
	if p.json != nil {
		ev := SyncRunEvent{Event: "progress", Total: p.total, Mode: mode, Uploaded: p.done, Retries: p.retries,
			Conflicts: p.conflicts, Rejected: p.rejected}
		if line, _ := json.Marshal(ev); string(line) != p.lastLine {
			p.json.Encode(ev)
			p.lastLine, p.lastPrint = string(line), p.now()
		}
		return
	}
	counts := p.lang.T(i18n.CLISyncProgress, p.done, p.total, p.retries, p.conflicts+p.rejected)
	if mode != "" {
		counts += ", " + string(mode)
	}
	if counts != p.lastLine {
		fmt.Fprintln(p.out, counts)
		p.lastLine, p.lastPrint = counts, p.now()
	}
}

// finish draws the last counts, and on a terminal takes the bar down,
// leaving it on the screen above what follows.
func (p *progress) finish() error {
	p.mu.Lock()
	bar := p.bar
	p.bar = nil
	final := p.counts("")
	p.mu.Unlock()
	if bar == nil {
		p.draw("")
		return nil
	}
	return bar.Stop(final)
}

// NewCmdSyncWatch builds `tiski sync watch`.
func NewCmdSyncWatch(f *Factory, runF func(context.Context, *SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow the mode and the upload queue live until Ctrl-C",
		Long: `Print a line whenever the mode or the queue changes: the counts of pending,
sending, retry, conflict, rejected, parked and done records and the last
error. It only reads; the counter or 'tiski sync run' uploads.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return syncWatchRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Interval, "interval", time.Second, "how often to look")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print each change as a JSON line")
	return cmd
}

func syncWatchRun(ctx context.Context, opts *SyncOptions) error {
	f := opts.Factory
	if opts.Interval <= 0 {
		return usageError{fmt.Errorf("--interval must be positive")}
	}
	j, err := openReadOnly(ctx, f)
	if err != nil {
		return err
	}
	defer j.Close()
	// A back-office PC with no counter runs sync watch: it shares and
	// receives continuously while it runs.
	if stopSharing, err := f.startSharing(ctx, j); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "tiski: warning: the pharmacy's hub: %v\n", err)
	} else {
		defer stopSharing()
	}
	last, l := "", f.Lang()
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		s, err := syncStatus(ctx, j, opts.Now())
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		c := s.Counts
		line := l.T(i18n.CLISyncWatch, s.Mode.Mode, c.Pending, c.Sending, c.Retry, c.Conflict, c.Rejected, c.Parked, c.Done)
		if c.LastError != "" {
			line += l.T(i18n.CLISyncWatchError, c.LastError)
		}
		if s.Hub, err = watchHub(ctx, f, j); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if s.Hub.Configured {
			k := i18n.HubDisconnected
			if s.Hub.Reachable {
				k = i18n.HubConnected
			}
			line += "  " + l.T(k, s.Hub.Unshared)
		}
		if line != last {
			last = line
			if opts.JSON {
				if err := json.NewEncoder(f.IO.Out).Encode(s); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(f.IO.Out, "%s  %s\n", opts.Now().Format("15:04:05"), line)
			}
		}
		select {
		case <-ctx.Done():
			return nil // Ctrl-C is how watch ends
		case <-t.C:
		}
	}
}
