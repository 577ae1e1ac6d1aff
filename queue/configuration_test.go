package queue_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

// legacyDispensing appends a dispensing as tiski wrote it before records
// carried the pharmacy's identity: no pharmacy in its body.
func (e *env) legacyDispensing(patient, prescriptionID string) journal.Record {
	e.t.Helper()
	d := rx.Dispensing{ID: journal.NewID(), PrescriptionID: prescriptionID, Patient: patient, Medicine: e.medicine("panadol-500mg-tabl"),
		VNR: "990011", Quantity: 30, Time: time.Now(), Pharmacist: pharmacist}
	body, err := json.Marshal(record.DispensingBody{Dispensing: d})
	if err != nil {
		e.t.Fatal(err)
	}
	rec, err := e.j.Append(e.ctx, journal.NewRecord{ID: d.ID, Kind: journal.KindDispensing, Pharmacist: pharmacist.ID, Patient: patient,
		Body: body, Upload: true, Time: d.Time})
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

// TestConfigurationRejection: a legacy dispensing that neither names the
// pharmacy nor finds it in the configuration is rejected as a
// configuration refusal, never sent; a prescription the Prescription
// Centre refuses (expired, 422) is no such refusal. Requeued after the fix,
// the legacy one lands once, with the configured pharmacy; a stamped
// dispensing goes up even from a client with no pharmacy configured
// (issue 18).
func TestConfigurationRejection(t *testing.T) {
	e := newEnv(t)
	legacy := e.legacyDispensing(eino, "EPB-1")
	stamped := e.dispense(eino, "EPB-2", 30)
	expired := e.dispense(matti, "EPC-EXP", 30)

	bare, err := centre.New(centre.Config{BaseURL: e.sim.URL(), Timeout: 5 * time.Second, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bare.Close)
	drain(t, e.worker(bare, fastConfig()), 20*time.Second)

	o := e.wantState(legacy, journal.OutboxRejected, queue.Configuration)
	if !queue.ConfigurationRejected(o) || e.upstream(legacy) != 0 {
		t.Fatalf("legacy: %+v, upstream %d; want a configuration rejection, never sent", o, e.upstream(legacy))
	}
	e.wantState(stamped, journal.OutboxDone, "")
	if o := e.entry(expired.ID); o.State == journal.OutboxDone || queue.ConfigurationRejected(o) {
		t.Fatalf("expired: %+v; want it held for a pharmacist, not as a configuration refusal", o)
	}

	// IT sets the OID; the entry is sent again and lands once.
	if err := e.j.Requeue(e.ctx, legacy.ID); err != nil {
		t.Fatal(err)
	}
	drain(t, e.worker(e.client("", 0), fastConfig()), 20*time.Second)
	e.wantState(legacy, journal.OutboxDone, "")
	if n := e.upstream(legacy); n != 1 {
		t.Fatalf("legacy upstream %d times, want once", n)
	}
}

// TestConfigurationRejectedLegacyText: an entry rejected before the
// configuration kind existed, with the encoder's text for the missing
// OID, counts as a configuration refusal; a refusal upstream does not.
func TestConfigurationRejectedLegacyText(t *testing.T) {
	for _, tt := range []struct {
		e    journal.OutboxEntry
		want bool
	}{
		{journal.OutboxEntry{State: journal.OutboxRejected, LastError: "rejected: record dispensing: not sent to the Prescription Centre: pharmacy: the pharmacy's organisation OID is missing (set it in the configuration)"}, true},
		{journal.OutboxEntry{State: journal.OutboxRejected, LastError: "configuration: record dispensing: not sent"}, true},
		{journal.OutboxEntry{State: journal.OutboxRejected, LastError: "rejected: Prescription Centre refused the dispensing: Resepti on vanhentunut [expired]"}, false},
		{journal.OutboxEntry{State: journal.OutboxRejected, LastError: "rejected: record dispensing: not sent to the Prescription Centre: package: the package number (VNR) is missing"}, false},
		{journal.OutboxEntry{State: journal.OutboxConflict, Conflict: "configuration: x", LastError: "configuration: x"}, false},
	} {
		if got := queue.ConfigurationRejected(tt.e); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.e, got, tt.want)
		}
	}
}
