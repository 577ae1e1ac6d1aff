package policy

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// EssentialDispensing judges an essential-medication dispensing (DESIGN §2)
// of qty units of m from package pack. unitsPerDay is the daily dose in
// units when the basis document gives it, and 0 when it is not known: then
// only the pack cap is checked, and a warning says the day cap could not be.
// A zero pack (no package chosen yet) skips the package check.
//
// The decisions cover FM-ESS-NARC (narcotics), FM-PKV-WARN (PKV medicines)
// and FM-ESS-QTY (the quantity cap).
func (s *Set) EssentialDispensing(m rx.Medicine, pack rx.Package, qty int, unitsPerDay float64) []Decision {
	var ds []Decision
	st := s.settings
	name := medicineName(m)
	if m.Narcotic {
		ds = append(ds, s.medicineRule(RuleEssentialNarcotic, st.EssentialNarcotics, keyEssentialNarcotics, name,
			"%s is a narcotic: narcotics cannot be dispensed as essential medication (%s).",
			"%s is a narcotic: dispense it as essential medication only when the patient's need is immediate, and check the fault instructions (%s).",
			"%s is a narcotic; this policy allows narcotics as essential medication (%s)."))
	}
	if m.PKV {
		ds = append(ds, s.medicineRule(RulePKV, st.EssentialPKV, keyEssentialPKV, name,
			"%s acts on the central nervous system (PKV): PKV medicines cannot be dispensed as essential medication (%s).",
			"%s acts on the central nervous system (PKV): dispense it as essential medication only when the need is immediate, and check the dosage on the basis document (%s).",
			"%s acts on the central nervous system (PKV); this policy allows it as essential medication (%s)."))
	}
	return append(ds, s.essentialQuantity(m, pack, qty, unitsPerDay))
}

// medicineRule is the decision of rule on a medicine named name, whose
// verdict the policy sets under key: the message for that verdict, each
// formatted with the name and the rule id.
func (s *Set) medicineRule(rule string, v Verdict, key, name, deny, warn, allow string) Decision {
	msg := allow
	switch v {
	case Deny:
		msg = deny
	case Warn:
		msg = warn
	}
	return Decision{rule, v, fmt.Sprintf(msg, name, rule), s.unconfirmed(key)}
}

func (s *Set) essentialQuantity(m rx.Medicine, pack rx.Package, qty int, unitsPerDay float64) Decision {
	st := s.settings
	d := Decision{RuleID: RuleEssentialQuantity, ToBeConfirmed: s.unconfirmed(keyEssentialPacks, keyEssentialDays)}
	smallest, ok := m.SmallestPackage()
	if !ok || smallest.Size <= 0 {
		d.Verdict = Deny
		d.Message = fmt.Sprintf("%s has no package on sale, so the essential-medication quantity cannot be capped (%s).", medicineName(m), RuleEssentialQuantity)
		return d
	}
	packCap := smallest.Size * st.EssentialMaxSmallestPacks
	packText := "the smallest pack"
	if st.EssentialMaxSmallestPacks > 1 {
		packText = fmt.Sprintf("%d smallest packs", st.EssentialMaxSmallestPacks)
	}
	packText = fmt.Sprintf("%s (%s)", packText, units(packCap, m.Unit))

	if pack.VNR != "" && pack.Size > packCap {
		d.Verdict = Deny
		d.Message = fmt.Sprintf("Package %s holds %s, more than essential medication allows: %s. Dispense package %s (%s).",
			pack.VNR, units(pack.Size, m.Unit), packText, smallest.VNR, RuleEssentialQuantity)
		return d
	}

	known := unitsPerDay > 0 && !math.IsInf(unitsPerDay, 0)
	if !known {
		if qty > packCap {
			d.Verdict = Deny
			d.Message = fmt.Sprintf("Essential medication is at most %s; %s is more (%s).", packText, units(qty, m.Unit), RuleEssentialQuantity)
			return d
		}
		d.Verdict = Warn
		d.Message = fmt.Sprintf("%s is within %s, but the daily dose is not known, so the %d-day cap could not be checked: check the dosage on the basis document (%s).",
			capitalise(units(qty, m.Unit)), packText, st.EssentialMaxDays, RuleEssentialQuantity)
		return d
	}

	// A small epsilon keeps 30 days at 0.1 a day from flooring to 2.
	dayCap := int(math.Floor(float64(st.EssentialMaxDays)*unitsPerDay + 1e-9))
	dayText := fmt.Sprintf("%d days at %s a day (%s)", st.EssentialMaxDays, formatDose(unitsPerDay), units(dayCap, m.Unit))
	limit := min(packCap, dayCap)
	if qty > limit {
		d.Verdict = Deny
		d.Message = fmt.Sprintf("Essential medication is at most %s here: %s and %s. %s is more (%s).",
			units(limit, m.Unit), packText, dayText, capitalise(units(qty, m.Unit)), RuleEssentialQuantity)
		return d
	}
	d.Verdict = Allow
	d.Message = fmt.Sprintf("%s is within the essential-medication cap of %s: %s and %s (%s).",
		capitalise(units(qty, m.Unit)), units(limit, m.Unit), packText, dayText, RuleEssentialQuantity)
	return d
}

