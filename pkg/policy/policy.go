// Package policy holds tiski's fault-mode rules (DESIGN §2) as a versioned
// set. Each rule has a stable id, and every decision names the rule behind
// it, so the counter can show why and the journal can record which rules
// were applied.
//
// The shipped default is embedded (default.json). A pharmacy may override it
// with a policy file (Load), which changes only the settings it names. The
// settings that no public source fixes are marked "to be confirmed" for as
// long as they hold their shipped default; setting one in a policy file is
// how a pharmacy confirms it.
//
// A policy file is JSON. Every key is optional except version; unknown keys
// are refused and named. The keys, with the shipped defaults:
//
//	{
//	  "version": "2026-11-1",
//	  "validity":  {"months": 24, "narcotic_pkv_months": 12},
//	  "essential": {"max_smallest_packs": 1, "max_days": 30, "narcotics": "deny", "pkv": "warn"},
//	  "telephone": {"validity_months": 3, "narcotics": "deny", "pkv": "warn"},
//	  "lapsed":    {"grace_months": 1}
//	}
//
// validity, telephone.validity_months and lapsed.grace_months are how long
// a prescription is valid (rx.ValidityRules), as Finnish law has them today;
// a policy file changes them when the law does. narcotics and pkv take
// "allow", "warn" or "deny". Who may issue a paper or
// telephone prescription (a physician or a dentist) is law, not a setting.
package policy

import (
	"strings"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Rule ids. They are stable: journal records store them.
const (
	// RuleEssentialQuantity caps an essential-medication dispensing at the
	// smallest pack and at most 30 days of treatment.
	RuleEssentialQuantity = "FM-ESS-QTY"
	// RuleEssentialNarcotic keeps narcotics out of essential-medication
	// dispensing.
	RuleEssentialNarcotic = "FM-ESS-NARC"
	// RuleTelephoneNarcotic keeps narcotics off telephone prescriptions.
	RuleTelephoneNarcotic = "FM-TEL-NARC"
	// RulePKV allows PKV (CNS) medicines, with a warning, in essential
	// dispensing and on telephone prescriptions.
	RulePKV = "FM-PKV-WARN"
	// RuleValidity: a prescription is valid for 24 months from its issue
	// date.
	RuleValidity = "RX-VALID"
	// RuleValidityNarcoticPKV: a prescription of a narcotic or a PKV
	// medicine is valid for 12 months.
	RuleValidityNarcoticPKV = "RX-VALID-NARC-PKV"
	// RuleTelephoneValidity: a telephone prescription is valid for 3 months.
	RuleTelephoneValidity = "FM-TEL-VALID"
	// RuleGrace: a lapsed prescription may be dispensed for one month after
	// it lapsed, with a warning, and not after.
	RuleGrace = "FM-GRACE"
	// RulePrescriber: only a physician or a dentist may issue a paper or
	// telephone prescription.
	RulePrescriber = "FM-PRESCRIBER"
)

// ConfirmNote is carried by every decision taken on a setting that no
// public source fixes and that still holds its shipped default (DESIGN §2).
const ConfirmNote = "to be confirmed against Fimea regulation 2/2016 and the Association of Finnish Pharmacies' fault instructions"

// Verdict is what a rule says about a case.
type Verdict int

// Verdicts, from mildest to strictest.
const (
	Allow Verdict = iota // the rule is satisfied
	Warn                 // allowed, but the pharmacist must see the message
	Deny                 // not allowed
)

var verdictNames = [...]string{"allow", "warn", "deny"}

func (v Verdict) String() string {
	if v < Allow || v > Deny {
		return "unknown"
	}
	return verdictNames[v]
}

// MarshalText writes the verdict as "allow", "warn" or "deny".
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText reads "allow", "warn" or "deny".
func (v *Verdict) UnmarshalText(b []byte) error {
	p, ok := parseVerdict(string(b))
	if !ok {
		return rx.Errorf(rx.EINVALID, "verdict %q is not allow, warn or deny", b)
	}
	*v = p
	return nil
}

func parseVerdict(s string) (Verdict, bool) {
	for i, n := range verdictNames {
		if s == n {
			return Verdict(i), true
		}
	}
	return 0, false
}

// Decision is one rule's verdict on one case, in the pharmacist's terms.
type Decision struct {
	RuleID  string  `json:"rule_id"`
	Verdict Verdict `json:"verdict"`
	Message string  `json:"message"` // in English; ends with the rule id in brackets
	// Text is Message as data, for a user interface in another language.
	Text Text `json:"text"`
	// ToBeConfirmed marks a decision taken on a shipped default that must
	// still be confirmed; show ConfirmNote beside it.
	ToBeConfirmed bool `json:"to_be_confirmed,omitempty"`
}

// Note is ConfirmNote for a decision on an unconfirmed default, else "".
func (d Decision) Note() string {
	if d.ToBeConfirmed {
		return ConfirmNote
	}
	return ""
}

func (d Decision) String() string {
	s := d.Verdict.String() + " " + d.RuleID + ": " + d.Message
	if d.ToBeConfirmed {
		s += " [" + ConfirmNote + "]"
	}
	return s
}

// Denied reports whether any decision is Deny.
func Denied(ds []Decision) bool { return Worst(ds) == Deny }

// Worst returns the strictest verdict among ds, Allow when there is none.
func Worst(ds []Decision) Verdict {
	w := Allow
	for _, d := range ds {
		w = max(w, d.Verdict)
	}
	return w
}

// RuleIDs returns the ids of the rules behind ds, each once, in order: what
// a journal record stores as the rules applied.
func RuleIDs(ds []Decision) []string {
	ids := make([]string, 0, len(ds))
	seen := make(map[string]bool, len(ds))
	for _, d := range ds {
		if !seen[d.RuleID] {
			seen[d.RuleID] = true
			ids = append(ids, d.RuleID)
		}
	}
	return ids
}

// Err returns nil unless a decision is Deny, and then an *rx.Error with code
// rx.EPOLICY whose message lists every denial.
func Err(ds []Decision) error {
	var msgs []string
	for _, d := range ds {
		if d.Verdict == Deny {
			msgs = append(msgs, d.Message)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &rx.Error{Code: rx.EPOLICY, Message: strings.Join(msgs, " ")}
}
