package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// NewCmdMode builds `tiski mode`.
func NewCmdMode(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mode",
		Short: "Show the counter's mode, force fault mode, or return to automatic",
		Long: `The counter is ONLINE when the Prescription Centre answers, FAULT when it does
not, and RECOVERING while it comes back. Health probes decide automatically;
'tiski mode fault' holds FAULT (for example on Kela's notice of a fault) until
'tiski mode auto'. Every process on the journal sees the same mode.`,
	}
	cmd.AddCommand(NewCmdModeStatus(f, nil), NewCmdModeFault(f, nil), NewCmdModeAuto(f, nil))
	return cmd
}

// ModeOptions are the options of `tiski mode status|fault|auto`.
type ModeOptions struct {
	Factory *Factory
	JSON    bool
	Reason  string
}

func printMode(f *Factory, st rx.ModeState, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(f.IO.Out).Encode(st)
	}
	// The mode's name comes first and as it is (ONLINE, FAULT,
	// RECOVERING): scripts and the counter's status line use the same word.
	l := f.Lang()
	fmt.Fprintf(f.IO.Out, "%s", st.Mode)
	if st.Override {
		fmt.Fprint(f.IO.Out, " "+l.T(i18n.CLIModeHeld))
	}
	fmt.Fprintln(f.IO.Out)
	if !st.Since.IsZero() {
		fmt.Fprintln(f.IO.Out, l.T(i18n.CLISince, st.Since.Local().Format("2006-01-02 15:04:05"), st.Cause))
	}
	return nil
}

func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// NewCmdModeStatus builds `tiski mode status`.
func NewCmdModeStatus(f *Factory, runF func(context.Context, *ModeOptions) error) *cobra.Command {
	opts := &ModeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the mode in force and why",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			j, err := f.Journal(cmd.Context())
			if err != nil {
				return err
			}
			f.hubCatchUp(cmd.Context(), j) // a break may have been typed in at another counter
			// A planned break in force is FAULT from any process, whether
			// or not a counter's machine is running to see it (issue 22).
			st, _, _, err := mode.ApplyBreak(cmd.Context(), j, time.Now())
			if err != nil {
				return err
			}
			if err := printMode(f, st, opts.JSON); err != nil || opts.JSON {
				return err
			}
			return printNoticesInForce(cmd.Context(), f, j)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// NewCmdModeFault builds `tiski mode fault`.
func NewCmdModeFault(f *Factory, runF func(context.Context, *ModeOptions) error) *cobra.Command {
	opts := &ModeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "fault --reason TEXT",
		Short:   "Hold FAULT mode until 'tiski mode auto'",
		Example: `  tiski mode fault --reason "Kela notice: Prescription Centre outage from 08:00"`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Reason == "" {
				return usageError{fmt.Errorf("--reason TEXT is required: it is recorded in the journal")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			j, err := f.Journal(cmd.Context())
			if err != nil {
				return err
			}
			st, err := mode.Force(cmd.Context(), j, opts.Reason, operator())
			if err != nil {
				return err
			}
			f.Logger().Info("mode forced", logKeyMode, string(st.Mode), logKeyUser, operator(), "reason", opts.Reason)
			return printMode(f, st, opts.JSON)
		},
	}
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why, e.g. Kela's notice of a fault")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// NewCmdModeAuto builds `tiski mode auto`.
func NewCmdModeAuto(f *Factory, runF func(context.Context, *ModeOptions) error) *cobra.Command {
	opts := &ModeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "auto",
		Short: "Release a manual FAULT: health probes decide the mode again",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			j, err := f.Journal(cmd.Context())
			if err != nil {
				return err
			}
			st, err := mode.Auto(cmd.Context(), j, operator())
			if err != nil {
				return err
			}
			f.Logger().Info("mode automatic", logKeyMode, string(st.Mode), logKeyUser, operator())
			return printMode(f, st, opts.JSON)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// printNoticesInForce adds Kela's notices in force to `tiski mode status`.
func printNoticesInForce(ctx context.Context, f *Factory, j *journal.Journal) error {
	ns, err := j.Notices(ctx)
	if err != nil {
		return err
	}
	l, now := f.Lang(), time.Now()
	for _, n := range ns {
		switch {
		case !n.InForce(now):
		case n.Kind == rx.NoticeMaintenance:
			fmt.Fprintln(f.IO.Out, l.T(i18n.CLINoticeBreakInForce, when(n.End()), n.Text))
		default:
			fmt.Fprintln(f.IO.Out, l.T(i18n.CLINoticeFaultInForce, n.Text))
		}
	}
	return nil
}
