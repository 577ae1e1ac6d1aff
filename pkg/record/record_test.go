package record_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

var (
	now        = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	pharmacist = rx.Pharmacist{ID: "aino", Name: "Aino Virtanen", Registration: "10100012345", Role: rx.RolePharmacist}
	student    = rx.Pharmacist{ID: "olli", Name: "Olli Opiskelija", Role: rx.RoleStudent}
	physician  = rx.Prescriber{Name: "Anna Korhonen", Registration: "10090004180", Profession: rx.Physician, Phone: "+358 9 3104 5000"}
	nurse      = rx.Prescriber{Name: "Tiina Hoitaja", Registration: "10090009999", Profession: rx.Nurse}
)

type fixture struct {
	svc *record.Service
	j   *journal.Journal
	fx  *rx.Fixtures
}

func setup(t *testing.T) fixture {
	t.Helper()
	clock := func() time.Time { return now }
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"), journal.Options{Now: clock, Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	fx, err := rx.LoadFixtures(tiski.Fixtures(), now)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{
		svc: &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}, Now: clock},
		j:   j, fx: fx,
	}
}

func (f fixture) medicine(t *testing.T, id string) rx.Medicine {
	t.Helper()
	m, ok := f.fx.Medicine(id)
	if !ok {
		t.Fatalf("no fixture medicine %s", id)
	}
	return m
}

func (f fixture) paper(t *testing.T, medicine string) rx.Prescription {
	return rx.Prescription{
		Patient: "131052-902Y", Prescriber: physician, Medicine: f.medicine(t, medicine),
		Issued: now.AddDate(0, 0, -1), Dosage: "1 tablet twice a day", Quantity: 100, Reason: "the prescriber's system was down",
	}
}

func (f fixture) telephone(t *testing.T, medicine string) rx.Prescription {
	p := f.paper(t, medicine)
	p.Telephone = &rx.TelephoneCall{Phone: "+358 9 3104 5000", Time: now.Add(-time.Hour), Verification: "called back to the health centre's switchboard"}
	return p
}

func (f fixture) count(t *testing.T) int {
	t.Helper()
	recs, err := f.j.List(context.Background(), journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Kind != journal.KindModeChange {
			n++
		}
	}
	return n
}

