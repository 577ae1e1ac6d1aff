// Package catalogue is the counter's local medicine catalogue (issue 24):
// the packages of the Pharmaceutical Database by VNR, in an SQLite file of
// their own in the data folder, apart from the journal.
//
// The catalogue is reference data, replaced whole at each import and never
// changed in place: Replace writes a new file beside it, checks it and
// renames it over the old one. A reader therefore opens the file immutable
// (no locks, no WAL), and notices a new file by its identity, so each answer
// comes wholly from the old catalogue or wholly from the new one.
package catalogue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/tiski-rx/tiski/pkg/rx"
)

// FileName is the catalogue's file in the data folder.
const FileName = "catalogue.db"

// ApplicationID marks an SQLite file as a tiski catalogue (PRAGMA
// application_id), so a journal or a stranger's database is never read as
// one. "tkat" in ASCII.
const ApplicationID = 0x746b6174

// schemaVersion is the catalogue's PRAGMA user_version. The file is rebuilt
// whole at each import, so a new schema needs no migration: a file of
// another version is refused until the next import replaces it.
const schemaVersion = 3

// The sources of the data.
const (
	SourceFimea = "fimea" // Fimea's list of substitutable medicinal products
	SourceFHIR  = "fhir"  // the Prescription Centre's Medication resources
	// SourceFixtures is the bundled made-up medicines of the test fixtures,
	// with made-up package numbers: the catalogue of tiski demo and of
	// training only, never of a pharmacy's counter.
	SourceFixtures = "fixtures"
)

// Package is one medicine package of the catalogue. Fields the source does
// not give are empty.
type Package struct {
	VNR               string `json:"vnr"`                          // 6-digit package number
	Name              string `json:"name"`                         // trade name
	Substance         string `json:"substance,omitempty"`          // active substance(s)
	Strength          string `json:"strength,omitempty"`           // as the source writes it: "500 mg"
	Form              string `json:"form,omitempty"`               // pharmaceutical form
	PackSize          string `json:"pack_size,omitempty"`          // as text: "30 fol", "100 ml"
	Size              int    `json:"size,omitempty"`               // units in the pack, in Unit (from PackSize when the source gives no number)
	Unit              string `json:"unit,omitempty"`               // the unit of Size: "tablet", "ml", "dose", "patch"
	ATC               string `json:"atc,omitempty"`                // ATC code
	Prescription      string `json:"prescription,omitempty"`       // R prescription, K self-care
	SubstitutionGroup string `json:"substitution_group,omitempty"` // Fimea's substitution group
	NarcoticClass     string `json:"narcotic_class,omitempty"`     // where the source gives it
	PKVClass          string `json:"pkv_class,omitempty"`          // where the source gives it
}

// Info describes the catalogue's data as a whole.
type Info struct {
	Source     string    `json:"source"`      // SourceFimea or SourceFHIR
	Version    string    `json:"version"`     // the source's version or file name
	Date       time.Time `json:"date"`        // the date of the data
	ImportedAt time.Time `json:"imported_at"` // when this counter took it in
	Count      int       `json:"count"`       // packages
	// HighWater is, for a catalogue synced from the Prescription Centre,
	// the newest lastUpdated of the Medications it has taken in: the next
	// sync asks for what changed after it. Zero for any other source.
	HighWater time.Time `json:"high_water,omitzero"`
}

