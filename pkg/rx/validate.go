package rx

import (
	"errors"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
)

// MaxPacksPerDispensing caps one dispensing at this many packs of the package
// dispensed. No regulation sets it; it is a sanity check that catches a
// quantity typed in packs where units were meant (or an extra zero) before
// the record is signed.
const MaxPacksPerDispensing = 10

// clockSkew is how far in the future a recorded time may lie. Records are
// stamped by the counter's clock and may be checked by another machine's (the
// simulator, the journal on reconnect); a few seconds of drift between them
// must not reject a genuine record.
const clockSkew = time.Minute

// ValidateRecorded checks a paper or telephone prescription the pharmacy
// records at the counter (DESIGN §2), and reports every problem at once as a
// *ValidationError.
func (p Prescription) ValidateRecorded(now time.Time) error {
	var v ValidationError
	switch p.Form {
	case FormPaper, FormTelephone:
	case "":
		v.Add("form", "choose paper or telephone")
	default:
		v.Add("form", "the pharmacy records only paper or telephone prescriptions, not %s", p.Form)
	}
	checkPatient(&v, p.Patient)

	if strings.TrimSpace(p.Prescriber.Name) == "" {
		v.Add("prescriber name", "the prescriber's name is missing")
	}
	switch reg := strings.TrimSpace(p.Prescriber.Registration); {
	case reg == "":
		v.Add("prescriber registration", "the prescriber's registration number (Valvira) is missing")
	case !DigitsOnly(reg):
		v.Add("prescriber registration", "the registration number must be digits only")
	}
	switch {
	case p.Prescriber.Profession == "":
		v.Add("prescriber profession", "choose physician or dentist")
	case p.Prescriber.Profession == Nurse:
		v.Add("prescriber profession", "a nurse may not issue a paper or telephone prescription; only a physician or a dentist may")
	case !p.Prescriber.MayIssueExceptional():
		v.Add("prescriber profession", "profession %q may not issue a paper or telephone prescription; only a physician or a dentist may", p.Prescriber.Profession)
	}

	switch {
	case p.Medicine.ID == "" && p.Medicine.Name == "":
		v.Add("medicine", "choose the medicine")
	case len(p.Medicine.Packages) == 0:
		v.Add("medicine", "%s has no package on sale to dispense", p.Medicine.DisplayName())
	}
	if strings.TrimSpace(p.Dosage) == "" {
		v.Add("dosage", "the dosage instruction is missing")
	}
	if p.Quantity <= 0 {
		v.Add("quantity", "quantity must be above zero")
	}
	if p.Repeats < 0 {
		v.Add("repeats", "repeats cannot be negative")
	}
	switch {
	case p.Issued.IsZero():
		v.Add("issue date", "the issue date is missing")
	case dateOnly(p.Issued).After(dateOnly(now)):
		v.Add("issue date", "issue date cannot be in the future")
	}
	if strings.TrimSpace(p.Reason) == "" {
		v.Add("reason", "the prescriber's reason for not issuing an e-prescription is missing")
	}

	if p.Form == FormTelephone {
		call := p.Telephone
		if call == nil {
			call = &TelephoneCall{}
		}
		switch {
		case strings.TrimSpace(call.Phone) == "":
			v.Add("prescriber phone", "the telephone prescription needs the prescriber's phone number")
		case !LooksLikePhone(call.Phone):
			v.Add("prescriber phone", "the phone number may hold only digits, spaces, '+', '-' and brackets, with at least 6 digits")
		}
		switch {
		case call.Time.IsZero():
			v.Add("call time", "the time of the call is missing")
		case call.Time.After(now.Add(clockSkew)):
			v.Add("call time", "call time cannot be in the future")
		case !p.Issued.IsZero() && dateOnly(call.Time).Before(dateOnly(p.Issued)):
			v.Add("call time", "the call cannot be before the issue date")
		}
		if strings.TrimSpace(call.Verification) == "" {
			v.Add("verification", "record how the caller was verified, for example a call back to a known number")
		}
	} else if p.Telephone != nil && p.Form == FormPaper {
		v.Add("form", "call details belong only to a telephone prescription")
	}

	switch {
	case p.Recorder == nil || (p.Recorder.ID == "" && strings.TrimSpace(p.Recorder.Name) == ""):
		v.Add("recorder", "the pharmacist recording the prescription is missing")
	case !p.Recorder.Role.MayRecord():
		v.Add("recorder", "%s may not record a prescription; a pharmacist must", roleName(p.Recorder.Role))
	}
	return v.Err()
}

