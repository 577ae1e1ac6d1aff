package catalogue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// The catalogue's sync from the Prescription Centre's Medication resources
// (issue 24): the first sync, or one after an import from another source,
// takes the whole catalogue; each later one only what changed after the
// catalogue's high-water mark (Info.HighWater), applied onto a copy of the
// current catalogue. Either way the new catalogue is built, checked and
// renamed into place by Replace, so a counter never sees half of one, and
// a failed sync leaves the old one answering.

// Change is one Medication as a sync reads it: a package, or a package
// number withdrawn from sale.
type Change struct {
	Package     Package
	Withdrawn   bool
	LastUpdated time.Time
}

// Fetch reads the changes after since (all of the catalogue when since is
// zero) and hands them to page, a page at a time, and returns how many
// pages it read. An error from page must end it with that error.
type Fetch func(ctx context.Context, since time.Time, page func([]Change) error) (pages int, err error)

// SyncOptions describe a sync.
type SyncOptions struct {
	Full    bool      // take the whole catalogue even when an incremental sync could do
	Version string    // the source's name for Info.Version, e.g. the server's host; default "FHIR"
	Now     time.Time // the sync's time; default time.Now()
}

// SyncResult is what a sync did.
type SyncResult struct {
	Full      bool `json:"full"`      // the whole catalogue was taken
	Pages     int  `json:"pages"`     // pages read
	Fetched   int  `json:"fetched"`   // Medications read
	Changed   int  `json:"changed"`   // packages added or changed
	Withdrawn int  `json:"withdrawn"` // packages removed as withdrawn
	Info      Info `json:"info"`      // the catalogue now
}

// Sync brings the catalogue at path up to date from fetch. A catalogue of
// another source, none at all, or opts.Full takes the whole catalogue; else
// only what changed after its HighWater. On any error the catalogue is left
// as it was.
func Sync(ctx context.Context, path string, fetch Fetch, opts SyncOptions) (SyncResult, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Version == "" {
		opts.Version = "FHIR"
	}
	cur, err := current(ctx, path)
	if err != nil {
		return SyncResult{}, unchanged{err}
	}
	res := SyncResult{Full: opts.Full || cur.info.Source != SourceFHIR || cur.info.HighWater.IsZero()}
	since := time.Time{}
	if !res.Full {
		since = cur.info.HighWater
	}
	changes := map[string]Change{}
	var order []string
	newest := since
	res.Pages, err = fetch(ctx, since, func(page []Change) error {
		for _, c := range page {
			vnr, ok := NormalVNR(c.Package.VNR)
			if !ok {
				return rx.Errorf(rx.EINVALID, "The Prescription Centre sent %q as a package number (VNR).", c.Package.VNR)
			}
			c.Package.VNR = vnr
			if _, met := changes[vnr]; !met {
				order = append(order, vnr)
			}
			// A package changed while the pages were read is met again,
			// later and newer: the last one met wins.
			changes[vnr] = c
			res.Fetched++
			if c.LastUpdated.After(newest) {
				newest = c.LastUpdated
			}
		}
		return nil
	})
	if err != nil {
		return SyncResult{}, unchanged{err}
	}
	pkgs := map[string]Package{}
	var vnrs []string
	if !res.Full {
		for _, p := range cur.packages {
			pkgs[p.VNR] = p
			vnrs = append(vnrs, p.VNR)
		}
	}
	for _, vnr := range order {
		c := changes[vnr]
		_, had := pkgs[vnr]
		switch {
		case c.Withdrawn && had:
			delete(pkgs, vnr)
			res.Withdrawn++
		case c.Withdrawn:
		default:
			if c.Package.Size == 0 && c.Package.Unit == "" {
				c.Package.Size, c.Package.Unit = sizeAndUnit(c.Package.PackSize, c.Package.Form)
			}
			if !had {
				vnrs = append(vnrs, vnr)
			}
			if !had || pkgs[vnr] != c.Package {
				res.Changed++
			}
			pkgs[vnr] = c.Package
		}
	}
	list := make([]Package, 0, len(pkgs))
	for _, vnr := range vnrs {
		if p, ok := pkgs[vnr]; ok {
			list = append(list, p)
			delete(pkgs, vnr) // once each
		}
	}
	if len(list) == 0 {
		return SyncResult{}, unchanged{rx.Errorf(rx.EINVALID, "The Prescription Centre's catalogue holds no packages on sale.")}
	}
	info := Info{Source: SourceFHIR, Version: opts.Version, Date: newest, ImportedAt: opts.Now, HighWater: newest}
	if info.Date.IsZero() {
		info.Date = opts.Now
	}
	if res.Info, err = Replace(ctx, path, info, list); err != nil {
		return SyncResult{}, err
	}
	return res, nil
}

// snapshot is the catalogue now at a path: its Info and every package.
type snapshot struct {
	info     Info
	packages []Package
}

// current reads the catalogue at path whole, from one file; none is an
// empty snapshot. A file that cannot be read is not an error here: the
// sync then takes the whole catalogue and replaces it.
func current(ctx context.Context, path string) (snapshot, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return snapshot{}, fmt.Errorf("sync catalogue: %w", err)
	}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		return snapshot{}, nil
	}
	db, info, err := openFile(ctx, abs)
	if err != nil {
		return snapshot{}, nil
	}
	defer db.Close()
	if info.Source != SourceFHIR {
		return snapshot{info: info}, nil
	}
	pkgs, err := collect(db.QueryContext(ctx, `SELECT `+packageColumns+` FROM packages ORDER BY vnr`))
	if err != nil {
		return snapshot{}, fmt.Errorf("sync catalogue: read the current one: %w", err)
	}
	s := snapshot{info: info, packages: pkgs}
	return s, nil
}