// NextDue returns when the catalogue imported at t is next due for an
// update: the first 1st or 15th of a month after t's date, at midnight in
// t's location. Kanta asks pharmacy systems to take in the Pharmaceutical
// Database's updates on those days.
func NextDue(t time.Time) time.Time {
	y, m, d := t.Date()
	if d < 15 {
		return time.Date(y, m, 15, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, m+1, 1, 0, 0, 0, 0, t.Location())
}

// ErrNoCatalogue is the code-carrying error of a reader whose file does not
// exist yet: nothing has been imported.
var ErrNoCatalogue = rx.Errorf(rx.ENOTFOUND, "No medicine catalogue has been imported: run tiski catalogue import --fimea FILE.")

// Catalogue reads the catalogue file at a path. It is safe for concurrent
// use. Each method is one query on one file, so its answer comes wholly
// from one import.
type Catalogue struct {
	path string

	mu   sync.RWMutex // held for reading by a query, for writing by a swap
	db   *sql.DB      // nil: no file yet
	fi   os.FileInfo  // the file db reads
	info Info
	// The statements of db, prepared once: a lookup must answer within a
	// millisecond.
	byVNR, byName *sql.Stmt
}

// Open returns a reader of the catalogue at path. A missing file is not an
// error: the reader answers ErrNoCatalogue until one is imported. A file
// that is not a tiski catalogue, or fails its check, is.
func Open(ctx context.Context, path string) (*Catalogue, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open catalogue: %w", err)
	}
	c := &Catalogue{path: abs}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.reopenLocked(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Path returns the catalogue file's path.
func (c *Catalogue) Path() string { return c.path }

// Close closes the reader.
func (c *Catalogue) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeLocked()
}

func (c *Catalogue) closeLocked() error {
	if c.db == nil {
		return nil
	}
	c.byVNR.Close()
	c.byName.Close()
	err := c.db.Close()
	c.db, c.fi, c.byVNR, c.byName = nil, nil, nil, nil
	return err
}

// reopenLocked opens the file now at the path, if it is not the one open.
//
// It stats the path before it opens it. An import between the two leaves
// the identity of the older file with a pool on the newer, and the next
// query merely opens again; the other order could leave a reader on the
// older file for good. A connection the pool opens later opens the path
// anew, so may read a newer file than c.info describes, until the next
// query sees the change: each answer still comes from one file, since a
// query runs on one connection and a connection on one file.
func (c *Catalogue) reopenLocked(ctx context.Context) error {
	fi, err := os.Stat(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return c.closeLocked()
	}
	if err != nil {
		return fmt.Errorf("open catalogue: %w", err)
	}
	if c.fi != nil && os.SameFile(c.fi, fi) {
		return nil
	}
	db, info, err := openFile(ctx, c.path)
	if err != nil {
		return fmt.Errorf("open catalogue %s: %w", c.path, err)
	}
	byVNR, err := db.PrepareContext(ctx, `SELECT `+packageColumns+` FROM packages WHERE vnr = ?`)
	if err != nil {
		db.Close()
		return fmt.Errorf("open catalogue %s: %w", c.path, err)
	}
	byName, err := db.PrepareContext(ctx, `SELECT `+packageColumns+` FROM packages
		WHERE name_key >= ?1 AND name_key < ?2 ORDER BY name_key, vnr LIMIT ?3`)
	if err != nil {
		byVNR.Close()
		db.Close()
		return fmt.Errorf("open catalogue %s: %w", c.path, err)
	}
	c.closeLocked()
	c.db, c.fi, c.info, c.byVNR, c.byName = db, fi, info, byVNR, byName
	return nil
}

// openFile opens a catalogue file read-only and immutable, and reads its
// header. The file is never written after its rename into place, so
// immutable is true of it: SQLite then takes no locks and makes no -wal or
// -shm file beside it.
func openFile(ctx context.Context, path string) (*sql.DB, Info, error) {
	db, err := sql.Open("sqlite", fileURI(path)+"?mode=ro&immutable=1")
	if err != nil {
		return nil, Info{}, err
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(0)
	info, err := readHeader(ctx, db)
	if err != nil {
		db.Close()
		return nil, Info{}, err
	}
	return db, info, nil
}

// readHeader checks that db is a tiski catalogue of this schema and reads
// its Info.
func readHeader(ctx context.Context, db *sql.DB) (Info, error) {
	var appID, version int
	if err := db.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return Info{}, rx.Errorf(rx.ECORRUPT, "It is not a medicine catalogue: %v. Import the catalogue again.", err)
	}
	if appID != ApplicationID {
		return Info{}, rx.Errorf(rx.ECORRUPT, "It is not a tiski medicine catalogue. Import the catalogue again.")
	}
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return Info{}, err
	}
	if version != schemaVersion {
		return Info{}, rx.Errorf(rx.ECORRUPT, "The medicine catalogue has format %d; this tiski reads format %d. Import the catalogue again.", version, schemaVersion)
	}
	var info Info
	var date, imported, high string
	err := db.QueryRowContext(ctx, `SELECT source, version, date, imported_at, count, high_water FROM info`).
		Scan(&info.Source, &info.Version, &date, &imported, &info.Count, &high)
	if err != nil {
		return Info{}, rx.Errorf(rx.ECORRUPT, "The medicine catalogue lacks its description: %v. Import the catalogue again.", err)
	}
	if info.Date, err = time.Parse(time.RFC3339, date); err != nil {
		return Info{}, rx.Errorf(rx.ECORRUPT, "The medicine catalogue's date %q is not a date. Import the catalogue again.", date)
	}
	if info.ImportedAt, err = time.Parse(time.RFC3339Nano, imported); err != nil {
		return Info{}, rx.Errorf(rx.ECORRUPT, "The medicine catalogue's import time %q is not a time. Import the catalogue again.", imported)
	}
	if high != "" {
		if info.HighWater, err = time.Parse(time.RFC3339Nano, high); err != nil {
			return Info{}, rx.Errorf(rx.ECORRUPT, "The medicine catalogue's sync mark %q is not a time. Import the catalogue again.", high)
		}
	}
	return info, nil
}

