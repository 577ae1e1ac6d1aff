package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/queue"
)

// AdoptOptions are the options of `tiski sync adopt`.
type AdoptOptions struct {
	Factory  *Factory
	Counter  string
	JSON     bool
	Once     bool
	List     bool
	NoUpload bool
	Retry    []string
}

// AdoptResult is what `tiski sync adopt --json` prints.
type AdoptResult struct {
	// Adoption is what this run adopted; nil with --list.
	*journal.Adoption
	// Upload is what the upload of the adopted records did; nil with
	// --list and --no-upload.
	Upload *queue.Summary `json:"upload,omitempty"`
	// Lane is the counter's adopted records as they stand now.
	Lane    []journal.AdoptedEntry `json:"lane"`
	Counts  journal.Counts         `json:"counts"`
	Counter string                 `json:"counter"`
}

// NewCmdSyncAdopt builds `tiski sync adopt`.
func NewCmdSyncAdopt(f *Factory, runF func(context.Context, *AdoptOptions) error) *cobra.Command {
	opts := &AdoptOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "adopt COUNTER",
		Short: "Upload another counter's records, for example after that PC died (IT)",
		Long: `Make this counter upload the records another counter of the pharmacy recorded
and had marked for upload: every record of that counter this journal holds
from the pharmacy's hub. Use it when that counter cannot upload them itself,
for example when its PC died during an outage.

Each counter tells the hub how far it has uploaded its own records; those are
not sent again. What it uploaded after it last said so cannot be known here,
so the rest are all sent. That is safe: every upload is a conditional create
on the record's UUID, so a record already in the Prescription Centre is found
there, not created again. A record the other counter voided before it was
uploaded is not sent. If the other counter comes back, its own uploads of the
same records find them there too: each record is in the Prescription Centre
exactly once.

The adopted records are sent with the queue's rules: backoff while the service
is away, a dispensing after its prescription, and conflicts held for a
pharmacist of this counter (they are listed, and --list shows them again;
--retry sends one again once its cause is gone).
Without --once it keeps going until nothing is left to send; run it again to
send what is left. Each adoption is written to tiski.log with the records it
adopted.

Exit code 0, 3 or 4 as for 'tiski sync', for the adopted records.`,
		Example: `  tiski sync adopt kassa-1
  tiski sync adopt kassa-1 --once --json
  tiski sync adopt kassa-1 --list
  tiski sync adopt kassa-1 --retry 5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a11`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Counter = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return syncAdoptRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	cmd.Flags().BoolVar(&opts.Once, "once", false, "one pass over the adopted records due now, then exit")
	cmd.Flags().BoolVar(&opts.List, "list", false, "only list the counter's adopted records and their upload state")
	cmd.Flags().BoolVar(&opts.NoUpload, "no-upload", false, "adopt without uploading now (a later run uploads them)")
	cmd.Flags().StringSliceVar(&opts.Retry, "retry", nil, "send these adopted records again now (IDs), for example after a lock was released")
	return cmd
}

// adopter names who adopted, for the audit: the user and the host.
func adopter() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USERNAME")
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

func syncAdoptRun(ctx context.Context, opts *AdoptOptions) error {
	f := opts.Factory
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	f.hubCatchUp(ctx, j)
	lane := j.AdoptLane()
	res := AdoptResult{Counter: strings.TrimSpace(opts.Counter)}
	for _, id := range opts.Retry {
		if err := lane.Requeue(ctx, id); err != nil {
			return err
		}
		f.Logger().Info("sync adopt retry", logKeyCmd, "sync adopt", "counter", res.Counter, "record", id, "by", adopter())
	}
	if !opts.List {
		a, err := j.Adopt(ctx, opts.Counter, adopter(), f.uploadedThrough(ctx, res.Counter))
		if err != nil {
			return err
		}
		res.Adoption = &a
		ids := make([]string, len(a.Adopted))
		for i, r := range a.Adopted {
			ids[i] = r.ID
		}
		f.Logger().Info("sync adopt", logKeyCmd, "sync adopt", "counter", a.Counter, "by", a.By, "adopted", len(a.Adopted),
			"to_upload", a.Pending(), "already", a.Already, "records", strings.Join(ids, ","))
		if !opts.JSON {
			printAdoption(f.IO.Out, a)
		}
		if !opts.NoUpload {
			sum, err := uploadAdopted(ctx, f, j, lane, opts)
			if err != nil {
				return err
			}
			res.Upload = &sum
		}
	}
	all, err := lane.Adopted(context.WithoutCancel(ctx), res.Counter)
	if err != nil {
		return err
	}
	res.Lane = all
	if res.Lane == nil {
		res.Lane = []journal.AdoptedEntry{}
	}
	for _, e := range all {
		countState(&res.Counts, e.State)
	}
	if opts.JSON {
		if err := json.NewEncoder(f.IO.Out).Encode(res); err != nil {
			return err
		}
	} else {
		printAdoptedLane(f.IO.Out, res, opts.List)
	}
	return queueExit(res.Counts)
}

