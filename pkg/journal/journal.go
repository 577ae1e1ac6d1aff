// Package journal is tiski's local SQLite journal (DESIGN §5): the one write
// path of every dispensing. A record the pharmacist saw confirmed is on disk:
// Append returns only after its transaction is durable (WAL, synchronous=FULL).
//
// Records are immutable and chained by SHA-256 hashes; the outbox carries them
// upstream (an append marks a record for upload; the outbox takes it in at
// its next write, see intake.go); the counter's mode lives here as
// mode_change records, so every process on one journal agrees on it.
//
// The file is opened with its pragmas in the DSN. Writes go through one
// connection that begins every transaction IMMEDIATE, so writers in this
// process queue in Go; a writer in another process is waited for by polling
// every millisecond or so (see beginWrite); reads use a pool of their own and
// see WAL snapshots. Each exported method is one transaction.
package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// ApplicationID marks an SQLite file as a tiski journal (PRAGMA
// application_id): the bytes "TiSk".
const ApplicationID = 0x5469536b

// Options configure Open.
type Options struct {
	Now         func() time.Time // the clock; nil: time.Now
	Terminal    string           // the terminal id, recorded on every record
	BusyTimeout time.Duration    // how long a write waits for another process; 0: 10s

	// SkipIntegrityCheck skips the full PRAGMA integrity_check at Open,
	// which reads the whole file (about 2.5 s per 200,000 records). It is
	// for read-only commands that must answer at once (sync status, mode
	// status); the header, application id and schema version are still
	// checked. The counter and every command that writes leave it false.
	SkipIntegrityCheck bool
	// CheckInBackground runs the integrity check after Open returns, and
	// makes every write wait for it (integrity.go): for the counter, whose
	// first frame must not wait for a check of the whole file.
	CheckInBackground bool
	// ReleaseIdle closes each connection as soon as it is not in use, so
	// an idle journal holds no file descriptor: for a simulation of
	// thousands of pharmacies in one process (queue/herd), which would
	// otherwise need five descriptors a journal. Each call then opens its
	// connection anew, and the last one to close checkpoints the WAL:
	// slower, never for a counter.
	ReleaseIdle bool
}

// Journal is an open journal file. It is safe for concurrent use, and other
// processes may have the same file open.
type Journal struct {
	path     string
	w        *sql.DB // one connection, BEGIN IMMEDIATE
	r        *sql.DB // readers
	now      func() time.Time
	terminal string
	busy     time.Duration // how long a write waits for another process
	counted  bool          // counted in openInProcess until Close

	wstmts, rstmts *stmtCache    // statements prepared on w and on r
	ckpt           *checkpointer // copies the WAL into the file when idle; nil until Open succeeds
	schema         int           // the schema version migrateTo brought the file to

	integrity *integrity // the background integrity check; nil without one

	// head is the chain's head as this process last wrote it, for
	// appendOnHead; nil: unknown, read it in a transaction.
	headMu sync.Mutex
	head   *txHead
}

