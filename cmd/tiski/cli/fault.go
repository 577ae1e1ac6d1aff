package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/triage"
	"github.com/tiski-rx/tiski/tui/faultdesk"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// Exit codes of `tiski fault triage`, one per verdict, so that a script
// can act on it; a triage that could not run exits ExitFailed (1).
const (
	ExitTriageNone    = 0  // none: nothing wrong
	ExitTriageThisPC  = 10 // this-pc
	ExitTriageNetwork = 11 // pharmacy-network
	ExitTriageKanta   = 12 // kanta
	ExitTriageUnknown = 13 // unknown, assumed wide
)

var triageExit = map[string]int{
	triage.None: ExitTriageNone, triage.ThisPC: ExitTriageThisPC, triage.PharmacyNetwork: ExitTriageNetwork,
	triage.Kanta: ExitTriageKanta, triage.Unknown: ExitTriageUnknown,
}

// NewCmdFault builds `tiski fault`, the fault desk (issue 22).
func NewCmdFault(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault",
		Short: "The fault desk: where a fault with the Prescription Centre lies",
		Args:  exactArgs(0),
	}
	cmd.AddCommand(NewCmdFaultTriage(f, nil), NewCmdFaultReport(f, nil))
	cmd.AddCommand(NewCmdFaultReported(f, nil), NewCmdFaultReports(f, nil))
	return cmd
}

// FaultTriageOptions are the options of `tiski fault triage`.
type FaultTriageOptions struct {
	Factory *Factory
	JSON    bool
}

// NewCmdFaultTriage builds `tiski fault triage`.
func NewCmdFaultTriage(f *Factory, runF func(context.Context, *FaultTriageOptions) error) *cobra.Command {
	opts := &FaultTriageOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "triage",
		Short: "Check from near to far where a fault lies: this PC, the pharmacy's network or Kanta",
		Long: `Check from near to far, and name what was seen at each step:
  - this PC: the client certificate's validity, the clock against the
    service's Date header, free disk;
  - the way out: DNS for the Prescription Centre's host, TCP, the TLS
    handshake and the server's certificate;
  - the service: /metadata, and the fault log's recent calls by operation
    (reads, searches, writes, probes) with their error classes, status codes
    and latency against this counter's own normal;
  - the pharmacy, with a hub: which other counters are in FAULT, and since when.

The verdict is none, this-pc, pharmacy-network, kanta or unknown (refused or
silent, its place unproven: assume it is wide), with the evidence for it.
It runs beside a counter: the fault log is in the journal.

Exit codes: 0 none, 10 this-pc, 11 pharmacy-network, 12 kanta, 13 unknown,
1 when the triage itself could not run. --json keys are the same in every
language, as are the steps' findings (detail, in English) beside their message
ids and arguments (msg, args); the human output words them in --lang.`,
		Example: "  tiski fault triage\n  tiski --lang en fault triage --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return faultTriageRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the triage as JSON")
	return cmd
}

// triageConfig is the triage's configuration from tiski's.
func triageConfig(ctx context.Context, f *Factory) (triage.Config, error) {
	c, err := f.Config()
	if err != nil {
		return triage.Config{}, err
	}
	if c.Centre.URL == "" {
		return triage.Config{}, rx.Errorf(rx.EINVALID, "No Prescription Centre is configured: set centre.url in %s, TISKI_CENTRE_URL or --centre URL.", c.File())
	}
	tc := triage.Config{
		BaseURL: c.Centre.URL, CertFile: c.Centre.CertFile, KeyFile: c.Centre.KeyFile, CAFile: c.Centre.CAFile, ServerName: c.Centre.ServerName,
		ConnectTimeout: c.Centre.ConnectTimeout, Timeout: c.Centre.Timeout,
		DataDir: c.DataDir, FreeBytes: freeBytes,
	}
	if _, err := os.Stat(c.JournalPath()); err == nil {
		j, err := f.Journal(ctx)
		if err != nil {
			return triage.Config{}, err
		}
		tc.Journal = j
	}
	if _, ok, err := f.HubOptions(); err == nil && ok {
		tc.Peers = func(ctx context.Context) ([]triage.Peer, error) {
			hctx, cancel := context.WithTimeout(ctx, hubWait)
			defer cancel()
			h, err := f.Hub(hctx)
			if err != nil {
				return nil, err
			}
			return triage.HubPeers(h)(hctx)
		}
	}
	return tc, nil
}

