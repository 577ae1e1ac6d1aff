package rx_test

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// The words that give a dosage instruction's language away. Each fixture
// instruction must have one of its own language's and none of another's.
var (
	dosageWords = map[string]*regexp.Regexp{
		"fi": regexp.MustCompile(`päivässä|tarvittaessa|INR-kortin|välein|nukkumaan|ohjeen mukaa|hiilihydraatti`),
		"sv": regexp.MustCompile(`om dagen|vid behov|dygn|enligt`),
		"en": regexp.MustCompile(`(?i)\b(tablets?|capsules?|puffs?|inhalations|patch|injection|a day|when needed|twice|times|as (instructed|directed)|bedtime|with meals)\b`),
	}
	// Free text on a paper or telephone prescription (why it was not
	// electronic) is the prescriber's too.
	reasonWords = map[string]*regexp.Regexp{
		"fi": regexp.MustCompile(`oli|joten|käytettävissä`),
		"sv": regexp.MustCompile(`var|så|skrevs`),
		"en": regexp.MustCompile(`(?i)\b(was|the|down|prescribed|written)\b`),
	}
)

// TestFixturesSpeakThePatientsLanguage: the fixtures read as Kanta's
// prescriptions do, with dosage instructions (and the reasons given on
// paper and telephone prescriptions) in Finnish, or in Swedish for a
// Swedish-speaking patient; none in English.
func TestFixturesSpeakThePatientsLanguage(t *testing.T) {
	fx, err := rx.LoadFixtures(os.DirFS("../../testdata/fixtures"), time.Date(2026, time.November, 22, 14, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	lang := map[string]string{}
	swedish := 0
	for _, p := range fx.Patients {
		switch p.Language {
		case "":
			lang[p.HETU] = "fi"
		case "sv":
			lang[p.HETU] = "sv"
			swedish++
		default:
			t.Errorf("patient %s %s: language %q is neither Finnish (empty) nor sv", p.Given, p.Family, p.Language)
		}
	}
	if swedish == 0 {
		t.Error("no fixture patient is Swedish-speaking")
	}
	seen := map[string]int{}
	for _, p := range fx.Prescriptions {
		want := lang[p.Patient]
		seen[want]++
		check := func(what, text string, words map[string]*regexp.Regexp) {
			if !words[want].MatchString(text) {
				t.Errorf("%s %s (patient language %s): %q does not read as %s", p.ID, what, want, text, want)
			}
			for other, re := range words {
				if other != want && re.MatchString(text) {
					t.Errorf("%s %s (patient language %s): %q has %s words: %q", p.ID, what, want, text, other, re.FindString(text))
				}
			}
		}
		check("dosage", p.Dosage, dosageWords)
		if p.Reason != "" {
			check("reason", p.Reason, reasonWords)
		}
	}
	if seen["sv"] == 0 || seen["fi"] == 0 {
		t.Errorf("prescriptions by language: %v; want some in each", seen)
	}
}
