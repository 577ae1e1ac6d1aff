package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// NewCmdConflicts builds `tiski conflicts`.
func NewCmdConflicts(f *Factory) *cobra.Command {
	var kinds []string
	for _, k := range queue.ConflictKinds() {
		kinds = append(kinds, string(k))
	}
	cmd := &cobra.Command{
		Use:   "conflicts",
		Short: "Records the Prescription Centre disagrees with, for a pharmacist's review",
		Long: `A record that the Prescription Centre refused, or that may duplicate an
e-prescription, is never resolved automatically and never dropped: it waits
here for a pharmacist. Kinds: ` + strings.Join(kinds, ", ") + `.

A pharmacist resolves one by resubmitting it with an override reason (for
example "prescriber consulted"), by linking it to a named e-prescription, or
by voiding it as entered in error. Each resolution is an audit record.`,
	}
	cmd.AddCommand(NewCmdConflictsList(f, nil), NewCmdConflictsShow(f, nil), NewCmdConflictsResolve(f, nil))
	return cmd
}

// ConflictsOptions are the options of `tiski conflicts list|show|resolve`.
type ConflictsOptions struct {
	Factory       *Factory
	ID            string
	JSON          bool
	User          string
	Resubmit      bool
	Link          string
	Void          bool
	Reason        string
	CentreTimeout time.Duration
}

type conflictRow struct {
	ID           string             `json:"id"`
	Seq          int64              `json:"seq"`
	Kind         string             `json:"record_kind"`
	State        string             `json:"state"`
	Conflict     queue.ConflictKind `json:"conflict"`
	Detail       string             `json:"detail"`
	Patient      string             `json:"patient"` // masked
	Prescription string             `json:"prescription,omitempty"`
	Time         time.Time          `json:"time"`
	Pharmacist   string             `json:"pharmacist"`
	Waiting      []string           `json:"waiting,omitempty"` // records that wait for this one
	Counter      string             `json:"counter,omitempty"` // another counter's record, adopted here (tiski sync adopt)
}