// Validate checks a dispensing before it is committed to the journal, and
// reports every problem at once as a *ValidationError.
func (d Dispensing) Validate(now time.Time) error {
	var v ValidationError
	if !IsUUID(d.ID) {
		v.Add("id", "the record id must be a UUID")
	}
	checkPatient(&v, d.Patient)

	// An essential-medication dispensing on the previous package's label may
	// have no prescription id at hand; every other dispensing names exactly
	// one prescription: an e-prescription or a journal paper/telephone one.
	noPrescriptionAllowed := d.Essential && d.Basis == BasisPreviousLabel
	switch {
	case d.PrescriptionID != "" && d.PrescriptionRecord != "":
		v.Add("prescription", "name either the e-prescription or the recorded paper or telephone prescription, not both")
	case d.PrescriptionID == "" && d.PrescriptionRecord == "" && !noPrescriptionAllowed:
		v.Add("prescription", "the prescription is missing")
	case d.PrescriptionID != "" && !IsFHIRID(d.PrescriptionID):
		v.Add("prescription", "the prescription id may hold only letters, digits, '-' and '.', at most 64 characters")
	case d.PrescriptionRecord != "" && !IsUUID(d.PrescriptionRecord):
		v.Add("prescription", "the recorded prescription's id must be a UUID")
	}

	var pack Package
	var packOK bool
	switch {
	case d.Medicine.ID == "" && d.Medicine.Name == "":
		v.Add("medicine", "choose the medicine")
	case d.VNR == "":
		v.Add("package", "choose the package dispensed")
	default:
		if pack, packOK = d.Medicine.Package(d.VNR); !packOK {
			v.Add("package", "package %s is not a package of %s", d.VNR, d.Medicine.DisplayName())
		}
	}
	switch {
	case d.Quantity <= 0:
		v.Add("quantity", "quantity must be above zero")
	case packOK && pack.Size > 0 && d.Quantity > MaxPacksPerDispensing*pack.Size:
		v.Add("quantity", "quantity %d is more than %d packs of %d (%d); check the quantity", d.Quantity, MaxPacksPerDispensing, pack.Size, MaxPacksPerDispensing*pack.Size)
	}

	switch {
	case d.Time.IsZero():
		v.Add("time", "the dispensing time is missing")
	case d.Time.After(now.Add(clockSkew)):
		v.Add("time", "dispensing time cannot be in the future")
	}

	switch {
	case d.Pharmacist.ID == "" && strings.TrimSpace(d.Pharmacist.Name) == "":
		v.Add("pharmacist", "the pharmacist is missing")
	case !d.Pharmacist.Role.MayRecord():
		v.Add("pharmacist", "%s may not record a dispensing; a pharmacist must", roleName(d.Pharmacist.Role))
	}

	switch {
	case d.Essential && d.Basis == "":
		v.Add("basis", "choose what the essential-medication dispensing is based on: instruction sheet, summary or previous label")
	case d.Essential && !d.Basis.Valid():
		v.Add("basis", "basis %q is not an instruction sheet, a summary or a previous label", d.Basis)
	case !d.Essential && d.Basis != "":
		v.Add("basis", "a basis document belongs only to an essential-medication dispensing")
	}
	return v.Err()
}

// checkPatient adds a problem when code is not a valid identity code, quoting
// hetu.Parse's reason. The code itself is never repeated, so the message is
// safe to log.
func checkPatient(v *ValidationError, code string) {
	if strings.TrimSpace(code) == "" {
		v.Add("patient", "the patient's identity code is missing")
		return
	}
	if _, err := hetu.Parse(code); err != nil {
		var he *hetu.Error
		if errors.As(err, &he) {
			v.Add("patient", "the identity code is not valid: %s", he.Reason)
		} else {
			v.Add("patient", "the identity code is not valid")
		}
	}
}

// IsUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hexadecimal
// form, in either case.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// IsFHIRID reports whether s is a valid FHIR resource id: 1-64 letters,
// digits, '-' and '.'. The prescription id travels in FHIR URLs, so
// Dispensing.Validate requires it; the forms check it as it is typed.
func IsFHIRID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// DigitsOnly reports whether s is one or more ASCII digits, as a
// prescriber's registration number must be.
func DigitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// LooksLikePhone reports whether s has the shape of a phone number:
// digits, spaces, '+', '-' and brackets, with at least 6 digits. It
// accepts Finnish and international forms ("09 310 45021",
// "+358 40 123 4567", "(09) 310-45021") without pinning a number plan.
func LooksLikePhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '-' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 6
}

func roleName(r Role) string {
	switch r {
	case RoleStudent:
		return "a pharmacy student"
	case RoleIT:
		return "IT support"
	case RoleTrainer:
		return "a trainer"
	case "":
		return "a person without a role"
	}
	return "role " + string(r)
}
