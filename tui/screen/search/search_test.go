package search

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	tiski "github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
	"github.com/tiski-rx/tiski/tui/statusline"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

func isLoaded(msg tea.Msg) bool { _, ok := msg.(LoadedMsg); return ok }

var online = rx.ModeState{Mode: rx.ModeOnline}

func TestScanLoads(t *testing.T) {
	env := tuitest.New(t)
	m := New(env.Common(i18n.EN, 80, 24), tuitest.Pharmacist, online)
	m, _ = m.Update(tuitest.Type(tuitest.Matti))
	if !strings.Contains(m.View(), "valid") {
		t.Errorf("a valid code is not shown as valid:\n%s", m.View())
	}
	m, msg := tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isLoaded)
	got, ok := msg.(LoadedMsg)
	if !ok {
		t.Fatalf("state %d, %q: no LoadedMsg", m.State(), m.problem)
	}
	if got.Patient.HETU != tuitest.Matti || len(got.Prescriptions) < 10 {
		t.Errorf("loaded %+v with %d prescriptions", got.Patient, len(got.Prescriptions))
	}
}

func TestCheckedAsTyped(t *testing.T) {
	env := tuitest.New(t)
	tests := []struct{ name, typed, want string }{
		{"empty", "", "scan the barcode"},
		{"short", "1403", "not 4"},
		{"check character", "140348-901X", "check character should be W, not X"},
		{"valid", tuitest.Matti, "The identity code is valid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(env.Common(i18n.EN, 120, 40), tuitest.Pharmacist, online)
			m, _ = m.Update(tuitest.Type(tt.typed))
			if v := m.View(); !strings.Contains(v, tt.want) {
				t.Errorf("view lacks %q:\n%s", tt.want, v)
			}
			m, cmd := m.Update(tuitest.Key(tea.KeyEnter))
			if tt.name != "valid" && (cmd != nil || m.State() != Idle) {
				t.Errorf("Enter on an invalid code started a search")
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	env := tuitest.New(t)
	m := New(env.Common(i18n.EN, 80, 24), tuitest.Pharmacist, online)
	m, _ = m.Update(tuitest.Type(tuitest.Nobody))
	m, msg := tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isLoaded)
	if msg != nil || m.State() != NotFound {
		t.Errorf("state %d, msg %#v; want NotFound", m.State(), msg)
	}
}

func TestEscCancels(t *testing.T) {
	env := tuitest.New(t)
	if err := env.Sim.SetFault(centresim.Fault{Kind: centresim.FaultBlackhole}); err != nil {
		t.Fatal(err)
	}
	m := New(env.Common(i18n.EN, 80, 24), tuitest.Pharmacist, online)
	m, _ = m.Update(tuitest.Type(tuitest.Matti))
	m, cmd := m.Update(tuitest.Key(tea.KeyEnter))
	if m.State() != Loading || cmd == nil {
		t.Fatalf("state %d: not loading", m.State())
	}
	m, _ = m.Update(tuitest.Key(tea.KeyEsc))
	if m.State() != Cancelled {
		t.Fatalf("state %d after Esc, want Cancelled", m.State())
	}
	// The cancelled load ends at once, and its late answer is ignored.
	m, msg := tuitest.Settle(m, tuitest.Run(cmd), isLoaded)
	if msg != nil || m.State() != Cancelled {
		t.Errorf("state %d, msg %#v after the cancelled load's answer", m.State(), msg)
	}
}

func TestTimeoutOffersFault(t *testing.T) {
	env := tuitest.New(t)
	if err := env.Sim.SetFault(centresim.Fault{Kind: centresim.FaultBlackhole}); err != nil {
		t.Fatal(err)
	}
	c := env.Common(i18n.EN, 80, 24)
	c.Counter.CallTimeout = 200 * time.Millisecond
	m := New(c, tuitest.Pharmacist, online)
	m, _ = m.Update(tuitest.Type(tuitest.Matti))
	m, _ = tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isLoaded)
	if m.State() != TimedOut {
		t.Fatalf("state %d, want TimedOut", m.State())
	}
	if v := m.View(); !strings.Contains(v, "Press F6") {
		t.Errorf("no offer of fault mode:\n%s", v)
	}
	m, _ = tuitest.Settle(m, tuitest.Key(tea.KeyF6), nil)
	if m.State() != FaultForced || m.mode != rx.ModeFault {
		t.Errorf("state %d, mode %q after F6", m.State(), m.mode)
	}
	if st, err := env.Journal.Mode(t.Context()); err != nil || st.Mode != rx.ModeFault || !st.Override {
		t.Errorf("journal mode %+v, %v; want a forced FAULT", st, err)
	}
}

// TestFaultShowsOutageRecords: in FAULT, Enter shows the patient's
// journal records of this outage, newest last, and never asks the
// Prescription Centre; records of other patients and of before the outage
// are not shown.
func TestFaultShowsOutageRecords(t *testing.T) {
	env := tuitest.New(t)
	m, _ := faultWithRecords(t, env)
	asked := len(env.Sim.Requests())
	m, _ = m.Update(tuitest.Type(tuitest.Matti))
	m, _ = tuitest.Settle(m, tuitest.Key(tea.KeyEnter), nil)
	if m.State() != Records {
		t.Fatalf("state %d (%s), want Records", m.State(), m.problem)
	}
	if n := len(env.Sim.Requests()); n != asked {
		t.Errorf("in FAULT the search sent %d requests to the Prescription Centre", n-asked)
	}
	recs := m.OutageRecords()
	if len(recs) != 1 || recs[0].Patient != tuitest.Matti || recs[0].Kind != journal.KindDispensing {
		t.Fatalf("outage records %+v, want Matti's one essential dispensing", recs)
	}
	v := m.View()
	for _, want := range []string{"This patient's records during this outage", "essential dispensing", "Metforem", "× 60", "EP26000101", "ctrl+p paper prescription"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	// Another patient, with no records of this outage.
	for range len(tuitest.Matti) {
		m, _ = m.Update(tuitest.Key(tea.KeyBackspace))
	}
	if m.State() != Idle || m.OutageRecords() != nil {
		t.Fatalf("editing the code kept the records: state %d", m.State())
	}
	m, _ = m.Update(tuitest.Type(tuitest.Nobody))
	m, _ = tuitest.Settle(m, tuitest.Key(tea.KeyEnter), nil)
	if m.State() != Records || len(m.OutageRecords()) != 0 || !strings.Contains(m.View(), "No records during this outage.") {
		t.Errorf("state %d, %d records:\n%s", m.State(), len(m.OutageRecords()), m.View())
	}
	// The outage ends: the list goes, and Enter asks the Prescription
	// Centre again.
	m, _ = m.Update(statusline.ModeMsg{State: rx.ModeState{Mode: rx.ModeOnline, Since: env.Clock.Now()}})
	if m.State() != Idle || strings.Contains(m.View(), "during this outage") {
		t.Errorf("after the outage: state %d\n%s", m.State(), m.View())
	}
}

// faultWithRecords dispenses Metforem to Matti online, puts the journal in
// FAULT, dispenses it again under the essential-medication procedure, and
// returns the search in that FAULT.
func faultWithRecords(t *testing.T, env *tuitest.Env) (Model, rx.ModeState) {
	t.Helper()
	ctx := t.Context()
	p, err := env.Client.Prescription(ctx, "EP26000101", tuitest.Matti)
	if err != nil {
		t.Fatal(err)
	}
	pack := p.Medicine.Packages[0]
	d := rx.Dispensing{PrescriptionID: p.ID, Patient: tuitest.Matti, Medicine: p.Medicine, VNR: pack.VNR, Quantity: 100,
		Time: env.Clock.Now(), Pharmacist: tuitest.Pharmacist, Pharmacy: tuitest.Pharmacy}
	if _, err := env.Services.Dispense(ctx, tuitest.Pharmacist, d, record.DispenseOptions{Prescription: &p}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Hour)
	st := env.Fault(t)
	env.Clock.Advance(10 * time.Minute)
	d.Time, d.Essential, d.Basis, d.Quantity = env.Clock.Now(), true, rx.BasisInstructionSheet, 60
	if _, err := env.Services.Dispense(ctx, tuitest.Pharmacist, d, record.DispenseOptions{UnitsPerDay: 2}); err != nil {
		t.Fatal(err)
	}
	return New(env.Common(i18n.EN, 80, 24), tuitest.Pharmacist, st), st
}

func TestGolden(t *testing.T) {
	env := tuitest.New(t)
	for _, md := range tuitest.Modes {
		for _, sz := range tuitest.Sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", md, sz.W, sz.H), func(t *testing.T) {
				m := New(env.Common(i18n.FI, sz.W, sz.H), tuitest.Pharmacist, rx.ModeState{Mode: md, Since: tuitest.Start})
				m, _ = m.Update(tuitest.Type("140348-901X"))
				tuitest.Golden(t, m.View())
			})
		}
	}
	for _, sz := range tuitest.Sizes {
		t.Run(fmt.Sprintf("records_FAULT_%dx%d", sz.W, sz.H), func(t *testing.T) {
			env := tuitest.New(t)
			_, st := faultWithRecords(t, env)
			m := New(env.Common(i18n.FI, sz.W, sz.H), tuitest.Pharmacist, st)
			m, _ = m.Update(tuitest.Type(tuitest.Matti))
			m, _ = tuitest.Settle(m, tuitest.Key(tea.KeyEnter), nil)
			tuitest.Golden(t, m.View())
		})
	}
	t.Run("not_found_80x24", func(t *testing.T) {
		m := New(env.Common(i18n.FI, 80, 24), tuitest.Pharmacist, online)
		m, _ = m.Update(tuitest.Type(tuitest.Nobody))
		m, _ = tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isLoaded)
		tuitest.Golden(t, m.View())
	})
}

