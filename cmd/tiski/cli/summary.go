package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/summary"
)

// SummaryOptions are the options of `tiski summary`.
type SummaryOptions struct {
	Factory *Factory
	// Patient is where the identity code is read from: "-" for standard
	// input, or a file. Never the code itself.
	Patient string
	HTML    string
	// Outage writes the pharmacy's own records of the outage about the
	// patient instead, marked as such.
	Outage bool
}

// NewCmdSummary builds `tiski summary`.
func NewCmdSummary(f *Factory, runF func(context.Context, *SummaryOptions) error) *cobra.Command {
	opts := &SummaryOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "summary --patient -|FILE --html FILE",
		Short: "Write a patient's prescription summary, with a barcode of each prescription, for printing",
		Long: `Write the patient's prescription summary as a printable A4 page: the valid
prescriptions in the Prescription Centre now (the medicine, its strength and
form, the dosage, the quantity prescribed and what is left, the validity and
the prescriber), each with its id as a Code 128 barcode, the patient's name
and identity code, the pharmacy and the time it was made. It is the paper a
patient brings during a later outage: the essential-medication form at the
counter scans its barcodes.

The identity code is read from standard input (--patient -) or from a file,
never from the command line, where it would stay in the shell's history. The
page holds the identity code: it is written with mode 0600; print it, hand it
over and delete it. No identity code goes into the log.

In FAULT, or when the Prescription Centre cannot be reached, there is nothing
current to print: the command says so and exits 5, and counts this pharmacy's
own records of the outage about the patient; --outage writes those instead,
on a page marked as records of the outage, with no barcodes.

Exit codes: 0 written; 1 failed; 2 usage (an identity code given as an
argument); 5 the Prescription Centre could not be reached.`,
		Example: "  printf '%s\\n' 140348-901W | tiski summary --patient - --html summary.html\n" +
			"  tiski summary --patient code.txt --html sammanstallning.html --lang sv\n" +
			"  printf '%s\\n' 140348-901W | tiski summary --patient - --html outage.html --outage",
		Args: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if looksLikeCode(a) {
					return usageError{codeAsArgument(a)}
				}
			}
			return exactArgs(0)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return summaryRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Patient, "patient", "", "read the patient's identity code from `-` (standard input) or a FILE; never the code itself")
	cmd.Flags().StringVar(&opts.HTML, "html", "", "write the page to `FILE` (mode 0600)")
	cmd.Flags().BoolVar(&opts.Outage, "outage", false, "write this pharmacy's own records of the outage about the patient instead, marked as such")
	return cmd
}

// looksLikeCode reports whether s is, or looks like, an identity code:
// masking finds one in it.
func looksLikeCode(s string) bool { return hetu.MaskText(s) != s }

func codeAsArgument(s string) error {
	return fmt.Errorf("%s: an identity code is not taken on the command line, where it would stay in the shell's history and the process list; give --patient - and the code on standard input, e.g. printf '%%s\\n' CODE | tiski summary --patient - --html FILE", hetu.MaskText(s))
}

// readPatientCode reads the identity code from standard input or a file:
// its first line, trimmed.
func readPatientCode(from string, in io.Reader) (hetu.ID, error) {
	switch {
	case from == "":
		return hetu.ID{}, usageError{errors.New("--patient is required: give --patient - and the identity code on standard input, or --patient FILE")}
	case looksLikeCode(from):
		return hetu.ID{}, usageError{codeAsArgument(from)}
	case from != "-":
		file, err := os.Open(from)
		if err != nil {
			return hetu.ID{}, rx.Errorf(rx.EINVALID, "--patient %s: cannot read the identity code from it: %v", from, err)
		}
		defer file.Close()
		in = file
	}
	line, err := bufio.NewReader(io.LimitReader(in, 256)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return hetu.ID{}, fmt.Errorf("read the identity code: %w", err)
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return hetu.ID{}, rx.Errorf(rx.EINVALID, "No identity code on standard input: give it as the first line, e.g. printf '%%s\\n' CODE | tiski summary --patient - --html FILE")
	}
	id, err := hetu.Parse(line)
	if err != nil {
		var he *hetu.Error
		reason := err.Error()
		if errors.As(err, &he) {
			reason = he.Reason
		}
		return hetu.ID{}, rx.Errorf(rx.EINVALID, "The identity code read (%s) is not valid: %s.", hetu.Mask(line), reason)
	}
	return id, nil
}

