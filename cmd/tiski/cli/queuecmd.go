package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// NewCmdQueue builds `tiski queue`.
func NewCmdQueue(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Inspect the upload queue record by record; retry or park one",
		Long: `Every journal record to upload has a queue entry:
  pending   waiting for its turn        sending   being uploaded now (leased)
  retry     failed for now, retried     done      in the Prescription Centre
  conflict  needs a pharmacist          rejected  refused upstream; needs a pharmacist
  parked    set aside by IT             voided    voided before upload; never sent`,
	}
	cmd.AddCommand(NewCmdQueueList(f, nil), NewCmdQueueShow(f, nil), NewCmdQueueRetry(f, nil), NewCmdQueuePark(f, nil))
	return cmd
}

// QueueOptions are the options of `tiski queue list|show|retry|park`.
type QueueOptions struct {
	Factory *Factory
	States  []string
	ID      string
	Reason  string
	JSON    bool
	// Rejected: `queue retry --rejected`, every entry rejected for the
	// configuration rather than one ID.
	Rejected bool
}

type queueRow struct {
	Seq         int64     `json:"seq"`
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Conflict    string    `json:"conflict,omitempty"`
	DependsOn   string    `json:"depends_on,omitempty"`
	UpstreamID  string    `json:"upstream_id,omitempty"`
	Created     time.Time `json:"created"`
}

func rowOf(e journal.OutboxEntry) queueRow {
	return queueRow{Seq: e.Seq, ID: e.RecordID, Kind: string(e.Kind), State: string(e.State), Attempts: e.Attempts,
		NextAttempt: e.NextAttempt, LastError: e.LastError, Conflict: e.Conflict, DependsOn: e.DependsOn,
		UpstreamID: e.UpstreamID, Created: e.CreatedAt}
}

