package record

import (
	"encoding/json"

	"github.com/tiski-rx/tiski/pkg/journal"
)

// PrescriptionOf names the prescription a record is about: the
// e-prescription id of a dispensing, or the record id of the journal
// prescription it dispenses; a paper or telephone prescription's own
// record id; the e-prescription a renewal asks to renew. It is "" for any other kind, and for a dispensing whose body
// does not read.
func PrescriptionOf(r journal.Record) string {
	switch r.Kind {
	case journal.KindDispensing:
		var b DispensingBody
		if json.Unmarshal(r.Body, &b) == nil {
			if b.PrescriptionID != "" {
				return b.PrescriptionID
			}
			return b.PrescriptionRecord
		}
	case journal.KindPaperPrescription, journal.KindTelephonePrescription:
		return r.ID
	case journal.KindRenewal:
		if b, err := DecodeRenewal(r); err == nil {
			return b.PrescriptionID
		}
	}
	return ""
}