// TelephonePrescription judges a telephone prescription of m by p: FM-PRESCRIBER,
// FM-TEL-NARC for a narcotic, FM-PKV-WARN for a PKV medicine and, as
// information, FM-TEL-VALID.
func (s *Set) TelephonePrescription(m rx.Medicine, p rx.Prescriber) []Decision {
	st := s.settings
	name := medicineName(m)
	ds := []Decision{prescriber(p)}
	if m.Narcotic {
		ds = append(ds, s.medicineRule(RuleTelephoneNarcotic, st.TelephoneNarcotics, keyTelephoneNarcotics, name,
			"%s is a narcotic: narcotics cannot be prescribed by telephone (%s).",
			"%s is a narcotic: check the fault instructions before accepting it by telephone (%s).",
			"%s is a narcotic; this policy allows narcotics by telephone (%s)."))
	}
	if m.PKV {
		ds = append(ds, s.medicineRule(RulePKV, st.TelephonePKV, keyTelephonePKV, name,
			"%s acts on the central nervous system (PKV): PKV medicines cannot be prescribed by telephone (%s).",
			"%s acts on the central nervous system (PKV): verify the caller with particular care, for example by calling back a known number (%s).",
			"%s acts on the central nervous system (PKV); this policy allows it by telephone (%s)."))
	}
	return append(ds, Decision{RuleID: RuleTelephoneValidity, Verdict: Allow,
		Message: fmt.Sprintf("A telephone prescription is valid for %s from its issue date (%s).",
			months(st.TelephoneValidityMonths), RuleTelephoneValidity)})
}

// PaperPrescription judges a paper prescription of m by p: FM-PRESCRIBER.
// No rule judges the medicine of a paper prescription today; m is taken so
// that the callers need not change when one does.
func (s *Set) PaperPrescription(m rx.Medicine, p rx.Prescriber) []Decision {
	return []Decision{prescriber(p)}
}

// RecordedPrescription judges a paper or telephone prescription the pharmacy
// records, by its form. Any other form gets no decision: the fault rules do
// not apply to e-prescriptions.
func (s *Set) RecordedPrescription(p rx.Prescription) []Decision {
	switch p.Form {
	case rx.FormPaper:
		return s.PaperPrescription(p.Medicine, p.Prescriber)
	case rx.FormTelephone:
		return s.TelephonePrescription(p.Medicine, p.Prescriber)
	}
	return nil
}

func prescriber(p rx.Prescriber) Decision {
	who := p.Name
	if who == "" {
		who = "The prescriber"
	}
	d := Decision{RuleID: RulePrescriber}
	switch {
	case p.MayIssueExceptional():
		d.Verdict = Allow
		d.Message = fmt.Sprintf("%s is a %s and may issue a paper or telephone prescription (%s).", who, p.Profession, RulePrescriber)
	case p.Profession == "":
		d.Verdict = Deny
		d.Message = fmt.Sprintf("Only a physician or a dentist may issue a paper or telephone prescription; the profession of %s is not given (%s).", who, RulePrescriber)
	default:
		d.Verdict = Deny
		d.Message = fmt.Sprintf("Only a physician or a dentist may issue a paper or telephone prescription; %s is a %s (%s).", who, p.Profession, RulePrescriber)
	}
	return d
}

