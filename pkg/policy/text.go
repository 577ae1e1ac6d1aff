package policy

import (
	"fmt"
	"strings"
	"time"
)

// Text is a decision's message as data, so that a user interface can say it
// in its own language: Key names the sentence (the rule, its verdict and the
// case) and Args fill its %s verbs in order. Decision.Message is the same
// sentence in English, made by Say from EnglishTexts.
type Text struct {
	Key  string `json:"key"`
	Args []Arg  `json:"args,omitempty"`
}

// ArgKind says what an Arg is, and so how a language writes it.
type ArgKind string

// The kinds of argument.
const (
	ArgMedicine   ArgKind = "medicine"   // S, a medicine's name; "" is "this medicine"
	ArgPerson     ArgKind = "person"     // S, a prescriber's name; "" is "the prescriber"
	ArgProfession ArgKind = "profession" // S, an rx.Profession
	ArgCode       ArgKind = "code"       // S as it is: a VNR
	ArgNumber     ArgKind = "number"     // N in digits
	ArgQuantity   ArgKind = "quantity"   // N of Unit: "28 tablets"
	ArgMonths     ArgKind = "months"     // N months
	ArgDate       ArgKind = "date"       // Date, a calendar day: 30.11.2026
	ArgDose       ArgKind = "dose"       // F units, a daily dose: 1.5
	ArgPacks      ArgKind = "packs"      // N smallest packs, holding Q of Unit
)

// Arg is one value in a Text.
type Arg struct {
	Kind ArgKind   `json:"kind"`
	S    string    `json:"s,omitempty"`
	N    int       `json:"n,omitempty"`
	Q    int       `json:"q,omitempty"`
	Unit string    `json:"unit,omitempty"`
	F    float64   `json:"f,omitempty"`
	Date time.Time `json:"date,omitzero"`
}

func medicineArg(name string) Arg        { return Arg{Kind: ArgMedicine, S: name} }
func quantityArg(n int, unit string) Arg { return Arg{Kind: ArgQuantity, N: n, Unit: unit} }
func monthsArg(n int) Arg                { return Arg{Kind: ArgMonths, N: n} }
func dateArg(t time.Time) Arg            { return Arg{Kind: ArgDate, Date: t} }
func numberArg(n int) Arg                { return Arg{Kind: ArgNumber, N: n} }

// Say writes t with the sentences of one language (by Key, each ending
// before the rule id) and its way of writing each argument, and ends it
// with the rule id in brackets, as every decision's message ends. ok is
// false when the language has no sentence for t.Key.
func Say(t Text, rule string, sentences map[string]string, arg func(Arg) string) (string, bool) {
	s, ok := sentences[t.Key]
	if !ok {
		return "", false
	}
	args := make([]any, len(t.Args))
	for i, a := range t.Args {
		args[i] = arg(a)
	}
	return fmt.Sprintf(s, args...) + " (" + rule + ").", true
}

// EnglishArg writes an argument in English.
func EnglishArg(a Arg) string {
	switch a.Kind {
	case ArgMedicine:
		if a.S == "" {
			return "This medicine"
		}
		return a.S
	case ArgPerson:
		if a.S == "" {
			return "The prescriber"
		}
		return a.S
	case ArgNumber:
		return fmt.Sprint(a.N)
	case ArgQuantity:
		return units(a.N, a.Unit)
	case ArgMonths:
		return months(a.N)
	case ArgDate:
		return fiDate(a.Date)
	case ArgDose:
		return formatDose(a.F)
	case ArgPacks:
		packs := "the smallest pack"
		if a.N > 1 {
			packs = fmt.Sprintf("%d smallest packs", a.N)
		}
		return fmt.Sprintf("%s (%s)", packs, units(a.Q, a.Unit))
	}
	return a.S // profession, code
}

// EnglishQuantity writes n of a medicine's unit in English: "28 tablets",
// "100 ml".
func EnglishQuantity(n int, unit string) string { return units(n, unit) }

