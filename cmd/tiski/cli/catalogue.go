package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// NewCmdCatalogue builds `tiski catalogue` (issue 24).
func NewCmdCatalogue(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalogue",
		Short: "Keep the local medicine catalogue: import Fimea's file, see its state",
		Long: `The medicine catalogue is the counter's own copy of the packages of the
Pharmaceutical Database, by VNR, in catalogue.db in the data folder, apart from
the journal. In a fault it is the national data the counter must already hold.

Kanta asks pharmacy systems to take in the database's updates on the 1st and
15th day of each month. An import replaces the catalogue whole: a bad or
truncated file leaves the old one in place.

The data is Kela's and Fimea's open data under CC BY 4.0.`,
	}
	cmd.AddCommand(NewCmdCatalogueImport(f, nil), NewCmdCatalogueStatus(f, nil), NewCmdCatalogueSync(f, nil))
	return cmd
}

// CatalogueOptions are the options of `tiski catalogue import|status`.
type CatalogueOptions struct {
	Factory  *Factory
	Fimea    string // the file to import
	Fixtures bool   // import the bundled made-up training medicines instead
	Version  string
	Date     string
	JSON     bool
	Full     bool // sync: take the whole catalogue, not only the changes
	PageSize int  // sync: Medications a page (_count)
	Watch    bool // sync: take each update on its own when it is due
	Interval time.Duration
	Now      func() time.Time
}

