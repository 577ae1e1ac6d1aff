package journal

import (
	"context"
	"fmt"
	"strings"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Resolve records a pharmacist's resolution of a record's problem upstream
// and applies it, in one transaction: it appends nr, a resolution or a void
// whose RefersTo is the target record, and moves the target's outbox entry
// to the state to. If anything is refused, nothing is appended.
//
// The moves allowed:
//   - to OutboxPending (send it again; a resolution only), from conflict,
//     rejected or parked: the conflict and last error are cleared, it is due
//     now, and its attempts are kept;
//   - to OutboxVoided (never send it), from conflict, rejected, parked,
//     pending or retry;
//   - to "" leaves the target as it is: for example a void of a done
//     record, whose own outbox entry (nr.Upload) carries the void upstream.
//
// A target being sent is refused with rx.ECONFLICT: under a live lease it is
// on its way right now, and under an expired one its sender may have
// reached the Prescription Centre before it stopped. A void, or a move to
// voided, is refused with rx.ECONFLICT while entries that depend on the
// target are neither voided nor done: its dispensings are voided first. A
// record already voided is not voided again (rx.ECONFLICT). Wrong kinds and
// targets are rx.EINVALID.
//
// A retry entry has been attempted: an attempt may have reached the
// Prescription Centre before its answer was lost. Voiding it locally does not
// undo that; the caller decides whether the void is itself uploaded.
func (j *Journal) Resolve(ctx context.Context, nr NewRecord, to OutboxState) (Record, error) {
	switch {
	case nr.Kind != KindResolution && nr.Kind != KindVoid:
		return Record{}, rx.Errorf(rx.EINVALID, "A resolution is recorded as a %s or a %s record, not as a %s.", KindResolution, KindVoid, nr.Kind)
	case nr.RefersTo == "":
		return Record{}, rx.Errorf(rx.EINVALID, "A %s must name the record it resolves.", nr.Kind)
	case to != "" && to != OutboxPending && to != OutboxVoided:
		return Record{}, rx.Errorf(rx.EINVALID, "A resolution can send the record again (%s) or void it (%s), not make it %s.", OutboxPending, OutboxVoided, to)
	case nr.Kind == KindVoid && to == OutboxPending:
		return Record{}, rx.Errorf(rx.EINVALID, "A void cannot send the record it voids again.")
	case to == OutboxVoided && nr.DependsOn == nr.RefersTo:
		return Record{}, rx.Errorf(rx.EINVALID, "The %s cannot wait for the upload of the record it voids: that record will never be sent.", nr.Kind)
	}
	var rec Record
	err := j.write(ctx, "resolve record", func(t *tx) error {
		target, err := getRecord(ctx, t, nr.RefersTo)
		if err != nil {
			return err
		}
		if err := resolvable(nr.Kind, target); err != nil {
			return err
		}
		voiding := nr.Kind == KindVoid || to == OutboxVoided
		if voiding {
			if err := notVoided(ctx, t, target); err != nil {
				return err
			}
		}
		if to != "" {
			e, err := outboxEntry(ctx, t, target.ID)
			if rx.ErrorCode(err) == rx.ENOTFOUND {
				return rx.Errorf(rx.EINVALID, "The %s %s was never to be uploaded, so it has no upload to resolve.", target.Kind, target.ID)
			} else if err != nil {
				return err
			}
			if err := mayMove(e, to, t); err != nil {
				return err
			}
		}
		if voiding {
			if err := dependentsSettled(ctx, t, target); err != nil {
				return err
			}
		}
		if rec, err = j.appendRecord(ctx, t, nr); err != nil {
			return err
		}
		switch to {
		case OutboxPending:
			_, err = t.ExecContext(ctx, `UPDATE outbox SET state = 'pending', conflict = '', last_error = '', next_attempt = ?,
				lease_owner = '', lease_expires = '', updated_at = ? WHERE record_id = ?`, ts(t.now), ts(t.now), target.ID)
		case OutboxVoided:
			_, err = t.ExecContext(ctx, `UPDATE outbox SET state = 'voided', next_attempt = '',
				lease_owner = '', lease_expires = '', updated_at = ? WHERE record_id = ?`, ts(t.now), target.ID)
		}
		return err
	})
	if err != nil {
		return Record{}, err
	}
	return rec, nil
}

// resolvable checks the kind of the record a resolution or void refers to:
// a void cancels a prescription or a dispensing; a resolution may also
// settle an uploaded void.
func resolvable(kind Kind, target Record) error {
	switch target.Kind {
	case KindPaperPrescription, KindTelephonePrescription, KindDispensing, KindRenewal:
		return nil
	case KindVoid:
		if kind == KindResolution {
			return nil
		}
	}
	return rx.Errorf(rx.EINVALID, "A %s record cannot be the target of a %s (record %s).", target.Kind, kind, target.ID)
}

// notVoided fails with rx.ECONFLICT when the target was voided already, by
// a void record or by a resolution that voided its upload.
func notVoided(ctx context.Context, t *tx, target Record) error {
	var voidID string
	err := t.QueryRowContext(ctx, `SELECT coalesce((SELECT id FROM records WHERE refers_to = ? AND kind = ? ORDER BY seq LIMIT 1), '')`,
		target.ID, string(KindVoid)).Scan(&voidID)
	if err != nil {
		return err
	}
	if voidID != "" {
		return rx.Errorf(rx.ECONFLICT, "The %s %s is already voided (by record %s).", target.Kind, target.ID, voidID)
	}
	var n int
	if err := t.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE record_id = ? AND state = 'voided'`, target.ID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return rx.Errorf(rx.ECONFLICT, "The %s %s is already voided: it will never be sent.", target.Kind, target.ID)
	}
	return nil
}

// mayMove checks that the target's entry e may move to the state to.
func mayMove(e OutboxEntry, to OutboxState, t *tx) error {
	if e.State == OutboxSending {
		if e.LeaseExpires.After(t.now) {
			return rx.Errorf(rx.ECONFLICT, "The record %s is being sent to the Prescription Centre right now; try again in a moment.", e.RecordID)
		}
		return rx.Errorf(rx.ECONFLICT, "The record %s was being sent when its sender stopped, and may have reached the Prescription Centre; "+
			"try again once it has been sent again.", e.RecordID)
	}
	allowed := map[OutboxState][]OutboxState{
		OutboxPending: {OutboxConflict, OutboxRejected, OutboxParked},
		OutboxVoided:  {OutboxConflict, OutboxRejected, OutboxParked, OutboxPending, OutboxRetry},
	}
	for _, from := range allowed[to] {
		if e.State == from {
			return nil
		}
	}
	switch {
	case e.State == OutboxDone && to == OutboxVoided:
		return rx.Errorf(rx.ECONFLICT, "The record %s is already in the Prescription Centre, so its upload cannot be stopped; "+
			"record a void that is itself uploaded instead.", e.RecordID)
	case e.State == OutboxDone:
		return rx.Errorf(rx.ECONFLICT, "The record %s is already in the Prescription Centre; it is not sent again.", e.RecordID)
	case e.State == OutboxVoided:
		return rx.Errorf(rx.ECONFLICT, "The record %s is voided; it is never sent.", e.RecordID)
	case e.State == OutboxPending || e.State == OutboxRetry:
		return rx.Errorf(rx.ECONFLICT, "The record %s is already waiting to be sent (%s).", e.RecordID, e.State)
	}
	return rx.Errorf(rx.ECONFLICT, "The record %s cannot be made %s: it is %s.", e.RecordID, to, e.State)
}

// dependentsSettled fails with rx.ECONFLICT, naming them, while entries that
// wait for a prescription are neither voided nor done: voiding a
// prescription first would leave its dispensings waiting for ever, or send
// them against a voided prescription. A dispensing's dependents only wait
// for their turn (the next dispensing of the same e-prescription), and go
// on once it is voided.
func dependentsSettled(ctx context.Context, t *tx, target Record) error {
	if target.Kind != KindPaperPrescription && target.Kind != KindTelephonePrescription {
		return nil
	}
	deps, err := dependents(ctx, t, target.ID)
	if err != nil {
		return err
	}
	var open []string
	for _, d := range deps {
		if d.State != OutboxVoided && d.State != OutboxDone {
			open = append(open, fmt.Sprintf("%s %s (%s)", d.Kind, d.RecordID, d.State))
		}
	}
	if len(open) == 0 {
		return nil
	}
	return rx.Errorf(rx.ECONFLICT, "The %s %s has records waiting for it that are not voided: %s. Void its dispensings first.",
		target.Kind, target.ID, strings.Join(open, ", "))
}
