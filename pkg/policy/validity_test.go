package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestPolicyValidity: how long a prescription is valid comes from the
// policy set. The built-in policy gives what tiski hard-coded before (24
// months, 12 for a narcotic or PKV medicine, 3 for a telephone
// prescription, a month of grace); a policy file with other months, loaded
// as IT installs one (policy = "/etc/tiski/policy.json"), changes the
// validity computed for a paper, a narcotic and a telephone prescription,
// and every decision about it names the rule that set the months.
func TestPolicyValidity(t *testing.T) {
	issued := date(2026, 1, 10)
	cases := []struct {
		name string
		m    rx.Medicine
		form rx.Form
		rule string
		// months and last valid day under the built-in policy and under
		// the file's.
		defMonths, fileMonths int
		defUntil, fileUntil   time.Time
	}{
		{"paper", levothyroxine, rx.FormPaper, RuleValidity, 24, 36, date(2028, 1, 10), date(2029, 1, 10)},
		{"e-prescription", levothyroxine, rx.FormElectronic, RuleValidity, 24, 36, date(2028, 1, 10), date(2029, 1, 10)},
		{"narcotic", oxycodone, rx.FormPaper, RuleValidityNarcoticPKV, 12, 6, date(2027, 1, 10), date(2026, 7, 10)},
		{"PKV", diazepam, rx.FormElectronic, RuleValidityNarcoticPKV, 12, 6, date(2027, 1, 10), date(2026, 7, 10)},
		{"telephone", levothyroxine, rx.FormTelephone, RuleTelephoneValidity, 3, 2, date(2026, 4, 10), date(2026, 3, 10)},
	}
	file, err := Load(writePolicy(t, `{"version": "it-2027-1",
		"validity": {"months": 36, "narcotic_pkv_months": 6},
		"telephone": {"validity_months": 2},
		"lapsed": {"grace_months": 2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := file.Validity(), (rx.ValidityRules{Months: 36, NarcoticPKVMonths: 6, TelephoneMonths: 2, GraceMonths: 2}); got != want {
		t.Fatalf("the file's validity rules %+v, want %+v", got, want)
	}
	// The built-in months are the ones pkg/rx hard-coded until issue 18.
	if got, want := Default().Validity(), (rx.ValidityRules{Months: 24, NarcoticPKVMonths: 12, TelephoneMonths: 3, GraceMonths: 1}); got != want {
		t.Fatalf("the built-in validity rules %+v, want %+v", got, want)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p := rx.Prescription{Medicine: tt.m, Form: tt.form, Issued: issued}
			for _, pol := range []struct {
				set    *Set
				months int
				until  time.Time
				grace  int
			}{{Default(), tt.defMonths, tt.defUntil, 1}, {file, tt.fileMonths, tt.fileUntil, 2}} {
				rules := pol.set.Validity()
				if got := p.ValidUntil(rules); !got.Equal(pol.until) {
					t.Errorf("%s: valid until %s, want %s", pol.set.Source, got.Format(time.DateOnly), pol.until.Format(time.DateOnly))
				}
				if rule, months := pol.set.ValidityRule(tt.m, tt.form); rule != tt.rule || months != pol.months {
					t.Errorf("%s: ValidityRule = %s %d, want %s %d", pol.set.Source, rule, months, tt.rule, pol.months)
				}
				last := fiDate(pol.until)
				// On its last day: valid, and the decision names the rule
				// and the months it set.
				check(t, pol.set.Dispensing(p, pol.until.Add(20*time.Hour)), tt.rule, Allow,
					fmt.Sprintf("valid for %d months", pol.months), last)
				if got := p.ValidityAt(pol.until, rules); got != rx.Valid {
					t.Errorf("%s: on its last day %s", pol.set.Source, got)
				}
				// The day after: lapsed by the same rule, in the grace the
				// policy gives.
				after := pol.until.AddDate(0, 0, 1)
				ds := pol.set.Dispensing(p, after)
				check(t, ds, tt.rule, Warn, "lapsed after "+last)
				check(t, ds, RuleGrace, Warn, fmt.Sprintf("grace of %d month", pol.grace))
				if got := p.ValidityAt(after, rules); got != rx.InGrace {
					t.Errorf("%s: the day after its last %s", pol.set.Source, got)
				}
				if got := p.ValidityAt(addMonths(pol.until, pol.grace).AddDate(0, 0, 1), rules); got != rx.Expired {
					t.Errorf("%s: after its grace %s", pol.set.Source, got)
				}
			}
			// Between the two last days the policy decides.
			longer, shorter, early := Default(), file, tt.fileUntil
			if tt.fileUntil.After(tt.defUntil) {
				longer, shorter, early = file, Default(), tt.defUntil
			}
			between := early.AddDate(0, 0, 1)
			if ds := longer.Dispensing(p, between); find(t, ds, tt.rule).Verdict != Allow {
				t.Errorf("%s on %s: %v, want valid", longer.Source, between.Format(time.DateOnly), ds)
			}
			if ds := shorter.Dispensing(p, between); find(t, ds, tt.rule).Verdict != Warn || !has(ds, RuleGrace) {
				t.Errorf("%s on %s: %v, want lapsed", shorter.Source, between.Format(time.DateOnly), ds)
			}
		})
	}
	// Recording a paper or telephone prescription says how long it is
	// valid, by the rule that says so.
	check(t, file.PaperPrescription(levothyroxine, physician), RuleValidity, Allow, "valid for 36 months")
	check(t, file.PaperPrescription(diazepam, physician), RuleValidityNarcoticPKV, Allow, "valid for 6 months")
	check(t, file.TelephonePrescription(levothyroxine, physician), RuleTelephoneValidity, Allow, "valid for 2 months")
	check(t, Default().PaperPrescription(levothyroxine, physician), RuleValidity, Allow, "valid for 24 months")
	// tiski config show lists the settings with their rules.
	var listed []string
	for _, r := range file.Rules() {
		if r.ID == RuleValidity || r.ID == RuleValidityNarcoticPKV {
			listed = append(listed, r.ID+": "+r.Setting)
		}
	}
	if got := strings.Join(listed, "; "); got != "RX-VALID: validity.months = 36; RX-VALID-NARC-PKV: validity.narcotic_pkv_months = 6" {
		t.Errorf("Rules lists %q", got)
	}
}

// TestValidityRefused: months out of range in a policy file are refused,
// each named.
func TestValidityRefused(t *testing.T) {
	_, err := Load(writePolicy(t, `{"version": "x", "validity": {"months": 0, "narcotic_pkv_months": -1}}`))
	if err == nil || rx.ErrorCode(err) != rx.EINVALID ||
		!strings.Contains(err.Error(), "validity.months = 0 is out of range; give a number of months from 1 to 120") ||
		!strings.Contains(err.Error(), "validity.narcotic_pkv_months = -1 is negative") {
		t.Fatalf("Load: %v", err)
	}
}