// uploadedThrough asks the hub how far counter had uploaded its own
// records when it last said so (its UploadedThrough): those are not sent
// again. 0, and every record is sent, when the hub does not answer within
// about 2 s or the counter never said.
func (f *Factory) uploadedThrough(ctx context.Context, counter string) int64 {
	if _, ok, err := f.HubOptions(); err != nil || !ok {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	c, err := f.Hub(ctx)
	if err != nil {
		return 0
	}
	states, err := c.Counters(ctx)
	if err != nil {
		f.Logger().Warn("sync adopt: the hub's counter states", "error", err.Error())
		return 0
	}
	for _, st := range states {
		if st.Counter == counter {
			return st.UploadedThrough
		}
	}
	return 0
}

// uploadAdopted sends the adopted lane with the queue, the mode machine
// beside it as for tiski sync run.
func uploadAdopted(ctx context.Context, f *Factory, j *journal.Journal, lane *journal.AdoptLane, opts *AdoptOptions) (queue.Summary, error) {
	client, err := f.Centre()
	if err != nil {
		return queue.Summary{}, err
	}
	defer client.Close()
	cfg, err := workerConfig(f)
	if err != nil {
		return queue.Summary{}, err
	}
	out := f.IO.Out
	if !opts.JSON {
		cfg.OnOutcome = func(o queue.Outcome) {
			switch o.State {
			case journal.OutboxConflict, journal.OutboxRejected:
				fmt.Fprintf(out, "%s %s %s: %s\n", o.State, o.Kind, o.RecordID, o.Detail)
			}
		}
	}
	c, err := f.Config()
	if err != nil {
		return queue.Summary{}, err
	}
	m := mode.New(j, client, mode.Config{Interval: c.Probe.Interval, FaultInterval: c.Probe.FaultInterval,
		Timeout: c.Probe.Timeout, RecoverAfter: c.Probe.RecoverAfter, Logger: f.Logger()})
	w := queue.New(lane, client, m, cfg)
	stop := runBeside(ctx, m, w)
	sum, err := w.Drain(ctx, opts.Once)
	stop()
	f.Logger().Info("sync adopt upload", logKeyCmd, "sync adopt", "counter", opts.Counter, "uploaded", sum.Uploaded,
		"conflicts", sum.Conflicts, "rejected", sum.Rejected, "retries", sum.Retries)
	return sum, err
}

func countState(c *journal.Counts, s journal.OutboxState) {
	switch s {
	case journal.OutboxPending:
		c.Pending++
	case journal.OutboxSending:
		c.Sending++
	case journal.OutboxRetry:
		c.Retry++
	case journal.OutboxDone:
		c.Done++
	case journal.OutboxConflict:
		c.Conflict++
	case journal.OutboxRejected:
		c.Rejected++
	case journal.OutboxParked:
		c.Parked++
	case journal.OutboxVoided:
		c.Voided++
	}
}

func printAdoption(out io.Writer, a journal.Adoption) {
	voided := len(a.Adopted) - a.Pending() - a.DoneThere
	fmt.Fprintf(out, "Adopted %d records of counter %s: %d to upload, %d voided at %s before their upload (never sent), %d uploaded by %s already (it said so through the hub). %d were adopted earlier.\n",
		len(a.Adopted), a.Counter, a.Pending(), voided, a.Counter, a.DoneThere, a.Counter, a.Already)
	if len(a.Adopted) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SEQ\tRECORD\tKIND\tTIME\tSTATE")
	for _, r := range a.Adopted {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", r.Seq, r.ID, r.Kind, r.Time.Local().Format("2006-01-02 15:04"), r.State)
	}
	tw.Flush()
}

func printAdoptedLane(out io.Writer, res AdoptResult, list bool) {
	c := res.Counts
	if res.Upload != nil {
		s := res.Upload
		fmt.Fprintf(out, "Uploaded %d, %d in conflict, %d rejected, %d retries.\n", s.Uploaded, s.Conflicts, s.Rejected, s.Retries)
	}
	if list {
		if len(res.Lane) == 0 {
			fmt.Fprintf(out, "No records of counter %s were adopted here.\n", res.Counter)
			return
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RECORD\tKIND\tSTATE\tATTEMPTS\tDETAIL")
		for _, e := range res.Lane {
			detail := e.Conflict
			if detail == "" {
				detail = e.LastError
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", e.RecordID, e.Kind, e.State, e.Attempts, detail)
		}
		tw.Flush()
	}
	fmt.Fprintf(out, "Counter %s's adopted records: %d done, %d voided, %d still to send, %d need a pharmacist's review.\n",
		res.Counter, c.Done, c.Voided, c.Unsent(), c.NeedsReview())
	switch {
	case c.NeedsReview() > 0:
		fmt.Fprintf(out, "A pharmacist at this counter must review the records in conflict or rejected (tiski sync adopt %s --list shows them);\n"+
			"once the cause is gone, tiski sync adopt %s --retry ID sends one again. If counter %s returns, its own queue holds them for review there too.\n",
			res.Counter, res.Counter, res.Counter)
	case c.Unsent() > 0:
		fmt.Fprintf(out, "Run tiski sync adopt %s again to send what is left.\n", res.Counter)
	}
}