func summaryRun(ctx context.Context, opts *SummaryOptions) error {
	f := opts.Factory
	if opts.HTML == "" {
		return usageError{errors.New("--html FILE is required: the summary is a page to print")}
	}
	code, err := readPatientCode(opts.Patient, f.IO.In)
	if err != nil {
		return err
	}
	if err := checkPageFile(opts.HTML); err != nil {
		return err
	}
	l := f.Lang()
	w := summaryWriter{f: f}
	var p common.Printout
	if opts.Outage {
		since, err := w.outageStart(ctx)
		if err != nil {
			return err
		}
		p, err = w.outageRecords(ctx, l, rx.Patient{HETU: code.String()}, since, opts.HTML)
		if err != nil {
			return err
		}
		fmt.Fprintln(f.IO.Out, l.T(i18n.SumOutWritten, opts.HTML, p.Count))
		return nil
	}
	p, err = w.summary(ctx, l, rx.Patient{HETU: code.String()}, opts.HTML)
	var nc *nothingCurrent
	if errors.As(err, &nc) {
		since, serr := w.outageStart(ctx)
		if serr != nil {
			return serr
		}
		recs, rerr := w.records(ctx, code.String(), since)
		offer := l.T(i18n.SumNoOutageRecords)
		if rerr == nil && len(recs) > 0 {
			offer = l.T(i18n.SumOfferCLI, len(recs))
		}
		return &ExitError{Code: ExitOffline, Err: rx.Errorf(rx.EUNAVAILABLE, "%s %s", l.T(i18n.SumNothingCurrent, nc.cause), offer)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, l.T(i18n.SumWritten, opts.HTML, p.Count))
	return nil
}

// nothingCurrent is the summary's refusal in FAULT or when the
// Prescription Centre does not answer: cause says which, in the user's
// words.
type nothingCurrent struct{ cause string }

func (e *nothingCurrent) Error() string { return "nothing current to print: " + e.cause }

// summaryWriter makes the summary and the outage page for the command and
// the counter.
type summaryWriter struct {
	f *Factory
	// client and journal, when set, are the counter's own; otherwise the
	// factory's are opened.
	client   *centre.Client
	journal  *journal.Journal
	training bool
	now      func() time.Time
}

func (w summaryWriter) clock() time.Time {
	if w.now != nil {
		return w.now()
	}
	return time.Now()
}

// openJournal is the counter's journal, or the data folder's when there is
// one; nil when there is none (a PC with no counter).
func (w summaryWriter) openJournal(ctx context.Context) (*journal.Journal, error) {
	if w.journal != nil {
		return w.journal, nil
	}
	c, err := w.f.Config()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(c.JournalPath()); err != nil {
		return nil, nil
	}
	return w.f.Journal(ctx)
}

// mode is the journal's mode, ONLINE with no journal.
func (w summaryWriter) mode(ctx context.Context) (rx.ModeState, error) {
	j, err := w.openJournal(ctx)
	if err != nil || j == nil {
		return rx.ModeState{Mode: rx.ModeOnline}, err
	}
	return j.Mode(ctx)
}

// outageStart is when the outage began: FAULT's start, or, with the
// journal not in FAULT, a day back, as far as patient search looks.
func (w summaryWriter) outageStart(ctx context.Context) (time.Time, error) {
	st, err := w.mode(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if st.Mode == rx.ModeFault {
		return st.Since, nil
	}
	return w.clock().Add(-common.PeerLookback), nil
}

// records are the journal's records about the patient since the outage
// began, of every counter (common.OutageRecords).
func (w summaryWriter) records(ctx context.Context, code string, since time.Time) ([]journal.Record, error) {
	j, err := w.openJournal(ctx)
	if err != nil || j == nil {
		return nil, err
	}
	recs, err := j.List(ctx, journal.Filter{Patient: code, Peers: true})
	return common.OutageRecords(recs, since), err
}

// summary reads the patient's prescriptions now and writes the summary to
// path (0600). In FAULT, or with no answer, it is *nothingCurrent.
func (w summaryWriter) summary(ctx context.Context, l i18n.Lang, patient rx.Patient, path string) (common.Printout, error) {
	f := w.f
	st, err := w.mode(ctx)
	if err != nil {
		return common.Printout{}, err
	}
	if st.Mode == rx.ModeFault {
		return common.Printout{}, &nothingCurrent{cause: modeText(l, rx.ModeFault)}
	}
	c, err := f.Config()
	if err != nil {
		return common.Printout{}, err
	}
	pol, err := f.Policy()
	if err != nil {
		return common.Printout{}, err
	}
	client := w.client
	if client == nil {
		if client, err = f.Centre(); err != nil {
			return common.Printout{}, err
		}
		defer client.Close()
	}
	who, err := client.FindPatient(ctx, patient.HETU)
	if err == nil {
		var rxs []rx.Prescription
		if rxs, err = client.Prescriptions(ctx, patient.HETU); err == nil {
			in := summary.Input{Patient: who, Prescriptions: rxs, Pharmacy: c.Pharmacy, Made: w.clock(), Rules: pol.Validity(), Training: w.training}
			doc := summary.Page(l, time.Local, in)
			if err := writePageFileMode(path, doc, 0o600); err != nil {
				return common.Printout{}, err
			}
			n := len(summary.Valid(rxs, in.Made.In(time.Local), in.Rules))
			f.Logger().Info("summary written", logKeyCmd, "summary", "prescriptions", n)
			return common.Printout{Path: path, Count: n}, nil
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, centre.ErrTimeout) || centre.ClassOf(err) == centre.Transient:
		return common.Printout{}, &nothingCurrent{cause: rx.ErrorMessage(err)}
	case errors.Is(err, centre.ErrNotFound):
		return common.Printout{}, rx.Errorf(rx.ENOTFOUND, "The Prescription Centre has no patient with this identity code.")
	}
	return common.Printout{}, err
}

// outageRecords writes the page of the outage's records to path (0600).
func (w summaryWriter) outageRecords(ctx context.Context, l i18n.Lang, patient rx.Patient, since time.Time, path string) (common.Printout, error) {
	c, err := w.f.Config()
	if err != nil {
		return common.Printout{}, err
	}
	recs, err := w.records(ctx, patient.HETU, since)
	if err != nil {
		return common.Printout{}, err
	}
	doc := summary.OutagePage(l, time.Local, summary.Outage{Patient: patient, Records: recs, Since: since,
		Pharmacy: c.Pharmacy, Made: w.clock(), Training: w.training})
	if err := writePageFileMode(path, doc, 0o600); err != nil {
		return common.Printout{}, err
	}
	w.f.Logger().Info("outage records written", logKeyCmd, "summary", "records", len(recs))
	return common.Printout{Path: path, Count: len(recs)}, nil
}

// printoutPath is a new printout's file in the data folder's printouts
// folder (0700), named by kind and time, never by identity code.
func printoutPath(f *Factory, kind string, now time.Time) (string, error) {
	c, err := f.Config()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(c.DataDir, summary.Folder)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("make the printouts folder: %w", err)
	}
	return filepath.Join(dir, summary.FileName(kind, now)), nil
}

// envOpener names the command that opens a printout at the counter, for a
// PC whose system opener is not wanted: "none" opens nothing (the counter
// shows the path).
const envOpener = "TISKI_OPENER"

// openPrintout opens path with the system's opener (xdg-open, open,
// start), or TISKI_OPENER's command, without waiting for it. It reports
// false when there is none, and the counter shows the path.
func openPrintout(f *Factory, path string) bool {
	var name string
	var args []string
	switch o := f.Getenv(envOpener); {
	case o == "none":
		return false
	case o != "":
		name = o
	case runtime.GOOS == "darwin":
		name = "open"
	case runtime.GOOS == "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler"}
	default:
		name = "xdg-open"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return false
	}
	cmd := exec.Command(bin, append(args, path)...)
	if err := cmd.Start(); err != nil {
		return false
	}
	go cmd.Wait() // the opener is the desktop's; the counter does not wait for it
	return true
}

