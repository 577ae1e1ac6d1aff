package record

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Renew records a pharmacist's request, made for the patient, that the
// prescriber renew the e-prescription r.PrescriptionID, with the patient's
// optional message (issue 23). A student may not. Like every record it is
// journaled first and uploaded by the queue: at once when the Prescription
// Centre answers, after recovery in a fault. The request carries this
// pharmacy as configured now, and the person making it.
//
// Whether the prescription can be renewed (not cancelled, no request
// already open) is the Prescription Centre's to decide when the request
// arrives: in a fault nothing here can know it.
func (s *Service) Renew(ctx context.Context, who rx.Pharmacist, r rx.Renewal) (Receipt, error) {
	if err := s.mayRecord(who); err != nil {
		return Receipt{}, err
	}
	if r.ID == "" {
		r.ID = journal.NewID()
	}
	if r.Time.IsZero() {
		r.Time = s.now()
	}
	r.Pharmacist, r.Pharmacy = who, s.Pharmacy
	r.PrescriptionID = strings.TrimSpace(r.PrescriptionID)
	r.Message = strings.TrimSpace(r.Message)
	if id, err := hetu.Parse(r.Patient); err == nil {
		r.Patient = id.String()
	}
	if err := r.Validate(); err != nil {
		return Receipt{}, err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return Receipt{}, fmt.Errorf("encode renewal: %w", err)
	}
	rec, err := s.Journal.Append(ctx, journal.NewRecord{
		ID: r.ID, Kind: journal.KindRenewal, Pharmacist: who.ID, Patient: r.Patient, Body: body, Upload: true, Time: r.Time,
	})
	if err != nil {
		return Receipt{}, refusal(err)
	}
	return Receipt{Record: rec}, nil
}

// DecodeRenewal reads a renewal record's body.
func DecodeRenewal(rec journal.Record) (rx.Renewal, error) {
	var r rx.Renewal
	if err := json.Unmarshal(rec.Body, &r); err != nil {
		return rx.Renewal{}, fmt.Errorf("the journal record %s cannot be read as a renewal request: %v", rec.ID, err)
	}
	if r.ID == "" {
		r.ID = rec.ID
	}
	return r, nil
}
