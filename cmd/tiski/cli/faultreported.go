package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// FaultReportedOptions are the options of `tiski fault reported` and
// `tiski fault reports`.
type FaultReportedOptions struct {
	Factory *Factory
	To      string
	Ref     string
	Note    string
	Since   time.Duration
	JSON    bool
}

// NewCmdFaultReported builds `tiski fault reported` (issue 22).
func NewCmdFaultReported(f *Factory, runF func(context.Context, *FaultReportedOptions) error) *cobra.Command {
	opts := &FaultReportedOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "reported --to helpdesk|kela [--ref ID] [--note TEXT]",
		Short: "Mark that the fault was reported to the helpdesk or to Kela's technical support",
		Long: `When no notice of a fault has come from Kela, tell your own helpdesk at once
(Kanta's page on reporting faults); the helpdesk, or the system's supplier,
reports to Kela's technical support when one of Kela's criteria holds.
Mark each report here: to whom, with the ticket or case number they gave.
With a hub, every counter of the pharmacy sees that it was reported, and a
drill's report says when it was.

The note says what was said and to whom; it never holds a patient's data,
and one with an identity code is refused.`,
		Example: `  tiski fault reported --to helpdesk --ref HD-4711
  tiski fault reported --to kela --ref KELA-2026-311 --note "phoned 020 634 7787, form sent"`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return faultReportedRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "helpdesk (your own IT helpdesk) or kela (Kela's technical support)")
	cmd.Flags().StringVar(&opts.Ref, "ref", "", "the ticket or case number they gave")
	cmd.Flags().StringVar(&opts.Note, "note", "", "what was said and to whom; no patient's data")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func faultReportedRun(ctx context.Context, opts *FaultReportedOptions) error {
	f := opts.Factory
	// The flag's own check first, in the flag's words; the journal checks
	// the same again for every other caller.
	switch to := strings.ToLower(strings.TrimSpace(opts.To)); to {
	case journal.ReportToHelpdesk, journal.ReportToKela:
	case "":
		return usageError{fmt.Errorf("--to is required: helpdesk (your own IT helpdesk) or kela (Kela's technical support)")}
	default:
		return usageError{fmt.Errorf("--to must be helpdesk (your own IT helpdesk) or kela (Kela's technical support), not %q", opts.To)}
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	by := operator()
	r, err := j.MarkFaultReported(ctx, journal.FaultReport{To: opts.To, Ref: opts.Ref, Note: opts.Note, By: by})
	if err != nil {
		return err
	}
	// The note is free text: it stays out of the log.
	f.Logger().Info("fault reported", logKeyFaultReport, r.ID, "to", r.To, logKeyUser, by, "ref", r.Ref)
	f.hubShare(ctx, j) // every counter of the pharmacy knows at once
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(r)
	}
	l := f.Lang()
	key := i18n.CLIFaultReportedHelpdesk
	if r.To == journal.ReportToKela {
		key = i18n.CLIFaultReportedKela
	}
	fmt.Fprintln(f.IO.Out, l.T(key, when(r.Time), journal.ShortID(r.ID)))
	return nil
}

const logKeyFaultReport = "fault_report"

// NewCmdFaultReports builds `tiski fault reports`.
func NewCmdFaultReports(f *Factory, runF func(context.Context, *FaultReportedOptions) error) *cobra.Command {
	opts := &FaultReportedOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "reports [--since DURATION]",
		Short: "List the faults marked as reported, at this counter and, with a hub, the others",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return faultReportsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Since, "since", 0, "only those marked in the last `DURATION`, e.g. 24h; 0: all")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func faultReportsRun(ctx context.Context, opts *FaultReportedOptions) error {
	f := opts.Factory
	if opts.Since < 0 {
		return usageError{fmt.Errorf("--since %s is negative: give how far back to look, e.g. 24h", opts.Since)}
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	f.hubCatchUp(ctx, j) // the reports marked at the other counters
	var since time.Time
	if opts.Since > 0 {
		since = time.Now().Add(-opts.Since)
	}
	rs, err := j.FaultReports(ctx, since)
	if err != nil {
		return err
	}
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(rs)
	}
	l := f.Lang()
	if len(rs) == 0 {
		fmt.Fprintln(f.IO.Out, l.T(i18n.CLIFaultReportsEmpty))
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, l.T(i18n.CLIFaultReportsHeader))
	for _, r := range rs {
		to := l.T(i18n.CLIFaultToHelpdesk)
		if r.To == journal.ReportToKela {
			to = l.T(i18n.CLIFaultToKela)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", when(r.Time), to, r.By, r.Counter, dash(r.Ref), dash(r.Note))
	}
	return tw.Flush()
}
