package record_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestLastPackOfAJournalPrescription has two terminals (two Journal handles
// on one file, each with its own recording service) dispense the last pack
// of one journal prescription at the same moment, from several goroutines,
// over many rounds. Exactly one dispensing may be recorded each round, and
// what is recorded against the prescription never exceeds what it allows:
// the check of what is left must be made inside the append's transaction,
// not from a read before it.
func TestLastPackOfAJournalPrescription(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	path := filepath.Join(t.TempDir(), "shared.db")
	clock := func() time.Time { return now }
	var terminals []*record.Service
	for _, name := range []string{"kassa-1", "kassa-2"} {
		j, err := journal.Open(ctx, path, journal.Options{Now: clock, Terminal: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		terminals = append(terminals, &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: f.svc.Pharmacy, Now: clock})
	}
	med := f.medicine(t, "metforem-500mg-tabl")
	const rounds, perTerminal = 25, 3
	for round := range rounds {
		p := f.paper(t, "metforem-500mg-tabl")
		p.Quantity, p.Repeats = 10, 1 // two packs of 10
		paper, err := terminals[round%2].Paper(ctx, pharmacist, p, &rx.Dispensing{
			Patient: p.Patient, Medicine: med, VNR: "990291", Quantity: 10, Time: now})
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 2*perTerminal)
		for _, svc := range terminals {
			for range perTerminal {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := svc.Dispense(ctx, pharmacist, rx.Dispensing{Patient: p.Patient, PrescriptionRecord: paper.Record.ID,
						Medicine: med, VNR: "990291", Quantity: 10, Time: now}, record.DispenseOptions{})
					errs <- err
				}()
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case rx.ErrorCode(err) != rx.EINVALID || !strings.Contains(err.Error(), "more than the 0 left of journal prescription "+paper.Record.ID+" (20 of 20 dispensed)"):
				t.Errorf("round %d: refused as %s: %v; want the last pack refused as not left", round, rx.ErrorCode(err), err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: the last pack was dispensed %d times; want once", round, ok)
		}
		if got := dispensedAgainst(t, terminals[0].Journal, p.Patient, paper.Record.ID); got > p.Total() {
			t.Fatalf("round %d: %d dispensed against a prescription of %d", round, got, p.Total())
		}
	}
}

// dispensedAgainst sums the dispensings recorded against the journal
// prescription id.
func dispensedAgainst(t *testing.T, j record.Journal, patient, id string) int {
	t.Helper()
	recs, err := j.List(context.Background(), journal.Filter{Kinds: []journal.Kind{journal.KindDispensing}, Patient: patient})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		var b record.DispensingBody
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		if b.PrescriptionRecord == id {
			n += b.Quantity
		}
	}
	return n
}
