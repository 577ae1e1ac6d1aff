package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/tiski-rx/tiski/pkg/faultreport"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// CounterOptions are the options of `tiski counter`.
type CounterOptions struct {
	Factory  *Factory
	Training bool
	// SignedIn opens the counter signed in as this person (the demo).
	SignedIn *rx.Pharmacist
	// Outage starts (true) or ends (false) an outage of a simulated
	// Prescription Centre; set by the demo only.
	Outage func(ctx context.Context) (down bool, err error)
	// FirstFrame renders the counter's first frame at 80×24 with no
	// terminal, prints "first-frame <duration since the process started>"
	// and returns: `tiski demo --first-frame` (cmd/tiskibench) and
	// `tiski counter --first-frame`.
	FirstFrame bool
	// Refused hears of every record the counter refused: a drill counts the
	// policy's refusals as violations caught. It must not block.
	Refused func(error)
	// Task is a drill's task for the trainees, shown under the TRAINING
	// banner (common.DrillTasks); nil outside a drill. It must not block.
	Task func() (n int, text string)
	// Prepare runs once the journal is open, before the counter's
	// services are: the demo adds its pharmacist there. Nil: nothing.
	Prepare func(ctx context.Context, j *journal.Journal) error
}

// NewCmdCounter builds `tiski counter`.
func NewCmdCounter(f *Factory, runF func(context.Context, *CounterOptions) error) *cobra.Command {
	opts := &CounterOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "counter",
		Short: "Open the counter: the pharmacist's terminal UI",
		Long: `Open the counter against the configured Prescription Centre and journal.
The mode machine and the upload queue run beside it, so records reach the
Prescription Centre while the pharmacist works. A bare 'tiski' on a terminal
opens the counter too. Logs go to tiski.log in the data folder, never to the
terminal.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Training {
				if err := checkTrainingCounter(f); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return counterRun(cmd.Context(), opts)
		},
	}
	// The second counter of 'tiski demo --hub' (demo.go).
	cmd.Flags().BoolVar(&opts.Training, "training", false, "a training counter against a simulated Prescription Centre on this machine (the TRAINING banner); 'tiski demo --hub' prints the command")
	cmd.Flags().BoolVar(&opts.FirstFrame, "first-frame", false, "render the first frame without a terminal, print the time since start and exit")
	_ = cmd.Flags().MarkHidden("first-frame")
	return cmd
}

// isTerminal reports whether both streams are terminals.
func isTerminal(streams IO) bool {
	in, ok1 := streams.In.(*os.File)
	out, ok2 := streams.Out.(*os.File)
	return ok1 && ok2 && term.IsTerminal(int(in.Fd())) && term.IsTerminal(int(out.Fd()))
}

func counterRun(ctx context.Context, opts *CounterOptions) error {
	f := opts.Factory
	if !isTerminal(f.IO) && !opts.FirstFrame {
		return usageError{errors.New("the counter needs a terminal; for scripts use 'tiski sync', 'tiski record' and the other commands")}
	}
	c, err := f.Config()
	if err != nil {
		return err
	}
	lang, ok := i18n.Parse(c.Language)
	if !ok {
		return fmt.Errorf("language %q is not fi, sv or en", c.Language)
	}
	pol, err := f.Policy()
	if err != nil {
		return err
	}
	if _, _, err := f.HubOptions(); err != nil {
		return err
	}
	// The log is opened here, before the opening below runs beside the
	// counter and logs too: the factory opens what it holds lazily, from
	// one goroutine at a time.
	f.Logger()
	// Printouts hold identity codes: none outlives a day (issue 23).
	removeOldPrintouts(f, time.Now())
	// The journal, the Prescription Centre client, the mode machine, the
	// upload queue and the sharer open beside the counter's first frame
	// (issue 20): until they are open the status line shows nothing read
	// yet, and every call of the counter waits for them, so nothing can be
	// done on a half-open counter. A failure to open ends the counter with
	// its error.
	op := openCounter(ctx, opts, pol)
	defer op.close()
	counter := common.Counter{Pharmacy: c.Pharmacy, Terminal: c.Terminal, Training: opts.Training,
		LockAfter: c.LockAfter, CallTimeout: c.Centre.Timeout, SignedIn: opts.SignedIn, Policy: pol}
	cc := common.New(lang, op.services(opts), counter, nil)
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if _, err := op.wait(tctx); err != nil {
			cancel(err)
		}
	}()
	if opts.FirstFrame {
		shown, err := tui.FirstFrame(tctx, cc, 80, 24, io.Discard)
		if err != nil {
			return openErr(ctx, tctx, err)
		}
		fmt.Fprintf(f.IO.Out, "first-frame %s\n", shown.Sub(f.Build.Started))
		// What opens beside the frame must open too, or the command fails.
		_, err = op.wait(ctx)
		return err
	}
	return openErr(ctx, tctx, tui.Run(tctx, cc, f.IO.In, f.IO.Out))
}

// openErr is the counter's outcome err, or the opening's error when that
// ended it: tctx was cancelled with it while ctx, the caller's, was not.
func openErr(ctx, tctx context.Context, err error) error {
	if cause := context.Cause(tctx); ctx.Err() == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// counterOpening is what the counter opens beside its first frame: the
// journal and everything over it. Its services are ready once done is
// closed without err.
type counterOpening struct {
	done    chan struct{}
	cs      *counterServices // set before done is closed, when err is nil
	err     error
	cleanup []func() // run in reverse by close
}

// openCounter opens the counter's journal, its Prescription Centre client,
// mode machine, upload queue and sharer in the background.
func openCounter(ctx context.Context, opts *CounterOptions, pol *policy.Set) *counterOpening {
	op := &counterOpening{done: make(chan struct{})}
	go func() {
		defer close(op.done)
		if op.cs, op.err = op.open(ctx, opts, pol); op.err != nil {
			op.cs = nil
		}
	}()
	return op
}

func (op *counterOpening) open(ctx context.Context, opts *CounterOptions, pol *policy.Set) (*counterServices, error) {
	f := opts.Factory
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	// The journal's integrity check runs beside the counter; writes wait
	// for it, and a failure shows on the status line (Counts, Mode).
	f.journalCheckLater = true
	j, err := f.Journal(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Prepare != nil {
		if err := opts.Prepare(ctx, j); err != nil {
			return nil, err
		}
	}
	client, err := f.Centre()
	if err != nil {
		return nil, err
	}
	op.cleanup = append(op.cleanup, func() { client.Close() })
	cfg, err := workerConfig(f)
	if err != nil {
		return nil, err
	}
	m, w, err := uploader(f, j, client, cfg)
	if err != nil {
		return nil, err
	}
	f.Logger().Info("counter opened", logKeyCmd, "counter", "owner", w.Owner(), "training", opts.Training)

	// The mode machine and the upload queue run beside the counter; the
	// counter never waits for them.
	op.cleanup = append(op.cleanup, runBeside(ctx, m, w, func(ctx context.Context) { w.Run(ctx) }))
	// With a hub, the counter shares and receives the pharmacy's records
	// while it runs (issue 19); it never waits for the hub.
	stopSharing, err := f.startSharing(ctx, j)
	if err != nil {
		return nil, err
	}
	op.cleanup = append(op.cleanup, stopSharing)

	cs := &counterServices{f: f, journal: j, centre: client, worker: w, refused: opts.Refused, training: opts.Training,
		record: &record.Service{Journal: j, Policy: pol, Pharmacy: c.Pharmacy}}
	// The medicine catalogue is the data folder's (issue 24). A missing
	// file is no error: the reader says none is imported until IT imports
	// one, and follows the import. A file that is not a catalogue is shown
	// in the forms, not fatal to the counter.
	path, err := f.cataloguePath()
	if err != nil {
		return nil, err
	}
	cat, err := f.Catalogue(ctx)
	if err != nil {
		f.Logger().Warn("catalogue unreadable", logKeyCmd, "counter", "err", err)
	}
	cs.catalogue = newCounterCatalogue(path, cat, err)
	op.cleanup = append(op.cleanup, cs.catalogue.close)
	if _, ok, _ := f.HubOptions(); ok {
		// Claims go over the sharer's connection; before it connects, or
		// while the hub is down, dispensings are recorded as not checked
		// across counters (CrossCheck).
		cs.record.Claimer = hub.Claims{Client: func() *hub.Client {
			if s := f.sharer.Load(); s != nil {
				return s.Client()
			}
			return nil
		}}
	}
	return cs, nil
}

// wait returns the services once open, or why they did not open.
func (op *counterOpening) wait(ctx context.Context) (*counterServices, error) {
	select {
	case <-op.done:
		return op.cs, op.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ready is wait for the counter's calls: a call whose context ends while
// the opening still runs says so in the user's terms, not as a timeout of
// whatever it was to ask (a search would take that for the Prescription
// Centre's and offer FAULT mode).
func (op *counterOpening) ready(ctx context.Context) (*counterServices, error) {
	select {
	case <-op.done:
		return op.cs, op.err
	default:
	}
	select {
	case <-op.done:
		return op.cs, op.err
	case <-ctx.Done():
		return nil, rx.Errorf(rx.EUNAVAILABLE, "The counter is still opening its journal; try again in a moment.")
	}
}

// close waits for the opening to end and stops what it started.
func (op *counterOpening) close() {
	<-op.done
	for i := len(op.cleanup) - 1; i >= 0; i-- {
		op.cleanup[i]()
	}
}

// services is what the counter's screens call while the opening runs and
// after: a demo's outage switch, a drill's task, as opts gives them.
func (op *counterOpening) services(opts *CounterOptions) common.Services {
	s := &startingServices{op: op}
	switch {
	case opts.Outage != nil:
		return &startingTraining{startingServices: s, outage: opts.Outage}
	case opts.Task != nil:
		return &startingDrill{startingServices: s, task: opts.Task}
	}
	return s
}

// counterServices is what the counter needs, over the journal, the
// Prescription Centre client and the upload queue.
type counterServices struct {
	f       *Factory
	journal *journal.Journal
	centre  *centre.Client
	worker  *queue.Worker
	record  *record.Service
	refused func(error) // CounterOptions.Refused; nil: none
	// training marks the counter's printouts TRAINING (the demo, drills).
	training bool

	// catalogue is the data folder's medicine catalogue. A file that
	// does not open is shown in the forms and the status line rather than
	// keep the counter shut, and opened again once IT replaces it.
	catalogue *counterCatalogue
}

var _ common.Services = (*counterServices)(nil)

// Counts and Mode feed the status line, which shows their error: a
// journal that failed its integrity check says so there, at once.
func (s *counterServices) Counts(ctx context.Context) (journal.Counts, error) {
	if err := s.journal.IntegrityErr(); err != nil {
		return journal.Counts{}, err
	}
	return s.journal.Counts(ctx)
}

// CrossCheck is how this counter's dispensings against journal
// prescriptions were checked across counters lately (issue 19): Unchecked
// above 0 means the last ones were recorded while the hub could not be
// reached, "not checked across counters", for the status line.
func (s *counterServices) CrossCheck() record.CrossCheck { return s.record.CrossCheck() }

func (s *counterServices) Mode(ctx context.Context) (rx.ModeState, error) {
	if err := s.journal.IntegrityErr(); err != nil {
		return rx.ModeState{}, err
	}
	return s.journal.Mode(ctx)
}

// FaultReport runs the triage and drafts the fault report for the
// counter's fault desk (issue 22).
func (s *counterServices) FaultReport(ctx context.Context) (faultreport.Report, error) {
	return buildFaultReport(ctx, s.f, faultreport.DefaultWindow)
}

// MarkReported marks that who told the helpdesk of the fault (issue 22).
func (s *counterServices) MarkReported(ctx context.Context, who rx.Pharmacist) error {
	_, err := s.journal.MarkFaultReported(ctx, journal.FaultReport{To: "helpdesk", By: who.ID})
	if err == nil {
		s.f.Logger().Info("fault reported", logKeyCmd, "counter", "to", "helpdesk", "by", who.ID)
	}
	return err
}

// Notices feeds the status line Kela's notices (issue 22).
func (s *counterServices) Notices(ctx context.Context) ([]rx.Notice, bool, error) {
	ns, err := s.journal.Notices(ctx)
	return ns, true, err
}

func (s *counterServices) FindPatient(ctx context.Context, code string) (rx.Patient, error) {
	return s.centre.FindPatient(ctx, code)
}

func (s *counterServices) Prescriptions(ctx context.Context, code string) ([]rx.Prescription, error) {
	return s.centre.Prescriptions(ctx, code)
}

func (s *counterServices) SignIn(ctx context.Context, id, pin string) (rx.Pharmacist, error) {
	who, err := signIn(ctx, s.f, s.journal, id, pin)
	if err == nil {
		s.f.Logger().Info("signed in", logKeyUser, who.ID, "role", string(who.Role))
	}
	return who, err
}

func (s *counterServices) ForceFault(ctx context.Context, reason, by string) (rx.ModeState, error) {
	st, err := mode.Force(ctx, s.journal, reason, by)
	if err == nil {
		s.f.Logger().Info("mode forced", logKeyMode, string(st.Mode), logKeyUser, by, "reason", reason)
	}
	return st, err
}

// Dispense records through pkg/record, the one write path (DESIGN §4), and
// kicks the upload queue so an online dispensing reaches the Prescription
// Centre at once.
func (s *counterServices) Dispense(ctx context.Context, who rx.Pharmacist, d rx.Dispensing, opts record.DispenseOptions) (record.Receipt, error) {
	return s.recorded(who)(s.record.Dispense(ctx, who, d, opts))
}

// Paper and Telephone record through pkg/record and kick the queue.
func (s *counterServices) Paper(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (record.Receipt, error) {
	return s.recorded(who)(s.record.Paper(ctx, who, p, d))
}

func (s *counterServices) Telephone(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (record.Receipt, error) {
	return s.recorded(who)(s.record.Telephone(ctx, who, p, d))
}

// Renew implements common.Renewals (issue 23).
func (s *counterServices) Renew(ctx context.Context, who rx.Pharmacist, r rx.Renewal) (record.Receipt, error) {
	return s.recorded(who)(s.record.Renew(ctx, who, r))
}

var _ common.Renewals = (*counterServices)(nil)

// recorded logs a receipt and kicks the upload queue; a refusal goes to
// the refused hook.
func (s *counterServices) recorded(who rx.Pharmacist) func(record.Receipt, error) (record.Receipt, error) {
	return func(rc record.Receipt, err error) (record.Receipt, error) {
		if err != nil {
			if s.refused != nil {
				s.refused(err)
			}
			return rc, err
		}
		for _, r := range []*journal.Record{&rc.Record, rc.Dispensing} {
			if r != nil {
				s.f.Logger().Info("recorded", logKeyCmd, "counter", logKeyUser, who.ID, logKeyRecord, r.ID,
					logKeyKind, string(r.Kind), "seq", r.Seq, "rules", r.Rules)
			}
		}
		s.worker.Kick()
		if sh := s.f.sharer.Load(); sh != nil {
			sh.Kick()
		}
		return rc, nil
	}
}

// FindMedicines searches the data folder's medicine catalogue (issue 24),
// never the fixtures: a pharmacy's counter has the catalogue IT imported
// or synced, and the demo's and training's folders have the fixtures'
// (trainingCatalogue).
func (s *counterServices) FindMedicines(ctx context.Context, query string, n int) ([]rx.Medicine, error) {
	cat, err := s.catalogue.reader(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Pick(ctx, query, n)
}

// MedicineByVNR looks a scanned package up in the data folder's catalogue.
func (s *counterServices) MedicineByVNR(ctx context.Context, vnr string) (rx.Medicine, error) {
	cat, err := s.catalogue.reader(ctx)
	if err != nil {
		return rx.Medicine{}, err
	}
	return cat.Product(ctx, vnr)
}

// CatalogueInfo describes the data folder's catalogue: a stat of its file
// and the header read when it changed, for the forms and the status line.
func (s *counterServices) CatalogueInfo(ctx context.Context) (catalogue.Info, error) {
	cat, err := s.catalogue.reader(ctx)
	if err != nil {
		return catalogue.Info{}, err
	}
	return cat.Info(ctx)
}

func (s *counterServices) PatientRecords(ctx context.Context, patient string, since time.Time) ([]journal.Record, error) {
	// The pharmacy's other counters' records count too (issue 19), also
	// those made at another counter shortly before this one's outage.
	recs, err := s.journal.List(ctx, journal.Filter{Patient: patient, Peers: true})
	return common.OutageRecords(recs, since), err
}

func (s *counterServices) Record(ctx context.Context, id string) (journal.Record, error) {
	return s.journal.GetAny(ctx, id)
}

func (s *counterServices) Outbox(ctx context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error) {
	own, err := s.journal.OutboxList(ctx, states...)
	if err != nil {
		return nil, err
	}
	// Another counter's records adopted here (tiski sync adopt, issue 19):
	// their conflicts reach this counter's pharmacist, naming the counter.
	adopted, err := s.journal.AdoptLane().OutboxList(ctx, states...)
	return append(own, adopted...), err
}

func (s *counterServices) RetryNow(ctx context.Context, id string) error {
	err := s.journal.Requeue(ctx, id)
	if rx.ErrorCode(err) == rx.ENOTFOUND {
		err = s.journal.AdoptLane().Requeue(ctx, id) // an adopted record
	}
	if err != nil {
		return err
	}
	s.f.Logger().Info("retry now", logKeyCmd, "counter", logKeyRecord, id)
	s.worker.Kick()
	return nil
}

func (s *counterServices) Prescription(ctx context.Context, id, patient string) (rx.Prescription, error) {
	return s.centre.Prescription(ctx, id, patient)
}

func (s *counterServices) Resolve(ctx context.Context, who rx.Pharmacist, id string, r queue.Resolution) (journal.Record, error) {
	rec, err := queue.Resolve(ctx, s.journal, who, id, r)
	if err != nil {
		return rec, err
	}
	s.f.Logger().Info("resolved", logKeyCmd, "counter", logKeyUser, who.ID, logKeyRecord, id, "action", r.Action)
	s.worker.Kick()
	return rec, nil
}

func (s *counterServices) UploadState(ctx context.Context, id string) (journal.OutboxEntry, error) {
	return s.journal.Outbox(ctx, id)
}

var _ common.Hubs = (*counterServices)(nil)

// Hub is the pharmacy's hub for the status line (issue 19): whether the
// sharer reaches it and what it has not yet shared, and the other
// counters' modes from their mode changes kept here. ok is false when no
// hub is configured. Until the sharer first connects, the hub counts as
// not reached and the journal's share lane gives the unshared count.
func (s *counterServices) Hub(ctx context.Context) (common.HubStatus, bool, error) {
	if _, ok, err := s.f.HubOptions(); err != nil || !ok {
		return common.HubStatus{}, false, err
	}
	var st common.HubStatus
	if sh := s.f.sharer.Load(); sh != nil {
		hs := sh.Status()
		st.Connected, st.Unshared = hs.Connected, hs.Unshared
	} else {
		lane, err := s.journal.Share(ctx)
		if err != nil {
			return st, true, err
		}
		st.Unshared = lane.Unshared
	}
	modes, err := s.journal.List(ctx, journal.Filter{Peers: true, Kinds: []journal.Kind{journal.KindModeChange}})
	if err != nil {
		return st, true, err
	}
	st.Peers = common.PeerModes(modes)
	return st, true, nil
}

var _ common.Summaries = (*counterServices)(nil)

// WriteSummary writes the patient's prescription summary into the data
// folder and opens it (issue 23).
func (s *counterServices) WriteSummary(ctx context.Context, l i18n.Lang, patient rx.Patient) (common.Printout, error) {
	return summaryWriter{f: s.f, client: s.centre, journal: s.journal, training: s.training}.writeSummaryPrintout(ctx, l, patient)
}

// WriteOutageRecords writes the patient's records of the outage, marked as
// such, into the data folder and opens them (issue 23).
func (s *counterServices) WriteOutageRecords(ctx context.Context, l i18n.Lang, patient rx.Patient, since time.Time) (common.Printout, error) {
	return summaryWriter{f: s.f, client: s.centre, journal: s.journal, training: s.training}.writeOutagePrintout(ctx, l, patient, since)
}
