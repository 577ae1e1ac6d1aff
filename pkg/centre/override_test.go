package centre

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

const overrideReason = "prescriber consulted"

// TestOverride sends each refusal the Prescription Centre raises, without
// and then with a pharmacist's override.
func TestOverride(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL()})
	ctx := context.Background()

	tests := []struct {
		name        string
		id          string
		qty         int
		change      func(*rx.Dispensing)
		status      int
		reason      string
		overridable bool
	}{
		{"dispensed elsewhere (completed)", "EP26000104", 100, nil, 422, "completed", true},
		{"over-dispensed", "EP26000103", 130, nil, 422, "over-dispensed", true},
		{"expired", "EP26000117", 200, nil, 422, "expired", true},
		{"cancelled", "EP26000801", 120, nil, 422, "cancelled", true},
		{"locked", "EP26000701", 200, nil, 409, "locked", false},
		{"unknown patient", "EP26000101", 200, func(d *rx.Dispensing) { d.Patient = unknownHETU }, 422, "unknown-patient", false},
		{"unknown prescription", "EP26000101", 200, func(d *rx.Dispensing) { d.PrescriptionID = "EP99999999" }, 422, "unknown-prescription", false},
		{"patient mismatch", "EP26000101", 200, func(d *rx.Dispensing) { d.Patient = otherTestHETU }, 422, "patient-mismatch", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := c.Prescription(ctx, tt.id, patientOf(t, tt.id))
			if err != nil {
				t.Fatal(err)
			}
			d := dispensingOf(t, tt.id, tt.qty)
			if tt.change != nil {
				tt.change(&d)
			}
			_, err = c.RecordDispensing(ctx, d)
			if StatusOf(err) != tt.status || ReasonOf(err) != tt.reason {
				t.Fatalf("without an override: %v; want %d %s", err, tt.status, tt.reason)
			}
			r, err := c.RecordDispensing(ctx, d, WithOverride(overrideReason))
			if !tt.overridable {
				if StatusOf(err) != tt.status || ReasonOf(err) != tt.reason {
					t.Errorf("with an override: %v; want the same refusal", err)
				}
				if n := countRecord(t, srv, "MedicationDispense", d.ID); n != 0 {
					t.Errorf("%d stored", n)
				}
				return
			}
			if err != nil || !r.Created || r.Status != "completed" {
				t.Fatalf("with an override: %+v %v", r, err)
			}
			after, err := c.Prescription(ctx, tt.id, patientOf(t, tt.id))
			if err != nil {
				t.Fatal(err)
			}
			want := max(before.Remaining()-tt.qty, 0)
			if after.Remaining() != want || after.Dispensed > after.Total() || after.Version == before.Version {
				t.Errorf("remaining %d → %d (dispensed %d of %d), version %s → %s; want %d remaining and a new version",
					before.Remaining(), after.Remaining(), after.Dispensed, after.Total(), before.Version, after.Version, want)
			}
			again, err := c.RecordDispensing(ctx, d, WithOverride(overrideReason))
			if err != nil || again.Created || again.ID != r.ID {
				t.Errorf("sent again: %+v %v", again, err)
			}
		})
	}
	t.Run("narcotic by telephone, even with an override", func(t *testing.T) {
		p := recordedPrescription(t, rx.FormTelephone, "190492-911L", "oxycontin-10mg-depottabl")
		_, err := c.RecordPrescription(ctx, p, []rx.Dispensing{dispensingWith(p)}, WithOverride(overrideReason))
		if ReasonOf(err) != "narcotic-by-telephone" {
			t.Errorf("%v", err)
		}
	})
	t.Run("inside a transaction", func(t *testing.T) {
		p := recordedPrescription(t, rx.FormPaper, "190492-911L", "kavepenin-1milj-tabl")
		d := dispensingWith(p)
		d.Quantity = p.Quantity + 10
		if _, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d}); ReasonOf(err) != "over-dispensed" {
			t.Fatalf("without: %v", err)
		}
		tr, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d}, WithOverride(overrideReason))
		if err != nil || !tr.Prescription.Created || len(tr.Dispensings) != 1 || !tr.Dispensings[0].Created {
			t.Fatalf("with: %+v %v", tr, err)
		}
		got, err := c.Prescription(ctx, tr.Prescription.ID, p.Patient)
		if err != nil || got.Remaining() != 0 || got.Status != rx.StatusCompleted {
			t.Errorf("%+v %v", got, err)
		}
	})
	t.Run("an empty reason is not sent", func(t *testing.T) {
		_, err := c.RecordDispensing(ctx, dispensingOf(t, "EP26000113", 1), WithOverride("  "))
		if !errors.Is(err, ErrNotSent) || ClassOf(err) != Permanent {
			t.Errorf("%v", err)
		}
	})
}

