package queue

import (
	"strings"

	"github.com/tiski-rx/tiski/pkg/journal"
)

// ConflictKind names why a record waits for a pharmacist (issue 4, item 5).
type ConflictKind string

// Conflict kinds. None is resolved automatically: each waits for a
// pharmacist's resolution (Resolve).
const (
	// DispensedElsewhere: the e-prescription was dispensed in full, for
	// example at another pharmacy during the outage (422 completed).
	DispensedElsewhere ConflictKind = "dispensed-elsewhere"
	// OverDispensed: the quantity is more than the prescription has left.
	OverDispensed ConflictKind = "over-dispensed"
	// Cancelled: the prescriber cancelled the prescription.
	Cancelled ConflictKind = "cancelled"
	// Locked: another pharmacy holds the prescription (409), or the
	// Prescription Centre's state disagreed in another way (409, 412).
	Locked ConflictKind = "locked"
	// Expired: the prescription is past its validity and the grace month.
	Expired ConflictKind = "expired"
	// UnknownPatient: the Prescription Centre has no such patient.
	UnknownPatient ConflictKind = "unknown-patient"
	// PossibleDuplicate: a paper or telephone prescription looks like an
	// e-prescription the patient already has (same ATC code, same
	// prescriber, issued within the duplicate window); only one may be
	// dispensed.
	PossibleDuplicate ConflictKind = "possible-duplicate"
	// Rejected: the Prescription Centre refused the record for another
	// reason; the detail is its OperationOutcome text.
	Rejected ConflictKind = "rejected"
	// Configuration: tiski refused to send the record because this
	// counter's configuration lacks what it needs (the pharmacy's
	// organisation OID, for a record made before records carried it).
	// Nothing reached the Prescription Centre: once the configuration is
	// fixed, `tiski queue retry --rejected` sends it again. It is stored
	// as a rejection, but unlike a refusal upstream it needs no
	// pharmacist's judgement.
	Configuration ConflictKind = "configuration"
	// RenewalRefused: the Prescription Centre refused a renewal request,
	// for example because the prescription was cancelled meanwhile (issue
	// 23). Nothing was requested: the pharmacist tells the patient to
	// contact the prescriber, and closes the request by voiding it.
	RenewalRefused ConflictKind = "renewal-refused"
)

// ConflictKinds lists every kind, for help texts and tests.
func ConflictKinds() []ConflictKind {
	return []ConflictKind{DispensedElsewhere, OverDispensed, Cancelled, Locked, Expired, UnknownPatient, PossibleDuplicate, Rejected, Configuration,
		RenewalRefused}
}

// Valid reports whether k is a known kind.
func (k ConflictKind) Valid() bool {
	for _, c := range ConflictKinds() {
		if k == c {
			return true
		}
	}
	return false
}

// Conflict is why one record waits for review. It is stored in the outbox
// as "<kind>: <detail>" (the entry's Conflict for a conflict, its LastError
// for a rejection).
type Conflict struct {
	Kind   ConflictKind `json:"kind"`
	Detail string       `json:"detail"` // the Prescription Centre's texts as they came, Finnish and English
}

func (c Conflict) String() string {
	if c.Detail == "" {
		return string(c.Kind)
	}
	return string(c.Kind) + ": " + c.Detail
}

// ParseConflict reads a stored conflict. Text without a known kind in front
// (written by something else) is a Rejected conflict with that text.
func ParseConflict(s string) Conflict {
	kind, detail, _ := strings.Cut(s, ":")
	if k := ConflictKind(strings.TrimSpace(kind)); k.Valid() {
		return Conflict{Kind: k, Detail: strings.TrimSpace(detail)}
	}
	return Conflict{Kind: Rejected, Detail: strings.TrimSpace(s)}
}

// EntryConflict returns the conflict of an entry waiting for review:
// conflict and rejected entries. It reports false for any other state.
func EntryConflict(e journal.OutboxEntry) (Conflict, bool) {
	switch e.State {
	case journal.OutboxConflict:
		return ParseConflict(e.Conflict), true
	case journal.OutboxRejected:
		c := ParseConflict(e.LastError)
		if c.Kind != Rejected && c.Kind != Configuration {
			// A rejection is a rejection whatever its text says.
			c = Conflict{Kind: Rejected, Detail: e.LastError}
		}
		return c, true
	}
	return Conflict{}, false
}

// ConfigurationRejected reports whether a rejected entry was refused for
// this counter's configuration, never sent: `tiski queue retry
// --rejected` sends those again once the configuration is fixed, and no
// other. A rejection by the Prescription Centre (a 422) is not one: it
// waits for a pharmacist. Entries rejected before the Configuration kind
// existed carry the encoder's text for the missing OID, and count too.
func ConfigurationRejected(e journal.OutboxEntry) bool {
	if e.State != journal.OutboxRejected {
		return false
	}
	if ParseConflict(e.LastError).Kind == Configuration {
		return true
	}
	return strings.Contains(e.LastError, "not sent to the Prescription Centre") && strings.Contains(e.LastError, "organisation OID is missing")
}
