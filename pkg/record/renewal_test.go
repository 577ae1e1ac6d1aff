package record_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestRenew (issue 23): a renewal request made in FAULT is journaled like
// every record: in the hash chain, marked with the mode, pending in the
// outbox and in the share lane for the hub, with this pharmacy and the
// pharmacist stamped on it; a student, a pharmacy without its identity and
// bad input are refused in the pharmacist's terms, and nothing is written.
func TestRenew(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	if _, err := mode.Force(ctx, f.j, "Kela's notice of a fault", pharmacist.ID); err != nil {
		t.Fatal(err)
	}
	before := f.count(t)
	rc, err := f.svc.Renew(ctx, pharmacist, rx.Renewal{Patient: "140348-901w", PrescriptionID: " EP26000101 ", Message: "  Lääke loppuu. "})
	if err != nil {
		t.Fatal(err)
	}
	r := rc.Record
	if r.Kind != journal.KindRenewal || r.Mode != rx.ModeFault || r.Pharmacist != pharmacist.ID || r.Patient != "140348-901W" || f.count(t) != before+1 {
		t.Errorf("record %+v", r)
	}
	body, err := record.DecodeRenewal(r)
	if err != nil || body.ID != r.ID || body.PrescriptionID != "EP26000101" || body.Message != "Lääke loppuu." || !body.Time.Equal(now) ||
		body.Pharmacist.Registration != pharmacist.Registration || body.Pharmacy.OID != "1.2.246.10.12345678.10.0" {
		t.Errorf("body %+v, %v", body, err)
	}
	if got := record.PrescriptionOf(r); got != "EP26000101" {
		t.Errorf("PrescriptionOf = %q", got)
	}
	if e, err := f.j.Outbox(ctx, r.ID); err != nil || e.State != journal.OutboxPending || e.Kind != journal.KindRenewal {
		t.Errorf("outbox %+v, %v", e, err)
	}
	tail, err := f.j.ShareTail(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	shared := false
	for _, sr := range tail {
		b, _ := json.Marshal(sr)
		shared = shared || strings.Contains(string(b), r.ID)
	}
	if !shared {
		t.Errorf("the renewal is not in the share lane")
	}
	if v, err := f.j.Verify(ctx); err != nil || !v.OK {
		t.Errorf("verify: %+v, %v", v, err)
	}

	// Refusals, on a journal of their own: nothing is written.
	g := setup(t)
	_, err = g.svc.Renew(ctx, student, rx.Renewal{Patient: "140348-901W", PrescriptionID: "EP26000101"})
	wantProblems(t, g, err, rx.EFORBIDDEN, "may look but not record")
	_, err = g.svc.Renew(ctx, pharmacist, rx.Renewal{Patient: "140348-901X", PrescriptionID: "EP/26", Message: strings.Repeat("ä", rx.MaxRenewalMessage+1)})
	wantProblems(t, g, err, rx.EINVALID, "patient", "prescription", "501 characters")
	noID := &record.Service{Journal: g.j, Policy: g.svc.Policy, Now: g.svc.Now} // no pharmacy configured
	_, err = noID.Renew(ctx, pharmacist, rx.Renewal{Patient: "140348-901W", PrescriptionID: "EP26000101"})
	wantProblems(t, g, err, rx.ECONFIG, "pharmacy.oid")
}