func TestSeveralDispensingsInOneTransaction(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL()})
	ctx := context.Background()
	const patient = "190492-911L"
	split := func(p rx.Prescription, quantities ...int) []rx.Dispensing {
		var ds []rx.Dispensing
		for _, q := range quantities {
			d := dispensingWith(p)
			d.Quantity = q
			ds = append(ds, d)
		}
		return ds
	}

	t.Run("within the prescription", func(t *testing.T) {
		p := recordedPrescription(t, rx.FormPaper, patient, "kavepenin-1milj-tabl")
		ds := split(p, 10, 10, 10)
		tr, err := c.RecordPrescription(ctx, p, ds)
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Prescription.Created || len(tr.Dispensings) != 3 {
			t.Fatalf("%+v", tr)
		}
		for i, r := range tr.Dispensings {
			if !r.Created || r.ID == "" {
				t.Errorf("dispensing %d: %+v", i, r)
			}
			if landed, ok, err := c.DispensingLanded(ctx, ds[i].ID); err != nil || !ok || landed.ID != r.ID {
				t.Errorf("dispensing %d landed as %+v %v %v; receipt %+v (receipts in order)", i, landed, ok, err, r)
			}
		}
		again, err := c.RecordPrescription(ctx, p, ds)
		if err != nil || again.Prescription.Created || len(again.Dispensings) != 3 || again.Dispensings[2].Created || again.Dispensings[2].ID != tr.Dispensings[2].ID {
			t.Errorf("again: %+v %v", again, err)
		}
		got, err := c.Prescription(ctx, tr.Prescription.ID, p.Patient)
		if err != nil || got.Remaining() != 0 || got.Status != rx.StatusCompleted {
			t.Errorf("%+v %v", got, err)
		}
	})
	t.Run("together over the prescription: nothing stored", func(t *testing.T) {
		p := recordedPrescription(t, rx.FormPaper, patient, "kavepenin-1milj-tabl")
		ds := split(p, 20, 20)
		_, err := c.RecordPrescription(ctx, p, ds)
		if StatusOf(err) != 422 || ReasonOf(err) != "over-dispensed" || ClassOf(err) != Permanent {
			t.Fatalf("%v", err)
		}
		if countRecord(t, srv, "MedicationRequest", p.RecordID)+countRecord(t, srv, "MedicationDispense", ds[0].ID)+countRecord(t, srv, "MedicationDispense", ds[1].ID) != 0 {
			t.Error("something was stored")
		}
	})
	t.Run("one record twice is not sent", func(t *testing.T) {
		p := recordedPrescription(t, rx.FormPaper, patient, "kavepenin-1milj-tabl")
		d := dispensingWith(p)
		d.Quantity = 10
		if _, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d, d}); !errors.Is(err, ErrNotSent) || !strings.Contains(err.Error(), "twice") {
			t.Errorf("%v", err)
		}
	})
}