// removeOldPrintouts removes the printouts older than a day, at the
// counter's start: they hold identity codes.
func removeOldPrintouts(f *Factory, now time.Time) {
	c, err := f.Config()
	if err != nil {
		return
	}
	n, err := summary.RemoveOld(filepath.Join(c.DataDir, summary.Folder), now)
	if err != nil {
		f.Logger().Warn("remove old printouts", "error", err.Error(), "removed", n)
		return
	}
	if n > 0 {
		f.Logger().Info("old printouts removed", "removed", n)
	}
}

// writeSummaryPrintout is the counter's summary: written into the data
// folder and opened.
func (w summaryWriter) writeSummaryPrintout(ctx context.Context, l i18n.Lang, patient rx.Patient) (common.Printout, error) {
	path, err := printoutPath(w.f, "summary", w.clock())
	if err != nil {
		return common.Printout{}, err
	}
	p, err := w.summary(ctx, l, patient, path)
	var nc *nothingCurrent
	if errors.As(err, &nc) {
		// The counter words it itself, and offers the outage's records.
		return p, rx.Errorf(rx.EUNAVAILABLE, "%s", nc.cause)
	}
	if err != nil {
		return p, err
	}
	p.Opened = openPrintout(w.f, path)
	return p, nil
}

func (w summaryWriter) writeOutagePrintout(ctx context.Context, l i18n.Lang, patient rx.Patient, since time.Time) (common.Printout, error) {
	path, err := printoutPath(w.f, "outage-records", w.clock())
	if err != nil {
		return common.Printout{}, err
	}
	p, err := w.outageRecords(ctx, l, patient, since, path)
	if err != nil {
		return p, err
	}
	p.Opened = openPrintout(w.f, path)
	return p, nil
}
