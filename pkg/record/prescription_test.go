package record_test

import (
	"encoding/json"
	"testing"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestPrescriptionOf(t *testing.T) {
	body := func(d rx.Dispensing) json.RawMessage {
		b, err := json.Marshal(record.DispensingBody{Dispensing: d})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		r    journal.Record
		want string
	}{
		{"dispensing of an e-prescription",
			journal.Record{ID: "d1", Kind: journal.KindDispensing, Body: body(rx.Dispensing{PrescriptionID: "EP26000101"})}, "EP26000101"},
		{"dispensing of a journal prescription",
			journal.Record{ID: "d2", Kind: journal.KindDispensing, Body: body(rx.Dispensing{PrescriptionRecord: "p1"})}, "p1"},
		{"dispensing whose body does not read",
			journal.Record{ID: "d3", Kind: journal.KindDispensing, Body: json.RawMessage(`[`)}, ""},
		{"paper prescription", journal.Record{ID: "p1", Kind: journal.KindPaperPrescription}, "p1"},
		{"telephone prescription", journal.Record{ID: "p2", Kind: journal.KindTelephonePrescription}, "p2"},
		{"void", journal.Record{ID: "v1", Kind: journal.KindVoid, RefersTo: "d1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := record.PrescriptionOf(tc.r); got != tc.want {
				t.Errorf("PrescriptionOf = %q, want %q", got, tc.want)
			}
		})
	}
}
