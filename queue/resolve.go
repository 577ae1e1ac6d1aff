package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Resolution actions.
const (
	// ActionResubmit sends the record again with the pharmacist's override
	// reason (for example "prescriber consulted"); a possible duplicate is
	// then created without the duplicate check.
	ActionResubmit = "resubmit"
	// ActionLink sends a dispensing against the named e-prescription
	// instead. A paper or telephone prescription linked to an
	// e-prescription is not created: its dispensings go against that one.
	ActionLink = "link"
	// ActionVoid voids the record as entered in error: it is never sent.
	ActionVoid = "void"
)

// Resolution is a pharmacist's decision about a record that needs review.
type Resolution struct {
	Action         string `json:"action"`                    // resubmit, link or void
	Reason         string `json:"reason,omitempty"`          // why; required for resubmit and void
	PrescriptionID string `json:"prescription_id,omitempty"` // the e-prescription, for link
}

// ResolutionBody is the journal content of a resolution: the audit record
// of who decided what about which conflict.
type ResolutionBody struct {
	Resolution
	Conflict   Conflict            `json:"conflict"` // what was resolved, as it stood
	State      journal.OutboxState `json:"state"`    // the record's upload state when resolved
	Pharmacist rx.Pharmacist       `json:"pharmacist"`
}

// ResolveStore is what Resolve needs of the journal. *journal.Journal
// implements it.
type ResolveStore interface {
	Get(ctx context.Context, id string) (journal.Record, error)
	Outbox(ctx context.Context, id string) (journal.OutboxEntry, error)
	Resolve(ctx context.Context, nr journal.NewRecord, to journal.OutboxState) (journal.Record, error)
}

// Resolve records a pharmacist's resolution of the record recordID and
// applies it in one journal transaction: a resubmission or a link makes the
// record pending again (the Worker then sends it as resolved), a void makes
// it voided, never to be sent. The record returned is the audit record: a
// resolution, or for a void a void record, referring to recordID and naming
// the pharmacist. Only a pharmacist may resolve (rx.EFORBIDDEN).
//
// Records in conflict, rejected and parked can be resolved; a record still
// waiting to be sent (pending or retry) can be voided.
func Resolve(ctx context.Context, store ResolveStore, who rx.Pharmacist, recordID string, r Resolution) (journal.Record, error) {
	if who.ID == "" {
		return journal.Record{}, rx.Errorf(rx.EFORBIDDEN, "Sign in first: a resolution names the pharmacist who made it.")
	}
	if !who.Role.MayRecord() {
		return journal.Record{}, rx.Errorf(rx.EFORBIDDEN, "%s is signed in as %s; only a pharmacist may resolve a conflict.", who.Name, who.Role)
	}
	r.Reason, r.PrescriptionID = strings.TrimSpace(r.Reason), strings.TrimSpace(r.PrescriptionID)
	var v rx.ValidationError
	switch r.Action {
	case ActionResubmit:
		if r.Reason == "" {
			v.Add("reason", "say why the record stands, for example \"prescriber consulted\"")
		}
	case ActionLink:
		if !validPrescriptionID(r.PrescriptionID) {
			v.Add("prescription", "name the e-prescription to link to, by its Prescription Centre id")
		}
	case ActionVoid:
		if r.Reason == "" {
			v.Add("reason", "say why the record is voided, for example entered in error")
		}
	default:
		v.Add("action", "%q is not one of resubmit, link, void", r.Action)
	}
	if err := v.Err(); err != nil {
		return journal.Record{}, err
	}
	rec, err := store.Get(ctx, recordID)
	if err != nil {
		return journal.Record{}, err
	}
	e, err := store.Outbox(ctx, recordID)
	if err != nil {
		return journal.Record{}, err
	}
	switch rec.Kind {
	case journal.KindDispensing, journal.KindPaperPrescription, journal.KindTelephonePrescription:
	case journal.KindVoid:
		if r.Action != ActionResubmit {
			return journal.Record{}, rx.Errorf(rx.EINVALID, "A void that was refused can only be sent again (resubmit).")
		}
	case journal.KindRenewal:
		// A refused renewal request is closed: the patient is told to
		// contact the prescriber. Sending it again would be refused again
		// (issue 23).
		if r.Action != ActionVoid {
			return journal.Record{}, rx.Errorf(rx.EINVALID, "A refused renewal request can only be closed by voiding it; tell the patient to contact the prescriber.")
		}
	default:
		return journal.Record{}, rx.Errorf(rx.EINVALID, "A %s record is not uploaded and has nothing to resolve.", rec.Kind)
	}
	c, inReview := EntryConflict(e)
	if e.State == journal.OutboxParked {
		c, inReview = Conflict{Kind: Rejected, Detail: "parked: " + e.LastError}, true
	}
	if !inReview && !(r.Action == ActionVoid && (e.State == journal.OutboxPending || e.State == journal.OutboxRetry)) {
		return journal.Record{}, rx.Errorf(rx.ECONFLICT, "The record %s is %s: there is nothing to resolve.", recordID, e.State)
	}
	body, err := json.Marshal(ResolutionBody{Resolution: r, Conflict: c, State: e.State, Pharmacist: who})
	if err != nil {
		return journal.Record{}, fmt.Errorf("encode resolution: %w", err)
	}
	nr := journal.NewRecord{Kind: journal.KindResolution, Pharmacist: who.ID, Patient: rec.Patient, RefersTo: recordID, Body: body}
	to := journal.OutboxPending
	if r.Action == ActionVoid {
		// A void record, so everything that asks "is it voided?" sees it.
		// An attempt may have landed before its answer was lost: then the
		// void itself goes upstream too (the Worker voids it there, or
		// finds nothing to void).
		nr.Kind, to = journal.KindVoid, journal.OutboxVoided
		nr.Upload = e.Attempts > 0 && (e.State == journal.OutboxRetry || e.State == journal.OutboxParked)
		if rec.Kind == journal.KindRenewal {
			// There is no void of a Task in the contract: a request that
			// landed is the prescriber's to close.
			nr.Upload = false
		}
	}
	out, err := store.Resolve(ctx, nr, to)
	if err != nil {
		return journal.Record{}, fmt.Errorf("resolve record %s: %w", recordID, err)
	}
	return out, nil
}