func TestVoid(t *testing.T) {
	t.Parallel()
	v := fhirschema.ForTest(t)
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL()})
	ctx := context.Background()

	t.Run("dispensing: the quantity comes back", func(t *testing.T) {
		before, err := c.Prescription(ctx, "EP26000113", patientOf(t, "EP26000113"))
		if err != nil {
			t.Fatal(err)
		}
		d := dispensingOf(t, "EP26000113", 100)
		if _, err := c.RecordDispensing(ctx, d); err != nil {
			t.Fatal(err)
		}
		r, err := c.VoidDispensing(ctx, d.ID, "wrong package")
		if err != nil || r.Status != "entered-in-error" || r.Version != "2" || r.Created {
			t.Fatalf("void: %+v %v", r, err)
		}
		after, err := c.Prescription(ctx, "EP26000113", patientOf(t, "EP26000113"))
		if err != nil {
			t.Fatal(err)
		}
		if after.Remaining() != before.Remaining() || after.Version == before.Version {
			t.Errorf("remaining %d → %d, version %s → %s", before.Remaining(), after.Remaining(), before.Version, after.Version)
		}
		again, err := c.VoidDispensing(ctx, d.ID, "wrong package")
		if err != nil || again != r {
			t.Errorf("again: %+v %v, want %+v", again, err, r)
		}
		if n, _ := srv.CountActiveByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+d.ID); n != 0 || countRecord(t, srv, "MedicationDispense", d.ID) != 1 {
			t.Errorf("active %d", n)
		}
		landed, ok, err := c.DispensingLanded(ctx, d.ID)
		if err != nil || !ok || landed.Status != "entered-in-error" {
			t.Errorf("landed %+v %v %v", landed, ok, err)
		}
		served := getJSON(t, srv.URL()+"/MedicationDispense/"+r.ID)
		v.Check(t, "voided MedicationDispense", served)
		if !strings.Contains(string(served), `"statusReasonCodeableConcept":{"text":"wrong package"}`) {
			t.Errorf("served %s", served)
		}
	})
	t.Run("completed prescription becomes active again", func(t *testing.T) {
		d := dispensingOf(t, "EP26000103", 100)
		if _, err := c.RecordDispensing(ctx, d); err != nil {
			t.Fatal(err)
		}
		if p, _ := c.Prescription(ctx, "EP26000103", patientOf(t, "EP26000103")); p.Status != rx.StatusCompleted {
			t.Fatalf("%s", p.Status)
		}
		if _, err := c.VoidDispensing(ctx, d.ID, ""); err != nil {
			t.Fatal(err)
		}
		if p, _ := c.Prescription(ctx, "EP26000103", patientOf(t, "EP26000103")); p.Status != rx.StatusActive || p.Remaining() != 100 {
			t.Errorf("%s %d", p.Status, p.Remaining())
		}
	})
	t.Run("recorded prescription", func(t *testing.T) {
		p := recordedPrescription(t, rx.FormPaper, "190492-911L", "kavepenin-1milj-tabl")
		d := dispensingWith(p)
		if _, err := c.RecordPrescription(ctx, p, []rx.Dispensing{d}); err != nil {
			t.Fatal(err)
		}
		_, err := c.VoidPrescription(ctx, p.RecordID, "entered twice")
		var ce *Error
		if !errors.As(err, &ce) || ce.Status != 409 || ce.Reason != "has-dispensings" || ce.Class != Conflict || ce.IssueCode != "conflict" {
			t.Fatalf("with a dispensing: %v", err)
		}
		t.Log(err)
		if _, err := c.VoidDispensing(ctx, d.ID, "entered twice"); err != nil {
			t.Fatal(err)
		}
		r, err := c.VoidPrescription(ctx, p.RecordID, "entered twice")
		if err != nil || r.Status != "entered-in-error" {
			t.Fatalf("%+v %v", r, err)
		}
		served := getJSON(t, srv.URL()+"/MedicationRequest/"+r.ID)
		v.Check(t, "voided MedicationRequest", served)
		if again, err := c.VoidPrescription(ctx, p.RecordID, "entered twice"); err != nil || again != r {
			t.Errorf("again: %+v %v", again, err)
		}
		got, err := c.Prescription(ctx, r.ID, p.Patient)
		if err != nil || got.Status != "entered-in-error" {
			t.Errorf("%+v %v", got.Status, err)
		}
		// A dispensing against it is refused, even with an override.
		d2 := dispensingWith(p)
		if _, err := c.RecordDispensing(ctx, d2, WithOverride(overrideReason)); ReasonOf(err) != "entered-in-error" {
			t.Errorf("%v", err)
		}
	})
	t.Run("a record that never landed", func(t *testing.T) {
		for name, void := range map[string]func(context.Context, string, string) (Receipt, error){
			"dispensing": c.VoidDispensing, "prescription": c.VoidPrescription,
		} {
			_, err := void(ctx, uuid.NewString(), "x")
			if !errors.Is(err, ErrNotFound) || ClassOf(err) != Permanent || rx.ErrorCode(err) != rx.ENOTFOUND {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := c.VoidDispensing(ctx, "not-a-uuid", "x"); !errors.Is(err, ErrNotSent) {
			t.Errorf("%v", err)
		}
	})
}

// TestOverrideAndVoidEncoding checks what the client sends for the new
// interactions against the R4 schema.
func TestOverrideAndVoidEncoding(t *testing.T) {
	t.Parallel()
	v := fhirschema.ForTest(t)
	c := newClient(t, Config{BaseURL: "http://127.0.0.1:1"})

	md, _, err := c.dispensing(sampleDispensing(), nil, options{override: overrideReason})
	if err != nil {
		t.Fatal(err)
	}
	b := mustJSON(md)
	v.Check(t, "MedicationDispense with an override", b)
	if !strings.Contains(string(b), `{"url":"`+extOverrideReason+`","valueString":"`+overrideReason+`"}`) {
		t.Errorf("no override in %s", b)
	}

	p := samplePrescription(rx.FormPaper)
	var ds []rx.Dispensing
	for i := range 3 {
		d := sampleDispensing()
		d.ID, d.PrescriptionID, d.Quantity = uuid.NewString(), "", 10+i
		ds = append(ds, d)
	}
	tb, err := c.transaction(p, ds, options{override: overrideReason})
	if err != nil {
		t.Fatal(err)
	}
	v.Check(t, "transaction of three dispensings", tb)
	var bd bundle
	if err := json.Unmarshal(tb, &bd); err != nil || len(bd.Entry) != 4 {
		t.Fatalf("%d entries, %v", len(bd.Entry), err)
	}
	for i, e := range bd.Entry {
		v.Check(t, fmt.Sprintf("entry %d", i+1), e.Resource)
		if i > 0 && (!strings.Contains(string(e.Resource), extOverrideReason) || !strings.Contains(e.Request.IfNoneExist, ds[i-1].ID)) {
			t.Errorf("entry %d: %s", i+1, e.Resource)
		}
	}

	served := []byte(`{"resourceType":"MedicationDispense","id":"md-7","meta":{"versionId":"1","lastUpdated":"2026-11-22T10:00:00.000Z"},` +
		`"identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:6f1c0d8e-3c57-4d3c-9f0c-8a6a7d0e2b55"}],"status":"completed",` +
		`"medicationCodeableConcept":{"coding":[{"system":"urn:oid:1.2.246.537.6.55","code":"123456"}]},` +
		`"subject":{"reference":"Patient/pat-1"},"quantity":{"value":30,"unit":"tablet"},"whenHandedOver":"2026-11-22T10:15:00+02:00"}`)
	vb, err := voidBody(served, "statusReasonCodeableConcept", " wrong patient ")
	if err != nil {
		t.Fatal(err)
	}
	v.Check(t, "void of a MedicationDispense", vb)
	var m map[string]any
	_ = json.Unmarshal(vb, &m)
	if m["status"] != "entered-in-error" || m["meta"] != nil || m["id"] != "md-7" || m["statusReasonCodeableConcept"].(map[string]any)["text"] != "wrong patient" {
		t.Errorf("void body %s", vb)
	}
	mr, _, err := prescription(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	vb, err = voidBody(mustJSON(mr), "statusReason", "entered twice")
	if err != nil {
		t.Fatal(err)
	}
	v.Check(t, "void of a MedicationRequest", vb)
}

func TestStatusAndReasonOf(t *testing.T) {
	t.Parallel()
	e := &Error{Op: "record dispensing", Class: Permanent, Status: 422, Reason: "expired"}
	wrapped := fmt.Errorf("upload record: %w", e)
	if StatusOf(wrapped) != 422 || ReasonOf(wrapped) != "expired" {
		t.Errorf("%d %q", StatusOf(wrapped), ReasonOf(wrapped))
	}
	if StatusOf(errors.New("x")) != 0 || ReasonOf(nil) != "" {
		t.Error("not an *Error")
	}
	v := &Error{Op: "void prescription", Class: Conflict, Status: 409, Reason: "has-dispensings", Text: "x", Diagnostics: "y"}
	if !strings.Contains(v.Error(), "Prescription Centre refused the void of the prescription") {
		t.Errorf("%s", v.Error())
	}
}

// getJSON reads a resource from the simulator by hand, to check what it
// serves.
func getJSON(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return b
}
