// Package tuitest gives the counter's tests a common.Services backed by
// the real parts: a journal in a temporary folder, the simulator on a
// loopback port and the real Prescription Centre client (STYLE §13). It is
// a package rather than a _test.go file because every screen's tests use
// it; only tests import it.
package tuitest

import (
	"context"
	"errors"
	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/pkg/triage"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	tiski "github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/signin"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// The people and patients of the tests.
var (
	Pharmacist = rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	Student    = rx.Pharmacist{ID: "olli", Name: "Olli Opiskelija", Role: rx.RoleStudent}
	Pharmacy   = rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}
)

// PINs of the test people, and patients of the bundled fixtures.
const (
	PharmacistPIN = "1234"
	StudentPIN    = "5678"
	Matti         = "140348-901W" // many prescriptions
	Nobody        = "020202A9502" // a valid test code of no patient
	Terminal      = "kassa-1"
)

// Start is the fixed time every test starts at.
var Start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Clock is a clock the test moves by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Env is a journal, a simulator and a client, all real.
type Env struct {
	Sim      *centresim.Server
	Journal  *journal.Journal
	Client   *centre.Client
	Clock    *Clock
	Services *Services
	// Worker is a real upload queue over the journal and the client. It
	// does not run by itself: a test calls Drain when it wants the outbox
	// uploaded, so no test waits on the wall clock.
	Worker *queue.Worker

	pharmacy rx.Pharmacy // the counter's, in Common; see NoPharmacy
}

