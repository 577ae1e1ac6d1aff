package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// NewCmdJournal builds `tiski journal`.
func NewCmdJournal(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "Verify, export and back up the local journal",
	}
	cmd.AddCommand(NewCmdJournalVerify(f, nil), NewCmdJournalExport(f, nil), NewCmdJournalBackup(f, nil))
	return cmd
}

// JournalVerifyOptions are the options of `tiski journal verify`.
type JournalVerifyOptions struct {
	Factory *Factory
	JSON    bool
}

// NewCmdJournalVerify builds `tiski journal verify`.
func NewCmdJournalVerify(f *Factory, runF func(context.Context, *JournalVerifyOptions) error) *cobra.Command {
	opts := &JournalVerifyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit hash chain and run SQLite's integrity check",
		Long: `Recompute every record's hash from its content and the previous record's
hash, check that every record to be uploaded has its outbox entry, and run
PRAGMA integrity_check. Exits 0 when the journal is intact; on tampering or
damage it exits 1 and names the first bad record.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return journalVerifyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

func journalVerifyRun(ctx context.Context, opts *JournalVerifyOptions) error {
	j, err := opts.Factory.Journal(ctx)
	if err != nil {
		return err
	}
	rep, err := j.Verify(ctx)
	if err != nil {
		return err
	}
	out, l := opts.Factory.IO.Out, opts.Factory.Lang()
	if opts.JSON {
		v := map[string]any{"ok": rep.OK, "records": rep.Records, "problem": rep.Problem, "integrity": rep.Integrity}
		if rep.FirstBad != nil {
			v["first_bad"] = map[string]any{"seq": rep.FirstBad.Seq, "id": rep.FirstBad.ID}
		}
		if err := json.NewEncoder(out).Encode(v); err != nil {
			return err
		}
	} else if rep.OK {
		fmt.Fprintln(out, l.T(i18n.CLIJournalIntact, j.Path(), rep.Records))
	}
	if rep.OK {
		return nil
	}
	msg := l.T(i18n.CLIJournalFailed, rep.Problem)
	if rep.FirstBad != nil {
		msg = l.T(i18n.CLIJournalFailedAt, rep.FirstBad.Seq, rep.FirstBad.ID, rep.Problem)
	}
	if len(rep.Integrity) > 0 && !(len(rep.Integrity) == 1 && rep.Integrity[0] == "ok") {
		msg += l.T(i18n.CLIJournalIntegrity, strings.Join(rep.Integrity, "; "))
	}
	return &ExitError{Code: ExitFailed, Err: errors.New(l.T(i18n.CLIJournalKeepFile, msg))}
}

// JournalExportOptions are the options of `tiski journal export`.
type JournalExportOptions struct {
	Factory *Factory
	Format  string
	Since   string
	// Counters is "this" (this counter's journal) or "all" (with the
	// records of the pharmacy's other counters, from its hub).
	Counters string
}

// NewCmdJournalExport builds `tiski journal export`.
func NewCmdJournalExport(f *Factory, runF func(context.Context, *JournalExportOptions) error) *cobra.Command {
	opts := &JournalExportOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "export [--format csv|json] [--since TIME] [--counters this|all]",
		Short: "Export the journal for audit, one row or object per record",
		Long: `Write every record with its id (UUID), sequence, kind, time, pharmacist,
terminal, mode, policy rules, the record it refers to, the patient's masked
identity code, the outbox state and the record's hash. With --counters all,
the records of the pharmacy's other counters kept from its hub too, each
with its counter, in the order they happened.`,
		Example: "  tiski journal export --format csv > journal.csv\n  tiski journal export --format json --since 2026-11-20",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Format != "csv" && opts.Format != "json" {
				return usageError{fmt.Errorf("--format must be csv or json, not %q", opts.Format)}
			}
			if opts.Counters != "this" && opts.Counters != "all" {
				return usageError{fmt.Errorf("--counters must be this or all, not %q", opts.Counters)}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return journalExportRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "json", "csv or json")
	cmd.Flags().StringVar(&opts.Counters, "counters", "this", "this: this counter's journal; all: with the pharmacy's other counters' records, from its hub")
	cmd.Flags().StringVar(&opts.Since, "since", "", "only records made at or after this time (2026-11-20 or 2026-11-20T08:00:00+02:00)")
	return cmd
}

// parseSince accepts a date (local midnight) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, usageError{fmt.Errorf("--since %q is not a date (2026-11-20) or a time (2026-11-20T08:00:00+02:00)", s)}
}

type exportRow struct {
	Seq        int64     `json:"seq"`
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Time       time.Time `json:"time"`
	Created    time.Time `json:"created"`
	Pharmacist string    `json:"pharmacist"`
	Terminal   string    `json:"terminal"`
	Mode       string    `json:"mode"`
	Rules      []string  `json:"rules"`
	RefersTo   string    `json:"refers_to,omitempty"`
	Patient    string    `json:"patient,omitempty"` // masked
	Outbox     string    `json:"outbox_state,omitempty"`
	Hash       string    `json:"hash"`
	Counter    string    `json:"counter,omitempty"` // with --counters all: the counter that made it
}

func journalExportRun(ctx context.Context, opts *JournalExportOptions) error {
	since, err := parseSince(opts.Since)
	if err != nil {
		return err
	}
	j, err := opts.Factory.Journal(ctx)
	if err != nil {
		return err
	}
	all := opts.Counters == "all"
	opts.Factory.hubCatchUp(ctx, j)
	records, err := j.List(ctx, journal.Filter{Since: since, Peers: all})
	if err != nil {
		return err
	}
	entries, err := j.OutboxList(ctx)
	if err != nil {
		return err
	}
	state := make(map[string]string, len(entries))
	for _, e := range entries {
		state[e.RecordID] = string(e.State)
	}
	rows := make([]exportRow, 0, len(records))
	for _, r := range records {
		row := exportRow{Seq: r.Seq, ID: r.ID, Kind: string(r.Kind), Time: r.Time, Created: r.CreatedAt,
			Pharmacist: r.Pharmacist, Terminal: r.Terminal, Mode: string(r.Mode), Rules: r.Rules,
			RefersTo: r.RefersTo, Outbox: state[r.ID], Hash: r.Hash}
		if row.Rules == nil {
			row.Rules = []string{}
		}
		if all {
			row.Counter = r.Terminal
		}
		if r.Patient != "" {
			row.Patient = hetu.Mask(r.Patient)
		}
		rows = append(rows, row)
	}
	out := opts.Factory.IO.Out
	if opts.Format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	w := csv.NewWriter(out)
	header := []string{"seq", "id", "kind", "time", "created", "pharmacist", "terminal", "mode", "rules", "refers_to", "patient", "outbox_state", "hash"}
	if all {
		header = append(header, "counter")
	}
	w.Write(header)
	for _, r := range rows {
		line := []string{strconv.FormatInt(r.Seq, 10), r.ID, r.Kind, r.Time.Format(time.RFC3339), r.Created.Format(time.RFC3339),
			r.Pharmacist, r.Terminal, r.Mode, strings.Join(r.Rules, " "), r.RefersTo, r.Patient, r.Outbox, r.Hash}
		if all {
			line = append(line, r.Counter)
		}
		w.Write(line)
	}
	w.Flush()
	return w.Error()
}

// JournalBackupOptions are the options of `tiski journal backup`.
type JournalBackupOptions struct {
	Factory *Factory
	To      string
}

// NewCmdJournalBackup builds `tiski journal backup`.
func NewCmdJournalBackup(f *Factory, runF func(context.Context, *JournalBackupOptions) error) *cobra.Command {
	opts := &JournalBackupOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Write a consistent copy of the journal, safe while the counter runs",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.To == "" {
				return usageError{fmt.Errorf("--to FILE is required")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return journalBackupRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "the backup file to write (must not exist)")
	return cmd
}

func journalBackupRun(ctx context.Context, opts *JournalBackupOptions) error {
	j, err := opts.Factory.Journal(ctx)
	if err != nil {
		return err
	}
	if err := j.Backup(ctx, opts.To); err != nil {
		return err
	}
	fmt.Fprintln(opts.Factory.IO.Out, opts.Factory.Lang().T(i18n.CLIJournalBackedUp, j.Path(), opts.To))
	return nil
}
