package centre

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestMisconfigured: a dispensing refused only because neither the
// record nor the configuration names the pharmacy's OID is a
// configuration refusal, never sent; one with any other problem too, or
// refused upstream, is not (issue 18).
func TestMisconfigured(t *testing.T) {
	ctx := context.Background()
	bare, err := New(Config{BaseURL: "http://127.0.0.1:1"}) // no pharmacy configured; nothing listens
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	legacy := sampleDispensing()
	legacy.Pharmacy = rx.Pharmacy{} // recorded before the stamp
	_, err = bare.RecordDispensing(ctx, legacy)
	if !Misconfigured(err) || !errors.Is(err, ErrNotSent) {
		t.Fatalf("legacy dispensing, no configured OID: %v; want a configuration refusal", err)
	}
	_, err = bare.RecordPrescription(ctx, samplePrescription(rx.FormPaper), []rx.Dispensing{func() rx.Dispensing {
		d := legacy
		d.PrescriptionID, d.PrescriptionRecord = "", samplePrescription(rx.FormPaper).RecordID
		return d
	}()})
	if !Misconfigured(err) {
		t.Fatalf("transaction with a legacy dispensing, no configured OID: %v; want a configuration refusal", err)
	}

	alsoBroken := legacy
	alsoBroken.VNR = ""
	if _, err := bare.RecordDispensing(ctx, alsoBroken); err == nil || Misconfigured(err) {
		t.Fatalf("a dispensing also without its package: %v; want a refusal that is not only configuration", err)
	}
	for _, err := range []error{nil, fmt.Errorf("plain"), &Error{Class: Permanent, Status: 422, Reason: "expired"}} {
		if Misconfigured(err) {
			t.Errorf("Misconfigured(%v)", err)
		}
	}
	// A stamped record needs no configured OID: it is not refused for it.
	if _, err := bare.RecordDispensing(ctx, sampleDispensing()); Misconfigured(err) || errors.Is(err, ErrNotSent) {
		t.Fatalf("stamped dispensing: %v; want it sent (and the connection refused)", err)
	}
}