// EnglishUnits is a medicine's unit after a number other than one:
// "tablets", "ml".
func EnglishUnits(unit string) string { return strings.TrimPrefix(units(2, unit), "2 ") }

// The sentences' keys: the rule, then the case.
const (
	keyEssNarcDeny       = "FM-ESS-NARC/deny"
	keyEssNarcWarn       = "FM-ESS-NARC/warn"
	keyEssNarcAllow      = "FM-ESS-NARC/allow"
	keyEssPKVDeny        = "FM-PKV-WARN/essential-deny"
	keyEssPKVWarn        = "FM-PKV-WARN/essential-warn"
	keyEssPKVAllow       = "FM-PKV-WARN/essential-allow"
	keyTelNarcDeny       = "FM-TEL-NARC/deny"
	keyTelNarcWarn       = "FM-TEL-NARC/warn"
	keyTelNarcAllow      = "FM-TEL-NARC/allow"
	keyTelPKVDeny        = "FM-PKV-WARN/telephone-deny"
	keyTelPKVWarn        = "FM-PKV-WARN/telephone-warn"
	keyTelPKVAllow       = "FM-PKV-WARN/telephone-allow"
	keyQtyNoPackage      = "FM-ESS-QTY/no-package"
	keyQtyPackTooBig     = "FM-ESS-QTY/pack-too-big"
	keyQtyOverNoDose     = "FM-ESS-QTY/over-dose-unknown"
	keyQtyWithinNoDose   = "FM-ESS-QTY/within-dose-unknown"
	keyQtyOver           = "FM-ESS-QTY/over"
	keyQtyWithin         = "FM-ESS-QTY/within"
	keyValidity          = "RX-VALID/validity"
	keyNarcPKVValidity   = "RX-VALID-NARC-PKV/validity"
	keyValid             = "RX-VALID/valid"
	keyLapsed            = "RX-VALID/lapsed"
	keyNarcPKVValid      = "RX-VALID-NARC-PKV/valid"
	keyNarcPKVLapsed     = "RX-VALID-NARC-PKV/lapsed"
	keyTelValidity       = "FM-TEL-VALID/validity"
	keyTelValid          = "FM-TEL-VALID/valid"
	keyTelLapsed         = "FM-TEL-VALID/lapsed"
	keyPrescriberAllow   = "FM-PRESCRIBER/allow"
	keyPrescriberUnknown = "FM-PRESCRIBER/unknown"
	keyPrescriberDeny    = "FM-PRESCRIBER/deny"
	keyGraceNoIssueDate  = "FM-GRACE/no-issue-date"
	keyGraceNone         = "FM-GRACE/no-grace"
	keyGraceWithin       = "FM-GRACE/within"
	keyGracePast         = "FM-GRACE/past"
)