// Open opens the journal at path, creating it (mode 0600) when it does not
// exist, and applies pending migrations.
//
// An existing file is inspected first through a read-only, immutable
// connection. A file that is not a tiski journal, that fails integrity_check
// or that was written by a newer tiski is refused with a clear message and is
// not modified.
func Open(ctx context.Context, path string, opts Options) (*Journal, error) {
	if path == "" {
		return nil, rx.Errorf(rx.EINVALID, "No journal file was given.")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	openInProcess.Lock()
	defer openInProcess.Unlock()
	fi, err := os.Stat(abs)
	// checkNow: Open itself checks integrity (not skipped, nor left to the
	// background). checked: the file is known sound, or new.
	checkNow := !opts.SkipIntegrityCheck && !opts.CheckInBackground
	checked := false
	switch {
	case err == nil && openInProcess.n[abs] > 0:
		// Already open here, so already inspected. Reading the file
		// directly again would close a descriptor of it, and closing any
		// descriptor drops every POSIX lock this process holds on the file,
		// SQLite's included.
		checked = true
	case errors.Is(err, os.ErrNotExist):
		if err := create(ctx, abs, opts); err != nil {
			return nil, fmt.Errorf("create journal %s: %w", abs, err)
		}
		checked = true
	case err != nil:
		return nil, fmt.Errorf("open journal: %w", err)
	default:
		if checked, err = inspect(ctx, abs, fi, checkNow); err != nil {
			return nil, fmt.Errorf("open journal %s: %w", abs, err)
		}
	}
	j, err := connect(abs, opts, false)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", abs, err)
	}
	if err := j.migrate(ctx); err != nil {
		j.closeConns()
		return nil, fmt.Errorf("open journal %s: %w", abs, err)
	}
	if !checked && checkNow {
		// The inspection could not judge integrity because a WAL was left
		// behind (a crash): check now that SQLite has replayed it.
		problems, err := integrityCheck(ctx, j.r)
		if err == nil && len(problems) > 0 {
			err = corruptError(problems)
		}
		if err != nil {
			j.closeConns()
			return nil, fmt.Errorf("open journal %s: %w", abs, err)
		}
	}
	// A journal restored from a backup or copied in may have looser
	// permissions; the journal holds identity codes, so make it private.
	if err := os.Chmod(abs, 0o600); err != nil {
		j.closeConns()
		return nil, fmt.Errorf("open journal %s: %w", abs, err)
	}
	openInProcess.n[abs]++
	j.counted = true
	j.startCheckpointer()
	if !checked && opts.CheckInBackground {
		j.checkInBackground()
	}
	return j, nil
}

// openInProcess counts the journals this process has open, by path.
var openInProcess = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// dsn builds a URI filename with tiski's pragmas. The URI form lets SQLite
// take any path, including one with '?' or '#'. A building connection (of a
// new journal under its temporary name, see create) does not sync, not
// even to switch the file to WAL.
func dsn(path string, busy time.Duration, writer, building bool) string {
	q := url.Values{}
	sync := "synchronous(full)"
	if building {
		sync = "synchronous(off)"
	}
	for _, p := range []string{
		"busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")",
		sync,
		"journal_mode(wal)",
		sync, // journal_mode(wal) may reset it
		"foreign_keys(1)",
	} {
		q.Add("_pragma", p)
	}
	if writer {
		q.Set("_txlock", "immediate")
		// The checkpointer checkpoints when the journal is idle; SQLite's
		// own checkpoint is the backstop (checkpoint.go).
		q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(checkpointPages)+")")
	}
	return fileURI(path) + "?" + q.Encode()
}

// fileURI returns path as an SQLite URI filename (without a query).
func fileURI(path string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), OmitHost: true}
	return u.String()
}

func connect(path string, opts Options, building bool) (*Journal, error) {
	// The writer's own busy timeout is one short sleep: beginWrite waits
	// for the lock instead, in finer steps than SQLite's busy handler.
	w, err := sql.Open("sqlite", dsn(path, writerBusyTimeout, true, building))
	if err != nil {
		return nil, err
	}
	// One writer connection: writers in this process queue in Go rather
	// than spin in SQLite's busy handler.
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, false, building))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	if opts.ReleaseIdle {
		w.SetMaxIdleConns(0)
		r.SetMaxIdleConns(0)
	}
	return &Journal{path: path, w: w, r: r, now: opts.Now, terminal: opts.Terminal, busy: opts.BusyTimeout,
		wstmts: newStmtCache(w), rstmts: newStmtCache(r)}, nil
}

// Close closes the journal. The last connection to close checkpoints the WAL
// into the main file.
func (j *Journal) Close() error {
	openInProcess.Lock()
	if j.counted {
		j.counted = false
		if openInProcess.n[j.path]--; openInProcess.n[j.path] <= 0 {
			delete(openInProcess.n, j.path)
		}
	}
	openInProcess.Unlock()
	j.stopIntegrity()
	j.ckpt.stop()
	return j.closeConns()
}