// NewCmdCatalogueImport builds `tiski catalogue import`.
func NewCmdCatalogueImport(f *Factory, runF func(context.Context, *CatalogueOptions) error) *cobra.Command {
	opts := &CatalogueOptions{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "import --fimea FILE [--version V] [--date DATE] | --fixtures",
		Short: "Replace the catalogue with Fimea's list of substitutable medicinal products",
		Long: `Reads Fimea's list of substitutable medicinal products for databases: a
semicolon-separated text file with a header line, in ISO 8859-1. Columns are
read by their header names (SUBSTITUUTIORYHMA, VNRNRO, PAKKAUSKOKO,
RESEPTISTATUS, LAAKENIMI, VAHVUUS required; LAAKEMUOTO, ATCKOODI and others kept
when present), so extra or reordered columns are fine.`,
		Example: `  tiski catalogue import --fimea substituutiolista.txt
  tiski catalogue import --fimea substituutiolista.txt --version 2026-12-15 --date 2026-12-15`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return catalogueImportRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Fimea, "fimea", "", "Fimea's file of substitutable medicinal products")
	cmd.Flags().BoolVar(&opts.Fixtures, "fixtures", false, "import tiski's made-up training medicines instead (demo, training and tests only)")
	cmd.Flags().StringVar(&opts.Version, "version", "", "the data's version (default: the file's name)")
	cmd.Flags().StringVar(&opts.Date, "date", "", "the data's date, 2026-12-15 (default: the file's modification date)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// catalogueStatus is what `tiski catalogue status --json` prints, the same
// in every language.
type catalogueStatus struct {
	Imported    bool       `json:"imported"`
	File        string     `json:"file"`
	Source      string     `json:"source,omitempty"`
	Version     string     `json:"version,omitempty"`
	Date        *time.Time `json:"date,omitempty"`
	ImportedAt  *time.Time `json:"imported_at,omitempty"`
	Count       int        `json:"count"`
	NextDue     string     `json:"next_due,omitempty"` // a local date, 2026-12-15
	Overdue     bool       `json:"overdue"`
	Attribution string     `json:"attribution"`
}

// attribution names the data's source as CC BY 4.0 asks; in --json, in
// English whatever the language.
const attribution = "Kela and Fimea, Pharmaceutical Database (Lääketietokanta), CC BY 4.0"

func newCatalogueStatus(file string, info catalogue.Info, imported bool, now time.Time) catalogueStatus {
	s := catalogueStatus{Imported: imported, File: file, Attribution: attribution}
	if !imported {
		return s
	}
	date, at := info.Date, info.ImportedAt.Local()
	due := catalogue.NextDue(at)
	s.Source, s.Version, s.Date, s.ImportedAt, s.Count = info.Source, info.Version, &date, &at, info.Count
	s.NextDue, s.Overdue = due.Format(time.DateOnly), !now.Before(due)
	return s
}

func (f *Factory) cataloguePath() (string, error) {
	c, err := f.Config()
	if err != nil {
		return "", err
	}
	return filepath.Join(c.DataDir, catalogue.FileName), nil
}

// importFixtures makes the bundled made-up training medicines the catalogue
// at path: the catalogue of tiski demo and of training, never of a
// pharmacy's counter (its package numbers are made up).
func importFixtures(ctx context.Context, path string, now time.Time) (catalogue.Info, error) {
	fx, err := rx.LoadFixtures(tiski.Fixtures(), now)
	if err != nil {
		return catalogue.Info{}, err
	}
	return catalogue.Replace(ctx, path, catalogue.Info{Source: catalogue.SourceFixtures, Version: "fixtures", Date: now, ImportedAt: now},
		catalogue.FromFixtures(fx.Medicines))
}

func catalogueImportRun(ctx context.Context, opts *CatalogueOptions) error {
	f := opts.Factory
	if opts.Fixtures && opts.Fimea != "" {
		return usageError{fmt.Errorf("--fimea and --fixtures are two sources: give one")}
	}
	if strings.TrimSpace(opts.Fimea) == "" && !opts.Fixtures {
		return usageError{fmt.Errorf("--fimea FILE is required: Fimea's file of substitutable medicinal products")}
	}
	var date time.Time
	if d := strings.TrimSpace(opts.Date); d != "" {
		var err error
		if date, err = time.ParseInLocation(time.DateOnly, d, time.Local); err != nil {
			if date, err = time.ParseInLocation("2.1.2006", d, time.Local); err != nil {
				return usageError{fmt.Errorf("--date %q is not a date: write it as 2026-12-15 (or 15.12.2026)", opts.Date)}
			}
		}
	}
	path, err := f.cataloguePath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("make data folder: %w", err)
	}
	var info catalogue.Info
	if opts.Fixtures {
		info, err = importFixtures(ctx, path, opts.Now())
	} else {
		info, err = catalogue.ImportFimea(ctx, path, opts.Fimea, catalogue.FimeaOptions{Version: opts.Version, Date: date, Now: opts.Now()})
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", cmp.Or(opts.Fimea, "the fixtures"), err)
	}
	f.Logger().Info("catalogue imported", "source", info.Source, "version", info.Version,
		"date", info.Date.Format(time.DateOnly), "count", info.Count)
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(newCatalogueStatus(path, info, true, opts.Now()))
	}
	l := f.Lang()
	fmt.Fprintln(f.IO.Out, l.T(i18n.CLICatalogueImported, info.Count, sourceText(l, info.Source), info.Version, info.Date.Local().Format(time.DateOnly)))
	fmt.Fprintln(f.IO.Out, l.T(i18n.CLICatalogueNextDue, catalogue.NextDue(info.ImportedAt.Local()).Format(time.DateOnly)))
	fmt.Fprintln(f.IO.Out, l.T(i18n.CLICatalogueLicence))
	return nil
}

// NewCmdCatalogueStatus builds `tiski catalogue status`.
func NewCmdCatalogueStatus(f *Factory, runF func(context.Context, *CatalogueOptions) error) *cobra.Command {
	opts := &CatalogueOptions{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the catalogue's source, version, date, count and next due update",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return catalogueStatusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func catalogueStatusRun(ctx context.Context, opts *CatalogueOptions) error {
	f := opts.Factory
	path, err := f.cataloguePath()
	if err != nil {
		return err
	}
	c, err := catalogue.Open(ctx, path)
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.Info(ctx)
	imported := err == nil
	if err != nil && rx.ErrorCode(err) != rx.ENOTFOUND {
		return err
	}
	s := newCatalogueStatus(path, info, imported, opts.Now())
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(s)
	}
	l := f.Lang()
	out := f.IO.Out
	if !imported {
		fmt.Fprintln(out, l.T(i18n.CLICatalogueNone))
		return nil
	}
	fmt.Fprintln(out, l.T(i18n.CLICatalogueCount, s.Count))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueSource, sourceText(l, s.Source)))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueVersion, s.Version))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueDate, s.Date.Local().Format(time.DateOnly)))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueImportAt, when(*s.ImportedAt)))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueNextDue, s.NextDue))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueFile, s.File))
	if s.Overdue {
		fmt.Fprintln(out, l.T(i18n.CLICatalogueOverdue, s.NextDue))
	}
	fmt.Fprintln(out, l.T(i18n.CLICatalogueLicence))
	return nil
}