// NewCmdQueueList builds `tiski queue list`.
func NewCmdQueueList(f *Factory, runF func(context.Context, *QueueOptions) error) *cobra.Command {
	opts := &QueueOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "list [--state S,...]",
		Short:   "List queue entries, oldest first (default: everything not yet done)",
		Example: "  tiski queue list\n  tiski queue list --state conflict,rejected --json\n  tiski queue list --state done",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range opts.States {
				if !journal.OutboxState(s).Valid() {
					return usageError{fmt.Errorf("--state %q is not one of pending, sending, retry, done, conflict, rejected, parked, voided", s)}
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return queueListRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.States, "state", nil, "only entries in these states")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func queueListRun(ctx context.Context, opts *QueueOptions) error {
	j, err := opts.Factory.Journal(ctx)
	if err != nil {
		return err
	}
	var states []journal.OutboxState
	for _, s := range opts.States {
		states = append(states, journal.OutboxState(s))
	}
	if len(states) == 0 {
		states = []journal.OutboxState{journal.OutboxPending, journal.OutboxSending, journal.OutboxRetry, journal.OutboxConflict, journal.OutboxRejected, journal.OutboxParked}
	}
	entries, err := j.OutboxList(ctx, states...)
	if err != nil {
		return err
	}
	out := opts.Factory.IO.Out
	if opts.JSON {
		rows := make([]queueRow, 0, len(entries))
		for _, e := range entries {
			rows = append(rows, rowOf(e))
		}
		return json.NewEncoder(out).Encode(rows)
	}
	l := opts.Factory.Lang()
	if len(entries) == 0 {
		fmt.Fprintln(out, l.T(i18n.CLIQueueEmpty))
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, l.T(i18n.CLIQueueHeader))
	for _, e := range entries {
		next := "-"
		if !e.NextAttempt.IsZero() && (e.State == journal.OutboxRetry || e.State == journal.OutboxPending) {
			next = e.NextAttempt.Local().Format("15:04:05")
		}
		why := e.Conflict
		if why == "" {
			why = e.LastError
		}
		if why == "" && e.DependsOn != "" {
			why = l.T(i18n.CLIQueueWaitsFor, e.DependsOn)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Seq, e.RecordID, kindText(l, string(e.Kind)), stateText(l, e.State), e.Attempts, next, truncate(why, 70))
	}
	return tw.Flush()
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// NewCmdQueueShow builds `tiski queue show`.
func NewCmdQueueShow(f *Factory, runF func(context.Context, *QueueOptions) error) *cobra.Command {
	opts := &QueueOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one record and its queue entry (identity codes masked)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return queueShowRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// maskedBody returns a record's body with the patient's identity code masked.
func maskedBody(r journal.Record) json.RawMessage {
	if r.Patient == "" {
		return r.Body
	}
	return json.RawMessage(strings.ReplaceAll(string(r.Body), r.Patient, hetu.Mask(r.Patient)))
}

func queueShowRun(ctx context.Context, opts *QueueOptions) error {
	j, err := opts.Factory.Journal(ctx)
	if err != nil {
		return err
	}
	rec, err := j.Get(ctx, opts.ID)
	if err != nil {
		return err
	}
	entry, err := j.Outbox(ctx, opts.ID)
	hasEntry := err == nil
	if err != nil && rx.ErrorCode(err) != rx.ENOTFOUND {
		return err
	}
	out := opts.Factory.IO.Out
	if opts.JSON {
		v := map[string]any{"record": map[string]any{
			"seq": rec.Seq, "id": rec.ID, "kind": rec.Kind, "time": rec.Time, "created": rec.CreatedAt,
			"pharmacist": rec.Pharmacist, "terminal": rec.Terminal, "mode": rec.Mode, "rules": rec.Rules,
			"refers_to": rec.RefersTo, "patient": hetu.Mask(rec.Patient), "body": maskedBody(rec), "hash": rec.Hash,
		}}
		if hasEntry {
			v["outbox"] = rowOf(entry)
		}
		return json.NewEncoder(out).Encode(v)
	}
	l := opts.Factory.Lang()
	const stamp = "2006-01-02 15:04:05"
	rows := [][2]string{
		{l.T(i18n.CLIQueueShowRecord), fmt.Sprintf("%s (#%d)", rec.ID, rec.Seq)},
		{l.T(i18n.CLIQueueShowKind), kindText(l, string(rec.Kind))},
		{l.T(i18n.CLIQueueShowTime), l.T(i18n.CLIQueueShowTimeValue, rec.Time.Local().Format(stamp), rec.CreatedAt.Local().Format(stamp))},
		{l.T(i18n.CLIQueueShowPharmacist), l.T(i18n.CLIQueueShowPharmacistValue, rec.Pharmacist, rec.Terminal, rec.Mode)},
	}
	if rec.Patient != "" {
		rows = append(rows, [2]string{l.T(i18n.CLIQueueShowPatient), hetu.Mask(rec.Patient)})
	}
	if len(rec.Rules) > 0 {
		rows = append(rows, [2]string{l.T(i18n.CLIQueueShowRules), strings.Join(rec.Rules, ", ")})
	}
	if rec.RefersTo != "" {
		rows = append(rows, [2]string{l.T(i18n.CLIQueueShowRefersTo), rec.RefersTo})
	}
	if hasEntry {
		state := l.T(i18n.CLIQueueShowStateValue, stateText(l, entry.State), entry.Attempts)
		if !entry.NextAttempt.IsZero() && entry.State == journal.OutboxRetry {
			state += l.T(i18n.CLIQueueShowNext, entry.NextAttempt.Local().Format("15:04:05"))
		}
		rows = append(rows, [2]string{l.T(i18n.CLIQueueShowState), state})
		for _, line := range []struct {
			k i18n.Key
			v string
		}{{i18n.CLIQueueShowUpstream, entry.UpstreamID}, {i18n.CLIQueueShowWaits, entry.DependsOn}, {i18n.CLIQueueShowConflict, entry.Conflict}, {i18n.CLIQueueShowLastError, entry.LastError}} {
			if line.v != "" {
				rows = append(rows, [2]string{l.T(line.k), line.v})
			}
		}
	} else {
		rows = append(rows, [2]string{l.T(i18n.CLIQueueShowState), l.T(i18n.CLIQueueShowLocal)})
	}
	rows = append(rows, [2]string{l.T(i18n.CLIQueueShowContent), string(maskedBody(rec))})
	writeFields(out, l, false, 0, queueShowLabels, rows)
	return nil
}

// queueShowLabels are the labels of `tiski queue show`, which set the
// width of its label column.
var queueShowLabels = []i18n.Key{i18n.CLIQueueShowRecord, i18n.CLIQueueShowKind, i18n.CLIQueueShowTime,
	i18n.CLIQueueShowPharmacist, i18n.CLIQueueShowPatient, i18n.CLIQueueShowRules, i18n.CLIQueueShowRefersTo,
	i18n.CLIQueueShowState, i18n.CLIQueueShowUpstream, i18n.CLIQueueShowWaits, i18n.CLIQueueShowConflict,
	i18n.CLIQueueShowLastError, i18n.CLIQueueShowContent}

// NewCmdQueueRetry builds `tiski queue retry`.
func NewCmdQueueRetry(f *Factory, runF func(context.Context, *QueueOptions) error) *cobra.Command {
	opts := &QueueOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "retry ID | --rejected",
		Short: "Send a waiting, parked, conflicting or rejected entry again, now",
		Long: `Send one entry again now: tiski queue retry ID.

With --rejected, send again every entry that was rejected because of this
counter's configuration (for example the pharmacy's OID was missing), once
the configuration is fixed. Such entries never reached the Prescription
Centre. Entries the Prescription Centre itself refused (a business rule, e.g.
an expired prescription) are left for a pharmacist: see 'tiski conflicts'.`,
		Example: "  tiski queue retry 01a2b3c4-...\n  tiski queue retry --rejected",
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.Rejected {
				if len(args) != 0 {
					return usageError{fmt.Errorf("give either a record ID or --rejected, not both")}
				}
				return nil
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !opts.Rejected {
				opts.ID = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.Rejected {
				return queueRetryRejectedRun(cmd.Context(), opts)
			}
			j, err := f.Journal(cmd.Context())
			if err != nil {
				return err
			}
			if err := j.Requeue(cmd.Context(), opts.ID); err != nil {
				return err
			}
			f.Logger().Info("queue retry", logKeyRecord, opts.ID, logKeyUser, operator())
			fmt.Fprintf(f.IO.Out, "%s is due now; 'tiski sync run' or the counter sends it.\n", opts.ID)
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.Rejected, "rejected", false, "send again every entry rejected for this counter's configuration, once it is fixed")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON (with --rejected)")
	return cmd
}

// retryRejectedResult is what `tiski queue retry --rejected --json` prints.
type retryRejectedResult struct {
	Requeued []string `json:"requeued"`      // the entries due again, oldest first
	Count    int      `json:"count"`         // len(Requeued)
	Left     int      `json:"left_rejected"` // rejected by the Prescription Centre: for a pharmacist
}

// queueRetryRejectedRun sends again the entries rejected for this
// counter's configuration, once the configuration is whole: each is made
// due now with a log line naming it. Rejections by the Prescription Centre
// are left for a pharmacist.
func queueRetryRejectedRun(ctx context.Context, opts *QueueOptions) error {
	f := opts.Factory
	c, err := f.Config()
	if err != nil {
		return err
	}
	if err := c.Pharmacy.Check(); err != nil {
		return rx.Errorf(rx.ECONFIG, "Nothing was sent again: fix the configuration first. %s\n%s", rx.ErrorMessage(err), c.PharmacyHelp())
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	rejected, err := j.OutboxList(ctx, journal.OutboxRejected)
	if err != nil {
		return err
	}
	res := retryRejectedResult{Requeued: []string{}}
	for _, e := range rejected {
		if !queue.ConfigurationRejected(e) {
			res.Left++
			continue
		}
		if err := j.Requeue(ctx, e.RecordID); err != nil {
			return fmt.Errorf("send %s again (%d sent again before it): %w", e.RecordID, res.Count, err)
		}
		f.Logger().Info("queue retry", logKeyRecord, e.RecordID, logKeyKind, string(e.Kind), logKeyUser, operator(),
			"reason", "rejected for the configuration, which is now complete")
		res.Requeued = append(res.Requeued, e.RecordID)
		res.Count++
	}
	out := f.IO.Out
	if opts.JSON {
		return json.NewEncoder(out).Encode(res)
	}
	switch res.Count {
	case 0:
		fmt.Fprintln(out, "No entry was rejected for the configuration: nothing to send again.")
	default:
		fmt.Fprintf(out, "%d entr%s rejected for the configuration %s due now; 'tiski sync run' or the counter sends them.\n",
			res.Count, plural(res.Count, "y", "ies"), plural(res.Count, "is", "are"))
		for _, id := range res.Requeued {
			fmt.Fprintf(out, "  %s\n", id)
		}
	}
	if res.Left > 0 {
		fmt.Fprintf(out, "%d other rejected entr%s the Prescription Centre refused: a pharmacist reviews them (tiski conflicts list).\n",
			res.Left, plural(res.Left, "y", "ies"))
	}
	return nil
}

// plural picks the singular or the plural ending for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// NewCmdQueuePark builds `tiski queue park`.
func NewCmdQueuePark(f *Factory, runF func(context.Context, *QueueOptions) error) *cobra.Command {
	opts := &QueueOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "park ID --reason TEXT",
		Short: "Set an entry aside: it is not sent until 'tiski queue retry'",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if strings.TrimSpace(opts.Reason) == "" {
				return usageError{fmt.Errorf("--reason TEXT is required: it is kept with the entry")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			j, err := f.Journal(cmd.Context())
			if err != nil {
				return err
			}
			if err := j.Park(cmd.Context(), opts.ID, opts.Reason); err != nil {
				return err
			}
			f.Logger().Info("queue park", logKeyRecord, opts.ID, logKeyUser, operator(), "reason", opts.Reason)
			fmt.Fprintf(f.IO.Out, "%s is parked: %s\n", opts.ID, opts.Reason)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why it is set aside")
	return cmd
}
