package rx

import (
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
)

// Identifier systems of DESIGN §3.
const (
	SystemHETU         = "urn:oid:1.2.246.21"
	SystemValvira      = "urn:oid:1.2.246.537.26"
	SystemVNR          = "urn:oid:1.2.246.537.6.55"
	SystemATC          = "urn:oid:1.2.246.537.6.32"
	SystemRecordUUID   = "urn:ietf:rfc:3986"
	SystemOrganisation = "urn:oid:1.2.246.10" // prefix of organisation OIDs (SOTE register)
)

// Form is how a prescription was issued.
type Form string

// Prescription forms. Paper and telephone are allowed only in a fault or
// exceptional situation (DESIGN §2).
const (
	FormElectronic Form = "electronic"
	FormPaper      Form = "paper"
	FormTelephone  Form = "telephone"
)

// Valid reports whether f is a known form.
func (f Form) Valid() bool {
	return f == FormElectronic || f == FormPaper || f == FormTelephone
}

// Profession of a prescriber. Only physicians and dentists may issue a paper
// or telephone prescription.
type Profession string

// Professions.
const (
	Physician Profession = "physician"
	Dentist   Profession = "dentist"
	Nurse     Profession = "nurse" // a nurse with limited prescribing rights
)

// Medicine is one medicinal product as sold in Finland, with its packages.
type Medicine struct {
	ID        string `json:"id"`        // stable slug, e.g. "panadol-500mg-tabl"
	Name      string `json:"name"`      // trade name, e.g. "Panadol"
	Substance string `json:"substance"` // active substance, e.g. "paracetamol"
	ATC       string `json:"atc"`       // ATC code, e.g. "N02BE01"
	Strength  string `json:"strength"`  // e.g. "500 mg", "100 IU/ml"
	Form      string `json:"form"`      // pharmaceutical form, e.g. "tablet"
	Unit      string `json:"unit"`      // unit of quantity: "tablet", "ml", "dose", "patch"
	Category  string `json:"category"`  // therapeutic group, e.g. "insulin", "antiepileptic"
	Narcotic  bool   `json:"narcotic"`  // a narcotic (huumausaine)
	PKV       bool   `json:"pkv"`       // acts on the central nervous system (PKV)
	// SubstitutionGroup is Fimea's group of interchangeable products
	// (the same substance, strength and form); empty where none is known.
	SubstitutionGroup string    `json:"substitution_group,omitempty"`
	Packages          []Package `json:"packages"` // the packages on sale, smallest first
}

// Package is one pack of a medicine with its package number.
type Package struct {
	VNR  string `json:"vnr"`  // 6-digit package number (fixture numbers in testdata)
	Size int    `json:"size"` // units in the pack, in Medicine.Unit
	// FixtureNumber marks a made-up package number from the fixtures, so it
	// is never mistaken for a real VNR number.
	FixtureNumber bool `json:"fixture_number"`
}

// SmallestPackage returns the smallest package, or false when there is none.
func (m Medicine) SmallestPackage() (Package, bool) {
	if len(m.Packages) == 0 {
		return Package{}, false
	}
	p := m.Packages[0]
	for _, q := range m.Packages[1:] {
		if q.Size < p.Size {
			p = q
		}
	}
	return p, true
}

// Package returns the package with the package number vnr.
func (m Medicine) Package(vnr string) (Package, bool) {
	for _, p := range m.Packages {
		if p.VNR == vnr {
			return p, true
		}
	}
	return Package{}, false
}

// DisplayName is the name shown at the counter: "Panadol 500 mg tablet".
func (m Medicine) DisplayName() string {
	return m.Name + " " + m.Strength + " " + m.Form
}

// ValidityRules say how long prescriptions are valid, in months. They are
// the policy's (pkg/policy: rules RX-VALID, RX-VALID-NARC-PKV, FM-TEL-VALID
// and FM-GRACE, today 24, 12, 3 and 1 months), so that a policy update
// changes them and a decision can name the rule; pkg/rx takes them as a
// parameter and stays standard-library only.
type ValidityRules struct {
	Months            int // a prescription (24)
	NarcoticPKVMonths int // a prescription of a narcotic or a PKV medicine (12)
	TelephoneMonths   int // a telephone prescription (3)
	GraceMonths       int // after it lapsed, in exceptional circumstances (1)
}

// MonthsFor returns how long a prescription of m in form f is valid: a
// telephone prescription TelephoneMonths, one of a narcotic or PKV medicine
// NarcoticPKVMonths, any other Months.
func (r ValidityRules) MonthsFor(m Medicine, f Form) int {
	switch {
	case f == FormTelephone:
		return r.TelephoneMonths
	case m.Narcotic || m.PKV:
		return r.NarcoticPKVMonths
	}
	return r.Months
}