// sourceText names a catalogue's source in the reader's language.
func sourceText(l i18n.Lang, source string) string {
	switch source {
	case catalogue.SourceFimea:
		return l.T(i18n.CLICatalogueFimea)
	case catalogue.SourceFHIR:
		return l.T(i18n.CLICatalogueFHIR)
	case catalogue.SourceFixtures:
		return l.T(i18n.CLICatalogueFixtures)
	}
	return source
}

// NewCmdCatalogueSync builds `tiski catalogue sync`.
func NewCmdCatalogueSync(f *Factory, runF func(context.Context, *CatalogueOptions) error) *cobra.Command {
	opts := &CatalogueOptions{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "sync [--full] [--json] [--watch [--interval D]]",
		Short: "Update the catalogue from the Prescription Centre's Medication resources",
		Long: `Reads the Prescription Centre's Medication resources (one a package) page by
page. The first sync, or one after an import from Fimea's file, takes the whole
catalogue; each later one only what changed since the last (_lastUpdated), and
removes the packages withdrawn from sale. The new catalogue is built beside the
old one, checked and swapped in whole: a sync that fails leaves the old
catalogue answering.

With --watch it keeps running, as a back-office PC's service: whenever the
catalogue is due (none yet, or past its 1st or 15th) and the Prescription
Centre answers its probe, it syncs; otherwise it says why it waits.`,
		Example: `  tiski catalogue sync
  tiski catalogue sync --full --json
  tiski catalogue sync --watch --interval 5m`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return catalogueSyncRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Full, "full", false, "take the whole catalogue, not only what changed since the last sync")
	cmd.Flags().BoolVar(&opts.Watch, "watch", false, "keep running: take the catalogue's update on its own whenever it is due (the 1st and 15th) and the Prescription Centre answers, until Ctrl-C")
	cmd.Flags().DurationVar(&opts.Interval, "interval", time.Minute, "with --watch: how often to look")
	cmd.Flags().IntVar(&opts.PageSize, "page-size", centre.MedicationPageSize, "Medications asked for a page (_count); the server may send fewer")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// catalogueSynced is what `tiski catalogue sync --json` prints, the same in
// every language.
type catalogueSynced struct {
	Full      bool            `json:"full"`
	Pages     int             `json:"pages"`
	Fetched   int             `json:"fetched"`
	Changed   int             `json:"changed"`
	Withdrawn int             `json:"withdrawn"`
	Status    catalogueStatus `json:"status"`
}

func catalogueSyncRun(ctx context.Context, opts *CatalogueOptions) error {
	f := opts.Factory
	l := f.Lang()
	path, err := f.cataloguePath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("make data folder: %w", err)
	}
	cc, err := f.CentreConfig()
	if err != nil {
		return rx.Errorf(rx.ErrorCode(err), "%s", l.T(i18n.CLICatalogueNoCentre, err.Error()))
	}
	if opts.PageSize < 1 || opts.PageSize > 1000 {
		return usageError{fmt.Errorf("--page-size %d: give 1 to 1000", opts.PageSize)}
	}
	if opts.Watch && opts.Interval <= 0 {
		return usageError{fmt.Errorf("--interval must be positive")}
	}
	client, err := f.Centre()
	if err != nil {
		return rx.Errorf(rx.ErrorCode(err), "%s", l.T(i18n.CLICatalogueSyncFail, strings.TrimSuffix(err.Error(), ".")+"."))
	}
	defer client.Close()
	version := cc.BaseURL
	if u, err := url.Parse(cc.BaseURL); err == nil && u.Host != "" {
		version = u.Host
	}
	sync := func(full bool) error {
		res, err := catalogue.Sync(ctx, path, catalogue.FromCentre(client, opts.PageSize), catalogue.SyncOptions{Full: full, Version: version, Now: opts.Now()})
		if err != nil {
			// The catalogue's error ends "The catalogue was not changed.";
			// the user's text says so in their language.
			msg := strings.TrimSuffix(strings.TrimSpace(err.Error()), " The catalogue was not changed.")
			return rx.Errorf(rx.ErrorCode(err), "%s", l.T(i18n.CLICatalogueSyncFail, msg))
		}
		f.Logger().Info("catalogue synced", "full", res.Full, "pages", res.Pages, "fetched", res.Fetched,
			"changed", res.Changed, "withdrawn", res.Withdrawn, "count", res.Info.Count)
		return printSynced(f, l, opts, path, res)
	}
	if !opts.Watch {
		return sync(opts.Full)
	}
	return catalogueWatch(ctx, opts, path, client, sync)
}