// wantProblems checks that err lists every want, and that nothing was recorded.
func wantProblems(t *testing.T, f fixture, err error, code string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("recorded; want a refusal")
	}
	if got := rx.ErrorCode(err); got != code {
		t.Errorf("code %s, want %s (%v)", got, code, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if n := f.count(t); n != 0 {
		t.Errorf("%d records written by a refused request", n)
	}
}

func TestPaperPrescription(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	rc, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rc.Record
	if r.Kind != journal.KindPaperPrescription || r.Pharmacist != "aino" || r.Terminal != "kassa-1" || r.Patient != "131052-902Y" || r.Mode != rx.ModeOnline {
		t.Fatalf("record %+v", r)
	}
	if !slices.Contains(r.Rules, policy.RulePrescriber) {
		t.Errorf("rules %v do not name %s", r.Rules, policy.RulePrescriber)
	}
	var body rx.Prescription
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Form != rx.FormPaper || body.RecordID != r.ID || body.Recorder == nil || body.Recorder.ID != "aino" || body.Medicine.ATC != "A10BA02" {
		t.Fatalf("body %+v", body)
	}
	e, err := f.j.Outbox(ctx, r.ID)
	if err != nil || e.State != journal.OutboxPending {
		t.Fatalf("outbox %+v %v", e, err)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name string
		do   func(f fixture) error
		code string
		want []string
	}{
		{"student may not record", func(f fixture) error {
			_, err := f.svc.Paper(context.Background(), student, f.paper(t, "metforem-500mg-tabl"), nil)
			return err
		}, rx.EFORBIDDEN, []string{"may look but not record"}},
		{"nobody signed in", func(f fixture) error {
			_, err := f.svc.Paper(context.Background(), rx.Pharmacist{}, f.paper(t, "metforem-500mg-tabl"), nil)
			return err
		}, rx.EFORBIDDEN, []string{"Sign in"}},
		{"nurse may not issue paper", func(f fixture) error {
			p := f.paper(t, "metforem-500mg-tabl")
			p.Prescriber = nurse
			_, err := f.svc.Paper(context.Background(), pharmacist, p, nil)
			return err
		}, rx.EINVALID, []string{policy.RulePrescriber}},
		{"every problem at once", func(f fixture) error {
			p := f.paper(t, "metforem-500mg-tabl")
			p.Patient = "131052-902X"
			p.Quantity = 0
			p.Issued = now.AddDate(0, 0, 2)
			p.Reason = ""
			_, err := f.svc.Paper(context.Background(), pharmacist, p, nil)
			return err
		}, rx.EINVALID, []string{"check character should be Y, not X", "quantity", "future", "reason"}},
		{"narcotic by telephone", func(f fixture) error {
			_, err := f.svc.Telephone(context.Background(), pharmacist, f.telephone(t, "oxynorm-5mg-caps"), nil)
			return err
		}, rx.EINVALID, []string{policy.RuleTelephoneNarcotic}},
		{"telephone without call details", func(f fixture) error {
			p := f.telephone(t, "metforem-500mg-tabl")
			p.Telephone = &rx.TelephoneCall{}
			p.Prescriber.Phone = ""
			_, err := f.svc.Telephone(context.Background(), pharmacist, p, nil)
			return err
		}, rx.EINVALID, []string{"phone", "verif", "time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			wantProblems(t, f, tt.do(f), tt.code, tt.want...)
		})
	}
}

func TestTelephonePKVWarns(t *testing.T) {
	f := setup(t)
	rc, err := f.svc.Telephone(context.Background(), pharmacist, f.telephone(t, "diapam-5mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if policy.Worst(rc.Decisions) != policy.Warn || !slices.Contains(rc.Record.Rules, policy.RulePKV) {
		t.Fatalf("decisions %v, rules %v", rc.Decisions, rc.Record.Rules)
	}
}

func (f fixture) essential(t *testing.T, at time.Time, medicine, vnr string, qty int) rx.Dispensing {
	return rx.Dispensing{
		Patient: "140348-901W", PrescriptionID: "EP26000101", Medicine: f.medicine(t, medicine), VNR: vnr,
		Quantity: qty, Time: at, Essential: true, Basis: rx.BasisInstructionSheet,
	}
}

func TestEssentialDispensingNeedsTheFault(t *testing.T) {
	ctx := context.Background()
	t.Run("online without a fault is refused", func(t *testing.T) {
		f := setup(t)
		_, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now, "metforem-500mg-tabl", "990291", 100), record.DispenseOptions{UnitsPerDay: 4})
		wantProblems(t, f, err, rx.EINVALID, "only for the pharmacy's own fault")
	})
	t.Run("in FAULT mode", func(t *testing.T) {
		f := setup(t)
		if _, _, err := f.j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: connection refused"}); err != nil {
			t.Fatal(err)
		}
		rc, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now, "metforem-500mg-tabl", "990291", 100), record.DispenseOptions{UnitsPerDay: 4})
		if err != nil {
			t.Fatal(err)
		}
		if rc.Record.Mode != rx.ModeFault || !slices.Contains(rc.Record.Rules, policy.RuleEssentialQuantity) {
			t.Fatalf("record mode %s rules %v", rc.Record.Mode, rc.Record.Rules)
		}
		var body record.DispensingBody
		if err := json.Unmarshal(rc.Record.Body, &body); err != nil || !body.Essential || body.Pharmacist.ID != "aino" || body.Pharmacy.OID == "" || body.UnitsPerDay != 4 {
			t.Fatalf("body %+v %v", body, err)
		}
	})
	t.Run("back-entered inside a recorded fault period", func(t *testing.T) {
		f := setup(t)
		// The clock is fixed, so the period is [now, now]; back-enter at that moment, then leave FAULT.
		f.j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: connection refused"})
		f.j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeFault, To: rx.ModeOnline, Cause: "probe: 3 answers in a row"})
		if _, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now, "metforem-500mg-tabl", "990291", 100), record.DispenseOptions{UnitsPerDay: 4}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("back-entered outside any fault is refused", func(t *testing.T) {
		f := setup(t)
		_, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now.Add(-48*time.Hour), "metforem-500mg-tabl", "990291", 100), record.DispenseOptions{UnitsPerDay: 4})
		wantProblems(t, f, err, rx.EINVALID, "no recorded fault period")
	})
	t.Run("back-entered with a fault reference", func(t *testing.T) {
		f := setup(t)
		if _, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now.Add(-48*time.Hour), "metforem-500mg-tabl", "990291", 100),
			record.DispenseOptions{UnitsPerDay: 4, FaultReference: "Kela's notice 20.11.2026"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("narcotic is refused", func(t *testing.T) {
		f := setup(t)
		_, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now, "oxynorm-5mg-caps", "990051", 28), record.DispenseOptions{FaultReference: "Kela"})
		wantProblems(t, f, err, rx.EINVALID, policy.RuleEssentialNarcotic)
	})
	t.Run("more than the smallest pack is refused", func(t *testing.T) {
		f := setup(t)
		_, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now, "metforem-500mg-tabl", "990292", 200), record.DispenseOptions{UnitsPerDay: 4, FaultReference: "Kela"})
		wantProblems(t, f, err, rx.EINVALID, policy.RuleEssentialQuantity)
	})
}

