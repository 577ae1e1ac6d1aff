package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// drawQuery reads what a dispensing against the journal prescription ?1
// for the patient ?2 needs to know of it, inside the append's
// transaction: its kind, patient and body, whether it was voided, and the
// units dispensed against it by dispensings not voided, at this counter
// and, from the peer records, at the pharmacy's other counters (issue 19).
// The prescription may be another counter's. Dispensings are found among
// the patient's records (records_patient, peer_records_patient) by the
// prescription_record of their body; a void is found by refers_to, and
// refers only to a record of its own counter. (A unary + keeps SQLite
// from reading the peers by peer_records_kind, which it would guess
// better on a table without statistics.) A patient has tens of
// records, not millions, so the sums read a few rows.
const drawQuery = `SELECT p.kind, p.patient, p.body,
		EXISTS (SELECT 1 FROM records AS v WHERE v.refers_to = ?1 AND v.kind = 'void')
			OR EXISTS (SELECT 1 FROM peer_records AS v WHERE v.refers_to = ?1 AND +v.kind = 'void'),
		(SELECT coalesce(sum(json_extract(d.body, '$.quantity')), 0) FROM records AS d
			WHERE d.patient = ?2 AND d.patient <> '' AND d.kind = 'dispensing'
				AND json_extract(d.body, '$.prescription_record') = ?1
				AND NOT EXISTS (SELECT 1 FROM records AS v WHERE v.refers_to = d.id AND v.kind = 'void'))
		+ (SELECT coalesce(sum(json_extract(d.body, '$.quantity')), 0) FROM peer_records AS d
			WHERE d.patient = ?2 AND d.patient <> '' AND +d.kind = 'dispensing'
				AND json_extract(d.body, '$.prescription_record') = ?1
				AND NOT EXISTS (SELECT 1 FROM peer_records AS v WHERE v.refers_to = d.id AND +v.kind = 'void'))
	FROM (SELECT kind, patient, body FROM records WHERE id = ?1
		UNION ALL SELECT kind, patient, body FROM peer_records WHERE id = ?1) AS p LIMIT 1`

// checkDraw refuses the dispensing nr when it may not be recorded against
// the journal prescription it draws on (nr.Draws): the prescription is not
// in the journal, is not a prescription, is another patient's or was
// voided, or the dispensing is more than one dispensing may be or more
// than is left of it. pkg/record checks the same before the pharmacist
// confirms, with the same words; this check is the one that holds when two
// terminals dispense the last pack at the same moment, because a write
// transaction (BEGIN IMMEDIATE) has the journal to itself from its read to
// its commit. Only appends that draw on a prescription run it.
func checkDraw(ctx context.Context, t *tx, nr NewRecord) error {
	var v rx.ValidationError
	var d struct {
		Quantity           int    `json:"quantity"`
		PrescriptionRecord string `json:"prescription_record"`
	}
	if nr.Kind != KindDispensing {
		v.Add("prescription", "only a dispensing draws on a prescription, not a %s", nr.Kind)
		return &v
	}
	if err := json.Unmarshal(nr.Body, &d); err != nil || d.PrescriptionRecord != nr.Draws {
		v.Add("prescription", "the dispensing's body does not name journal prescription %s", nr.Draws)
		return &v
	}
	var kind, patient, body string
	var voided bool
	var dispensed int
	err := t.QueryRowContext(ctx, drawQuery, nr.Draws, nr.Patient).Scan(&kind, &patient, &body, &voided, &dispensed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		v.Add("prescription", "no journal prescription %s", nr.Draws)
		return &v
	case err != nil:
		return err
	case Kind(kind) != KindPaperPrescription && Kind(kind) != KindTelephonePrescription:
		v.Add("prescription", "journal record %s is a %s, not a prescription", nr.Draws, kind)
		return &v
	case patient != nr.Patient:
		v.Add("patient", "the journal prescription is for another patient")
		return &v
	}
	if voided {
		v.Add("prescription", "the journal prescription %s was voided", nr.Draws)
	}
	var p rx.Prescription
	if err := json.Unmarshal([]byte(body), &p); err == nil {
		p.CheckDraw(nr.Draws, d.Quantity, dispensed, &v)
	}
	return v.Err()
}
