package centre

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
)

const unknownHETU = "010101A999X" // a valid test code that no fixture patient has

// dispensingOf is a new dispensing record of quantity units against a
// fixture prescription.
func dispensingOf(t *testing.T, prescriptionID string, quantity int) rx.Dispensing {
	t.Helper()
	p := fixturePrescription(t, prescriptionID)
	pk, _ := p.Medicine.SmallestPackage()
	return rx.Dispensing{
		ID: uuid.NewString(), PrescriptionID: prescriptionID, Patient: p.Patient, Medicine: p.Medicine,
		VNR: pk.VNR, Quantity: quantity, Time: time.Now().Truncate(time.Second),
		Pharmacist: testPharmacist, Pharmacy: testPharmacy,
	}
}

// recordedPrescription is a new paper or telephone prescription record of
// a fixture medicine, issued today by a fixture physician.
func recordedPrescription(t *testing.T, form rx.Form, patient, medicine string) rx.Prescription {
	t.Helper()
	i := slices.IndexFunc(loadFixtures(t).Prescribers, func(p rx.Prescriber) bool { return p.Profession == rx.Physician })
	now := time.Now().Truncate(time.Second)
	p := rx.Prescription{
		RecordID: uuid.NewString(), Patient: patient, Prescriber: loadFixtures(t).Prescribers[i],
		Medicine: fixtureMedicine(t, medicine), Form: form, Issued: now, Dosage: "1 tablet three times a day",
		Quantity: 30, Status: rx.StatusActive, Reason: "the health centre's patient system was down", Recorder: &testPharmacist,
	}
	if form == rx.FormTelephone {
		// The call at the issue: ten minutes before it would be
		// yesterday's just after midnight, before the issue date.
		p.Telephone = &rx.TelephoneCall{Phone: "+358 40 123 4567", Time: now, Verification: "called back to a known number"}
	}
	return p
}

// dispensingWith is the dispensing of a recorded prescription, one pack.
func dispensingWith(p rx.Prescription) rx.Dispensing {
	pk, _ := p.Medicine.SmallestPackage()
	return rx.Dispensing{
		ID: uuid.NewString(), PrescriptionRecord: p.RecordID, Patient: p.Patient, Medicine: p.Medicine,
		VNR: pk.VNR, Quantity: p.Quantity, Time: time.Now().Truncate(time.Second),
		Pharmacist: testPharmacist, Pharmacy: testPharmacy,
	}
}