func TestDispensingOfAJournalPrescription(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	paper, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := rx.Dispensing{Patient: "131052-902Y", PrescriptionRecord: paper.Record.ID, Medicine: f.medicine(t, "metforem-500mg-tabl"), VNR: "990291", Quantity: 100, Time: now}
	rc, err := f.svc.Dispense(ctx, pharmacist, d, record.DispenseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.j.Outbox(ctx, rc.Record.ID)
	if err != nil || e.DependsOn != paper.Record.ID {
		t.Fatalf("the dispensing does not wait for its prescription: %+v %v", e, err)
	}

	t.Run("another patient is refused", func(t *testing.T) {
		other := d
		other.ID, other.Patient = "", "140348-901W"
		if _, err := f.svc.Dispense(ctx, pharmacist, other, record.DispenseOptions{}); err == nil || !strings.Contains(err.Error(), "another patient") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("more than is left is refused", func(t *testing.T) {
		again := d
		again.ID, again.Quantity = "", 30
		_, err := f.svc.Dispense(ctx, pharmacist, again, record.DispenseOptions{})
		if rx.ErrorCode(err) != rx.EINVALID || !strings.Contains(err.Error(), "more than the 0 left of journal prescription") ||
			!strings.Contains(err.Error(), "(100 of 100 dispensed)") {
			t.Fatalf("a second dispensing of a prescription dispensed whole: %v", err)
		}
		again.Quantity = 101
		if _, err := f.svc.Dispense(ctx, pharmacist, again, record.DispenseOptions{}); err == nil || !strings.Contains(err.Error(), "more than the prescription's 100 for one dispensing") {
			t.Fatalf("more than one dispensing's quantity: %v", err)
		}
	})
	t.Run("a voided prescription is refused", func(t *testing.T) {
		if _, err := f.svc.Void(ctx, pharmacist, paper.Record.ID, "entered in error"); rx.ErrorCode(err) != rx.ECONFLICT || !strings.Contains(err.Error(), "Void its dispensings first") {
			t.Fatalf("voided a prescription whose dispensing waits: %v", err)
		}
		if _, err := f.svc.Void(ctx, pharmacist, rc.Record.ID, "entered in error"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Void(ctx, pharmacist, paper.Record.ID, "entered in error"); err != nil {
			t.Fatal(err)
		}
		again := d
		again.ID = ""
		if _, err := f.svc.Dispense(ctx, pharmacist, again, record.DispenseOptions{}); err == nil || !strings.Contains(err.Error(), "voided") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("an unknown journal prescription is refused", func(t *testing.T) {
		unknown := d
		unknown.ID, unknown.PrescriptionRecord = "", "00000000-0000-4000-8000-000000000000"
		if _, err := f.svc.Dispense(ctx, pharmacist, unknown, record.DispenseOptions{}); err == nil || !strings.Contains(err.Error(), "no journal prescription") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestVoid(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	paper, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Void(ctx, pharmacist, paper.Record.ID, "entered in error")
	if err != nil {
		t.Fatal(err)
	}
	if v.Record.Kind != journal.KindVoid || v.Record.RefersTo != paper.Record.ID || v.Record.Patient != paper.Record.Patient {
		t.Fatalf("void %+v", v.Record)
	}
	// Never sent, so voided locally: neither it nor the void goes upstream.
	if e, err := f.j.Outbox(ctx, paper.Record.ID); err != nil || e.State != journal.OutboxVoided {
		t.Fatalf("the voided record's entry: %+v %v", e, err)
	}
	if _, err := f.j.Outbox(ctx, v.Record.ID); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Fatalf("a void of a record never sent is queued for upload: %v", err)
	}
	// The original is still there, unchanged: records are never updated.
	orig, err := f.j.Get(ctx, paper.Record.ID)
	if err != nil || orig.Hash != paper.Record.Hash {
		t.Fatalf("original after void: %+v %v", orig, err)
	}
	tests := []struct {
		name, id, reason, want string
	}{
		{"twice", paper.Record.ID, "again", "already voided"},
		{"unknown record", "00000000-0000-4000-8000-000000000000", "x", "no journal record"},
		{"no reason", paper.Record.ID, " ", "say why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.svc.Void(ctx, pharmacist, tt.id, tt.reason); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("an uploaded record is voided upstream too", func(t *testing.T) {
		up, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
		if err != nil {
			t.Fatal(err)
		}
		leased, err := f.j.Lease(ctx, "test", 10, time.Minute)
		if err != nil || len(leased) != 1 {
			t.Fatalf("lease %v %v", leased, err)
		}
		if err := f.j.Complete(ctx, up.Record.ID, "test", "PR00000001"); err != nil {
			t.Fatal(err)
		}
		v, err := f.svc.Void(ctx, pharmacist, up.Record.ID, "entered in error")
		if err != nil {
			t.Fatal(err)
		}
		if e, err := f.j.Outbox(ctx, up.Record.ID); err != nil || e.State != journal.OutboxDone {
			t.Fatalf("the uploaded record's entry: %+v %v", e, err)
		}
		if e, err := f.j.Outbox(ctx, v.Record.ID); err != nil || e.State != journal.OutboxPending {
			t.Fatalf("the void is not queued for upload: %+v %v", e, err)
		}
	})
	t.Run("a student may not void", func(t *testing.T) {
		if _, err := f.svc.Void(ctx, student, paper.Record.ID, "x"); rx.ErrorCode(err) != rx.EFORBIDDEN {
			t.Fatalf("err %v", err)
		}
	})
}

func TestPaperWithDispensingIsAtomic(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	d := &rx.Dispensing{Patient: "131052-902Y", Medicine: f.medicine(t, "metforem-500mg-tabl"), VNR: "990291", Quantity: 100, Time: now}

	bad := *d
	bad.Quantity = 0
	_, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), &bad)
	wantProblems(t, f, err, rx.EINVALID, "dispensing quantity")
	// More than the prescription allows for one dispensing.
	more := f.paper(t, "metforem-500mg-tabl")
	more.Quantity = d.Quantity - 1
	_, err = f.svc.Paper(ctx, pharmacist, more, d)
	wantProblems(t, f, err, rx.EINVALID, "dispensing quantity", "more than the prescription's 99")

	rc, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), d)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Dispensing == nil || rc.Dispensing.Seq != rc.Record.Seq+1 {
		t.Fatalf("receipt %+v", rc)
	}
	var body record.DispensingBody
	json.Unmarshal(rc.Dispensing.Body, &body)
	if body.PrescriptionRecord != rc.Record.ID {
		t.Fatalf("the dispensing names prescription %q, want %q", body.PrescriptionRecord, rc.Record.ID)
	}
	e, err := f.j.Outbox(ctx, rc.Dispensing.ID)
	if err != nil || e.DependsOn != rc.Record.ID {
		t.Fatalf("outbox %+v %v", e, err)
	}
	if rep, err := f.j.Verify(ctx); err != nil || !rep.OK {
		t.Fatalf("verify %+v %v", rep, err)
	}
}

func TestDispensingsOfOnePrescriptionGoInSequence(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	f.j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: connection refused"})
	first, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now, "metforem-500mg-tabl", "990291", 100), record.DispenseOptions{UnitsPerDay: 4})
	if err != nil {
		t.Fatal(err)
	}
	other := f.essential(t, now, "metforem-500mg-tabl", "990291", 100)
	other.PrescriptionID = "EP26000102"
	unrelated, err := f.svc.Dispense(ctx, pharmacist, other, record.DispenseOptions{UnitsPerDay: 4})
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now, "metforem-500mg-tabl", "990291", 100), record.DispenseOptions{UnitsPerDay: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{first.Record.ID: "", unrelated.Record.ID: "", second.Record.ID: first.Record.ID}
	for id, dep := range want {
		e, err := f.j.Outbox(ctx, id)
		if err != nil || e.DependsOn != dep {
			t.Errorf("record %s depends on %q, want %q (%v)", id, e.DependsOn, dep, err)
		}
	}
}

// TestJournalPrescriptionRemaining: dispensings against a journal
// prescription with a repeat add up to its total, and a voided one gives
// its quantity back.
func TestJournalPrescriptionRemaining(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	p := f.paper(t, "metforem-500mg-tabl")
	p.Quantity, p.Repeats = 50, 1
	paper, err := f.svc.Paper(ctx, pharmacist, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	dispense := func(qty int) (record.Receipt, error) {
		d := rx.Dispensing{Patient: "131052-902Y", PrescriptionRecord: paper.Record.ID, Medicine: f.medicine(t, "metforem-500mg-tabl"),
			VNR: "990291", Quantity: qty, Time: now}
		return f.svc.Dispense(ctx, pharmacist, d, record.DispenseOptions{})
	}
	if _, err := dispense(50); err != nil {
		t.Fatal(err)
	}
	second, err := dispense(30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dispense(21); err == nil || !strings.Contains(err.Error(), "more than the 20 left") || !strings.Contains(err.Error(), "(80 of 100 dispensed)") {
		t.Fatalf("over the total: %v", err)
	}
	if _, err := f.svc.Void(ctx, pharmacist, second.Record.ID, "entered in error"); err != nil {
		t.Fatal(err)
	}
	if _, err := dispense(50); err != nil {
		t.Fatalf("after a void gave 30 back: %v", err)
	}
}