// closeConns closes the connections. Open uses it on its failure paths,
// where it holds openInProcess.
func (j *Journal) closeConns() error {
	j.wstmts.close()
	j.rstmts.close()
	err := j.r.Close()
	if werr := j.w.Close(); err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("close journal: %w", translate(err))
	}
	return nil
}

// Path returns the journal file's absolute path.
func (j *Journal) Path() string { return j.path }

// tx is one transaction with the time it began, so that every time written
// by one public method is the same instant. Its ExecContext, QueryContext
// and QueryRowContext use the pool's prepared statements (stmt.go) when
// stmts is set.
type tx struct {
	*sql.Tx
	now     time.Time
	stmts   *stmtCache
	records int     // records appended, for the checkpointer
	head    *txHead // the mode and the chain's head after the last append; nil until read
}

// txHead is what an append needs of the records before it.
type txHead struct {
	mode rx.ModeState
	seq  int64 // the sequence number last handed out
	hash string
}

// write runs fn in one IMMEDIATE transaction and commits it, after the
// outbox has taken in the records marked for upload since (takeIn). what
// names the operation for the error ("lease outbox entries").
func (j *Journal) write(ctx context.Context, what string, fn func(*tx) error) error {
	if j.schema < intakeSchema {
		return j.writeWith(ctx, what, fn)
	}
	for {
		// A tail longer than intakeBatch is taken in by transactions of
		// its own, and fn runs in the one that takes in the rest.
		more := false
		err := j.writeWith(ctx, what, func(t *tx) error {
			var err error
			if more, err = takeIn(ctx, t); err != nil || more {
				return err
			}
			return fn(t)
		})
		if err != nil || !more {
			return err
		}
	}
}

// writeRecords is write for appends: the outbox's intake is left to the
// next write that is not one, so that an append's commit changes only the
// pages of its records.
func (j *Journal) writeRecords(ctx context.Context, what string, fn func(*tx) error) error {
	return j.writeWith(ctx, what, fn)
}

