package cli

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/triage"
	"github.com/tiski-rx/tiski/tui/faultdesk"
)

// FaultReportOptions are the options of `tiski fault report`.
type FaultReportOptions struct {
	Factory *Factory
	JSON    bool
	HTML    string
	Window  time.Duration
}

// NewCmdFaultReport builds `tiski fault report`.
func NewCmdFaultReport(f *Factory, runF func(context.Context, *FaultReportOptions) error) *cobra.Command {
	opts := &FaultReportOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the fault report for Kela's technical support, from the journal's evidence",
		Long: `Write the fault report that the pharmacy's IT sends to Kela's technical
support, in Finnish unless --lang says otherwise. It is made from this
counter's journal (the mode history, the fault log of calls, Kela's notices,
the records kept during the fault, the upload queue) and a triage run now,
and holds no personal identity code and no patient data:
  - the pharmacy, the reporter's contact (fault.reporter, fault.reporter_phone,
    fault.reporter_email) and the counter;
  - when the fault began and what changed since;
  - the services affected, with the failures by kind and HTTP status;
  - the scope: the pharmacy's counters and the records waiting;
  - the impact: essential-medication dispensings, paper and telephone
    prescriptions recorded during the fault;
  - the actions taken;
  - each of the six criteria on Kanta's page on reporting faults, met or
    not, with the evidence that decides it;
  - what to do: nothing, tell your helpdesk, report to Kela's technical
    support (fault.kela_email), or report and phone as well (fault.kela_phone).

tiski sends nothing itself: paste the text, or attach the page, to Kela's
fault report form. A fault Kela has announced (tiski notice add) needs no
report, and the report says so.

Exit codes: 0 whatever the verdict; 1 when the report could not be made.`,
		Example: "  tiski fault report\n  tiski --lang sv fault report --html vikailmoitus.html\n  tiski fault report --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return faultReportRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON (the same keys in every language)")
	cmd.Flags().StringVar(&opts.HTML, "html", "", "also write the report as a printable page to `FILE`")
	cmd.Flags().DurationVar(&opts.Window, "window", faultreport.DefaultWindow, "how far back to look for the fault")
	return cmd
}

func faultReportRun(ctx context.Context, opts *FaultReportOptions) error {
	f := opts.Factory
	if opts.Window <= 0 {
		return rx.Errorf(rx.EINVALID, "--window %s: give a positive duration, e.g. 24h", opts.Window)
	}
	if opts.HTML != "" {
		if err := checkPageFile(opts.HTML); err != nil {
			return err
		}
	}
	c, err := f.Config()
	if err != nil {
		return err
	}
	if _, err := os.Stat(c.JournalPath()); err != nil {
		return rx.Errorf(rx.EINVALID, "No journal at %s: the report is made from the counter's journal; run it on the counter's PC, or give --data.", c.JournalPath())
	}
	r, err := buildFaultReport(ctx, f, opts.Window)
	if err != nil {
		return err
	}
	l := f.Lang()
	if opts.HTML != "" {
		if err := writePageFile(opts.HTML, faultdesk.Page(l, time.Local, r)); err != nil {
			return err
		}
	}
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(r)
	}
	return faultdesk.Text(f.IO.Out, l, time.Local, r)
}

// buildFaultReport runs the triage and makes the fault report from the
// journal, for `tiski fault report` and the counter's fault desk.
func buildFaultReport(ctx context.Context, f *Factory, window time.Duration) (faultreport.Report, error) {
	c, err := f.Config()
	if err != nil {
		return faultreport.Report{}, err
	}
	tc, err := triageConfig(ctx, f)
	if err != nil {
		return faultreport.Report{}, err
	}
	if tc.Journal == nil {
		return faultreport.Report{}, rx.Errorf(rx.EINVALID, "No journal at %s: the report is made from the counter's journal.", c.JournalPath())
	}
	return faultreport.Build(ctx, faultreport.Input{
		Journal: tc.Journal, Triage: triage.Run(ctx, tc), Pharmacy: c.Pharmacy, Counter: c.Terminal,
		Reporter: faultreport.Contact{Name: c.Fault.Reporter, Phone: c.Fault.ReporterPhone, Email: c.Fault.ReporterEmail},
		Kela:     faultreport.Contact{Email: c.Fault.KelaEmail, Phone: c.Fault.KelaPhone},
		Window:   window,
	})
}
