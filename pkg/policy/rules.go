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
			keyEssNarcDeny, keyEssNarcWarn, keyEssNarcAllow))
	}
	if m.PKV {
		ds = append(ds, s.medicineRule(RulePKV, st.EssentialPKV, keyEssentialPKV, name,
			keyEssPKVDeny, keyEssPKVWarn, keyEssPKVAllow))
	}
	return append(ds, s.essentialQuantity(m, pack, qty, unitsPerDay))
}

// medicineRule is the decision of rule on a medicine named name, whose
// verdict the policy sets under key: the sentence for that verdict, with
// the name.
func (s *Set) medicineRule(rule string, v Verdict, key, name, deny, warn, allow string) Decision {
	sentence := allow
	switch v {
	case Deny:
		sentence = deny
	case Warn:
		sentence = warn
	}
	d := decision(rule, v, sentence, medicineArg(name))
	d.ToBeConfirmed = s.unconfirmed(key)
	return d
}

func (s *Set) essentialQuantity(m rx.Medicine, pack rx.Package, qty int, unitsPerDay float64) Decision {
	st := s.settings
	unconfirmed := s.unconfirmed(keyEssentialPacks, keyEssentialDays)
	with := func(d Decision) Decision {
		d.ToBeConfirmed = unconfirmed
		return d
	}
	const rule = RuleEssentialQuantity
	smallest, ok := m.SmallestPackage()
	if !ok || smallest.Size <= 0 {
		return with(decision(rule, Deny, keyQtyNoPackage, medicineArg(medicineName(m))))
	}
	packCap := smallest.Size * st.EssentialMaxSmallestPacks
	packs := Arg{Kind: ArgPacks, N: st.EssentialMaxSmallestPacks, Q: packCap, Unit: m.Unit}
	asked := quantityArg(qty, m.Unit)

	if pack.VNR != "" && pack.Size > packCap {
		return with(decision(rule, Deny, keyQtyPackTooBig,
			Arg{Kind: ArgCode, S: pack.VNR}, quantityArg(pack.Size, m.Unit), packs, Arg{Kind: ArgCode, S: smallest.VNR}))
	}

	known := unitsPerDay > 0 && !math.IsInf(unitsPerDay, 0)
	if !known {
		if qty > packCap {
			return with(decision(rule, Deny, keyQtyOverNoDose, packs, asked))
		}
		return with(decision(rule, Warn, keyQtyWithinNoDose, asked, packs, numberArg(st.EssentialMaxDays)))
	}

	// A small epsilon keeps 30 days at 0.1 a day from flooring to 2.
	dayCap := int(math.Floor(float64(st.EssentialMaxDays)*unitsPerDay + 1e-9))
	days := []Arg{numberArg(st.EssentialMaxDays), {Kind: ArgDose, F: unitsPerDay}, quantityArg(dayCap, m.Unit)}
	limit := quantityArg(min(packCap, dayCap), m.Unit)
	if qty > limit.N {
		return with(decision(rule, Deny, keyQtyOver, append(append([]Arg{limit, packs}, days...), asked)...))
	}
	return with(decision(rule, Allow, keyQtyWithin, append([]Arg{asked, limit, packs}, days...)...))
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
			keyTelNarcDeny, keyTelNarcWarn, keyTelNarcAllow))
	}
	if m.PKV {
		ds = append(ds, s.medicineRule(RulePKV, st.TelephonePKV, keyTelephonePKV, name,
			keyTelPKVDeny, keyTelPKVWarn, keyTelPKVAllow))
	}
	return append(ds, decision(RuleTelephoneValidity, Allow, keyTelValidity, monthsArg(st.TelephoneValidityMonths)))
}

// PaperPrescription judges a paper prescription of m by p: FM-PRESCRIBER
// and, as information, how long it is valid (RX-VALID, or RX-VALID-NARC-PKV
// for a narcotic or PKV medicine).
func (s *Set) PaperPrescription(m rx.Medicine, p rx.Prescriber) []Decision {
	rule, months := s.ValidityRule(m, rx.FormPaper)
	key := keyValidity
	if rule == RuleValidityNarcoticPKV {
		key = keyNarcPKVValidity
	}
	return []Decision{prescriber(p), decision(rule, Allow, key, monthsArg(months))}
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
	who := Arg{Kind: ArgPerson, S: p.Name}
	switch {
	case p.MayIssueExceptional():
		return decision(RulePrescriber, Allow, keyPrescriberAllow, who, Arg{Kind: ArgProfession, S: string(p.Profession)})
	case p.Profession == "":
		return decision(RulePrescriber, Deny, keyPrescriberUnknown, who)
	default:
		return decision(RulePrescriber, Deny, keyPrescriberDeny, who, Arg{Kind: ArgProfession, S: string(p.Profession)})
	}
}

// Dispensing judges whether prescription p may be dispensed at the time at,
// by its validity: the rule that says how long it is valid (ValidityRule:
// RX-VALID, RX-VALID-NARC-PKV or FM-TEL-VALID; Allow while valid, Warn once
// lapsed), and FM-GRACE once it has lapsed (Warn within the grace, Deny
// after). Dates are calendar dates, at's in at's location, as in
// rx.Prescription.ValidityAt: a prescription is valid all through its last
// day. A prescription the pharmacy recorded lasts to the day stamped on it
// (rx.Prescription.ValidThrough).
func (s *Set) Dispensing(p rx.Prescription, at time.Time) []Decision {
	st := s.settings
	if p.Issued.IsZero() {
		return []Decision{decision(RuleGrace, Deny, keyGraceNoIssueDate)}
	}
	rule, validity := s.ValidityRule(p.Medicine, p.Form)
	day := dateOnly(at)
	until := p.ValidUntil(s.Validity())
	graceEnd := addMonths(until, st.GraceMonths)
	lapsed := day.After(until)

	valid, expired := keyValid, keyLapsed
	switch rule {
	case RuleTelephoneValidity:
		valid, expired = keyTelValid, keyTelLapsed
	case RuleValidityNarcoticPKV:
		valid, expired = keyNarcPKVValid, keyNarcPKVLapsed
	}
	ds := []Decision{decision(rule, Allow, valid, monthsArg(validity), dateArg(until))}
	if lapsed {
		ds[0] = decision(rule, Warn, expired, monthsArg(validity), dateArg(until))
	}
	if !lapsed {
		return ds
	}
	var d Decision
	switch {
	case st.GraceMonths == 0:
		d = decision(RuleGrace, Deny, keyGraceNone, dateArg(until))
	case !day.After(graceEnd):
		d = decision(RuleGrace, Warn, keyGraceWithin, dateArg(until), monthsArg(st.GraceMonths), dateArg(graceEnd))
	default:
		d = decision(RuleGrace, Deny, keyGracePast, dateArg(until), monthsArg(st.GraceMonths), dateArg(graceEnd))
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

// medicineName is m's name to show, "" when it has none (EnglishArg writes
// "This medicine").
func medicineName(m rx.Medicine) string {
	if m.Name == "" {
		return ""
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
