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
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// NewCmdNotice builds `tiski notice` (issue 22).
func NewCmdNotice(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notice",
		Short: "Keep Kela's notices of faults and planned maintenance breaks",
		Long: `Kela announces wide faults of Kanta's services, and planned maintenance breaks
two weeks ahead. Type its notices in at any counter: with a hub, every counter
of the pharmacy gets them. A planned break puts every counter in FAULT at its
start, without waiting for the health probes, and the status line shows the
next one within 24 hours. A fault notice tells the counters that Kela knows.

Times are local: 2026-12-08 22:00, 8.12.2026 22.00, or RFC 3339.`,
	}
	cmd.AddCommand(NewCmdNoticeAdd(f, nil), NewCmdNoticeList(f, nil), NewCmdNoticeEnd(f, nil))
	return cmd
}

// NoticeOptions are the options of `tiski notice add|list|end`.
type NoticeOptions struct {
	Factory *Factory
	Kind    string
	From    string
	To      string
	Text    string
	Ref     string
	ID      string
	JSON    bool
}

// NewCmdNoticeAdd builds `tiski notice add`.
func NewCmdNoticeAdd(f *Factory, runF func(context.Context, *NoticeOptions) error) *cobra.Command {
	opts := &NoticeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "add --kind fault|maintenance --from TIME [--to TIME] --text TEXT [--ref ID]",
		Short: "Keep one of Kela's notices",
		Example: `  tiski notice add --kind maintenance --from "2026-12-08 22:00" --to "2026-12-09 02:00" \
      --text "Kanta: Prescription Centre maintenance break" --ref KELA-2026-118
  tiski notice add --kind fault --from "8.12.2026 9.40" --text "Prescription Centre: dispensings fail"`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return noticeAddRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kind, "kind", "", "fault or maintenance (a planned break)")
	cmd.Flags().StringVar(&opts.From, "from", "", "when it begins, local time: 2026-12-08 22:00")
	cmd.Flags().StringVar(&opts.To, "to", "", "when it ends (required for a maintenance break)")
	cmd.Flags().StringVar(&opts.Text, "text", "", "the notice's text, as Kela published it")
	cmd.Flags().StringVar(&opts.Ref, "ref", "", "Kela's reference for the notice")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func noticeAddRun(ctx context.Context, opts *NoticeOptions) error {
	f := opts.Factory
	kind := rx.NoticeKind(strings.ToLower(strings.TrimSpace(opts.Kind)))
	if !kind.Valid() {
		return usageError{fmt.Errorf("--kind must be fault or maintenance (a planned break), not %q", opts.Kind)}
	}
	from, err := parseWhen("--from", opts.From)
	if err != nil {
		return err
	}
	var to time.Time
	if strings.TrimSpace(opts.To) != "" {
		if to, err = parseWhen("--to", opts.To); err != nil {
			return err
		}
	}
	// The flags' own checks first, in the flags' names; the journal checks
	// the same again for every other caller.
	switch {
	case !to.IsZero() && !to.After(from):
		return rx.Errorf(rx.EINVALID, "--to %s is not after --from %s: a notice ends after it begins. Nothing was changed.", when(to), when(from))
	case kind == rx.NoticeMaintenance && to.IsZero():
		return usageError{fmt.Errorf("--to TIME is required for a maintenance break: when Kela says the break ends")}
	case strings.TrimSpace(opts.Text) == "":
		return usageError{fmt.Errorf("--text TEXT is required: the notice's text, as Kela published it")}
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	by := operator()
	n, err := j.AddNotice(ctx, journal.NewNotice{Kind: kind, From: from, To: to, Text: opts.Text, Ref: opts.Ref, By: by})
	if err != nil {
		return err
	}
	f.Logger().Info("notice added", logKeyNotice, n.ID, logKeyKind, string(n.Kind), logKeyUser, by,
		"from", n.From, "to", n.To, "ref", n.Ref)
	f.hubShare(ctx, j) // every counter of the pharmacy gets it at once
	// A break that has begun already puts the mode in FAULT now, as the
	// counters' machines would at their next tick.
	if _, _, _, err := mode.ApplyBreak(ctx, j, time.Now()); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "tiski: warning: %v\n", err)
	}
	if opts.JSON {
		return json.NewEncoder(f.IO.Out).Encode(n)
	}
	l := f.Lang()
	fmt.Fprintln(f.IO.Out, l.T(i18n.CLINoticeAdded, journal.ShortID(n.ID), noticeKindText(l, n.Kind), when(n.From), untilText(l, n)))
	return nil
}

