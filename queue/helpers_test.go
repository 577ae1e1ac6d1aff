package queue_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

var (
	pharmacist = rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	student    = rx.Pharmacist{ID: "olli", Name: "Olli Opiskelija", Role: rx.RoleStudent}
	pharmacy   = rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}
	// physician is dr-korhonen of the bundled fixtures.
	physician = rx.Prescriber{Name: "Anna Korhonen", Registration: "10090004180", Profession: rx.Physician, Phone: "+358 9 3104 5000"}
)

// Patients of the bundled fixtures. (A patient the Prescription Centre does
// not know is made in TestConflicts with a computed check character.)
const (
	matti   = "140348-901W"
	aino    = "131052-902Y"
	eino    = "210731Y903A"
	bulkEPs = 8
)

// Prescriptions of the tests' own, beside the bundled patients, medicines
// and prescribers: bulk ones with plenty left, and one per conflict.
func testPrescriptions() string {
	rxs := []string{
		`{"id":"EPC-DONE","patient":"` + matti + `","prescriber":"dr-korhonen","medicine":"panadol-500mg-tabl","form":"electronic","issued_months_ago":2,"dosage":"1-2 tablets as needed","quantity":100,"repeats":0,"status":"completed","dispensings":[{"days_ago":3,"quantity":100,"pharmacy":"Apteekki Muu"}]}`,
		`{"id":"EPC-OVER","patient":"` + matti + `","prescriber":"dr-korhonen","medicine":"panadol-500mg-tabl","form":"electronic","issued_months_ago":2,"dosage":"x","quantity":30,"repeats":0}`,
		`{"id":"EPC-CANC","patient":"` + matti + `","prescriber":"dr-korhonen","medicine":"panadol-500mg-tabl","form":"electronic","issued_months_ago":2,"dosage":"x","quantity":30,"repeats":2,"status":"cancelled"}`,
		`{"id":"EPC-LOCK","patient":"` + matti + `","prescriber":"dr-korhonen","medicine":"panadol-500mg-tabl","form":"electronic","issued_months_ago":2,"dosage":"x","quantity":30,"repeats":2,"locked_by":"Apteekki Muu"}`,
		`{"id":"EPC-EXP","patient":"` + matti + `","prescriber":"dr-korhonen","medicine":"panadol-500mg-tabl","form":"electronic","issued_months_ago":26,"dosage":"x","quantity":30,"repeats":2}`,
		`{"id":"EPC-DUP","patient":"` + aino + `","prescriber":"dr-korhonen","medicine":"cardace-5mg-tabl","form":"electronic","issued_days_ago":2,"dosage":"1 tablet a day","quantity":100,"repeats":3}`,
		`{"id":"EPC-ALT","patient":"` + matti + `","prescriber":"dr-korhonen","medicine":"panadol-500mg-tabl","form":"electronic","issued_months_ago":1,"dosage":"x","quantity":100,"repeats":5}`,
	}
	for i := 1; i <= bulkEPs; i++ {
		rxs = append(rxs, fmt.Sprintf(`{"id":"EPB-%d","patient":"%s","prescriber":"dr-korhonen","medicine":"panadol-500mg-tabl","form":"electronic","issued_months_ago":1,"dosage":"x","quantity":100,"repeats":100000}`, i, eino))
	}
	return `{"prescriptions":[` + strings.Join(rxs, ",") + `]}`
}

// testFixtures is the bundled fixtures with the tests' prescriptions.
func testFixtures(t testing.TB) fs.FS {
	t.Helper()
	m := fstest.MapFS{"prescriptions.json": {Data: []byte(testPrescriptions())}}
	for _, name := range []string{"medicines.json", "prescribers.json", "patients.json"} {
		b, err := fs.ReadFile(tiski.Fixtures(), name)
		if err != nil {
			t.Fatal(err)
		}
		m[name] = &fstest.MapFile{Data: b}
	}
	return m
}

// env is a journal and a simulator on loopback, both real, in temporary
// folders.
type env struct {
	t   testing.TB
	ctx context.Context
	sim *centresim.Server
	j   *journal.Journal
	svc *record.Service
	fx  *rx.Fixtures
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	fixtures := testFixtures(t)
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: t.TempDir(), Fixtures: fixtures, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	fx, err := rx.LoadFixtures(fixtures, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, sim: sim, j: j, fx: fx,
		svc: &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: pharmacy}}
}

// client is a Prescription Centre client of url (the simulator's by
// default).
func (e *env) client(url string, timeout time.Duration) *centre.Client {
	e.t.Helper()
	if url == "" {
		url = e.sim.URL()
	}
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	c, err := centre.New(centre.Config{BaseURL: url, Timeout: timeout, ConnectTimeout: time.Second, Pharmacy: pharmacy})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(c.Close)
	return c
}

// fastConfig is a Worker configuration for tests: millisecond backoff.
func fastConfig() queue.Config {
	return queue.Config{
		Concurrency: 4, InitialInterval: 5 * time.Millisecond, MaxInterval: 100 * time.Millisecond,
		Rate: -1, LeaseTTL: 20 * time.Second, PollInterval: 50 * time.Millisecond,
	}
}