// validPrescriptionID reports whether s can be a Prescription Centre id.
func validPrescriptionID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// BlockedStore is what Blocked needs of the journal.
type BlockedStore interface {
	OutboxList(ctx context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error)
}

// BlockedEntry is a record that cannot be sent because a record it waits
// for (its prescription, or the previous dispensing of the same
// prescription) needs review or was voided.
type BlockedEntry struct {
	Entry      journal.OutboxEntry `json:"entry"`
	WaitingFor journal.OutboxEntry `json:"waiting_for"` // the record in review at the head of the chain
	Why        string              `json:"why"`
}

// Blocked lists the records waiting behind one that needs a pharmacist:
// a conflicting or rejected record stalls only these, and they show why.
func Blocked(ctx context.Context, store BlockedStore) ([]BlockedEntry, error) {
	list, err := store.OutboxList(ctx, journal.OutboxPending, journal.OutboxRetry, journal.OutboxSending,
		journal.OutboxConflict, journal.OutboxRejected, journal.OutboxParked, journal.OutboxVoided)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]journal.OutboxEntry, len(list))
	for _, e := range list {
		byID[e.RecordID] = e
	}
	var out []BlockedEntry
	for _, e := range list {
		if e.State != journal.OutboxPending && e.State != journal.OutboxRetry {
			continue
		}
		// Follow the chain of dependencies to a record in review; an entry
		// not listed is done, and one on its way means only ordering.
		var head journal.OutboxEntry
		seen := map[string]bool{e.RecordID: true}
		for dep := e.DependsOn; dep != "" && !seen[dep]; {
			seen[dep] = true
			d, listed := byID[dep]
			if !listed {
				break
			}
			if inReview(d.State) {
				head = d
				break
			}
			dep = d.DependsOn
		}
		if head.RecordID == "" {
			continue
		}
		why := fmt.Sprintf("waits for %s %s, which is %s", head.Kind, head.RecordID, head.State)
		if c, ok := EntryConflict(head); ok {
			why += " (" + c.String() + ")"
		} else if head.State == journal.OutboxParked && head.LastError != "" {
			why += " (" + head.LastError + ")"
		}
		out = append(out, BlockedEntry{Entry: e, WaitingFor: head, Why: why})
	}
	return out, nil
}

func inReview(s journal.OutboxState) bool {
	return s == journal.OutboxConflict || s == journal.OutboxRejected || s == journal.OutboxParked || s == journal.OutboxVoided
}
