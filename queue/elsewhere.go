package queue

import (
	"context"
	"fmt"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// A dispensing against another counter's journal prescription (issue 19).
//
// A dispensing against a journal prescription of this counter waits in the
// outbox for its prescription (DependsOn), and goes upstream with it or
// after it. One against a prescription recorded at another counter of the
// pharmacy cannot: that prescription is in the other counter's outbox, or
// in the adopted lane of a third. Until it is upstream, the Prescription
// Centre does not know the prescription the dispensing refers to, and
// refuses the dispensing ("unknown-prescription"), storing nothing. That
// refusal says "not yet", not "wrong": the dispensing is sent again with
// the usual backoff, and goes once the prescription is there. It is not a
// conflict, and the prescription is not uploaded from here behind its
// counter's back: its counter sends it with the dispensings it made, and
// if that counter is out of service, IT adopts its uploads (tiski sync
// adopt). The retry's last error says which counter it waits for.

// reasonUnknownPrescription is the Prescription Centre's reason for a
// dispensing whose prescription it does not know.
const reasonUnknownPrescription = "unknown-prescription"

// anyGetter reads a record of this counter or of another one.
// *journal.Journal has it.
type anyGetter interface {
	GetAny(ctx context.Context, id string) (journal.Record, error)
}

// WaitingForPrescription is the failure of a dispensing sent before its
// journal prescription, recorded at another counter, reached the
// Prescription Centre: a transient one.
type WaitingForPrescription struct {
	Prescription string // the prescription's record id
	Counter      string // the counter that recorded it; "" when unknown
	Err          error  // the Prescription Centre's refusal
}

func (e *WaitingForPrescription) Error() string {
	at := "another counter"
	if e.Counter != "" {
		at = "counter " + e.Counter
	}
	return fmt.Sprintf("waits for its prescription %s, recorded at %s, to reach the Prescription Centre (if %s is out of service: tiski sync adopt %s): %v",
		e.Prescription, at, at, orName(e.Counter), e.Err)
}

func (e *WaitingForPrescription) Unwrap() error { return e.Err }

func orName(counter string) string {
	if counter == "" {
		return "COUNTER"
	}
	return counter
}

// prescriptionElsewhere returns the wait when err refuses d because its
// journal prescription is not upstream yet and that prescription is not
// this Worker's to send (not in its store's outbox); else nil, and err is
// judged as usual. A prescription of this Worker's own that the
// Prescription Centre does not know is a real problem: the dispensing
// waited for it, so it goes to review.
func (w *Worker) prescriptionElsewhere(ctx context.Context, d rx.Dispensing, err error) error {
	if d.PrescriptionRecord == "" || d.PrescriptionID != "" || centre.ReasonOf(err) != reasonUnknownPrescription {
		return nil
	}
	if _, oerr := w.store.Outbox(ctx, d.PrescriptionRecord); rx.ErrorCode(oerr) != rx.ENOTFOUND {
		return nil
	}
	wait := &WaitingForPrescription{Prescription: d.PrescriptionRecord, Err: err}
	rec, gerr := w.store.Get(ctx, d.PrescriptionRecord)
	if rx.ErrorCode(gerr) == rx.ENOTFOUND {
		if g, ok := w.store.(anyGetter); ok {
			rec, gerr = g.GetAny(ctx, d.PrescriptionRecord)
		}
	}
	if gerr == nil {
		wait.Counter = rec.Terminal
	}
	return wait
}

// prescriptionResolutions reads the resolutions of a dispensing's journal
// prescription, wherever they were made: a prescription recorded at
// another counter was linked or resubmitted by a pharmacist there, and
// its resolutions are that counter's records (peer records here).
func (w *Worker) prescriptionResolutions(ctx context.Context, id string) (resolved, error) {
	recs, err := w.store.List(ctx, journal.Filter{RefersTo: id, Kinds: []journal.Kind{journal.KindResolution}, Peers: true})
	if err != nil {
		return resolved{}, fmt.Errorf("read the prescription's resolutions: %w", err)
	}
	return readResolutions(recs)
}