// Prescriber is the physician, dentist or nurse who issued a prescription.
type Prescriber struct {
	ID           string     `json:"id"`           // fixture slug
	Name         string     `json:"name"`         // e.g. "Anna Korhonen"
	Registration string     `json:"registration"` // Valvira (Terhikki) registration number
	Profession   Profession `json:"profession"`
	Phone        string     `json:"phone,omitempty"`
	Workplace    string     `json:"workplace,omitempty"`
}

// MayIssueExceptional reports whether the prescriber may issue a paper or
// telephone prescription: only a physician or a dentist.
func (p Prescriber) MayIssueExceptional() bool {
	return p.Profession == Physician || p.Profession == Dentist
}

// Patient is a person with a personal identity code.
type Patient struct {
	HETU   string `json:"hetu"`
	Family string `json:"family"`
	Given  string `json:"given"`
	// Language is the patient's language, as the Population Information
	// System records it: "sv" for a Swedish-speaking patient, whose
	// prescriptions carry their dosage instructions in Swedish; empty
	// means Finnish.
	Language string `json:"language,omitempty"`
}

// ID parses the patient's identity code.
func (p Patient) ID() (hetu.ID, error) { return hetu.Parse(p.HETU) }

// Name is "Family, Given".
func (p Patient) Name() string { return p.Family + ", " + p.Given }

// Status of a prescription upstream.
type Status string

// Prescription statuses.
const (
	StatusActive    Status = "active"
	StatusCompleted Status = "completed"
	StatusCancelled Status = "cancelled"
)

// Prescription is a prescription as the Prescription Centre holds it.
// Quantities are in units of the medicine (tablets, ml, doses).
type Prescription struct {
	ID         string     `json:"id"`      // Prescription Centre id; also the barcode on the instruction sheet
	Patient    string     `json:"patient"` // patient HETU
	Prescriber Prescriber `json:"prescriber"`
	Medicine   Medicine   `json:"medicine"`
	Form       Form       `json:"form"`
	Issued     time.Time  `json:"issued"`
	Dosage     string     `json:"dosage"`    // dosage instruction as the prescriber wrote it, e.g. "1 tabletti 2 kertaa päivässä"
	Quantity   int        `json:"quantity"`  // units per dispensing
	Repeats    int        `json:"repeats"`   // further dispensings allowed after the first
	Dispensed  int        `json:"dispensed"` // units dispensed so far
	Status     Status     `json:"status"`
	LockedBy   string     `json:"locked_by,omitempty"` // another pharmacy holding the lock
	Version    string     `json:"version,omitempty"`   // upstream version (ETag)
	Reason     string     `json:"reason,omitempty"`    // why paper or telephone was used
	// The fields below are set on a prescription the pharmacy recorded from
	// paper or telephone.
	RecordID  string         `json:"record_id,omitempty"` // journal record UUID, the idempotency key upstream
	Recorder  *Pharmacist    `json:"recorder,omitempty"`  // who recorded it
	Telephone *TelephoneCall `json:"telephone,omitempty"` // with FormTelephone
	// Pharmacy is the pharmacy that recorded it, as configured when it was
	// recorded: a later change of configuration does not rewrite it. Nil
	// on records made before tiski stamped it, and on e-prescriptions.
	Pharmacy *Pharmacy `json:"pharmacy,omitempty"`
	// ValidThrough is the last day of its validity as the policy in force
	// when the pharmacy recorded it set it: a later policy update does not
	// rewrite what was recorded and sent. Zero on an e-prescription and
	// on a prescription recorded before tiski stamped it.
	ValidThrough time.Time `json:"valid_through,omitzero"`
	// Renewal is the open request to renew it, when the Prescription
	// Centre holds one (issue 23); nil when none is open.
	Renewal *RenewalState `json:"renewal,omitempty"`
}

// TelephoneCall is what the pharmacist records about a telephone
// prescription's call.
type TelephoneCall struct {
	Phone        string    `json:"phone"`        // the prescriber's phone number
	Time         time.Time `json:"time"`         // when the call was taken
	Verification string    `json:"verification"` // how the caller was verified, e.g. a call back to a known number
}

// Total is the quantity the prescription allows over all its dispensings.
func (p Prescription) Total() int { return p.Quantity * (1 + p.Repeats) }

// CheckDraw names a dispensing of quantity units against the prescription,
// recorded in the journal as record id, that is more than the prescription
// allows for one dispensing, or more than is left of it after dispensed
// units already dispensed against it. A prescription without a quantity
// allows nothing to count against. pkg/record checks this before the
// pharmacist confirms; the journal checks it again inside the append's
// transaction, where no other terminal can dispense in between.
func (p Prescription) CheckDraw(id string, quantity, dispensed int, v *ValidationError) {
	if p.Quantity <= 0 {
		return
	}
	if quantity > p.Quantity {
		v.Add("quantity", "quantity %d is more than the prescription's %d for one dispensing", quantity, p.Quantity)
		return
	}
	if left := p.Total() - dispensed; quantity > left {
		v.Add("quantity", "quantity %d is more than the %d left of journal prescription %s (%d of %d dispensed)",
			quantity, max(left, 0), id, dispensed, p.Total())
	}
}

