package record_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestNoRecordWithoutPharmacyIdentity: with the pharmacy's OID or name
// missing, or the OID malformed, every way of recording refuses with
// rx.ECONFIG, names the setting, and writes nothing (issue 18). A void
// still goes through: it is how a pharmacist clears what cannot be sent.
func TestNoRecordWithoutPharmacyIdentity(t *testing.T) {
	ctx := context.Background()
	ways := []struct {
		name string
		do   func(f fixture) error
	}{
		{"paper", func(f fixture) error {
			_, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
			return err
		}},
		{"paper with dispensing", func(f fixture) error {
			p := f.paper(t, "metforem-500mg-tabl")
			d := &rx.Dispensing{Patient: p.Patient, Medicine: p.Medicine, VNR: p.Medicine.Packages[0].VNR, Quantity: 30, Time: now}
			_, err := f.svc.Paper(ctx, pharmacist, p, d)
			return err
		}},
		{"telephone", func(f fixture) error {
			_, err := f.svc.Telephone(ctx, pharmacist, f.telephone(t, "metforem-500mg-tabl"), nil)
			return err
		}},
		{"dispensing", func(f fixture) error {
			_, err := f.svc.Dispense(ctx, pharmacist, rx.Dispensing{Patient: "140348-901W", PrescriptionID: "EP26000101",
				Medicine: f.medicine(t, "metforem-500mg-tabl"), VNR: f.medicine(t, "metforem-500mg-tabl").Packages[0].VNR, Quantity: 30, Time: now}, record.DispenseOptions{})
			return err
		}},
		{"essential dispensing", func(f fixture) error {
			_, err := f.svc.Dispense(ctx, pharmacist, f.essential(t, now, "metforem-500mg-tabl", f.medicine(t, "metforem-500mg-tabl").Packages[0].VNR, 30),
				record.DispenseOptions{FaultReference: "Kela notice 1/2026"})
			return err
		}},
	}
	identities := []struct {
		name     string
		pharmacy rx.Pharmacy
		want     []string
	}{
		{"no OID", rx.Pharmacy{Name: "Apteekki Tiski"}, []string{"pharmacy.oid is not set"}},
		{"no name", rx.Pharmacy{OID: "1.2.246.10.12345678.10.0"}, []string{"pharmacy.name is not set"}},
		{"nothing", rx.Pharmacy{}, []string{"pharmacy.oid and pharmacy.name are not set"}},
		{"malformed OID", rx.Pharmacy{Name: "Apteekki Tiski", OID: "apteekki-tiski"}, []string{"pharmacy.oid", "is not an OID"}},
	}
	for _, id := range identities {
		for _, w := range ways {
			t.Run(id.name+"/"+w.name, func(t *testing.T) {
				f := setup(t)
				f.svc.Pharmacy = id.pharmacy
				wantProblems(t, f, w.do(f), rx.ECONFIG, id.want...)
			})
		}
	}
}

// TestVoidWithoutPharmacyIdentity: a record made while the identity was
// complete can still be voided after it went missing.
func TestVoidWithoutPharmacyIdentity(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	rc, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Pharmacy = rx.Pharmacy{}
	if _, err := f.svc.Void(ctx, pharmacist, rc.Record.ID, "entered in error"); err != nil {
		t.Fatalf("void refused: %v", err)
	}
}

// TestPharmacyStamped: each prescription and dispensing carries the
// pharmacy as configured when it was recorded; the caller cannot name
// another, and a later change of the service's pharmacy leaves the
// records as they were.
func TestPharmacyStamped(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	first := f.svc.Pharmacy
	p := f.paper(t, "metforem-500mg-tabl")
	vnr := p.Medicine.Packages[0].VNR
	rc, err := f.svc.Paper(ctx, pharmacist, p, &rx.Dispensing{Patient: p.Patient, Medicine: p.Medicine, VNR: vnr, Quantity: 30, Time: now,
		Pharmacy: rx.Pharmacy{Name: "Another", OID: "1.2.3"}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Pharmacy = rx.Pharmacy{Name: "Apteekki Uusi", OID: "urn:oid:1.2.246.10.87654321.10.0"}
	later, err := f.svc.Dispense(ctx, pharmacist, rx.Dispensing{Patient: p.Patient, PrescriptionRecord: rc.Record.ID, Medicine: p.Medicine,
		VNR: vnr, Quantity: 30, Time: now.Add(time.Minute)}, record.DispenseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stamp := func(id string) (rx.Pharmacy, string) {
		r, err := f.j.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Pharmacy *rx.Pharmacy `json:"pharmacy"`
		}
		if err := json.Unmarshal(r.Body, &b); err != nil || b.Pharmacy == nil {
			t.Fatalf("record %s has no pharmacy stamp: %s (%v)", id, r.Body, err)
		}
		return *b.Pharmacy, string(r.Kind)
	}
	for id, want := range map[string]rx.Pharmacy{rc.Record.ID: first, rc.Dispensing.ID: first, later.Record.ID: f.svc.Pharmacy} {
		if got, kind := stamp(id); got != want {
			t.Errorf("%s %s stamped %+v, want %+v", kind, id, got, want)
		}
	}
	if got, _ := stamp(rc.Record.ID); strings.Contains(got.Name, "Uusi") {
		t.Errorf("a change of configuration rewrote the prescription's stamp: %+v", got)
	}
}