func (j *Journal) writeWith(ctx context.Context, what string, fn func(*tx) error) error {
	if err := j.awaitIntegrity(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err := j.writeOn(ctx, j.w.BeginTx, j.wstmts, what, fn)
	j.wstmts.prepare(context.WithoutCancel(ctx))
	return err
}

// writeOn is write with the transaction begun by begin: the writer pool's
// or one of its connections'. stmts is the pool's statement cache, or nil
// when begin is a connection's (which holds the pool's only connection).
func (j *Journal) writeOn(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), stmts *stmtCache, what string, fn func(*tx) error) error {
	t, err := j.beginWrite(ctx, begin)
	if err != nil {
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	defer t.Rollback()
	wt := &tx{Tx: t, now: j.now(), stmts: stmts}
	if err := fn(wt); err != nil {
		j.noteHead(wt, false)
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	if err := t.Commit(); err != nil {
		j.noteHead(wt, false)
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	j.noteHead(wt, true)
	j.ckpt.wrote(max(1, wt.records))
	return nil
}

// execWriter runs q alone on the writer connection, in autocommit mode:
// a transaction of its own. It is prepared once q has run before.
func (j *Journal) execWriter(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := j.wstmts.get(q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	defer j.wstmts.prepare(context.WithoutCancel(ctx))
	return j.w.ExecContext(ctx, q, args...)
}

// writerBusyTimeout is the busy timeout of the writer connection: SQLite's
// busy handler sleeps 1 ms once and gives up, and beginWrite polls.
const writerBusyTimeout = time.Millisecond

// Polling for the write lock: a wait of busyPollMin to busyPollMax, at
// random, between tries.
const (
	busyPollMin = 200 * time.Microsecond
	busyPollMax = time.Millisecond
)

// beginWrite begins an IMMEDIATE transaction, waiting while another process
// holds the write lock, for up to the busy timeout.
//
// SQLite's busy handler (and modernc.org/sqlite's, which keeps its
// schedule) sleeps 1, 2, 5 … up to 100 ms between tries. A process that
// writes back to back, such as a sync run settling a backlog, frees the
// lock for a few microseconds between its transactions; a waiter that looks
// every 100 ms almost never sees it free, and the counter's Append then
// waited out its whole busy timeout. Looking every millisecond or less, at
// random moments, it gets its turn within tens of milliseconds. The driver
// offers no hook for a busy handler of our own, so the wait is here, around
// BEGIN IMMEDIATE, where nothing has been done yet and a retry is safe.
func (j *Journal) beginWrite(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error)) (*sql.Tx, error) {
	var t *sql.Tx
	err := j.whileBusy(ctx, func() error {
		var err error
		t, err = begin(ctx, nil)
		return err
	})
	return t, err
}

// whileBusy calls fn until it does not fail with SQLITE_BUSY, pausing
// between calls, for up to the busy timeout.
func (j *Journal) whileBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(j.busy)
	for {
		err := fn()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		pause := busyPollMin + rand.N(busyPollMax-busyPollMin)
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// isBusy reports whether err is SQLite's "database is locked" by another
// connection.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// read runs fn in one read-only transaction: a consistent snapshot.
func (j *Journal) read(ctx context.Context, what string, fn func(*tx) error) error {
	defer j.rstmts.prepare(context.WithoutCancel(ctx))
	t, err := j.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	defer t.Rollback()
	if err := fn(&tx{Tx: t, now: j.now(), stmts: j.rstmts}); err != nil {
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	return nil
}

// Messages for the person at the counter.
const (
	msgDiskFull = "The journal could not be written: the disk is full. Nothing was saved. " +
		"Use the paper fallback form and call IT."
	msgCorrupt = "The journal file is damaged. Do not delete it. " +
		"Use the paper fallback form and call IT."
	msgBusy = "The journal is busy in another program. Nothing was saved. Try again."
)

// translate turns SQLite's errors into domain errors where they enter: a full
// disk, corruption and a busy journal get codes and messages a pharmacist can
// act on. Domain errors and other errors pass through.
func translate(err error) error {
	var re *rx.Error
	if err == nil || errors.As(err, &re) {
		return err
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	code := se.Code()
	switch {
	case code&0xff == sqlite3.SQLITE_FULL,
		// EFBIG and ENOSPC during a write surface as SQLITE_IOERR_WRITE
		// (or SHMSIZE when the shared-memory file cannot grow).
		code == sqlite3.SQLITE_IOERR_WRITE,
		code == sqlite3.SQLITE_IOERR_SHMSIZE:
		return &wrapped{&rx.Error{Code: rx.EDISKFULL, Message: msgDiskFull}, err}
	case code&0xff == sqlite3.SQLITE_CORRUPT, code&0xff == sqlite3.SQLITE_NOTADB:
		return &wrapped{&rx.Error{Code: rx.ECORRUPT, Message: msgCorrupt}, err}
	case code&0xff == sqlite3.SQLITE_BUSY:
		return &wrapped{&rx.Error{Code: rx.EUNAVAILABLE, Message: msgBusy}, err}
	}
	return err
}

// wrapped is a domain error that keeps the SQLite error beneath it for
// errors.As and for the log. Its Error() is the person's message.
type wrapped struct {
	domain *rx.Error
	cause  error
}

func (w *wrapped) Error() string   { return w.domain.Message }
func (w *wrapped) Unwrap() []error { return []error{w.domain, w.cause} }

// isConstraint reports whether err is the SQLite constraint error code.
func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

// Timestamps are stored as fixed-width UTC text, so text order is time order.
const tsLayout = "2006-01-02T15:04:05.000000000Z07:00"

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(tsLayout)
}

func parseTS(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(tsLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t, nil
}