// Dispensing judges whether prescription p may be dispensed at the time at,
// by its validity: FM-TEL-VALID for a telephone prescription (Allow while
// valid, Warn once lapsed), and FM-GRACE once it has lapsed (Warn within the
// grace, Deny after). A valid prescription of another form gets no
// decision. Dates are calendar dates, at's in at's location, as in
// rx.Prescription.ValidityAt: a prescription is valid all through its last
// day.
//
// The validity of paper and e-prescriptions comes from rx.ValidityMonths
// (24 months, 12 for narcotics and PKV); that of telephone prescriptions
// from this policy.
func (s *Set) Dispensing(p rx.Prescription, at time.Time) []Decision {
	st := s.settings
	if p.Issued.IsZero() {
		return []Decision{{RuleID: RuleGrace, Verdict: Deny,
			Message: fmt.Sprintf("The prescription's issue date is missing, so its validity cannot be checked (%s).", RuleGrace)}}
	}
	validity := rx.ValidityMonths(p.Medicine, p.Form)
	if p.Form == rx.FormTelephone {
		validity = st.TelephoneValidityMonths
	}
	day := dateOnly(at)
	until := addMonths(dateOnly(p.Issued), validity)
	graceEnd := addMonths(until, st.GraceMonths)
	lapsed := day.After(until)

	var ds []Decision
	if p.Form == rx.FormTelephone {
		d := Decision{RuleID: RuleTelephoneValidity, Verdict: Allow,
			Message: fmt.Sprintf("This telephone prescription is valid for %s, through %s (%s).", months(validity), fiDate(until), RuleTelephoneValidity)}
		if lapsed {
			d.Verdict = Warn
			d.Message = fmt.Sprintf("A telephone prescription is valid for %s; this one lapsed after %s (%s).", months(validity), fiDate(until), RuleTelephoneValidity)
		}
		ds = append(ds, d)
	}
	if !lapsed {
		return ds
	}
	d := Decision{RuleID: RuleGrace}
	switch {
	case st.GraceMonths == 0:
		d.Verdict = Deny
		d.Message = fmt.Sprintf("This prescription was valid through %s; this policy allows no grace after it lapsed, so it cannot be dispensed (%s).", fiDate(until), RuleGrace)
	case !day.After(graceEnd):
		d.Verdict = Warn
		d.Message = fmt.Sprintf("This prescription was valid through %s. Within the grace of %s, through %s, it may be dispensed in exceptional circumstances (%s).",
			fiDate(until), months(st.GraceMonths), fiDate(graceEnd), RuleGrace)
	default:
		d.Verdict = Deny
		d.Message = fmt.Sprintf("This prescription was valid through %s and its grace of %s ended on %s; it cannot be dispensed (%s).",
			fiDate(until), months(st.GraceMonths), fiDate(graceEnd), RuleGrace)
	}
	return append(ds, d)
}

// dateOnly is t's calendar date in t's location, as a UTC midnight (the
// same convention as pkg/rx).
func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// addMonths adds n months to a date, clamping to the end of a shorter month
// (31 August + 3 months is 30 November), as pkg/rx does.
func addMonths(d time.Time, n int) time.Time {
	y, m, day := d.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, d.Location())
	if last := first.AddDate(0, 1, -1).Day(); day > last {
		day = last
	}
	return first.AddDate(0, 0, day-1)
}

// fiDate writes a date the Finnish way: 30.11.2026.
func fiDate(t time.Time) string { return t.Format("2.1.2006") }

func medicineName(m rx.Medicine) string {
	if m.Name == "" {
		return "This medicine"
	}
	return m.DisplayName()
}

func months(n int) string {
	if n == 1 {
		return "1 month"
	}
	return fmt.Sprintf("%d months", n)
}

// units writes a quantity in the medicine's unit: "28 tablets", "100 ml".
func units(n int, unit string) string {
	switch {
	case unit == "":
		unit = "unit"
	case unit == "ml" || unit == "g" || unit == "mg":
		return fmt.Sprintf("%d %s", n, unit)
	}
	switch {
	case n == 1:
		return fmt.Sprintf("%d %s", n, unit)
	case strings.HasSuffix(unit, "ch") || strings.HasSuffix(unit, "sh") || strings.HasSuffix(unit, "s") || strings.HasSuffix(unit, "x"):
		return fmt.Sprintf("%d %ses", n, unit)
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func formatDose(f float64) string {
	return fmt.Sprintf("%g", math.Round(f*1000)/1000)
}

func capitalise(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
