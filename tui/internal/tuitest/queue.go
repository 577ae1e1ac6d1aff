package tuitest

import (
	"regexp"
	"testing"

	tiski "github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Prescriptions of the bundled fixtures that the queue screens' tests make
// conflicts of, all Matti's.
const (
	Metforem    = "EP26000101" // active, 200 tablets × 4
	MetforemAlt = "EP26000117" // another Metforem, expired: a prescription to link to
	Panadol     = "EP26000113" // active, 100 tablets × 3
	Cardace     = "EP26000103" // active, 100 tablets × 3
)

// Dispensing records, through Services.Dispense as the counter does, a
// dispensing of the smallest package of the e-prescription id, read from
// the simulator. It is not uploaded until the test drains the queue.
func (e *Env) Dispensing(t testing.TB, id string) journal.Record {
	t.Helper()
	p, err := e.Client.Prescription(t.Context(), id, Matti)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	pack, ok := p.Medicine.SmallestPackage()
	if !ok {
		t.Fatalf("%s: the medicine has no package", id)
	}
	rc, err := e.Services.Dispense(t.Context(), Pharmacist, rx.Dispensing{
		PrescriptionID: p.ID, Patient: p.Patient, Medicine: p.Medicine, VNR: pack.VNR,
		Quantity: min(pack.Size, p.Remaining()), Time: e.Clock.Now(),
	}, record.DispenseOptions{Prescription: &p})
	if err != nil {
		t.Fatalf("record a dispensing of %s: %v", id, err)
	}
	return rc.Record
}

// Cancelled makes a real conflict of kind cancelled: a dispensing of id is
// recorded, the prescriber cancels id, and the queue uploads it once.
func (e *Env) Cancelled(t testing.TB, id string) journal.Record {
	t.Helper()
	rec := e.Dispensing(t, id)
	if err := e.Sim.CancelPrescription(id); err != nil {
		t.Fatal(err)
	}
	e.Drain(t)
	return rec
}

// DispensedElsewhere makes a real conflict of kind dispensed-elsewhere: a
// dispensing of id is recorded, another pharmacy dispenses all that is left
// of id, and the queue uploads it once.
func (e *Env) DispensedElsewhere(t testing.TB, id string) journal.Record {
	t.Helper()
	rec := e.Dispensing(t, id)
	p, err := e.Client.Prescription(t.Context(), id, Matti)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sim.DispenseElsewhere(id, p.Remaining(), "Apteekki Muu"); err != nil {
		t.Fatal(err)
	}
	e.Drain(t)
	return rec
}

// Locked makes a real conflict of kind locked: a dispensing of id is
// recorded, another pharmacy locks id, and the queue uploads it once.
func (e *Env) Locked(t testing.TB, id string) journal.Record {
	t.Helper()
	rec := e.Dispensing(t, id)
	if err := e.Sim.LockPrescription(id, "Apteekki Muu"); err != nil {
		t.Fatal(err)
	}
	e.Drain(t)
	return rec
}

// Retrying records a dispensing of each e-prescription of ids, then
// takes the simulator down and uploads once: each is left in retry, with
// the connection's failure as its last error. The simulator stays down.
func (e *Env) Retrying(t testing.TB, ids ...string) []journal.Record {
	t.Helper()
	recs := make([]journal.Record, len(ids))
	for i, id := range ids {
		recs[i] = e.Dispensing(t, id)
	}
	e.Down(t)
	e.Drain(t)
	return recs
}

// Paper records, through Services.Paper, a paper prescription of the
// fixture medicine for patient, prescribed by the fixtures' first
// physician, with a first dispensing of its smallest package: the
// dispensing waits in the queue for the prescription.
func (e *Env) Paper(t testing.TB, patient, medicine string) (prescription, dispensing journal.Record) {
	t.Helper()
	fx, err := rx.LoadFixtures(tiski.Fixtures(), e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	med, ok := fx.Medicine(medicine)
	if !ok {
		t.Fatalf("no fixture medicine %s", medicine)
	}
	pack, _ := med.SmallestPackage()
	p := rx.Prescription{
		Patient: patient, Prescriber: fx.Prescribers[0], Medicine: med, Issued: e.Clock.Now(),
		Dosage: "1 tablet a day", Quantity: pack.Size, Repeats: 1, Reason: "the health centre's system was down",
	}
	d := &rx.Dispensing{Patient: patient, Medicine: med, VNR: pack.VNR, Quantity: pack.Size, Time: e.Clock.Now()}
	rc, err := e.Services.Paper(t.Context(), Pharmacist, p, d)
	if err != nil {
		t.Fatalf("record a paper prescription: %v", err)
	}
	if rc.Dispensing == nil {
		t.Fatal("the paper prescription was recorded without its dispensing")
	}
	return rc.Record, *rc.Dispensing
}

// Duplicate makes a real conflict of kind possible-duplicate: the
// prescriber of Paper issues an e-prescription of medicine to patient
// today (returned as dup), then a paper prescription of the same medicine
// is recorded with its dispensing, and the queue uploads once: the paper
// prescription waits for review, its dispensing behind it.
func (e *Env) Duplicate(t testing.TB, patient, medicine string) (paper, dispensing journal.Record, dup string) {
	t.Helper()
	fx, err := rx.LoadFixtures(tiski.Fixtures(), e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	med, ok := fx.Medicine(medicine)
	if !ok {
		t.Fatalf("no fixture medicine %s", medicine)
	}
	pack, _ := med.SmallestPackage()
	dup, err = e.Sim.CreatePrescription(rx.Prescription{Patient: patient, Prescriber: fx.Prescribers[0], Medicine: med,
		Issued: e.Clock.Now(), Dosage: "1 tablet a day", Quantity: pack.Size, Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	paper, dispensing = e.Paper(t, patient, medicine)
	e.Drain(t)
	return paper, dispensing, dup
}

// Down makes the simulator refuse connections, as in an outage; Up ends it.
func (e *Env) Down(t testing.TB) {
	t.Helper()
	if err := e.Sim.SetFault(centresim.Fault{Kind: centresim.FaultDown}); err != nil {
		t.Fatal(err)
	}
	// A kept-alive connection the simulator has just closed would fail
	// the next request as "broke before the answer" rather than "cannot
	// reach", depending on timing: drop them, so every test sees the
	// refusal.
	e.Client.Close()
}

// Up ends the simulator's outage.
func (e *Env) Up(t testing.TB) {
	t.Helper()
	if err := e.Sim.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		t.Fatal(err)
	}
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	portRE = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
)

// Scrub replaces what differs from run to run in a view, record UUIDs and
// the simulator's loopback port, with placeholders of the same width where
// it can, so a golden snapshot of the queue screens is stable.
func Scrub(view string) string {
	view = uuidRE.ReplaceAllString(view, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	return portRE.ReplaceAllStringFunc(view, func(s string) string {
		out := []byte(s)
		for i := len("127.0.0.1:"); i < len(out); i++ {
			out[i] = 'p'
		}
		return string(out)
	})
}
