package journal

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tiski-rx/tiski/pkg/rx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded, numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order. Their numbers must
// run 1, 2, 3… without gaps: the schema version is the last one's number.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with its number", base)
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(body)})
	}
	sort.Slice(ms, func(a, b int) bool { return ms[a].version < ms[b].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion returns the journal schema this tiski writes (PRAGMA
// user_version): the number of its last migration.
func SchemaVersion() int { return schemaVersion }

var schemaVersion = func() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}()

// migrate applies the migrations the file lacks, each in its own IMMEDIATE
// transaction, so two processes opening one journal at once apply each
// migration once.
//
// A migration may rebuild a table, since SQLite cannot alter a constraint.
// SQLite's procedure for that (lang_altertable.html, "Making Other Kinds Of
// Table Schema Changes") runs with foreign keys off and checks them before
// the commit. The pragma does nothing inside a transaction, so migrate sets
// it on the writer connection around the transactions, and restores it
// before the connection goes back to the pool.
func (j *Journal) migrate(ctx context.Context) error {
	return j.migrateTo(ctx, schemaVersion)
}

// migrateTo applies the migrations up to the version; tests make journals
// of earlier schemas with it.
func (j *Journal) migrateTo(ctx context.Context, upTo int) (err error) {
	ms, err := migrations()
	if err != nil {
		return err
	}
	ms = ms[:min(upTo, len(ms))]
	// Opening the connection sets journal_mode, which may meet a lock.
	var conn *sql.Conn
	if err := j.whileBusy(ctx, func() error {
		var err error
		conn, err = j.w.Conn(ctx)
		return err
	}); err != nil {
		return translate(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return translate(err)
	}
	defer func() {
		// Restore foreign keys even when ctx is done; a connection that
		// cannot be restored is discarded rather than reused without them.
		_, ferr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
		if ferr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = fmt.Errorf("migrate journal: restore foreign keys: %w", translate(ferr))
			}
		}
	}()
	for _, m := range ms {
		err := j.writeOn(ctx, conn.BeginTx, nil, "migrate journal", func(t *tx) error {
			var appID, version int
			if err := t.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
				return err
			}
			if err := t.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
				return err
			}
			switch {
			case appID != ApplicationID && !(appID == 0 && version == 0):
				return notJournal("it is an SQLite database of another application")
			case version > schemaVersion:
				return newerError(version)
			case version >= m.version:
				return nil
			}
			if _, err := t.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if err := foreignKeyCheck(ctx, t); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := t.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, ts(t.now)); err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
			// PRAGMAs take no parameters; both values are our own integers.
			if _, err := t.ExecContext(ctx, "PRAGMA application_id = "+strconv.Itoa(ApplicationID)); err != nil {
				return err
			}
			_, err := t.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version))
			return err
		})
		if err != nil {
			return err
		}
	}
	j.schema = len(ms)
	return nil
}

// foreignKeyCheck fails when a row refers to one that does not exist.
func foreignKeyCheck(ctx context.Context, t *tx) error {
	rows, err := t.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		return fmt.Errorf("foreign key check: a row of %s (rowid %d) refers to a missing row of %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}

// create makes a new journal at path. It builds the journal under a
// temporary name in the same directory and links it into place only when it
// is complete, so the path never holds a half-made journal, and a second
// process creating the same journal at the same moment uses the first one's.
func create(ctx context.Context, path string, opts Options) error {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := path + ".new-" + hex.EncodeToString(rnd[:])
	defer removeDB(tmp)
	if err := createPrivate(tmp); err != nil {
		return err
	}
	// Nothing needs the half-made file to survive a crash: it is linked
	// into place only when complete, after the checkpoint below has synced
	// it. So it is built without an fsync for the switch to WAL and for
	// each migration, which made creating a journal a good part of the 200
	// ms a first frame may take (DESIGN §10), and the checkpoint syncs
	// once, with synchronous back at FULL.
	j, err := connect(tmp, opts, true)
	if err != nil {
		return err
	}
	if err := j.migrate(ctx); err != nil {
		j.closeConns()
		return err
	}
	if _, err := j.w.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		j.closeConns()
		return translate(err)
	}
	// Move everything into the main file, so the WAL left under the
	// temporary name holds nothing the journal needs.
	var busy, logged, done int
	if err := j.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil {
		j.closeConns()
		return translate(err)
	}
	if err := j.closeConns(); err != nil {
		return err
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint new journal: busy")
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another process made it first
		}
		return err
	}
	return syncDir(filepath.Dir(path))
}