func (e *env) worker(c queue.Centre, cfg queue.Config) *queue.Worker {
	return queue.New(e.j, c, nil, cfg)
}

func (e *env) medicine(id string) rx.Medicine {
	e.t.Helper()
	m, ok := e.fx.Medicine(id)
	if !ok {
		e.t.Fatalf("no fixture medicine %s", id)
	}
	return m
}

// essential records an essential-medication dispensing on a previous label:
// it needs no prescription, so it suits bulk.
func (e *env) essential(patient string) journal.Record {
	e.t.Helper()
	m := e.medicine("panadol-500mg-tabl")
	rc, err := e.svc.Dispense(e.ctx, pharmacist, rx.Dispensing{
		Patient: patient, Medicine: m, VNR: "990011", Quantity: 30, Essential: true, Basis: rx.BasisPreviousLabel,
	}, record.DispenseOptions{UnitsPerDay: 3, FaultReference: "Kela's notice of a fault"})
	if err != nil {
		e.t.Fatalf("record essential dispensing: %v", err)
	}
	return rc.Record
}

// dispense records a dispensing against an e-prescription.
func (e *env) dispense(patient, prescriptionID string, qty int) journal.Record {
	e.t.Helper()
	m := e.medicine("panadol-500mg-tabl")
	vnr := "990011"
	if qty >= 100 {
		vnr = "990012"
	}
	rc, err := e.svc.Dispense(e.ctx, pharmacist, rx.Dispensing{
		PrescriptionID: prescriptionID, Patient: patient, Medicine: m, VNR: vnr, Quantity: qty,
	}, record.DispenseOptions{})
	if err != nil {
		e.t.Fatalf("record dispensing against %s: %v", prescriptionID, err)
	}
	return rc.Record
}

// paper records a paper prescription of medicine for patient, with a
// dispensing of qty when qty > 0.
func (e *env) paper(patient, medicine string, issued time.Time, qty int) (journal.Record, *journal.Record) {
	e.t.Helper()
	m := e.medicine(medicine)
	pk, _ := m.SmallestPackage()
	p := rx.Prescription{
		Patient: patient, Prescriber: physician, Medicine: m, Issued: issued, Dosage: "1 tablet a day",
		Quantity: 100, Repeats: 2, Reason: "the health centre's system was down",
	}
	var d *rx.Dispensing
	if qty > 0 {
		d = &rx.Dispensing{Patient: patient, Medicine: m, VNR: pk.VNR, Quantity: qty}
	}
	rc, err := e.svc.Paper(e.ctx, pharmacist, p, d)
	if err != nil {
		e.t.Fatalf("record paper prescription: %v", err)
	}
	return rc.Record, rc.Dispensing
}

// dispenseRecorded records a dispensing against a journal prescription.
func (e *env) dispenseRecorded(patient, medicine, prescriptionRecord string, qty int) journal.Record {
	e.t.Helper()
	m := e.medicine(medicine)
	pk, _ := m.SmallestPackage()
	rc, err := e.svc.Dispense(e.ctx, pharmacist, rx.Dispensing{
		PrescriptionRecord: prescriptionRecord, Patient: patient, Medicine: m, VNR: pk.VNR, Quantity: qty,
	}, record.DispenseOptions{})
	if err != nil {
		e.t.Fatalf("record dispensing against journal prescription %s: %v", prescriptionRecord, err)
	}
	return rc.Record
}

// entry returns a record's outbox entry.
func (e *env) entry(id string) journal.OutboxEntry {
	e.t.Helper()
	o, err := e.j.Outbox(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// upstream counts the resources carrying the record's id.
func (e *env) upstream(rec journal.Record) int {
	e.t.Helper()
	rt := "MedicationDispense"
	if rec.Kind == journal.KindPaperPrescription || rec.Kind == journal.KindTelephonePrescription {
		rt = "MedicationRequest"
	}
	n, err := e.sim.CountByIdentifier(rt, rx.SystemRecordUUID, "urn:uuid:"+rec.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// drain runs the Worker until nothing is left to send, within limit.
func drain(t testing.TB, w *queue.Worker, limit time.Duration) queue.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	s, err := w.Drain(ctx, false)
	if err != nil {
		t.Fatalf("drain: %v (summary %+v)", err, s)
	}
	return s
}

// wantState checks a record's outbox state and, for a conflict, its kind.
func (e *env) wantState(rec journal.Record, state journal.OutboxState, kind queue.ConflictKind) journal.OutboxEntry {
	e.t.Helper()
	o := e.entry(rec.ID)
	if o.State != state {
		e.t.Fatalf("record %s (%s) is %s (conflict %q, last error %q), want %s", rec.ID, rec.Kind, o.State, o.Conflict, o.LastError, state)
	}
	if kind != "" {
		c, ok := queue.EntryConflict(o)
		if !ok || c.Kind != kind {
			e.t.Fatalf("record %s: conflict %+v, want kind %s", rec.ID, c, kind)
		}
		if c.Detail == "" {
			e.t.Fatalf("record %s: conflict %s without a detail", rec.ID, kind)
		}
	}
	return o
}
