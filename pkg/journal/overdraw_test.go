package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestCheckOverdrawn: two counters each dispense the whole of a journal
// prescription while they cannot see each other. Once the records meet,
// each counter's own dispensing becomes an over-dispensed conflict if one
// of them was not checked across counters, and stays as it is if both
// were (the hub's claim is then what holds, not this check). A check made
// again changes nothing; a dispensing a pharmacist resolved, or one voided,
// is not made a conflict again.
func TestCheckOverdrawn(t *testing.T) {
	ctx := context.Background()
	const patient = "131052-902Y"
	type setup struct {
		a, b      *Journal
		p, da, db Record
	}
	build := func(t *testing.T, rulesA, rulesB []string) setup {
		a, b := openCounter(t, "kassa-1"), openCounter(t, "kassa-2")
		body, _ := json.Marshal(rx.Prescription{Patient: patient, Quantity: 10, Form: rx.FormPaper})
		p := mustAppend(t, a, NewRecord{Kind: KindPaperPrescription, Pharmacist: "aino", Patient: patient, Body: body, Upload: true})
		passOn(t, a, b)
		draw := func(j *Journal, rules []string) Record {
			return mustAppend(t, j, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Patient: patient, Upload: true, Draws: p.ID, Rules: rules,
				Body: fmt.Appendf(nil, `{"prescription_record":%q,"quantity":10}`, p.ID)})
		}
		da, db := draw(a, rulesA), draw(b, rulesB)
		passOn(t, a, b)
		passOn(t, b, a)
		return setup{a: a, b: b, p: p, da: da, db: db}
	}
	state := func(t *testing.T, j *Journal, id string) OutboxEntry {
		t.Helper()
		e, err := j.Outbox(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	t.Run("one not checked", func(t *testing.T) {
		s := build(t, []string{RuleNotCrossChecked}, nil)
		for _, c := range []struct {
			j          *Journal
			own, other Record
		}{{s.a, s.da, s.db}, {s.b, s.db, s.da}} {
			// Found when the other's record arrives (checked with it).
			marked, err := c.j.CheckOverdrawn(ctx, c.other)
			if err != nil || !slices.Equal(marked, []string{c.own.ID}) {
				t.Fatalf("%s: marked %v, %v; want its own dispensing", c.j.terminal, marked, err)
			}
			e := state(t, c.j, c.own.ID)
			if e.State != OutboxConflict || !strings.HasPrefix(e.Conflict, "over-dispensed: 20 dispensed against journal prescription "+s.p.ID+", which allows 10") ||
				!strings.Contains(e.Conflict, s.da.ID+": 10 at kassa-1, not checked across counters") || !strings.Contains(e.Conflict, s.db.ID+": 10 at kassa-2") {
				t.Errorf("%s: %s %q", c.j.terminal, e.State, e.Conflict)
			}
			if marked, err := c.j.CheckOverdrawn(ctx, c.own); err != nil || len(marked) != 0 {
				t.Errorf("%s: checked again, marked %v, %v", c.j.terminal, marked, err)
			}
		}
		// A pharmacist resolves counter 1's: resubmitted, it is not made
		// a conflict again by the next check.
		mustAppend(t, s.a, NewRecord{Kind: KindResolution, Pharmacist: "aino", Patient: patient, RefersTo: s.da.ID, Body: []byte(`{"action":"resubmit"}`)})
		if err := s.a.Requeue(ctx, s.da.ID); err != nil {
			t.Fatal(err)
		}
		if marked, err := s.a.CheckOverdrawn(ctx, s.db); err != nil || len(marked) != 0 || state(t, s.a, s.da.ID).State != OutboxPending {
			t.Errorf("a resolved dispensing made a conflict again: %v, %v", marked, err)
		}
	})

	t.Run("both checked", func(t *testing.T) {
		s := build(t, nil, nil)
		if marked, err := s.a.CheckOverdrawn(ctx, s.db); err != nil || len(marked) != 0 || state(t, s.a, s.da.ID).State != OutboxPending {
			t.Errorf("dispensings both checked across counters marked %v, %v", marked, err)
		}
	})

	t.Run("one voided", func(t *testing.T) {
		s := build(t, []string{RuleNotCrossChecked}, []string{RuleNotCrossChecked})
		mustAppend(t, s.b, NewRecord{Kind: KindVoid, Pharmacist: "aino", Patient: patient, RefersTo: s.db.ID, Body: []byte(`{"reason":"entered in error"}`)})
		passOn(t, s.b, s.a)
		if marked, err := s.a.CheckOverdrawn(ctx, s.db); err != nil || len(marked) != 0 {
			t.Errorf("with one of the two voided, marked %v, %v", marked, err)
		}
	})

	t.Run("not a dispensing", func(t *testing.T) {
		s := build(t, []string{RuleNotCrossChecked}, nil)
		if marked, err := s.a.CheckOverdrawn(ctx, s.p); err != nil || len(marked) != 0 {
			t.Errorf("the prescription itself: marked %v, %v", marked, err)
		}
	})
}
