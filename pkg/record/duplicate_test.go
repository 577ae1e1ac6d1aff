package record_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// shareForDuplicates gives every record of from's share lane to to, as the hub does.
func shareForDuplicates(t *testing.T, from, to *journal.Journal) {
	t.Helper()
	ctx := context.Background()
	tail, err := from.ShareTail(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range tail {
		if _, err := to.AddPeer(ctx, sr); err != nil {
			t.Fatal(err)
		}
	}
	if len(tail) > 0 {
		if err := from.MarkShared(ctx, tail[len(tail)-1].Seq); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDuplicateAcrossCounters: a paper or telephone prescription recorded
// at counter 2 that matches one recorded at counter 1 (the same patient,
// ATC code and prescriber, issued within the duplicate window) is
// recorded with a warning naming counter 1's record; one at the same
// counter is warned of too. Another prescriber, an issue date weeks
// apart, or a voided prescription is no duplicate.
func TestDuplicateAcrossCounters(t *testing.T) {
	ctx := context.Background()
	f := setup(t) // counter kassa-1
	clock := func() time.Time { return now }
	jb, err := journal.Open(ctx, filepath.Join(t.TempDir(), "b.db"), journal.Options{Now: clock, Terminal: "kassa-2"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jb.Close() })
	b := &record.Service{Journal: jb, Policy: policy.Default(), Pharmacy: f.svc.Pharmacy, Now: clock}

	first, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if duplicateWarning(first) != nil {
		t.Fatalf("the first prescription is warned of as a duplicate: %+v", duplicateWarning(first))
	}
	shareForDuplicates(t, f.j, jb)

	dupOf := func(rc record.Receipt) string {
		t.Helper()
		d := duplicateWarning(rc)
		if d == nil {
			return ""
		}
		if d.Verdict != policy.Warn || !slices.Contains(rc.Record.Rules, record.RuleDuplicateJournal) {
			t.Errorf("duplicate decision %+v, rules %v; want a warning stored with the record", d, rc.Record.Rules)
		}
		return d.Message
	}

	// At counter 2, by telephone, issued two days apart: a duplicate of counter 1's.
	p := f.telephone(t, "metforem-500mg-tabl")
	p.Issued = p.Issued.AddDate(0, 0, -2)
	rc, err := b.Telephone(ctx, pharmacist, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if msg := dupOf(rc); !strings.Contains(msg, "at counter kassa-1") || !strings.Contains(msg, first.Record.ID) || !strings.Contains(msg, "Dispense only one of them (RX-DUP-JOURNAL).") {
		t.Errorf("counter 2's warning: %q", msg)
	}

	// At counter 1 again: a duplicate of its own.
	rc, err = f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if msg := dupOf(rc); !strings.Contains(msg, "recorded at counter kassa-1 already") {
		t.Errorf("counter 1's warning: %q", msg)
	}

	// No duplicates: another prescriber; issued weeks apart.
	other := f.paper(t, "metforem-500mg-tabl")
	other.Prescriber = rx.Prescriber{Name: "Pekka Lääkäri", Registration: "10090001111", Profession: rx.Physician}
	weeks := f.paper(t, "metforem-500mg-tabl")
	weeks.Issued = weeks.Issued.AddDate(0, 0, -20)
	for _, c := range []struct {
		name string
		p    rx.Prescription
	}{{"another prescriber", other}, {"issued weeks apart", weeks}} {
		rc, err := b.Paper(ctx, pharmacist, c.p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if msg := dupOf(rc); msg != "" {
			t.Errorf("%s: warned %q", c.name, msg)
		}
	}
}

// TestDuplicateVoided: a voided prescription is no duplicate.
func TestDuplicateVoided(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	first, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Void(ctx, pharmacist, first.Record.ID, "entered in error"); err != nil {
		t.Fatal(err)
	}
	rc, err := f.svc.Paper(ctx, pharmacist, f.paper(t, "metforem-500mg-tabl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := duplicateWarning(rc); d != nil {
		t.Errorf("warned of a voided prescription: %s", d.Message)
	}
}

// duplicateWarning returns the receipt's duplicate warning, if any.
func duplicateWarning(rc record.Receipt) *policy.Decision {
	for i, d := range rc.Decisions {
		if d.RuleID == record.RuleDuplicateJournal {
			return &rc.Decisions[i]
		}
	}
	return nil
}
