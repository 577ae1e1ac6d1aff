package rx

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tiski-rx/tiski/pkg/hetu"
)

// SNOMED CT's code for a renewal of a prescription, the code of the FHIR
// Task that asks the prescriber for one (issue 23).
const (
	SystemSNOMED      = "http://snomed.info/sct"
	CodeRenewal       = "103742009"
	CodeRenewalText   = "Renewal of prescription"
	MaxRenewalMessage = 500 // characters of the patient's message
)

// Renewal is a request, made at the pharmacy for the patient, that the
// prescriber renew an e-prescription: Kanta sends patients who cannot ask
// in My Kanta to the pharmacy (issue 23). Upstream it is a FHIR Task.
type Renewal struct {
	ID             string     `json:"id"`                // record UUID, the idempotency key upstream
	PrescriptionID string     `json:"prescription_id"`   // the e-prescription to renew
	Patient        string     `json:"patient"`           // HETU
	Message        string     `json:"message,omitempty"` // the patient's own words to the prescriber, optional
	Time           time.Time  `json:"time"`              // when it was asked for (the Task's authoredOn)
	Pharmacist     Pharmacist `json:"pharmacist"`        // who made the request
	Pharmacy       Pharmacy   `json:"pharmacy"`          // the requester upstream, by its OID
}

// Validate lists everything wrong with r at once.
func (r Renewal) Validate() error {
	var v ValidationError
	if _, err := hetu.Parse(r.Patient); err != nil {
		v.Add("patient", "%v", err)
	}
	if !validPrescriptionID(r.PrescriptionID) {
		v.Add("prescription", "name the e-prescription to renew by its Prescription Centre id")
	}
	if n := utf8.RuneCountInString(r.Message); n > MaxRenewalMessage {
		v.Add("message", "the patient's message is %d characters; at most %d fit", n, MaxRenewalMessage)
	}
	if r.Time.IsZero() {
		v.Add("time", "the time of the request is missing")
	}
	return v.Err()
}

// validPrescriptionID reports whether s can be a Prescription Centre id
// (FHIR's id: letters, digits, '-' and '.', at most 64).
func validPrescriptionID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.')
	}) < 0
}

// RenewalState is what the Prescription Centre holds about a renewal of a
// prescription: an open request (its Task) and when it was made. It comes
// with the prescription, in the same answer.
type RenewalState struct {
	Status    string    `json:"status"`    // the Task's status: requested, received, accepted, in-progress
	Requested time.Time `json:"requested"` // the Task's authoredOn
	TaskID    string    `json:"task_id,omitempty"`
}