// peerPaper records, at another counter of the pharmacy, a paper
// prescription of Panadol for Matti (three dispensings of the smallest
// package) with its first dispensing, and shares both with env's journal.
func peerPaper(t *testing.T, env *tuitest.Env, peer *tuitest.Peer) (prescription journal.Record, pack rx.Package) {
	t.Helper()
	fx, err := rx.LoadFixtures(tiski.Fixtures(), env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	med, _ := fx.Medicine("panadol-500mg-tabl")
	pack, _ = med.SmallestPackage()
	p := rx.Prescription{Patient: tuitest.Matti, Prescriber: fx.Prescribers[0], Medicine: med, Issued: env.Clock.Now().AddDate(0, 0, -3),
		Dosage: "1 tablet a day", Quantity: pack.Size, Repeats: 2, Reason: "the health centre's system was down"}
	d := &rx.Dispensing{Patient: tuitest.Matti, Medicine: med, VNR: pack.VNR, Quantity: pack.Size, Time: env.Clock.Now()}
	rc, err := peer.Recorder.Paper(t.Context(), tuitest.PeerPharmacist, p, d)
	if err != nil {
		t.Fatal(err)
	}
	peer.Share(t)
	return rc.Record, pack
}

// TestFaultShowsPeerRecords (issue 19): in FAULT, the patient's records of
// the pharmacy's other counters show beside this counter's, each with the
// counter, the time and the pharmacist who recorded it, although that
// pharmacist is not in this counter's users table; and what is left of a
// journal prescription counts the dispensings of every counter.
func TestFaultShowsPeerRecords(t *testing.T) {
	env := tuitest.New(t)
	peer := env.Peer(t, "kassa-2")
	env.Clock.Advance(14 * time.Minute) // 10.14
	paper, pack := peerPaper(t, env, peer)
	env.Clock.Advance(time.Minute)
	st := env.Fault(t)
	env.Clock.Advance(time.Minute)
	// This counter dispenses against the other counter's prescription.
	d := rx.Dispensing{PrescriptionRecord: paper.ID, Patient: tuitest.Matti, Medicine: pack0(t, paper), VNR: pack.VNR, Quantity: pack.Size, Time: env.Clock.Now()}
	if _, err := env.Services.Dispense(t.Context(), tuitest.Pharmacist, d, record.DispenseOptions{}); err != nil {
		t.Fatal(err)
	}
	m := New(env.Common(i18n.EN, 100, 30), tuitest.Pharmacist, st)
	m, _ = m.Update(tuitest.Type(tuitest.Matti))
	m, _ = tuitest.Settle(m, tuitest.Key(tea.KeyEnter), nil)
	if m.State() != Records {
		t.Fatalf("state %d (%s), want Records", m.State(), m.problem)
	}
	peers := 0
	for _, r := range m.OutageRecords() {
		if r.Peer {
			peers++
		}
	}
	if len(m.OutageRecords()) != 3 || peers != 2 {
		t.Fatalf("%d records, %d of them the other counter's; want 3 and 2", len(m.OutageRecords()), peers)
	}
	v := m.View()
	left := fmt.Sprintf("%d of %s left", pack.Size, i18n.EN.Quantity(3*pack.Size, "tablet"))
	for _, want := range []string{"recorded at counter kassa-2, 10.14, Aino Virtanen", "paper prescription", left} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Count(v, "recorded at counter") != 2 {
		t.Errorf("this counter's own dispensing is shown as another counter's:\n%s", v)
	}
	// The prescription is chosen for dispensing with what is left after
	// both counters' dispensings; F5 asks for the dispense screen.
	p, ok := m.Selected()
	if !ok || p.RecordID != paper.ID || p.Remaining() != pack.Size || p.Total() != 3*pack.Size {
		t.Errorf("chosen %v: %s, %d of %d left", ok, p.RecordID, p.Remaining(), p.Total())
	}
	_, msg := tuitest.Settle(m, tuitest.Key(tea.KeyF5), func(msg tea.Msg) bool { _, ok := msg.(DispenseMsg); return ok })
	if got, ok := msg.(DispenseMsg); !ok || got.Prescription.RecordID != paper.ID || got.Patient.HETU != tuitest.Matti {
		t.Errorf("F5 gave %#v", msg)
	}
}

// pack0 is the medicine of a journal prescription's body.
func pack0(t *testing.T, paper journal.Record) rx.Medicine {
	t.Helper()
	var p rx.Prescription
	if err := json.Unmarshal(paper.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p.Medicine
}

func TestGoldenPeers(t *testing.T) {
	for _, sz := range tuitest.Sizes {
		t.Run(fmt.Sprintf("FAULT_%dx%d", sz.W, sz.H), func(t *testing.T) {
			env := tuitest.New(t)
			peer := env.Peer(t, "kassa-2")
			env.Clock.Advance(14 * time.Minute)
			peerPaper(t, env, peer)
			env.Clock.Advance(time.Minute)
			st := env.Fault(t)
			m := New(env.Common(i18n.FI, sz.W, sz.H), tuitest.Pharmacist, st)
			m, _ = m.Update(tuitest.Type(tuitest.Matti))
			m, _ = tuitest.Settle(m, tuitest.Key(tea.KeyEnter), nil)
			tuitest.Golden(t, m.View())
		})
	}
}

// TestWrongPatientNeverShown: with the simulator answering about another
// patient (issue 22, criterion (d)), the search shows nothing of that
// answer, and says in the pharmacist's words what happened.
func TestWrongPatientNeverShown(t *testing.T) {
	env := tuitest.New(t)
	if err := env.Sim.SetFault(centresim.Fault{Kind: centresim.FaultWrongPatient}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang i18n.Lang
		want string
	}{
		{i18n.EN, "The Prescription Centre answered about another patient"},
		{i18n.FI, "Reseptikeskus vastasi toisen potilaan tiedoilla"},
	} {
		m := New(env.Common(tt.lang, 120, 40), tuitest.Pharmacist, online)
		m, _ = m.Update(tuitest.Type(tuitest.Matti))
		m, msg := tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isLoaded)
		if msg != nil || m.State() != Failed {
			t.Fatalf("%s: state %d, msg %#v; want Failed and nothing loaded", tt.lang, m.State(), msg)
		}
		v := m.View()
		if !strings.Contains(v, tt.want) {
			t.Errorf("%s: the view does not say %q:\n%s", tt.lang, tt.want, v)
		}
		// The only identity code on the screen is the one typed.
		if rest := strings.ReplaceAll(v, tuitest.Matti, ""); hetu.MaskText(rest) != rest {
			t.Errorf("%s: another identity code is on the screen:\n%s", tt.lang, v)
		}
	}
}