// catalogueWatch takes the catalogue's update on its own whenever it is
// due (none yet, another source's, or past its 1st or 15th) and the
// Prescription Centre answers, looking every opts.Interval until Ctrl-C.
// A failed sync is said, and tried again at the next look.
func catalogueWatch(ctx context.Context, opts *CatalogueOptions, path string, client *centre.Client, sync func(full bool) error) error {
	f := opts.Factory
	l := f.Lang()
	c, err := catalogue.Open(ctx, path)
	if err != nil {
		return err
	}
	defer c.Close()
	full := opts.Full
	last := ""
	say := func(line string) {
		if line != last {
			last = line
			fmt.Fprintf(f.IO.ErrOut, "%s  %s\n", opts.Now().Format("15:04:05"), line)
		}
	}
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		info, err := c.Info(ctx)
		due := err != nil || info.Source != catalogue.SourceFHIR || !opts.Now().Before(catalogue.NextDue(info.ImportedAt.Local()))
		switch {
		case !due:
			say(l.T(i18n.CLICatalogueWatchCurrent, catalogue.NextDue(info.ImportedAt.Local()).Format(time.DateOnly)))
		default:
			if perr := client.Probe(ctx); perr != nil {
				if ctx.Err() != nil {
					return nil
				}
				say(l.T(i18n.CLICatalogueWatchWaiting, perr.Error()))
				break
			}
			if serr := sync(full); serr != nil {
				if ctx.Err() != nil {
					return nil
				}
				say(serr.Error())
				break
			}
			full, last = false, ""
			continue // says when the next is due
		}
		select {
		case <-ctx.Done():
			return nil // Ctrl-C is how watch ends
		case <-t.C:
		}
	}
}

// printSynced prints what a sync did and the catalogue's new status.
func printSynced(f *Factory, l i18n.Lang, opts *CatalogueOptions, path string, res catalogue.SyncResult) error {
	status := newCatalogueStatus(path, res.Info, true, opts.Now())
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(catalogueSynced{Full: res.Full, Pages: res.Pages, Fetched: res.Fetched,
			Changed: res.Changed, Withdrawn: res.Withdrawn, Status: status})
	}
	kind := l.T(i18n.CLICatalogueSyncIncr)
	if res.Full {
		kind = l.T(i18n.CLICatalogueSyncFull)
	}
	out := f.IO.Out
	fmt.Fprintln(out, l.T(i18n.CLICatalogueSynced, kind, res.Fetched, res.Pages, res.Changed, res.Withdrawn))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueCount, status.Count))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueSource, sourceText(l, status.Source)))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueVersion, status.Version))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueDate, status.Date.Local().Format(time.DateOnly)))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueNextDue, status.NextDue))
	fmt.Fprintln(out, l.T(i18n.CLICatalogueLicence))
	return nil
}
