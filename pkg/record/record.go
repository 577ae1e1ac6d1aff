// Package record is the one recording API that the counter, the tests and
// `tiski record` share. It validates a paper or telephone prescription, a
// dispensing or a void in the pharmacist's terms, applies the fault-mode
// policy, and commits the record durably to the journal, into the outbox for
// upload. A record counts as confirmed only when Append has returned.
package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Journal is what recording needs of the journal.
type Journal interface {
	Append(ctx context.Context, r journal.NewRecord) (journal.Record, error)
	AppendAll(ctx context.Context, rs ...journal.NewRecord) ([]journal.Record, error)
	Get(ctx context.Context, id string) (journal.Record, error)
	GetAny(ctx context.Context, id string) (journal.Record, error) // also the pharmacy's other counters' records
	List(ctx context.Context, f journal.Filter) ([]journal.Record, error)
	Mode(ctx context.Context) (rx.ModeState, error)
	FaultPeriods(ctx context.Context, since time.Time) ([]journal.FaultPeriod, error)
	Outbox(ctx context.Context, id string) (journal.OutboxEntry, error)
	Resolve(ctx context.Context, nr journal.NewRecord, to journal.OutboxState) (journal.Record, error)
}

// Service records at the counter.
type Service struct {
	Journal Journal
	Policy  *policy.Set
	// Pharmacy is the pharmacy recording, from the configuration. Without
	// a complete identity (a name and a well-formed OID) nothing is
	// recorded: the Prescription Centre would refuse every dispensing, and
	// a pharmacist would have to review records that were never wrong.
	// Each prescription and dispensing is stamped with it.
	Pharmacy rx.Pharmacy
	Now      func() time.Time // nil: time.Now
	// Claimer claims a dispensing's quantity of a journal prescription
	// across the pharmacy's counters at its hub (claim.go); nil when no
	// hub is configured, and then nothing is claimed.
	Claimer Claimer

	cross crossCheck
}

// Receipt is a confirmed record with the policy decisions applied to it:
// allowances and warnings, each with its rule id.
type Receipt struct {
	Record journal.Record
	// Dispensing is the dispensing recorded together with a paper or
	// telephone prescription, if any.
	Dispensing *journal.Record
	Decisions  []policy.Decision
}

// DispensingBody is the journal content of a dispensing record.
type DispensingBody struct {
	rx.Dispensing
	// UnitsPerDay is the daily dose the pharmacist entered for an essential
	// dispensing, for the 30-day cap; 0 when not known.
	UnitsPerDay float64 `json:"units_per_day,omitempty"`
	// FaultReference names the fault an essential dispensing was made in
	// when it is back-entered outside a recorded fault period, e.g. Kela's
	// notice.
	FaultReference string `json:"fault_reference,omitempty"`
}

// VoidBody is the journal content of a void.
type VoidBody struct {
	Reason string `json:"reason"`
}