func conflictRows(ctx context.Context, j *journal.Journal) ([]conflictRow, error) {
	entries, err := j.OutboxList(ctx, journal.OutboxConflict, journal.OutboxRejected)
	if err != nil {
		return nil, err
	}
	// Records of another counter adopted here (issue 19) reach review here
	// too: this counter sent them.
	adopted, err := j.AdoptLane().OutboxList(ctx, journal.OutboxConflict, journal.OutboxRejected)
	if err != nil {
		return nil, err
	}
	entries = append(entries, adopted...)
	rows := make([]conflictRow, 0, len(entries))
	for _, e := range entries {
		row, _, err := conflictRowOf(ctx, j, e)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// conflictRowOf describes one entry waiting for review, with its record.
func conflictRowOf(ctx context.Context, j *journal.Journal, e journal.OutboxEntry) (conflictRow, journal.Record, error) {
	c, _ := queue.EntryConflict(e)
	rec, err := j.GetAny(ctx, e.RecordID) // an adopted record is another counter's
	if err != nil {
		return conflictRow{}, journal.Record{}, err
	}
	row := conflictRow{ID: e.RecordID, Seq: e.Seq, Kind: string(rec.Kind), State: string(e.State), Conflict: c.Kind, Detail: c.Detail,
		Patient: hetu.Mask(rec.Patient), Prescription: record.PrescriptionOf(rec), Time: rec.Time, Pharmacist: rec.Pharmacist}
	if rec.Peer {
		row.Counter = rec.Terminal
	}
	deps, err := j.Dependents(ctx, e.RecordID)
	if err != nil {
		return conflictRow{}, journal.Record{}, err
	}
	for _, d := range deps {
		if d.State != journal.OutboxDone && d.State != journal.OutboxVoided {
			row.Waiting = append(row.Waiting, d.RecordID)
		}
	}
	return row, rec, nil
}

// NewCmdConflictsList builds `tiski conflicts list`.
func NewCmdConflictsList(f *Factory, runF func(context.Context, *ConflictsOptions) error) *cobra.Command {
	opts := &ConflictsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the records waiting for review, oldest first",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			j, err := f.Journal(cmd.Context())
			if err != nil {
				return err
			}
			rows, err := conflictRows(cmd.Context(), j)
			if err != nil {
				return err
			}
			out := f.IO.Out
			if opts.JSON {
				return json.NewEncoder(out).Encode(rows)
			}
			l := f.Lang()
			if len(rows) == 0 {
				fmt.Fprintln(out, l.T(i18n.CLIConflictsEmpty))
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, l.T(i18n.CLIConflictsHeader))
			for _, r := range rows {
				detail := r.Detail
				if len(r.Waiting) > 0 {
					detail = l.T(i18n.CLIConflictsWaiting, len(r.Waiting), detail)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, kindText(l, r.Kind), conflictText(l, string(r.Conflict)), r.Patient, r.Prescription,
					r.Time.Local().Format("02.01. 15:04"), truncate(detail, 60))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// NewCmdConflictsShow builds `tiski conflicts show`.
func NewCmdConflictsShow(f *Factory, runF func(context.Context, *ConflictsOptions) error) *cobra.Command {
	opts := &ConflictsOptions{Factory: f, CentreTimeout: 5 * time.Second}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a conflict: the journal record beside the Prescription Centre's state",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return conflictsShowRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func conflictsShowRun(ctx context.Context, opts *ConflictsOptions) error {
	f := opts.Factory
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	entry, err := j.Outbox(ctx, opts.ID)
	if err != nil && rx.ErrorCode(err) != rx.ENOTFOUND {
		return err
	}
	if _, waiting := queue.EntryConflict(entry); err != nil || !waiting {
		return rx.Errorf(rx.ENOTFOUND, "Record %s is not waiting for review: see 'tiski conflicts list' or 'tiski queue show %s'.", opts.ID, opts.ID)
	}
	r, rec, err := conflictRowOf(ctx, j, entry)
	if err != nil {
		return err
	}
	row := &r
	// The upstream state of an e-prescription, when the Prescription Centre answers.
	upstream := map[string]any{}
	upstreamNote := "" // for --json: English, as every JSON value
	var upstreamErr error
	readFailed := false                                         // the Prescription Centre did not answer
	if row.Prescription != "" && !rx.IsUUID(row.Prescription) { // an e-prescription, not a journal one
		if client, err := f.Centre(); err != nil {
			upstreamNote, upstreamErr = err.Error(), err
		} else {
			cctx, cancel := context.WithTimeout(ctx, opts.CentreTimeout)
			// It must be the record's patient's (issue 22, criterion (d)).
			p, err := client.Prescription(cctx, row.Prescription, rec.Patient)
			cancel()
			client.Close()
			if errors.Is(err, centre.ErrWrongPatient) {
				// Nothing of it is shown; the pharmacist's words, not the
				// client's.
				upstreamNote, upstreamErr, readFailed = err.Error(), errors.New(f.Lang().T(i18n.ConflUpstreamWrongPatient)), true
			} else if err != nil {
				upstreamNote, upstreamErr, readFailed = "could not read it now: "+err.Error(), err, true
			} else {
				pol, err := f.Policy()
				if err != nil {
					return err
				}
				upstream = map[string]any{"id": p.ID, "status": p.Status, "remaining": p.Remaining(), "total": p.Total(),
					"valid_until": p.ValidUntil(pol.Validity()).Format(time.DateOnly), "locked_by": p.LockedBy, "version": p.Version,
					"medicine": p.Medicine.DisplayName(), "prescriber": p.Prescriber.Name}
			}
		}
	}
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(map[string]any{"conflict": row, "record": maskedBody(rec), "upstream": upstream, "upstream_note": upstreamNote})
	}
	w, l := f.IO.Out, f.Lang()
	rows := [][2]string{
		{l.T(i18n.CLIConflShowConflict), fmt.Sprintf("%s (%s)", conflictText(l, string(row.Conflict)), stateText(l, journal.OutboxState(row.State)))},
		{l.T(i18n.CLIConflShowDetail), row.Detail},
		{l.T(i18n.CLIConflShowRecord), l.T(i18n.CLIConflShowRecordValue, kindText(l, row.Kind), row.ID, row.Seq, rec.Time.Local().Format("2006-01-02 15:04"), rec.Pharmacist)},
		{l.T(i18n.CLIConflShowPatient), row.Patient},
		{l.T(i18n.CLIConflShowContent), string(maskedBody(rec))},
	}
	if len(upstream) > 0 {
		up := l.T(i18n.CLIConflShowUpstreamValue, upstream["id"], upstream["medicine"], upstream["status"], upstream["remaining"], upstream["total"], upstream["valid_until"])
		if lb, _ := upstream["locked_by"].(string); lb != "" {
			up += l.T(i18n.CLIConflShowLockedBy, lb)
		}
		rows = append(rows, [2]string{l.T(i18n.CLIConflShowUpstream), up})
	} else if readFailed {
		rows = append(rows, [2]string{l.T(i18n.CLIConflShowUpstream), l.T(i18n.CLIConflShowUpstreamFailed, upstreamErr)})
	} else if upstreamErr != nil {
		rows = append(rows, [2]string{l.T(i18n.CLIConflShowUpstream), upstreamErr.Error()})
	}
	if len(row.Waiting) > 0 {
		rows = append(rows, [2]string{l.T(i18n.CLIConflShowWaiting), strings.Join(row.Waiting, ", ")})
	}
	writeFields(w, l, false, conflictShowWidth, conflictShowLabels, rows)
	fmt.Fprintf(w, "\n%s\n  tiski conflicts resolve %s --resubmit --reason TEXT --user ID\n  tiski conflicts resolve %s --link PRESCRIPTION_ID --user ID\n  tiski conflicts resolve %s --void --reason TEXT --user ID\n",
		l.T(i18n.CLIConflShowResolve), row.ID, row.ID, row.ID)
	return nil
}

// conflictShowWidth keeps the label column of `tiski conflicts show` at
// least as wide as queue show's, so that both read alike.
const conflictShowWidth = 10

// conflictShowLabels are the labels of `tiski conflicts show`, which set
// the width of its label column.
var conflictShowLabels = []i18n.Key{i18n.CLIConflShowConflict, i18n.CLIConflShowDetail, i18n.CLIConflShowRecord,
	i18n.CLIConflShowPatient, i18n.CLIConflShowContent, i18n.CLIConflShowUpstream, i18n.CLIConflShowWaiting}

// NewCmdConflictsResolve builds `tiski conflicts resolve`.
func NewCmdConflictsResolve(f *Factory, runF func(context.Context, *ConflictsOptions) error) *cobra.Command {
	opts := &ConflictsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "resolve ID (--resubmit --reason TEXT | --link PRESCRIPTION_ID | --void --reason TEXT) --user ID",
		Short: "Resolve a conflict as a pharmacist; the resolution is an audit record",
		Example: `  tiski conflicts resolve 5d0c… --resubmit --reason "prescriber consulted" --user aino
  tiski conflicts resolve 5d0c… --link EP26002801 --user aino
  tiski conflicts resolve 5d0c… --void --reason "entered in error" --user aino`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			n := 0
			for _, set := range []bool{opts.Resubmit, opts.Link != "", opts.Void} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageError{fmt.Errorf("choose exactly one of --resubmit, --link PRESCRIPTION_ID or --void")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return conflictsResolveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Resubmit, "resubmit", false, "send it again with an override reason")
	cmd.Flags().StringVar(&opts.Link, "link", "", "send it against this e-prescription instead")
	cmd.Flags().BoolVar(&opts.Void, "void", false, "void it as entered in error: it is never sent")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why (required for --resubmit and --void)")
	cmd.Flags().StringVar(&opts.User, "user", "", "the pharmacist resolving it")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the resolution record as JSON")
	return cmd
}

func conflictsResolveRun(ctx context.Context, opts *ConflictsOptions) error {
	f := opts.Factory
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	who, err := signInFlag(ctx, f, j, opts.User)
	if err != nil {
		return err
	}
	r := queue.Resolution{Reason: opts.Reason, PrescriptionID: opts.Link}
	switch {
	case opts.Resubmit:
		r.Action = queue.ActionResubmit
	case opts.Link != "":
		r.Action = queue.ActionLink
	default:
		r.Action = queue.ActionVoid
	}
	rec, err := queue.Resolve(ctx, j, who, opts.ID, r)
	if err != nil {
		return err
	}
	f.Logger().Info("conflict resolved", logKeyRecord, opts.ID, "resolution", rec.ID, "action", r.Action, logKeyUser, who.ID)
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(map[string]any{"resolution": rec.ID, "seq": rec.Seq, "kind": rec.Kind, "record": opts.ID, "action": r.Action})
	}
	switch r.Action {
	case queue.ActionVoid:
		fmt.Fprintln(f.IO.Out, f.Lang().T(i18n.CLIConflVoided, opts.ID, rec.ID))
	default:
		fmt.Fprintln(f.IO.Out, f.Lang().T(i18n.CLIConflResolved, opts.ID, r.Action, rec.ID))
	}
	return nil
}