// EnglishTexts are the sentences of every decision in English; a catalogue
// in another language has a sentence for each of these keys, with as many
// %s verbs (%[n]s where its word order differs).
var EnglishTexts = map[string]string{
	keyEssNarcDeny:       "%s is a narcotic: narcotics cannot be dispensed as essential medication",
	keyEssNarcWarn:       "%s is a narcotic: dispense it as essential medication only when the patient's need is immediate, and check the fault instructions",
	keyEssNarcAllow:      "%s is a narcotic; this policy allows narcotics as essential medication",
	keyEssPKVDeny:        "%s acts on the central nervous system (PKV): PKV medicines cannot be dispensed as essential medication",
	keyEssPKVWarn:        "%s acts on the central nervous system (PKV): dispense it as essential medication only when the need is immediate, and check the dosage on the basis document",
	keyEssPKVAllow:       "%s acts on the central nervous system (PKV); this policy allows it as essential medication",
	keyTelNarcDeny:       "%s is a narcotic: narcotics cannot be prescribed by telephone",
	keyTelNarcWarn:       "%s is a narcotic: check the fault instructions before accepting it by telephone",
	keyTelNarcAllow:      "%s is a narcotic; this policy allows narcotics by telephone",
	keyTelPKVDeny:        "%s acts on the central nervous system (PKV): PKV medicines cannot be prescribed by telephone",
	keyTelPKVWarn:        "%s acts on the central nervous system (PKV): verify the caller with particular care, for example by calling back a known number",
	keyTelPKVAllow:       "%s acts on the central nervous system (PKV); this policy allows it by telephone",
	keyQtyNoPackage:      "%s has no package on sale, so the essential-medication quantity cannot be capped",
	keyQtyPackTooBig:     "Package %s holds %s, more than essential medication allows: %s. Dispense package %s",
	keyQtyOverNoDose:     "Essential medication is at most %s; %s is more",
	keyQtyWithinNoDose:   "%s is within %s, but the daily dose is not known, so the %s-day cap could not be checked: check the dosage on the basis document",
	keyQtyOver:           "Essential medication is at most %s here: %s and %s days at %s a day (%s). %s is more",
	keyQtyWithin:         "%s is within the essential-medication cap of %s: %s and %s days at %s a day (%s)",
	keyValidity:          "A prescription is valid for %s from its issue date",
	keyNarcPKVValidity:   "A prescription of a narcotic or PKV medicine is valid for %s from its issue date",
	keyValid:             "This prescription is valid for %s, through %s",
	keyLapsed:            "A prescription is valid for %s; this one lapsed after %s",
	keyNarcPKVValid:      "A prescription of a narcotic or PKV medicine is valid for %s; this one through %s",
	keyNarcPKVLapsed:     "A prescription of a narcotic or PKV medicine is valid for %s; this one lapsed after %s",
	keyTelValidity:       "A telephone prescription is valid for %s from its issue date",
	keyTelValid:          "This telephone prescription is valid for %s, through %s",
	keyTelLapsed:         "A telephone prescription is valid for %s; this one lapsed after %s",
	keyPrescriberAllow:   "%s is a %s and may issue a paper or telephone prescription",
	keyPrescriberUnknown: "Only a physician or a dentist may issue a paper or telephone prescription; the profession of %s is not given",
	keyPrescriberDeny:    "Only a physician or a dentist may issue a paper or telephone prescription; %s is a %s",
	keyGraceNoIssueDate:  "The prescription's issue date is missing, so its validity cannot be checked",
	keyGraceNone:         "This prescription was valid through %s; this policy allows no grace after it lapsed, so it cannot be dispensed",
	keyGraceWithin:       "This prescription was valid through %s. Within the grace of %s, through %s, it may be dispensed in exceptional circumstances",
	keyGracePast:         "This prescription was valid through %s and its grace of %s ended on %s; it cannot be dispensed",
	// The pharmacy's counters together (counters.go).
	keyNotCrossChecked: "Not checked across counters: the pharmacy's hub could not be reached, so only the dispensings this counter knows of were counted. " +
		"If another counter dispensed against this prescription meanwhile, the two become an over-dispensed conflict for review",
	keyDuplicateJournal: "%s prescribed by %s, issued %s, was recorded at counter %s already (record %s): this may be the same prescription. Dispense only one of them",
	keyDuplicateGeneric: "%s prescribed by %s, issued %s, was recorded at counter %s already (record %s), and %s is in its substitution group (%s), a generic of it: this may be the same prescription. Dispense only one of them",
}

// decision makes a decision of rule with verdict v, its text and its
// English message.
func decision(rule string, v Verdict, key string, args ...Arg) Decision {
	t := Text{Key: key, Args: args}
	msg, ok := Say(t, rule, EnglishTexts, EnglishArg)
	if !ok {
		panic("policy: no English sentence for " + key) // the keys are constants; a test covers each
	}
	return Decision{RuleID: rule, Verdict: v, Message: msg, Text: t}
}
