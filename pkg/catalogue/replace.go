package catalogue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

const schema = `
CREATE TABLE info (
	source      TEXT NOT NULL,
	version     TEXT NOT NULL,
	date        TEXT NOT NULL, -- RFC 3339
	imported_at TEXT NOT NULL, -- RFC 3339, nanoseconds
	count       INTEGER NOT NULL,
	high_water  TEXT NOT NULL  -- RFC 3339, nanoseconds; '' unless synced
);
CREATE TABLE packages (
	vnr                TEXT PRIMARY KEY NOT NULL,
	name               TEXT NOT NULL CHECK (name <> ''),
	name_key           TEXT NOT NULL, -- lower case, for the prefix search
	substance          TEXT NOT NULL,
	strength           TEXT NOT NULL,
	form               TEXT NOT NULL,
	pack_size          TEXT NOT NULL,
	size               INTEGER NOT NULL, -- units in the pack; 0: not known
	unit               TEXT NOT NULL,
	atc                TEXT NOT NULL,
	prescription       TEXT NOT NULL,
	substitution_group TEXT NOT NULL,
	narcotic_class     TEXT NOT NULL,
	pkv_class          TEXT NOT NULL
) WITHOUT ROWID;
`

// Replace makes the packages the catalogue at path, whole, in place of
// whatever it held. It writes a new file beside path, checks it and renames
// it over path, so that a reader sees the old catalogue or the new one and
// never a part; on any error the old file is left as it was. info's Count
// and ImportedAt are set here.
func Replace(ctx context.Context, path string, info Info, pkgs []Package) (Info, error) {
	if len(pkgs) == 0 {
		return Info{}, unchanged{rx.Errorf(rx.EINVALID, "The new catalogue holds no packages.")}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Info{}, unchanged{fmt.Errorf("replace catalogue: %w", err)}
	}
	info.Count = len(pkgs)
	if info.ImportedAt.IsZero() {
		info.ImportedAt = time.Now()
	}
	dir := filepath.Dir(abs)
	removeAbandoned(abs, time.Now())
	// The name is unique, so two imports at once each build their own file;
	// the later rename wins, and each is whole.
	f, err := os.CreateTemp(dir, filepath.Base(abs)+".new-*")
	if err != nil {
		return Info{}, unchanged{fmt.Errorf("replace catalogue: %w", err)}
	}
	tmp := f.Name()
	// Reference data, but the journal's folder is private; so is this.
	err = f.Chmod(0o600)
	f.Close()
	if err != nil {
		os.Remove(tmp)
		return Info{}, unchanged{fmt.Errorf("replace catalogue: %w", err)}
	}
	renamed := false
	defer func() {
		if !renamed {
			for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
				os.Remove(tmp + suffix)
			}
		}
	}()
	if err := build(ctx, tmp, info, pkgs); err != nil {
		return Info{}, unchanged{fmt.Errorf("replace catalogue: %w", err)}
	}
	// The checked file must be on disk before its name replaces the old
	// one's, or a crash could leave the name on an empty file.
	if err := syncFile(tmp); err != nil {
		return Info{}, unchanged{fmt.Errorf("replace catalogue: %w", err)}
	}
	if err := os.Rename(tmp, abs); err != nil {
		// On Windows, a reader holding the old file open makes the rename
		// fail; the old catalogue then stays, whole.
		return Info{}, unchanged{fmt.Errorf("replace catalogue: %w", err)}
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		// The new catalogue answers already; a crash now could bring the
		// old one back, whole, which the next import mends.
		return info, fmt.Errorf("the new catalogue is in place, but its folder could not be synced to disk: %w", err)
	}
	return info, nil
}

// build writes the catalogue into the empty file tmp and checks it. Nothing
// reads tmp until it is renamed, and a failed build is thrown away, so it
// is written without a rollback journal or syncs; Replace syncs it once.
func build(ctx context.Context, tmp string, info Info, pkgs []Package) error {
	q := url.Values{}
	for _, p := range []string{"journal_mode(off)", "synchronous(off)",
		"application_id(" + strconv.Itoa(ApplicationID) + ")", "user_version(" + strconv.Itoa(schemaVersion) + ")"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", fileURI(tmp)+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO packages (vnr, name, name_key, substance, strength, form,
		pack_size, size, unit, atc, prescription, substitution_group, narcotic_class, pkv_class)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, p := range pkgs {
		vnr, ok := NormalVNR(p.VNR)
		switch {
		case !ok:
			return rx.Errorf(rx.EINVALID, "%q is not a package number (VNR).", p.VNR)
		case nameKey(p.Name) == "":
			return rx.Errorf(rx.EINVALID, "Package %s has no name.", vnr)
		}
		if _, err := ins.ExecContext(ctx, vnr, p.Name, nameKey(p.Name), p.Substance, p.Strength, p.Form,
			p.PackSize, p.Size, p.Unit, p.ATC, p.Prescription, p.SubstitutionGroup, p.NarcoticClass, p.PKVClass); err != nil {
			if exists(ctx, tx, vnr) {
				return rx.Errorf(rx.EINVALID, "Package %s is in the data twice.", vnr)
			}
			return err
		}
	}
	// The name index is built once, after the rows: faster than keeping it
	// up row by row.
	if _, err := tx.ExecContext(ctx, `CREATE INDEX packages_name ON packages (name_key, vnr)`); err != nil {
		return err
	}
	high := ""
	if !info.HighWater.IsZero() {
		high = info.HighWater.Format(time.RFC3339Nano)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO info (source, version, date, imported_at, count, high_water) VALUES (?, ?, ?, ?, ?, ?)`,
		info.Source, info.Version, info.Date.Format(time.RFC3339), info.ImportedAt.Format(time.RFC3339Nano), info.Count, high); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// The check: SQLite's own, then the file answers as a reader would,
	// with every package counted.
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&ok); err != nil {
		return err
	}
	if ok != "ok" {
		return rx.Errorf(rx.ECORRUPT, "The new catalogue failed its check (%s).", ok)
	}
	got, err := readHeader(ctx, db)
	if err != nil {
		return err
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM packages`).Scan(&n); err != nil {
		return err
	}
	if n != info.Count || got.Count != info.Count {
		return rx.Errorf(rx.ECORRUPT, "The new catalogue holds %d packages of %d.", n, info.Count)
	}
	return nil
}

// abandonedAfter is the age past which a new file that was never renamed
// into place is taken for an import that crashed: an import of 15,000
// packages takes well under a second, so one this old is nobody's.
const abandonedAfter = time.Hour

// removeAbandoned removes the new files that imports which crashed left
// beside the catalogue at path, so that each crash does not leave a
// catalogue's worth of disk behind. A young one may be another import's,
// still being built, and is left alone.
func removeAbandoned(path string, now time.Time) {
	names, _ := filepath.Glob(path + ".new-*")
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil && now.Sub(fi.ModTime()) > abandonedAfter {
			os.Remove(name)
		}
	}
}

func exists(ctx context.Context, tx *sql.Tx, vnr string) bool {
	var one int
	return tx.QueryRowContext(ctx, `SELECT 1 FROM packages WHERE vnr = ?`, vnr).Scan(&one) == nil
}

// unchanged is the error of an import that changed nothing: it says so,
// since what the pharmacy's IT needs to know first is that the old
// catalogue still answers. The code and the cause stay reachable through
// Unwrap.
type unchanged struct{ err error }

func (e unchanged) Error() string {
	return strings.TrimSuffix(strings.TrimSpace(e.err.Error()), ".") + ". The catalogue was not changed."
}

func (e unchanged) Unwrap() error { return e.err }

func syncFile(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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