func faultTriageRun(ctx context.Context, opts *FaultTriageOptions) error {
	f := opts.Factory
	tc, err := triageConfig(ctx, f)
	if err != nil {
		return err
	}
	r := triage.Run(ctx, tc)
	out, l := f.IO.Out, f.Lang()
	if opts.JSON {
		if r.Evidence == nil {
			r.Evidence, r.Because = []string{}, []string{}
		}
		if r.Calls == nil {
			r.Calls = []triage.OpStats{}
		}
		if err := json.NewEncoder(out).Encode(r); err != nil {
			return err
		}
	} else if err := printTriage(out, l, r); err != nil {
		return err
	}
	if code := triageExit[r.Verdict]; code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

var (
	triageLayers = map[string]i18n.Key{triage.LayerPC: i18n.CLIFaultLayerPC, triage.LayerWay: i18n.CLIFaultLayerWay,
		triage.LayerService: i18n.CLIFaultLayerService, triage.LayerPharmacy: i18n.CLIFaultLayerPharmacy}
	triageOps = map[string]i18n.Key{"read": i18n.CLIFaultOpRead, "search": i18n.CLIFaultOpSearch,
		"write": i18n.CLIFaultOpWrite, "probe": i18n.CLIFaultOpProbe}
	triageVerdicts = map[string]i18n.Key{triage.None: i18n.CLIFaultVerdictNone, triage.ThisPC: i18n.CLIFaultVerdictThisPC,
		triage.PharmacyNetwork: i18n.CLIFaultVerdictNetwork, triage.Kanta: i18n.CLIFaultVerdictKanta, triage.Unknown: i18n.CLIFaultVerdictUnknown}
)

// tr says k in l, or s itself when there is no key for it.
func tr(l i18n.Lang, m map[string]i18n.Key, s string) string {
	if k, ok := m[s]; ok {
		return l.T(k)
	}
	return s
}

// printTriage writes the triage for a person: the steps by layer, the
// recent calls, then the verdict with its evidence.
func printTriage(out io.Writer, l i18n.Lang, r triage.Result) error {
	fmt.Fprintln(out, l.T(i18n.CLIFaultTitle))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	layer := ""
	for _, s := range r.Steps {
		if s.Layer != layer {
			layer = s.Layer
			fmt.Fprintf(tw, "%s\t\t\t\n", tr(l, triageLayers, s.Layer))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", tr(l, doctorStatuses, s.Status), faultdesk.StepName(l, s.Name), faultdesk.Finding(l, s.Message))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, l.T(i18n.CLIFaultCalls))
	if len(r.Calls) == 0 {
		fmt.Fprintln(out, "  "+l.T(i18n.CLIFaultNoCalls))
	}
	for _, o := range r.Calls {
		var failures []string
		for k, n := range o.Outcomes {
			if k != "ok" {
				failures = append(failures, fmt.Sprintf("%d %s", n, k))
			}
		}
		if len(failures) == 0 {
			failures = []string{"0"}
		}
		normal := l.T(i18n.CLIFaultNoNormal)
		if o.NormalMS > 0 {
			normal = l.T(i18n.CLIFaultNormal, o.NormalMS)
		}
		slices.Sort(failures)
		fmt.Fprintln(out, "  "+l.T(i18n.CLIFaultCallLine, tr(l, triageOps, o.Op), o.Calls, o.OK, strings.Join(failures, ", "), o.MedianMS, normal))
	}
	fmt.Fprintln(out, l.T(i18n.CLIFaultVerdict, r.Verdict+": "+tr(l, triageVerdicts, r.Verdict)))
	if len(r.Because) > 0 {
		fmt.Fprintln(out, l.T(i18n.CLIFaultEvidence)+":")
		for _, e := range faultdesk.Because(l, r) {
			fmt.Fprintln(out, "  - "+e)
		}
	}
	return nil
}
