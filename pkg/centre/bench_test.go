package centre

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// BenchmarkRecordDispensing uploads new dispensings in parallel over
// loopback, as queue/ does when it drains the outbox. Essential dispensings
// on a previous label name no prescription, so no business rule runs out of
// quantity however long the benchmark runs.
func BenchmarkRecordDispensing(b *testing.B) {
	ctx := context.Background()
	srv, err := centresim.Start(ctx, centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: b.TempDir(), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL(), Pharmacy: testPharmacy})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	base := rx.Dispensing{
		Patient: testHETU, Medicine: testMedicine, VNR: "990291", Quantity: 10, Time: time.Now().Truncate(time.Second),
		Pharmacist: testPharmacist, Essential: true, Basis: rx.BasisPreviousLabel,
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := base
			d.ID = uuid.NewString()
			if _, err := c.RecordDispensing(ctx, d); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPrescription reads one prescription of the fixture patient with
// the most prescriptions, as the conflict review and queue/'s re-reads do
// (issue 18: one request with _include, where it was three, one of them the
// patient's whole listing).
func BenchmarkPrescription(b *testing.B) {
	ctx := context.Background()
	c := benchClient(b)
	patient := patientOf(b, "EP26000101")
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Prescription(ctx, "EP26000101", patient); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrescriptions lists a patient's prescriptions: the search by
// identity code, with the Patient included so that every prescription's
// subject is checked against the patient asked for (issue 22).
func BenchmarkPrescriptions(b *testing.B) {
	ctx := context.Background()
	c := benchClient(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Prescriptions(ctx, testHETU); err != nil {
			b.Fatal(err)
		}
	}
}

// benchClient starts the simulator with the fixtures and returns a client
// of it, both closed when the benchmark ends.
func benchClient(b *testing.B) *Client {
	b.Helper()
	srv, err := centresim.Start(context.Background(), centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: b.TempDir(), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	c, err := New(Config{BaseURL: srv.URL(), Pharmacy: testPharmacy})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}