func countRecord(t *testing.T, srv *centresim.Server, resourceType, recordID string) int {
	t.Helper()
	n, err := srv.CountByIdentifier(resourceType, rx.SystemRecordUUID, "urn:uuid:"+recordID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDispensingIsIdempotent(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL()})
	ctx := context.Background()

	t.Run("sent twice, stored once", func(t *testing.T) {
		before, err := c.Prescription(ctx, "EP26000101", patientOf(t, "EP26000101"))
		if err != nil {
			t.Fatal(err)
		}
		d := dispensingOf(t, "EP26000101", 200)
		first, err := c.RecordDispensing(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.RecordDispensing(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if !first.Created || second.Created || first.ID == "" || second.ID != first.ID {
			t.Errorf("first %+v, second %+v: want created then found, same id", first, second)
		}
		landed, ok, err := c.DispensingLanded(ctx, d.ID)
		if err != nil || !ok || landed.ID != first.ID || landed.Created {
			t.Errorf("landed %+v %v %v", landed, ok, err)
		}
		if n := countRecord(t, srv, "MedicationDispense", d.ID); n != 1 {
			t.Errorf("%d dispensings upstream, want 1", n)
		}
		after, err := c.Prescription(ctx, "EP26000101", patientOf(t, "EP26000101"))
		if err != nil {
			t.Fatal(err)
		}
		if after.Dispensed != before.Dispensed+200 {
			t.Errorf("dispensed %d, then %d: want one dispensing of 200", before.Dispensed, after.Dispensed)
		}
	})
	t.Run("sent at once from many goroutines, stored once", func(t *testing.T) {
		d := dispensingOf(t, "EP26000201", 100)
		var wg sync.WaitGroup
		receipts := make([]Receipt, 8)
		errs := make([]error, len(receipts))
		for i := range receipts {
			wg.Go(func() { receipts[i], errs[i] = c.RecordDispensing(ctx, d) })
		}
		wg.Wait()
		created := 0
		for i, r := range receipts {
			if errs[i] != nil {
				t.Fatalf("send %d: %v", i, errs[i])
			}
			if r.ID != receipts[0].ID {
				t.Errorf("ids %q and %q", r.ID, receipts[0].ID)
			}
			if r.Created {
				created++
			}
		}
		if created != 1 || countRecord(t, srv, "MedicationDispense", d.ID) != 1 {
			t.Errorf("%d answers said created, %d stored: want 1 and 1", created, countRecord(t, srv, "MedicationDispense", d.ID))
		}
	})
	t.Run("a record never sent has not landed", func(t *testing.T) {
		if _, ok, err := c.DispensingLanded(ctx, uuid.NewString()); ok || err != nil {
			t.Errorf("landed %v, %v", ok, err)
		}
		if _, ok, err := c.PrescriptionLanded(ctx, uuid.NewString()); ok || err != nil {
			t.Errorf("landed %v, %v", ok, err)
		}
	})
	t.Run("essential dispensings", func(t *testing.T) {
		sheet := dispensingOf(t, "EP26000901", 30)
		sheet.Essential, sheet.Basis = true, rx.BasisInstructionSheet
		label := dispensingOf(t, "EP26000901", 10)
		label.PrescriptionID, label.Essential, label.Basis = "", true, rx.BasisPreviousLabel
		for _, d := range []rx.Dispensing{sheet, label} {
			r, err := c.RecordDispensing(ctx, d)
			if err != nil {
				t.Fatalf("%s: %v", d.Basis, err)
			}
			if !r.Created || countRecord(t, srv, "MedicationDispense", d.ID) != 1 {
				t.Errorf("%s: %+v", d.Basis, r)
			}
		}
	})
	t.Run("the last dispensing completes the prescription in grace", func(t *testing.T) {
		before, err := c.Prescription(ctx, "EP26000118", patientOf(t, "EP26000118"))
		if err != nil {
			t.Fatal(err)
		}
		if before.Status != rx.StatusActive || before.Remaining() != 100 {
			t.Fatalf("fixture changed: %+v", before)
		}
		if _, err := c.RecordDispensing(ctx, dispensingOf(t, "EP26000118", 100)); err != nil {
			t.Fatal(err)
		}
		after, err := c.Prescription(ctx, "EP26000118", patientOf(t, "EP26000118"))
		if err != nil {
			t.Fatal(err)
		}
		if after.Status != rx.StatusCompleted || after.Remaining() != 0 || after.Version == before.Version {
			t.Errorf("after the last dispensing: status %s, remaining %d, version %s (was %s)", after.Status, after.Remaining(), after.Version, before.Version)
		}
		_, err = c.RecordDispensing(ctx, dispensingOf(t, "EP26000118", 100))
		if ce := (*Error)(nil); !errors.As(err, &ce) || ce.Reason != "completed" {
			t.Errorf("another dispensing: %v", err)
		}
	})
}

func TestTransactionIsIdempotent(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL()})
	ctx := context.Background()
	const patient = "190492-911L" // Ville Lehtinen

	t.Run("paper prescription and dispensing sent twice", func(t *testing.T) {
		p := recordedPrescription(t, rx.FormPaper, patient, "kavepenin-1milj-tabl")
		d := dispensingWith(p)
		first, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d})
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d})
		if err != nil {
			t.Fatal(err)
		}
		if !first.Prescription.Created || len(first.Dispensings) != 1 || !first.Dispensings[0].Created {
			t.Fatalf("first: %+v %+v", first.Prescription, first.Dispensings)
		}
		if second.Prescription.Created || len(second.Dispensings) != 1 || second.Dispensings[0].Created ||
			second.Prescription.ID != first.Prescription.ID || second.Dispensings[0].ID != first.Dispensings[0].ID {
			t.Errorf("second: %+v %+v, want found, same ids as %+v %+v", second.Prescription, second.Dispensings, first.Prescription, first.Dispensings)
		}
		if n, m := countRecord(t, srv, "MedicationRequest", p.RecordID), countRecord(t, srv, "MedicationDispense", d.ID); n != 1 || m != 1 {
			t.Errorf("%d prescriptions and %d dispensings upstream, want 1 and 1", n, m)
		}
		if r, ok, err := c.PrescriptionLanded(ctx, p.RecordID); err != nil || !ok || r.ID != first.Prescription.ID {
			t.Errorf("prescription landed: %+v %v %v", r, ok, err)
		}
		if r, ok, err := c.DispensingLanded(ctx, d.ID); err != nil || !ok || r.ID != first.Dispensings[0].ID {
			t.Errorf("dispensing landed: %+v %v %v", r, ok, err)
		}
		list, err := c.Prescriptions(ctx, patient)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(list, func(q rx.Prescription) bool { return q.ID == first.Prescription.ID })
		if i < 0 {
			t.Fatal("the recorded prescription is not in the patient's list")
		}
		got := list[i]
		if got.Form != rx.FormPaper || got.RecordID != p.RecordID || got.Reason != p.Reason || got.Recorder == nil ||
			got.Recorder.Registration != testPharmacist.Registration || got.Prescriber.Registration != p.Prescriber.Registration ||
			got.Medicine.ATC != p.Medicine.ATC || got.Quantity != 30 || got.Dispensed != 30 || got.Status != rx.StatusCompleted {
			t.Errorf("recorded prescription reads back as %+v", got)
		}
	})
	t.Run("a patient born in the 1800s ('+' in the identity code)", func(t *testing.T) {
		// The '+' must be escaped in the conditional reference, or the
		// server reads a space and finds no patient.
		p := recordedPrescription(t, rx.FormPaper, "241299+919B", "kavepenin-1milj-tabl")
		d := dispensingWith(p)
		tr, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d})
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Prescription.Created || countRecord(t, srv, "MedicationDispense", d.ID) != 1 {
			t.Errorf("receipt %+v", tr)
		}
	})
	t.Run("telephone prescription, then its dispensing by record id", func(t *testing.T) {
		p := recordedPrescription(t, rx.FormTelephone, patient, "kavepenin-1milj-tabl")
		tr, err := c.RecordPrescription(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Prescription.Created || len(tr.Dispensings) != 0 {
			t.Errorf("receipt %+v", tr)
		}
		got, err := c.Prescription(ctx, tr.Prescription.ID, p.Patient)
		if err != nil {
			t.Fatal(err)
		}
		if got.Form != rx.FormTelephone || got.Telephone == nil || got.Telephone.Phone != p.Telephone.Phone ||
			!got.Telephone.Time.Equal(p.Telephone.Time) || got.Telephone.Verification != p.Telephone.Verification ||
			got.ValidUntil(policy.Default().Validity()).Format(dateLayout) != p.ValidUntil(policy.Default().Validity()).Format(dateLayout) {
			t.Errorf("telephone prescription reads back as %+v, call %+v", got, got.Telephone)
		}
		d := dispensingWith(p)
		r, err := c.RecordDispensing(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Created || countRecord(t, srv, "MedicationDispense", d.ID) != 1 {
			t.Errorf("receipt %+v", r)
		}
	})
}

// TestBusinessRules sends what the Prescription Centre must refuse, and
// checks each refusal's class, status, reason and texts.
func TestBusinessRules(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL()})
	ctx := context.Background()

	with := func(id string, qty int, change func(*rx.Dispensing)) func() error {
		return func() error {
			d := dispensingOf(t, id, qty)
			if change != nil {
				change(&d)
			}
			_, err := c.RecordDispensing(ctx, d)
			return err
		}
	}
	transaction := func(form rx.Form, patient, medicine string) func() error {
		return func() error {
			p := recordedPrescription(t, form, patient, medicine)
			d := dispensingWith(p)
			_, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d})
			return err
		}
	}
	tests := []struct {
		name      string
		send      func() error
		status    int
		class     Class
		issueCode string
		reason    string
		rxCode    string
		what      string
	}{
		{"cancelled", with("EP26000801", 120, nil), 422, Permanent, "business-rule", "cancelled", rx.EREJECTED, "the dispensing"},
		{"completed", with("EP26000104", 100, nil), 422, Permanent, "business-rule", "completed", rx.EREJECTED, "the dispensing"},
		{"expired", with("EP26000117", 200, nil), 422, Permanent, "business-rule", "expired", rx.EREJECTED, "the dispensing"},
		{"over-dispensed", with("EP26000103", 130, nil), 422, Permanent, "business-rule", "over-dispensed", rx.EREJECTED, "the dispensing"},
		{"locked", with("EP26000701", 200, nil), 409, Conflict, "lock-error", "locked", rx.ECONFLICT, "the dispensing"},
		{"unknown patient", with("EP26000101", 200, func(d *rx.Dispensing) { d.Patient = unknownHETU }), 422, Permanent, "business-rule", "unknown-patient", rx.EREJECTED, "the dispensing"},
		{"unknown prescription", with("EP26000101", 200, func(d *rx.Dispensing) { d.PrescriptionID = "EP99999999" }), 422, Permanent, "business-rule", "unknown-prescription", rx.EREJECTED, "the dispensing"},
		{"patient mismatch", with("EP26000101", 200, func(d *rx.Dispensing) { d.Patient = otherTestHETU }), 422, Permanent, "business-rule", "patient-mismatch", rx.EREJECTED, "the dispensing"},
		{"narcotic by telephone", transaction(rx.FormTelephone, "190492-911L", "oxycontin-10mg-depottabl"), 422, Permanent, "business-rule", "narcotic-by-telephone", rx.EREJECTED, "the prescription"},
		{"unknown patient in a transaction", transaction(rx.FormPaper, unknownHETU, "kavepenin-1milj-tabl"), 422, Permanent, "business-rule", "unknown-patient", rx.EREJECTED, "the prescription"},
		{"dispensing in a transaction over-dispenses", func() error {
			p := recordedPrescription(t, rx.FormPaper, "190492-911L", "kavepenin-1milj-tabl")
			d := dispensingWith(p)
			d.Quantity = p.Quantity + 1
			_, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d})
			if _, ok, _ := c.PrescriptionLanded(ctx, p.RecordID); ok {
				t.Error("the prescription was stored although its dispensing was refused")
			}
			return err
		}, 422, Permanent, "business-rule", "over-dispensed", rx.EREJECTED, "the prescription"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.send()
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if ce.Status != tt.status || ce.Class != tt.class || ce.IssueCode != tt.issueCode || ce.Reason != tt.reason {
				t.Errorf("got status %d class %v issue %q reason %q; want %d %v %q %q (%v)",
					ce.Status, ce.Class, ce.IssueCode, ce.Reason, tt.status, tt.class, tt.issueCode, tt.reason, err)
			}
			if ce.Text == "" || ce.Diagnostics == "" || ce.Text == ce.Diagnostics {
				t.Errorf("want a Finnish text and an English diagnostic, got %q and %q", ce.Text, ce.Diagnostics)
			}
			if got := rx.ErrorCode(err); got != tt.rxCode {
				t.Errorf("rx code %q, want %q", got, tt.rxCode)
			}
			msg := err.Error()
			t.Log(msg)
			for _, s := range []string{"Prescription Centre refused " + tt.what + ": ", ce.Diagnostics, ce.Text, "(" + tt.reason + ")"} {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q lacks %q", msg, s)
				}
			}
			if m := hetuLike.FindString(msg); m != "" && m != hetu.Mask(m) {
				t.Errorf("identity code in %q", msg)
			}
		})
	}
}