// acquire makes the reader read the file now at the path and holds it for
// reading; release with c.mu.RUnlock. Stat costs microseconds, and saves a
// counter from holding yesterday's catalogue after an import by another
// process.
func (c *Catalogue) acquire(ctx context.Context) error {
	c.mu.RLock()
	fi, err := os.Stat(c.path)
	if err == nil && c.fi != nil && os.SameFile(c.fi, fi) {
		return nil
	}
	c.mu.RUnlock()
	c.mu.Lock()
	err = c.reopenLocked(ctx)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.mu.RLock()
	if c.db == nil {
		c.mu.RUnlock()
		return ErrNoCatalogue
	}
	return nil
}

// Info describes the catalogue's data. It returns ErrNoCatalogue when none
// has been imported.
func (c *Catalogue) Info(ctx context.Context) (Info, error) {
	if err := c.acquire(ctx); err != nil {
		return Info{}, err
	}
	defer c.mu.RUnlock()
	return c.info, nil
}

// ByVNR returns the package with the number vnr (leading zeros may be
// left out), or an rx.ENOTFOUND error.
func (c *Catalogue) ByVNR(ctx context.Context, vnr string) (Package, error) {
	n, ok := NormalVNR(vnr)
	if !ok {
		return Package{}, rx.Errorf(rx.EINVALID, "%q is not a package number (VNR): it has six digits.", vnr)
	}
	if err := c.acquire(ctx); err != nil {
		return Package{}, err
	}
	defer c.mu.RUnlock()
	p, err := scanPackage(c.byVNR.QueryRowContext(ctx, n))
	if errors.Is(err, sql.ErrNoRows) {
		return Package{}, rx.Errorf(rx.ENOTFOUND, "No package %s in the medicine catalogue (%s).", n, c.info.Version)
	}
	return p, err
}

// Search returns the first n packages, by name then VNR, whose name starts
// with prefix, ignoring case. An empty prefix finds nothing.
func (c *Catalogue) Search(ctx context.Context, prefix string, n int) ([]Package, error) {
	lo := nameKey(prefix)
	if lo == "" || n <= 0 {
		return nil, nil
	}
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.mu.RUnlock()
	return collect(c.byName.QueryContext(ctx, lo, prefixEnd(lo), n))
}

// collect reads the packages a query of packageColumns answered, and
// closes its rows.
func collect(rows *sql.Rows, err error) ([]Package, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []Package
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

const packageColumns = `vnr, name, substance, strength, form, pack_size, size, unit, atc, prescription,
	substitution_group, narcotic_class, pkv_class`

func scanPackage(row interface{ Scan(...any) error }) (Package, error) {
	var p Package
	err := row.Scan(&p.VNR, &p.Name, &p.Substance, &p.Strength, &p.Form, &p.PackSize, &p.Size, &p.Unit, &p.ATC,
		&p.Prescription, &p.SubstitutionGroup, &p.NarcoticClass, &p.PKVClass)
	return p, err
}

// nameKey is the form of a name that the prefix search compares: lower
// case (ä and Ä alike), spaces trimmed.
func nameKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// prefixEnd returns the least string greater than every string that starts
// with key, for a range scan of the name index. key is valid UTF-8, which
// never holds the byte 0xFF, so adding one to its last byte cannot carry.
func prefixEnd(key string) string {
	b := []byte(key)
	b[len(b)-1]++
	return string(b)
}

// NormalVNR returns vnr as six digits, padding the leading zeros a
// spreadsheet drops ("12345" → "012345"), and whether it is a VNR at all.
func NormalVNR(vnr string) (string, bool) {
	vnr = strings.TrimSpace(vnr)
	if vnr == "" || len(vnr) > 6 {
		return "", false
	}
	for _, r := range vnr {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return strings.Repeat("0", 6-len(vnr)) + vnr, true
}

// fileURI returns path as an SQLite URI filename (without a query), so any
// path, with '?' or '#' too, is taken as it is.
func fileURI(path string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), OmitHost: true}
	return u.String()
}