// createPrivate creates an empty file readable by its owner only, whatever
// the umask.
func createPrivate(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func removeDB(name string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(name + suffix)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// inspect decides whether an existing file may be opened as a journal
// without changing it: its header is read directly, and its integrity is
// checked through a read-only, immutable connection, which creates no WAL or
// shared-memory file. It reports whether the integrity check ran: it does
// not when not asked to, nor when a WAL is present (after a crash), because
// the main file alone may then be mid-checkpoint; Open checks integrity
// after SQLite has replayed the WAL.
func inspect(ctx context.Context, path string, fi os.FileInfo, integrity bool) (checked bool, err error) {
	if !fi.Mode().IsRegular() {
		return false, notJournal("it is not a regular file")
	}
	if fi.Size() == 0 {
		return false, notJournal("it is an empty file")
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	header := make([]byte, 100)
	_, err = io.ReadFull(f, header)
	f.Close()
	if err != nil || !bytes.HasPrefix(header, sqliteMagic) {
		return false, notJournal("it is not an SQLite database")
	}
	// The database header: user_version at offset 60, application_id at 68.
	version := int(binary.BigEndian.Uint32(header[60:]))
	appID := int(binary.BigEndian.Uint32(header[68:]))
	if appID != ApplicationID {
		return false, notJournal("it is an SQLite database of another application")
	}
	if version > schemaVersion {
		return false, newerError(version)
	}
	if !integrity {
		return false, nil
	}
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
		return false, nil
	}
	db, err := sql.Open("sqlite", fileURI(path)+"?mode=ro&immutable=1")
	if err != nil {
		return false, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	problems, err := integrityCheck(ctx, db)
	if err != nil {
		return false, err
	}
	if len(problems) > 0 {
		// Another process may have begun writing (and checkpointing into
		// the main file) while we read it; then the immutable view proves
		// nothing, and Open checks again through a real connection.
		if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
			return false, nil
		}
		if now, err := os.Stat(path); err != nil || !now.ModTime().Equal(fi.ModTime()) || now.Size() != fi.Size() {
			return false, nil
		}
		return false, corruptError(problems)
	}
	return true, nil
}

// integrityCheck runs PRAGMA integrity_check and returns its problems; none
// means the file is sound. A page so damaged that the check itself stops
// with SQLITE_CORRUPT is a problem found, not an error.
func integrityCheck(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]string, error) {
	problems, err := runIntegrityCheck(ctx, db)
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_CORRUPT || se.Code()&0xff == sqlite3.SQLITE_NOTADB) {
		return append(problems, se.Error()), nil
	}
	return problems, err
}

func runIntegrityCheck(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]string, error) {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check(100)`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, translate(err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return problems, nil
}

func notJournal(why string) error {
	return rx.Errorf(rx.EINVALID, "This file is not a tiski journal (%s). It was not changed. Check the --data directory.", why)
}

func newerError(version int) error {
	return rx.Errorf(rx.EINVALID, "This journal was written by a newer tiski (schema %d; this tiski knows %d). "+
		"It was not changed. Use the newer tiski.", version, schemaVersion)
}

func corruptError(problems []string) error {
	return damaged(problems, "It was not changed.")
}

// damaged is the error of a journal that failed its integrity check;
// state says what became of the file.
func damaged(problems []string, state string) error {
	first := strings.Join(strings.Fields(problems[0]), " ")
	if len(problems) > 1 {
		first += fmt.Sprintf(" (and %d more)", len(problems)-1)
	}
	return rx.Errorf(rx.ECORRUPT, "The journal file failed its integrity check: %s. %s "+
		"Do not delete it. Use the paper fallback form and call IT.", first, state)
}
