package policy

import (
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Rules of the pharmacy's counters together (issue 19). They take no
// setting: they say what tiski could or could not check across counters.
const (
	// RuleNotCrossChecked: a dispensing against a journal prescription
	// was recorded while the pharmacy's hub could not be reached, after a
	// check of this counter's journal only.
	RuleNotCrossChecked = "HUB-UNCHECKED"
	// RuleDuplicateJournal: a paper or telephone prescription may be one
	// the pharmacy recorded already, at this counter or another.
	RuleDuplicateJournal = "RX-DUP-JOURNAL"
)

const (
	keyNotCrossChecked  = RuleNotCrossChecked + "/warn"
	keyDuplicateJournal = RuleDuplicateJournal + "/warn"
	// keyDuplicateGeneric: the one recorded is another product of the same
	// substitution group (issue 24).
	keyDuplicateGeneric = RuleDuplicateJournal + "/generic"
)

// NotCrossChecked is the warning on a dispensing recorded while the
// pharmacy's hub could not be reached (RuleNotCrossChecked).
func NotCrossChecked() Decision {
	return decision(RuleNotCrossChecked, Warn, keyNotCrossChecked)
}

// DuplicateJournal is the warning that the prescription being recorded may
// duplicate one of m by p, issued on issued, recorded as record at counter
// (RuleDuplicateJournal).
func DuplicateJournal(m rx.Medicine, p rx.Prescriber, issued time.Time, counter, record string) Decision {
	return decision(RuleDuplicateJournal, Warn, keyDuplicateJournal, medicineArg(m.Name), Arg{Kind: ArgPerson, S: p.Name},
		dateArg(issued), Arg{Kind: ArgCode, S: counter}, Arg{Kind: ArgCode, S: record})
}

// DuplicateGeneric is the warning that the prescription of this being
// recorded may duplicate one of m, another product of the same
// substitution group (a generic), by p, issued on issued, recorded as
// record at counter (RuleDuplicateJournal).
func DuplicateGeneric(m rx.Medicine, p rx.Prescriber, issued time.Time, counter, record string, this rx.Medicine) Decision {
	return decision(RuleDuplicateJournal, Warn, keyDuplicateGeneric, medicineArg(m.Name), Arg{Kind: ArgPerson, S: p.Name},
		dateArg(issued), Arg{Kind: ArgCode, S: counter}, Arg{Kind: ArgCode, S: record}, medicineArg(this.Name),
		Arg{Kind: ArgCode, S: m.SubstitutionGroup})
}