// Remaining is the quantity still to be dispensed.
func (p Prescription) Remaining() int {
	if r := p.Total() - p.Dispensed; r > 0 {
		return r
	}
	return 0
}

// ValidUntil is the last day the prescription is valid, before any grace:
// the same date r.MonthsFor later, or the last day of that month when it is
// shorter (issued 31 August, a telephone prescription of 3 months lasts to
// 30 November). A prescription with ValidThrough lasts to that day.
func (p Prescription) ValidUntil(r ValidityRules) time.Time {
	if !p.ValidThrough.IsZero() {
		return dateOnly(p.ValidThrough)
	}
	return addMonths(dateOnly(p.Issued), r.MonthsFor(p.Medicine, p.Form))
}

// addMonths adds n months to a date, clamping to the end of a shorter month
// instead of spilling into the next one as time.AddDate does.
func addMonths(d time.Time, n int) time.Time {
	y, m, day := d.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, d.Location())
	if last := first.AddDate(0, 1, -1).Day(); day > last {
		day = last
	}
	return first.AddDate(0, 0, day-1)
}

// Validity says where a prescription stands in time.
type Validity int

// Validity states.
const (
	Valid   Validity = iota // within its validity
	InGrace                 // lapsed, but within the grace period (ValidityRules.GraceMonths)
	Expired                 // lapsed beyond the grace period
)

func (v Validity) String() string {
	return [...]string{"valid", "in-grace", "expired"}[v]
}

// ValidityAt tells whether the prescription is valid at t under the rules
// r. It compares calendar dates, t's date taken in t's own location: a
// prescription is valid all through its last day, and in grace all through
// the grace period's last day.
func (p Prescription) ValidityAt(t time.Time, r ValidityRules) Validity {
	day, end := dateOnly(t), p.ValidUntil(r)
	switch {
	case !day.After(end):
		return Valid
	case !day.After(addMonths(end, r.GraceMonths)):
		return InGrace
	}
	return Expired
}

// BasisDocument is what an essential-medication dispensing was based on.
type BasisDocument string

// Basis documents (DESIGN §2).
const (
	BasisInstructionSheet BasisDocument = "instruction-sheet" // potilasohje
	BasisSummary          BasisDocument = "summary"           // yhteenveto from My Kanta
	BasisPreviousLabel    BasisDocument = "previous-label"    // the previous package's dosage label
)

// Valid reports whether b is a known basis document.
func (b BasisDocument) Valid() bool {
	return b == BasisInstructionSheet || b == BasisSummary || b == BasisPreviousLabel
}

// Role of a person signed in at the counter.
type Role string

// Roles. Only a pharmacist (farmaseutti or proviisori) signs saves to the
// Prescription Centre; a student may look but not record.
const (
	RolePharmacist Role = "pharmacist"
	RoleStudent    Role = "student"
	RoleIT         Role = "it"
	RoleTrainer    Role = "trainer"
)

// MayRecord reports whether the role may make journal records.
func (r Role) MayRecord() bool { return r == RolePharmacist }

// Pharmacist is a person who signs in at the counter.
type Pharmacist struct {
	ID           string `json:"id"` // sign-in id
	Name         string `json:"name"`
	Registration string `json:"registration"` // Valvira registration number
	Role         Role   `json:"role"`
}

// Pharmacy is the outlet tiski runs in.
type Pharmacy struct {
	Name string `json:"name"`
	OID  string `json:"oid"` // organisation OID, e.g. 1.2.246.10.12345678.10.0
}

// Dispensing is a dispensing event: medicine handed to a patient.
type Dispensing struct {
	ID                 string        `json:"id"`                            // record UUID, the idempotency key upstream
	PrescriptionID     string        `json:"prescription_id"`               // e-prescription id, or "" when based on a journal prescription or previous label
	PrescriptionRecord string        `json:"prescription_record,omitempty"` // UUID of a journal paper/telephone prescription
	Patient            string        `json:"patient"`                       // HETU
	Medicine           Medicine      `json:"medicine"`
	VNR                string        `json:"vnr"`      // package dispensed
	Quantity           int           `json:"quantity"` // units
	Time               time.Time     `json:"time"`
	Pharmacist         Pharmacist    `json:"pharmacist"`
	Pharmacy           Pharmacy      `json:"pharmacy"`
	Essential          bool          `json:"essential"`       // under the essential-medication procedure
	Basis              BasisDocument `json:"basis,omitempty"` // with Essential
	Note               string        `json:"note,omitempty"`
}
