package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestDrawIsCheckedInTheTransaction appends dispensings that draw on a
// journal prescription straight to the journal, without pkg/record's check
// before: the append itself refuses more than one dispensing may be, more
// than is left, a voided prescription, another patient's and a record that
// is not a prescription, each in the words pkg/record uses, and a void
// gives its quantity back.
func TestDrawIsCheckedInTheTransaction(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	const patient = "131052-902Y"
	prescription := func() string {
		body, _ := json.Marshal(rx.Prescription{Patient: patient, Quantity: 10, Repeats: 1, Form: rx.FormPaper})
		return mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "aino", Patient: patient, Body: body, Upload: true}).ID
	}
	draw := func(p, who string, qty int) (Record, error) {
		body := fmt.Appendf(nil, `{"prescription_record": %q, "quantity": %d}`, p, qty)
		return j.Append(ctx, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Patient: who, Body: body, Upload: true, Draws: p})
	}
	refused := func(want string, rec Record, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("recorded %s; want a refusal saying %q", rec.ID, want)
		}
		if rx.ErrorCode(err) != rx.EINVALID || !strings.Contains(err.Error(), want) {
			t.Fatalf("refused as %s: %v; want %q", rx.ErrorCode(err), err, want)
		}
	}
	p := prescription()
	rec, err := draw(p, patient, 11)
	refused("quantity 11 is more than the prescription's 10 for one dispensing", rec, err)
	first, err := draw(p, patient, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := draw(p, patient, 6); err != nil {
		t.Fatal(err)
	}
	rec, err = draw(p, patient, 5)
	refused("quantity 5 is more than the 4 left of journal prescription "+p+" (16 of 20 dispensed)", rec, err)
	mustAppend(t, j, NewRecord{Kind: KindVoid, Pharmacist: "aino", Patient: patient, RefersTo: first.ID, Body: json.RawMessage(`{"reason":"entered in error"}`)})
	if _, err := draw(p, patient, 10); err != nil {
		t.Fatalf("after a void gave 10 back: %v", err)
	}
	rec, err = draw(p, "010101-123N", 1)
	refused("the journal prescription is for another patient", rec, err)
	rec, err = draw(first.ID, patient, 1)
	refused("journal record "+first.ID+" is a dispensing, not a prescription", rec, err)
	rec, err = draw(NewID(), patient, 1)
	refused("no journal prescription", rec, err)
	q := prescription()
	mustAppend(t, j, NewRecord{Kind: KindVoid, Pharmacist: "aino", Patient: patient, RefersTo: q, Body: json.RawMessage(`{"reason":"entered in error"}`)})
	rec, err = draw(q, patient, 1)
	refused("the journal prescription "+q+" was voided", rec, err)
}