// DispenseOptions qualify a dispensing.
type DispenseOptions struct {
	UnitsPerDay    float64          // daily dose, for the essential-medication 30-day cap
	FaultReference string           // for an essential dispensing back-entered outside a recorded fault
	Prescription   *rx.Prescription // the e-prescription as last seen, when known: checks validity and grace
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// mayRecord refuses a person who may not sign saves: only a pharmacist.
func mayRecord(who rx.Pharmacist) error {
	if who.ID == "" {
		return rx.Errorf(rx.EFORBIDDEN, "Sign in first: every record names the pharmacist who made it.")
	}
	if !who.Role.MayRecord() {
		return rx.Errorf(rx.EFORBIDDEN, "%s is signed in as %s and may look but not record. A pharmacist must make this record.", who.Name, who.Role)
	}
	return nil
}

// mayRecord refuses a record this counter cannot make: by a person who may
// not record, or in the name of a pharmacy whose identity is incomplete.
// It runs before anything is written.
func (s *Service) mayRecord(who rx.Pharmacist) error {
	if err := mayRecord(who); err != nil {
		return err
	}
	return s.Pharmacy.Check()
}

// problems merges validation problems and policy denials into one error
// listing everything wrong at once; nil when nothing is. An error that is
// not a validation error is returned as it is.
func problems(decisions []policy.Decision, errs ...error) error {
	var all rx.ValidationError
	for _, err := range errs {
		if err == nil {
			continue
		}
		v, ok := err.(*rx.ValidationError)
		if !ok {
			return err
		}
		all.Problems = append(all.Problems, v.Problems...)
	}
	for _, d := range decisions {
		if d.Verdict == policy.Deny {
			all.Add("policy "+d.RuleID, "%s", d.Message)
		}
	}
	return all.Err()
}

// Paper records a paper prescription the pharmacy received and, when d is
// given, its dispensing, in one transaction: both or neither. It can be
// recorded in every mode, because the fault may be the prescriber's.
func (s *Service) Paper(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (Receipt, error) {
	p.Form = rx.FormPaper
	return s.prescription(ctx, who, p, d, journal.KindPaperPrescription, s.Policy.PaperPrescription(p.Medicine, p.Prescriber))
}

// Telephone records a telephone prescription and, when d is given, its
// dispensing, in one transaction. The prescriber's name, registration
// number and phone number, the time of the call, how the caller was
// verified and the reason are all required.
func (s *Service) Telephone(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (Receipt, error) {
	p.Form = rx.FormTelephone
	return s.prescription(ctx, who, p, d, journal.KindTelephonePrescription, s.Policy.TelephonePrescription(p.Medicine, p.Prescriber))
}

func (s *Service) prescription(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing, kind journal.Kind, decisions []policy.Decision) (Receipt, error) {
	if err := s.mayRecord(who); err != nil {
		return Receipt{}, err
	}
	if p.RecordID == "" {
		p.RecordID = journal.NewID()
	}
	recorder, pharmacy := who, s.Pharmacy
	p.Recorder, p.Pharmacy = &recorder, &pharmacy
	p.Status = rx.StatusActive
	if id, err := hetu.Parse(p.Patient); err == nil {
		p.Patient = id.String()
	}
	// The prescriptions already recorded at every counter (issue 19).
	dups, err := s.duplicates(ctx, p)
	if err != nil {
		return Receipt{}, err
	}
	decisions = append(decisions, dups...)
	errs := []error{p.ValidateRecorded(s.now())}
	var disp journal.NewRecord
	var dispDecisions []policy.Decision
	if d != nil {
		dd := *d
		dd.PrescriptionRecord = p.RecordID
		var err error
		disp, dispDecisions, err = s.dispensing(ctx, who, dd, DispenseOptions{}, &p)
		if err != nil {
			if _, ok := err.(*rx.ValidationError); !ok {
				return Receipt{}, err
			}
			errs = append(errs, prefixed("dispensing ", err.(*rx.ValidationError)))
		}
	}
	if err := problems(append(decisions, dispDecisions...), errs...); err != nil {
		return Receipt{}, err
	}
	// How long it is valid is stamped as the policy in force says now
	// (decisions RX-VALID, RX-VALID-NARC-PKV or FM-TEL-VALID): a later
	// policy update does not rewrite what was recorded and sent upstream.
	p.ValidThrough = time.Time{}
	p.ValidThrough = p.ValidUntil(s.Policy.Validity())
	body, err := json.Marshal(p)
	if err != nil {
		return Receipt{}, fmt.Errorf("encode prescription: %w", err)
	}
	news := []journal.NewRecord{{
		ID: p.RecordID, Kind: kind, Pharmacist: who.ID, Patient: p.Patient,
		Rules: policy.RuleIDs(decisions), Body: body, Upload: true, Time: p.Issued,
	}}
	if d != nil {
		news = append(news, disp)
	}
	recs, err := s.Journal.AppendAll(ctx, news...)
	if err != nil {
		return Receipt{}, refusal(err)
	}
	rc := Receipt{Record: recs[0], Decisions: append(decisions, dispDecisions...)}
	if len(recs) == 2 {
		rc.Dispensing = &recs[1]
	}
	return rc, nil
}

// prefixed names the form part a problem belongs to.
func prefixed(prefix string, v *rx.ValidationError) *rx.ValidationError {
	out := &rx.ValidationError{}
	for _, p := range v.Problems {
		out.Problems = append(out.Problems, rx.FieldError{Field: prefix + p.Field, Message: p.Message})
	}
	return out
}

// Dispense records a dispensing: against an e-prescription (its id scanned
// from the instruction sheet), against a journal prescription, or, for an
// essential-medication dispensing, on a previous package's label. An
// essential dispensing needs the pharmacy's own fault: FAULT mode now, or a
// back-entered time inside a fault period in the journal, or an explicit
// fault reference.
func (s *Service) Dispense(ctx context.Context, who rx.Pharmacist, d rx.Dispensing, opts DispenseOptions) (Receipt, error) {
	if err := s.mayRecord(who); err != nil {
		return Receipt{}, err
	}
	nr, decisions, err := s.dispensing(ctx, who, d, opts, nil)
	if err != nil {
		return Receipt{}, err
	}
	// Checked here; now claimed across the counters; then appended.
	claimed, decisions, err := s.claim(ctx, &nr, decisions)
	if err != nil {
		return Receipt{}, err
	}
	rec, err := s.Journal.Append(ctx, nr)
	if err != nil {
		if claimed {
			s.release(ctx, nr.Draws, nr.ID)
		}
		return Receipt{}, refusal(err)
	}
	if slices.Contains(nr.Rules, RuleNotCrossChecked) {
		s.overdrawn(ctx, rec)
	}
	return Receipt{Record: rec, Decisions: decisions}, nil
}

// refusal is the journal's refusal of a record as the pharmacist sees a
// refusal of the form: a dispensing more than is left of its journal
// prescription, found inside the append's transaction because another
// terminal dispensed first, reads as the same check made before it.
func refusal(err error) error {
	var v *rx.ValidationError
	if errors.As(err, &v) {
		return v
	}
	return err
}

// dispensing checks a dispensing and builds its journal record. pending is
// the prescription being recorded in the same transaction, when the
// dispensing is made against it; otherwise a journal prescription is looked
// up in the journal.
func (s *Service) dispensing(ctx context.Context, who rx.Pharmacist, d rx.Dispensing, opts DispenseOptions, pending *rx.Prescription) (journal.NewRecord, []policy.Decision, error) {
	now := s.now()
	if d.ID == "" {
		d.ID = journal.NewID()
	}
	if d.Time.IsZero() {
		d.Time = now
	}
	// The record is made here: it names this pharmacy as configured now,
	// whatever the caller gave, and keeps that name when the
	// configuration changes later.
	d.Pharmacist, d.Pharmacy = who, s.Pharmacy
	if id, err := hetu.Parse(d.Patient); err == nil {
		d.Patient = id.String()
	}
	validation := d.Validate(now)
	var decisions []policy.Decision
	if opts.Prescription != nil {
		decisions = append(decisions, s.Policy.Dispensing(*opts.Prescription, d.Time)...)
	}
	var extra rx.ValidationError
	// draws is the journal prescription the dispensing is made against:
	// the journal checks again, in the append's transaction, that the
	// dispensing is no more than is left of it.
	var dependsOn, draws string
	switch {
	case pending != nil:
		if pending.Patient != d.Patient {
			extra.Add("patient", "the dispensing is for another patient than the prescription")
		}
		pending.CheckDraw(pending.RecordID, d.Quantity, 0, &extra)
		dependsOn, draws = pending.RecordID, pending.RecordID
	case d.PrescriptionID != "":
		// Records of one prescription go upstream in sequence: this one
		// waits for the previous dispensing against the same e-prescription.
		prev, err := s.previousDispensing(ctx, d.Patient, d.PrescriptionID)
		if err != nil {
			return journal.NewRecord{}, nil, err
		}
		dependsOn = prev
	case d.PrescriptionRecord != "":
		// The prescription may be another counter's, kept from the
		// pharmacy's hub (issue 19).
		prev, err := s.Journal.GetAny(ctx, d.PrescriptionRecord)
		switch {
		case rx.ErrorCode(err) == rx.ENOTFOUND:
			extra.Add("prescription", "no journal prescription %s", d.PrescriptionRecord)
		case err != nil:
			return journal.NewRecord{}, nil, err
		case prev.Kind != journal.KindPaperPrescription && prev.Kind != journal.KindTelephonePrescription:
			extra.Add("prescription", "journal record %s is a %s, not a prescription", d.PrescriptionRecord, prev.Kind)
		case prev.Patient != d.Patient:
			extra.Add("patient", "the journal prescription is for another patient")
		default:
			voided, err := s.voided(ctx, prev.ID)
			if err != nil {
				return journal.NewRecord{}, nil, err
			}
			if voided {
				extra.Add("prescription", "the journal prescription %s was voided", d.PrescriptionRecord)
			}
			if err := s.checkRemaining(ctx, prev, d, &extra); err != nil {
				return journal.NewRecord{}, nil, err
			}
			draws = prev.ID
			if !prev.Peer {
				// Uploaded after its prescription. Another counter's
				// prescription is that counter's to upload: a dispensing
				// that reaches the Prescription Centre first waits for it
				// there.
				dependsOn = prev.ID
			}
		}
	}
	if d.Essential {
		pkg, _ := d.Medicine.Package(d.VNR)
		decisions = append(decisions, s.Policy.EssentialDispensing(d.Medicine, pkg, d.Quantity, opts.UnitsPerDay)...)
		inFault, err := s.inFault(ctx, d.Time, now, opts.FaultReference)
		if err != nil {
			return journal.NewRecord{}, nil, err
		}
		if !inFault {
			extra.Add("essential", "essential-medication dispensing is only for the pharmacy's own fault: the counter is not in FAULT mode and %s is in no recorded fault period; give a fault reference (for example Kela's notice) if the fault was not recorded", d.Time.Local().Format("2.1.2006 15:04"))
		}
	}
	if err := problems(decisions, validation, extra.Err()); err != nil {
		return journal.NewRecord{}, nil, err
	}
	body, err := json.Marshal(DispensingBody{Dispensing: d, UnitsPerDay: opts.UnitsPerDay, FaultReference: opts.FaultReference})
	if err != nil {
		return journal.NewRecord{}, nil, fmt.Errorf("encode dispensing: %w", err)
	}
	return journal.NewRecord{
		ID: d.ID, Kind: journal.KindDispensing, Pharmacist: who.ID, Patient: d.Patient,
		Rules: policy.RuleIDs(decisions), Body: body, Upload: true, DependsOn: dependsOn, Draws: draws, Time: d.Time,
	}, decisions, nil
}

// previousDispensing returns the id of the last dispensing recorded for the
// patient against the e-prescription, or "" when there is none.
func (s *Service) previousDispensing(ctx context.Context, patient, prescriptionID string) (string, error) {
	recs, err := s.Journal.List(ctx, journal.Filter{Kinds: []journal.Kind{journal.KindDispensing}, Patient: patient})
	if err != nil {
		return "", err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		var body DispensingBody
		if err := json.Unmarshal(recs[i].Body, &body); err != nil {
			return "", fmt.Errorf("read dispensing %s: %w", recs[i].ID, err)
		}
		if body.PrescriptionID == prescriptionID {
			return recs[i].ID, nil
		}
	}
	return "", nil
}

// inFault reports whether an essential dispensing at t belongs to the
// pharmacy's own fault.
func (s *Service) inFault(ctx context.Context, t, now time.Time, reference string) (bool, error) {
	if strings.TrimSpace(reference) != "" {
		return true, nil
	}
	st, err := s.Journal.Mode(ctx)
	if err != nil {
		return false, err
	}
	if st.Mode == rx.ModeFault && now.Sub(t) < time.Minute {
		return true, nil
	}
	periods, err := s.Journal.FaultPeriods(ctx, t.AddDate(0, 0, -1))
	if err != nil {
		return false, err
	}
	for _, p := range periods {
		if !t.Before(p.Start) && (p.End.IsZero() || !t.After(p.End)) {
			return true, nil
		}
	}
	return false, nil
}

// checkRemaining names a dispensing against the journal prescription
// prev that is more than the prescription allows for one dispensing, or
// more than is left of it after the dispensings already recorded against
// it and not voided. It is read before the append, so that the pharmacist
// sees the problem with the others; the journal makes the same check in
// the append's transaction (NewRecord.Draws), which another terminal
// dispensing in between cannot pass.
func (s *Service) checkRemaining(ctx context.Context, prev journal.Record, d rx.Dispensing, v *rx.ValidationError) error {
	var p rx.Prescription
	if err := json.Unmarshal(prev.Body, &p); err != nil || p.Quantity <= 0 {
		return nil // a prescription recorded without a quantity allows nothing to count against
	}
	if d.Quantity > p.Quantity {
		p.CheckDraw(prev.ID, d.Quantity, 0, v) // more than one dispensing may be
		return nil
	}
	known, _, err := s.drawn(ctx, prev)
	if err != nil {
		return err
	}
	dispensed := 0
	for _, q := range known {
		dispensed += q
	}
	p.CheckDraw(prev.ID, d.Quantity, dispensed, v)
	return nil
}

// voided reports whether a void refers to the record.
func (s *Service) voided(ctx context.Context, id string) (bool, error) {
	voids, err := s.Journal.List(ctx, journal.Filter{Kinds: []journal.Kind{journal.KindVoid}, RefersTo: id, Limit: 1, Peers: true})
	if err != nil {
		return false, err
	}
	return len(voids) > 0, nil
}

// Void records that an earlier prescription or dispensing was entered in
// error. The original stays in the journal; the void refers to it. A record
// not yet sent is never sent. One already in the Prescription Centre, or
// that may have reached it before an answer was lost, is voided there too:
// the void is itself uploaded.
func (s *Service) Void(ctx context.Context, who rx.Pharmacist, recordID, reason string) (Receipt, error) {
	// A void needs no pharmacy identity: none goes upstream with it, and it
	// is how a pharmacist clears a record that could never be sent.
	if err := mayRecord(who); err != nil {
		return Receipt{}, err
	}
	var v rx.ValidationError
	if strings.TrimSpace(reason) == "" {
		v.Add("reason", "say why the record is voided, e.g. entered in error")
	}
	orig, err := s.Journal.Get(ctx, recordID)
	switch {
	case rx.ErrorCode(err) == rx.ENOTFOUND:
		v.Add("record", "no journal record %s", recordID)
	case err != nil:
		return Receipt{}, err
	case orig.Kind != journal.KindPaperPrescription && orig.Kind != journal.KindTelephonePrescription && orig.Kind != journal.KindDispensing:
		v.Add("record", "a %s record cannot be voided", orig.Kind)
	}
	if err := v.Err(); err != nil {
		return Receipt{}, err
	}
	entry, err := s.Journal.Outbox(ctx, recordID)
	if err != nil {
		return Receipt{}, err
	}
	upload, to := false, journal.OutboxVoided
	switch entry.State {
	case journal.OutboxDone:
		upload, to = true, ""
	case journal.OutboxRetry:
		upload = true // an earlier attempt may have landed before its answer was lost
	}
	body, _ := json.Marshal(VoidBody{Reason: reason})
	rec, err := s.Journal.Resolve(ctx, journal.NewRecord{
		Kind: journal.KindVoid, Pharmacist: who.ID, Patient: orig.Patient, RefersTo: recordID, Body: body, Upload: upload,
	}, to)
	if err != nil {
		return Receipt{}, err
	}
	if orig.Kind == journal.KindDispensing {
		// What the dispensing claimed at the hub is free again. Best
		// effort: a claim left behind is dropped by the next claimer,
		// whose journal knows of this void once it is shared.
		var b DispensingBody
		if json.Unmarshal(orig.Body, &b) == nil && b.PrescriptionRecord != "" {
			s.release(ctx, b.PrescriptionRecord, orig.ID)
		}
	}
	return Receipt{Record: rec}, nil
}