// New starts an Env; everything is closed at the test's end.
func New(t testing.TB) *Env {
	t.Helper()
	ctx := context.Background()
	clock := &Clock{t: Start}
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: t.TempDir(), Seed: 7, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: Terminal, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	cheap := signin.Params{Memory: 8 * 1024, Time: 1, Threads: 1}
	for _, u := range []struct {
		p   rx.Pharmacist
		pin string
	}{{Pharmacist, PharmacistPIN}, {Student, StudentPIN}} {
		h, err := signin.HashPIN(u.pin, cheap)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.AddUser(ctx, journal.User{ID: u.p.ID, Name: u.p.Name, Registration: u.p.Registration, Role: u.p.Role, PINHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := centre.New(centre.Config{BaseURL: sim.URL(), Timeout: 5 * time.Second, ConnectTimeout: time.Second, Pharmacy: Pharmacy, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := queue.New(j, c, nil, queue.Config{Owner: "tuitest", Now: clock.Now, Rate: -1})
	rec := &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: Pharmacy, Now: clock.Now}
	cat, err := catalogue.Open(ctx, FixturesCatalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return &Env{Sim: sim, Journal: j, Client: c, Clock: clock, Worker: w, pharmacy: Pharmacy,
		Services: &Services{Journal: j, Centre: c, Recorder: rec, Kick: w.Kick, Catalogue: cat, SimURL: sim.URL(), Now: clock.Now}}
}

// NoCatalogue makes the Env a counter whose data folder holds no medicine
// catalogue: nothing was ever imported. Call it before Common.
func (e *Env) NoCatalogue(t testing.TB) {
	t.Helper()
	cat, err := catalogue.Open(context.Background(), filepath.Join(t.TempDir(), catalogue.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	e.Services.Catalogue = cat
}

// The fixtures' catalogue, built once per test binary: the catalogue file
// is read-only once in place, so every Env opens its own reader of it.
var (
	fixturesOnce sync.Once
	fixturesDir  string
	fixturesPath string
	fixturesErr  error
)

// FixturesCatalogue returns the path of a real catalogue file (SQLite,
// as tiski catalogue import --fixtures writes it) of the fixtures'
// medicines, imported at Start. Main removes it after the tests.
func FixturesCatalogue(t testing.TB) string {
	t.Helper()
	fixturesOnce.Do(func() {
		fx, err := rx.LoadFixtures(tiski.Fixtures(), Start)
		if err != nil {
			fixturesErr = err
			return
		}
		if fixturesDir, fixturesErr = os.MkdirTemp("", "tiski-tuitest-catalogue-"); fixturesErr != nil {
			return
		}
		path := filepath.Join(fixturesDir, catalogue.FileName)
		_, fixturesErr = catalogue.Replace(context.Background(), path,
			catalogue.Info{Source: catalogue.SourceFixtures, Version: "fixtures", Date: Start, ImportedAt: Start},
			catalogue.FromFixtures(fx.Medicines))
		fixturesPath = path
	})
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	return fixturesPath
}

// NoPharmacy makes the Env a counter whose configuration lacks the
// pharmacy's identity, as `tiski counter` is with pharmacy.oid and
// pharmacy.name unset: Common's counter and the recording service have
// none. Call it before Common.
func (e *Env) NoPharmacy() {
	e.pharmacy = rx.Pharmacy{}
	e.Services.Recorder.Pharmacy = rx.Pharmacy{}
}

// Drain uploads everything the outbox holds once, as the queue beside the
// counter would after Kick.
func (e *Env) Drain(t testing.TB) queue.Summary {
	t.Helper()
	sum, err := e.Worker.Drain(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// Common returns a Common over the Env in lang, sized w×h.
func (e *Env) Common(lang i18n.Lang, w, h int) common.Common {
	c := common.New(lang, e.Services, common.Counter{Pharmacy: e.pharmacy, Terminal: Terminal, CallTimeout: 2 * time.Second}, e.Clock.Now)
	c.Width, c.Height = w, h
	return c
}

// Fault puts the journal in FAULT mode, as a person would.
func (e *Env) Fault(t testing.TB) rx.ModeState {
	t.Helper()
	st, err := mode.Force(context.Background(), e.Journal, "test", Pharmacist.ID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Services implements common.Services over a journal and a client.
type Services struct {
	Journal  *journal.Journal
	Centre   *centre.Client
	Recorder *record.Service
	// Kick, when set, is called after each record, as the counter kicks
	// its upload queue.
	Kick func()
	// HubConnected, when set, makes the counter one with a hub
	// (common.Hubs), reached or not as it says; nil: no hub.
	HubConnected *bool
	// KeepsNotices makes the counter one that reads Kela's notices from
	// its journal (common.Notices), as the real counter does.
	KeepsNotices bool
	// Catalogue is the medicine catalogue the forms search: a real
	// catalogue file of the fixtures' medicines (FixturesCatalogue), or
	// one of a file never imported (NoCatalogue).
	Catalogue *catalogue.Catalogue
	// SimURL and Now are the simulator's address and the Env's clock,
	// for the fault desk's triage (FaultReport).
	SimURL string
	Now    func() time.Time
}

// MarkReported implements common.FaultDesk as the counter does.
func (s *Services) MarkReported(ctx context.Context, who rx.Pharmacist) error {
	_, err := s.Journal.MarkFaultReported(ctx, journal.FaultReport{To: "helpdesk", By: who.ID})
	return err
}

// FaultReport implements common.FaultDesk as the counter does: a real
// triage of the simulator and the report from the journal.
func (s *Services) FaultReport(ctx context.Context) (faultreport.Report, error) {
	// The triage's clock is the wall clock: it checks this PC's against
	// the simulator's Date header, which is the wall clock's too.
	tri := triage.Run(ctx, triage.Config{BaseURL: s.SimURL, Journal: s.Journal, ConnectTimeout: time.Second, Timeout: 2 * time.Second})
	return faultreport.Build(ctx, faultreport.Input{Journal: s.Journal, Triage: tri, Pharmacy: Pharmacy, Counter: Terminal,
		Kela: faultreport.Contact{Email: "tekninentuki@kanta.fi", Phone: "020 634 7787"}, Now: s.Now()})
}

// Notices implements common.Notices when KeepsNotices is set.
func (s *Services) Notices(ctx context.Context) ([]rx.Notice, bool, error) {
	if !s.KeepsNotices {
		return nil, false, nil
	}
	ns, err := s.Journal.Notices(ctx)
	return ns, true, err
}

// Dispense implements common.Services.
func (s *Services) Dispense(ctx context.Context, who rx.Pharmacist, d rx.Dispensing, opts record.DispenseOptions) (record.Receipt, error) {
	return s.kicked(s.Recorder.Dispense(ctx, who, d, opts))
}

// UploadState implements common.Services.
func (s *Services) UploadState(ctx context.Context, id string) (journal.OutboxEntry, error) {
	return s.Journal.Outbox(ctx, id)
}

var _ common.Services = (*Services)(nil)

// Counts implements common.Services.
func (s *Services) Counts(ctx context.Context) (journal.Counts, error) { return s.Journal.Counts(ctx) }

// Mode implements common.Services.
func (s *Services) Mode(ctx context.Context) (rx.ModeState, error) { return s.Journal.Mode(ctx) }

// FindPatient implements common.Services.
func (s *Services) FindPatient(ctx context.Context, code string) (rx.Patient, error) {
	return s.Centre.FindPatient(ctx, code)
}

// Prescriptions implements common.Services.
func (s *Services) Prescriptions(ctx context.Context, code string) ([]rx.Prescription, error) {
	return s.Centre.Prescriptions(ctx, code)
}

// SignIn implements common.Services with the counter's own check
// (signin.Check): failures counted in the journal, on the Env's clock.
func (s *Services) SignIn(ctx context.Context, id, pin string) (rx.Pharmacist, error) {
	u, err := signin.Check(ctx, s.Journal, id, pin)
	if err != nil {
		return rx.Pharmacist{}, err
	}
	return rx.Pharmacist{ID: u.ID, Name: u.Name, Registration: u.Registration, Role: u.Role}, nil
}

// ForceFault implements common.Services.
func (s *Services) ForceFault(ctx context.Context, reason, by string) (rx.ModeState, error) {
	if by == "" {
		return rx.ModeState{}, errors.New("force fault: nobody signed in")
	}
	return mode.Force(ctx, s.Journal, reason, by)
}

// Paper implements common.Services.
func (s *Services) Paper(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (record.Receipt, error) {
	return s.kicked(s.Recorder.Paper(ctx, who, p, d))
}

// Telephone implements common.Services.
func (s *Services) Telephone(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (record.Receipt, error) {
	return s.kicked(s.Recorder.Telephone(ctx, who, p, d))
}

// Renew implements common.Renewals.
func (s *Services) Renew(ctx context.Context, who rx.Pharmacist, r rx.Renewal) (record.Receipt, error) {
	return s.kicked(s.Recorder.Renew(ctx, who, r))
}

var _ common.Renewals = (*Services)(nil)

func (s *Services) kicked(rc record.Receipt, err error) (record.Receipt, error) {
	if err == nil && s.Kick != nil {
		s.Kick()
	}
	return rc, err
}

// FindMedicines implements common.Services over the Env's catalogue.
func (s *Services) FindMedicines(ctx context.Context, query string, n int) ([]rx.Medicine, error) {
	return s.Catalogue.Pick(ctx, query, n)
}

// MedicineByVNR implements common.Services over the Env's catalogue.
func (s *Services) MedicineByVNR(ctx context.Context, vnr string) (rx.Medicine, error) {
	return s.Catalogue.Product(ctx, vnr)
}

// CatalogueInfo implements common.Services over the Env's catalogue.
func (s *Services) CatalogueInfo(ctx context.Context) (catalogue.Info, error) {
	return s.Catalogue.Info(ctx)
}

// PatientRecords implements common.Services.
func (s *Services) PatientRecords(ctx context.Context, patient string, since time.Time) ([]journal.Record, error) {
	recs, err := s.Journal.List(ctx, journal.Filter{Patient: patient, Peers: true})
	return common.OutageRecords(recs, since), err
}

// Record implements common.Services.
func (s *Services) Record(ctx context.Context, id string) (journal.Record, error) {
	return s.Journal.GetAny(ctx, id)
}

// Outbox implements common.Services.
func (s *Services) Outbox(ctx context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error) {
	return s.Journal.OutboxList(ctx, states...)
}

// RetryNow implements common.Services.
func (s *Services) RetryNow(ctx context.Context, id string) error {
	err := s.Journal.Requeue(ctx, id)
	if err == nil && s.Kick != nil {
		s.Kick()
	}
	return err
}

// Prescription implements common.Services.
func (s *Services) Prescription(ctx context.Context, id, patient string) (rx.Prescription, error) {
	return s.Centre.Prescription(ctx, id, patient)
}

// Resolve implements common.Services.
func (s *Services) Resolve(ctx context.Context, who rx.Pharmacist, id string, r queue.Resolution) (journal.Record, error) {
	rec, err := queue.Resolve(ctx, s.Journal, who, id, r)
	if err == nil && s.Kick != nil {
		s.Kick()
	}
	return rec, err
}

// Pending appends n dispensing records for upload, so the outbox has
// something pending, and then moves the clock on by after.
func (e *Env) Pending(t testing.TB, n int, after time.Duration) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := e.Journal.Append(context.Background(), journal.NewRecord{
			Kind: journal.KindDispensing, Pharmacist: Pharmacist.ID, Patient: Matti,
			Upload: true,
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.Clock.Advance(after)
}

// NoColour makes lipgloss render plain text, so golden files hold words
// only. Call it from TestMain.
func NoColour() { lipgloss.SetColorProfile(termenv.Ascii) }

// Size is a terminal size the golden snapshots are taken at.
type Size struct{ W, H int }

// Sizes are the sizes of the golden snapshots (issue 5): the smallest the
// counter supports, and a larger one.
var Sizes = []Size{{80, 24}, {120, 40}}

// Modes are the modes of the golden snapshots.
var Modes = []rx.Mode{rx.ModeOnline, rx.ModeFault}

// Golden compares view with the golden file of the running (sub)test in
// the package's testdata; go test -update rewrites it. Trailing spaces are
// cut from each line, so a snapshot does not depend on padding.
func Golden(t *testing.T, view string) {
	t.Helper()
	lines := strings.Split(view, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	golden.RequireEqual(t, []byte(strings.Join(lines, "\n")+"\n"))
}

// Run runs a command and returns its message, as bubbletea would in the
// background. A nil command gives nil.
func Run(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	return cmd()
}

// Type is the key message of typing s at once, as a barcode scanner does.
func Type(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// Key is the key message of one special key, e.g. tea.KeyEnter.
func Key(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }

// Updater is a screen model: Update returns the concrete type.
type Updater[M any] interface {
	Update(tea.Msg) (M, tea.Cmd)
}

// Settle feeds msg to m, then runs each command it returns and feeds
// the messages back, until no command is left or a message satisfies
// stop; it returns the model and the message that stopped it (nil when
// none did). Batches are run one command after another.
func Settle[M Updater[M]](m M, msg tea.Msg, stop func(tea.Msg) bool) (M, tea.Msg) {
	queue := []tea.Msg{msg}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			panic("tuitest.Settle: the commands do not settle")
		}
		msg, queue = queue[0], queue[1:]
		if _, ok := msg.(spinner.TickMsg); ok || msg == nil {
			continue // a spinner would tick for ever; its frames are not tested
		}
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				queue = append(queue, Run(c))
			}
			continue
		}
		if stop != nil && stop(msg) {
			return m, msg
		}
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		queue = append(queue, Run(cmd))
	}
	return m, nil
}