// NewCmdNoticeList builds `tiski notice list`.
func NewCmdNoticeList(f *Factory, runF func(context.Context, *NoticeOptions) error) *cobra.Command {
	opts := &NoticeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List Kela's notices kept, with their state",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			j, err := f.Journal(cmd.Context())
			if err != nil {
				return err
			}
			f.hubCatchUp(cmd.Context(), j) // the notices typed in at the other counters
			ns, err := j.Notices(cmd.Context())
			if err != nil {
				return err
			}
			if opts.JSON {
				if ns == nil {
					ns = []rx.Notice{}
				}
				return json.NewEncoder(f.IO.Out).Encode(ns)
			}
			l := f.Lang()
			if len(ns) == 0 {
				fmt.Fprintln(f.IO.Out, l.T(i18n.CLINoticeEmpty))
				return nil
			}
			now := time.Now()
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, l.T(i18n.CLINoticeHeader))
			for _, n := range ns {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", journal.ShortID(n.ID), noticeKindText(l, n.Kind), when(n.From),
					untilText(l, n), noticeState(l, n, now), dash(n.Ref), n.Text)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// NewCmdNoticeEnd builds `tiski notice end`.
func NewCmdNoticeEnd(f *Factory, runF func(context.Context, *NoticeOptions) error) *cobra.Command {
	opts := &NoticeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "end ID",
		Short: "End a notice now: Kela announced its end, or it was a mistake",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			j, err := f.Journal(cmd.Context())
			if err != nil {
				return err
			}
			by := operator()
			f.hubCatchUp(cmd.Context(), j) // a notice typed in at another counter may be ended here
			n, err := j.EndNotice(cmd.Context(), opts.ID, by)
			if err != nil {
				return err
			}
			f.Logger().Info("notice ended", logKeyNotice, n.ID, logKeyKind, string(n.Kind), logKeyUser, by)
			f.hubShare(cmd.Context(), j)
			if opts.JSON {
				return json.NewEncoder(f.IO.Out).Encode(n)
			}
			fmt.Fprintln(f.IO.Out, f.Lang().T(i18n.CLINoticeEnded, journal.ShortID(n.ID), when(n.EndedAt)))
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

const logKeyNotice = "notice"

// whenLayouts are the local forms of a time that tiski accepts, besides
// RFC 3339: ISO dates, and the Finnish day.month.year with a colon or a
// dot in the time of day.
var whenLayouts = []string{
	"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05",
	"2.1.2006 15:04", "2.1.2006 15.04", "2.1.2006 klo 15.04", "2.1.2006 klo 15:04", "2.1.2006 kl. 15.04", "2.1.2006 kl 15.04",
}

// parseWhen reads a time as a pharmacy's IT types it: RFC 3339, or a local
// date and time. A bad one is refused saying what is wrong and what form
// to use.
func parseWhen(flag, s string) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	hint := "write the local time as 2026-12-08 22:00 (or 8.12.2026 22.00), or RFC 3339 with its offset, e.g. 2026-12-08T22:00:00+02:00"
	if s == "" {
		return time.Time{}, usageError{fmt.Errorf("%s TIME is required: %s", flag, hint)}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	var rangeErr error
	for _, layout := range whenLayouts {
		t, err := time.ParseInLocation(layout, s, time.Local)
		if err == nil {
			return t, nil
		}
		if pe, ok := err.(*time.ParseError); ok && strings.Contains(pe.Message, "out of range") && rangeErr == nil {
			rangeErr = err
		}
	}
	why := "not a date and time tiski knows"
	switch {
	case rangeErr != nil:
		why = "no such date or time (" + strings.TrimPrefix(rangeErr.(*time.ParseError).Message, ": ") + ")"
	case isDateOnly(s):
		why = "the time of day is missing"
	}
	return time.Time{}, rx.Errorf(rx.EINVALID, "%s %q: %s; %s. Nothing was changed.", flag, s, why, hint)
}

func isDateOnly(s string) bool {
	for _, layout := range []string{"2006-01-02", "2.1.2006"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// when formats a time of a notice, local, to the minute.
func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }

func untilText(l i18n.Lang, n rx.Notice) string {
	if n.To.IsZero() {
		return l.T(i18n.CLINoticeOpen)
	}
	return when(n.To)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func noticeKindText(l i18n.Lang, k rx.NoticeKind) string {
	if k == rx.NoticeMaintenance {
		return l.T(i18n.CLINoticeMaintenance)
	}
	return l.T(i18n.CLINoticeFault)
}

func noticeState(l i18n.Lang, n rx.Notice, now time.Time) string {
	switch {
	case !n.EndedAt.IsZero() && n.Over(now) && (n.To.IsZero() || n.EndedAt.Before(n.To)):
		return l.T(i18n.CLINoticeEndedBy, n.EndedBy)
	case n.Over(now):
		return l.T(i18n.CLINoticeOver)
	case n.InForce(now):
		return l.T(i18n.CLINoticeInForce)
	}
	return l.T(i18n.CLINoticeComing)
}
