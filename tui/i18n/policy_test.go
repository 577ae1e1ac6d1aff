package i18n

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
)

var sVerb = regexp.MustCompile(`%(\[\d+\])?s`)

// TestDecisionSentences: each language has a sentence for every decision
// pkg/policy can make, with as many arguments, and says it in full.
func TestDecisionSentences(t *testing.T) {
	for _, l := range []Lang{FI, SV} {
		p := policySentences[l]
		if len(p.sentences) != len(policy.EnglishTexts) {
			t.Errorf("%s: %d sentences, English has %d", l, len(p.sentences), len(policy.EnglishTexts))
		}
		for key, en := range policy.EnglishTexts {
			s, ok := p.sentences[key]
			if !ok {
				t.Errorf("%s: no sentence for %s", l, key)
				continue
			}
			if got, want := len(sVerb.FindAllString(s, -1)), len(sVerb.FindAllString(en, -1)); got != want {
				t.Errorf("%s %s: %d arguments, English has %d", l, key, got, want)
			}
			args := make([]policy.Arg, len(sVerb.FindAllString(en, -1)))
			for i := range args {
				args[i] = policy.Arg{Kind: policy.ArgQuantity, N: 30, Unit: "tablet"}
			}
			d := policy.Decision{RuleID: "FM-X", Text: policy.Text{Key: key, Args: args}, Message: "English"}
			if out := l.Decision(d); out == "English" || strings.Contains(out, "%!") || !strings.HasSuffix(out, "(FM-X).") {
				t.Errorf("%s %s: %q", l, key, out)
			}
		}
	}
}

// TestDecisionInFinnish: real decisions read in Finnish and Swedish, with
// the quantities, months, doses and professions in those languages; English
// is pkg/policy's message.
func TestDecisionInFinnish(t *testing.T) {
	pol := policy.Default()
	m := rx.Medicine{Name: "Panadol 500 mg", Unit: "tablet", Packages: []rx.Package{{VNR: "111111", Size: 30}}}
	over := pol.EssentialDispensing(m, rx.Package{}, 60, 1.5)
	d := over[len(over)-1]
	if d.Verdict != policy.Deny {
		t.Fatalf("60 tablets: %+v", d)
	}
	for l, want := range map[Lang][]string{
		FI: {"Välttämättömän lääkkeen enimmäismäärä on tässä", "30 tablettia", "pienin pakkaus (30 tablettia)", "annoksella 1,5 vuorokaudessa", "60 tablettia on enemmän (FM-ESS-QTY)."},
		SV: {"Nödvändigt läkemedel får här vara högst", "30 tabletter", "den minsta förpackningen", "med 1,5 per dygn", "60 tabletter är mer (FM-ESS-QTY)."},
		EN: {d.Message},
	} {
		got := l.Decision(d)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", l, got, w)
			}
		}
	}
	nurse := pol.TelephonePrescription(m, rx.Prescriber{Name: "Hoitaja Hanna", Profession: rx.Nurse})[0]
	if got := FI.Decision(nurse); !strings.Contains(got, "Hoitaja Hanna on sairaanhoitaja") {
		t.Errorf("FI prescriber: %q", got)
	}
	tel := pol.Dispensing(rx.Prescription{Medicine: m, Form: rx.FormTelephone, Issued: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)}, time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC))
	if got := SV.Decision(tel[0]); !strings.Contains(got, "Detta telefonrecept gäller") || !strings.Contains(got, "månad") {
		t.Errorf("SV telephone validity: %q", got)
	}
	if got := FI.Decision(tel[0]); tel[0].ToBeConfirmed && !strings.Contains(got, "vahvistettava Fimean") {
		t.Errorf("FI note: %q", got)
	}
}

// TestQuantity: a medicine's quantity in each language, with the unit's
// word for one and for many, and a unit of measure as it is.
func TestQuantity(t *testing.T) {
	for _, tt := range []struct {
		l          Lang
		n          int
		unit, want string
	}{
		{FI, 30, "tablet", "30 tablettia"}, {FI, 1, "tablet", "1 tabletti"}, {FI, 28, "capsule", "28 kapselia"}, {FI, 100, "ml", "100 ml"},
		{SV, 30, "tablet", "30 tabletter"}, {SV, 1, "capsule", "1 kapsel"}, {SV, 2, "patch", "2 plåster"},
		{EN, 30, "tablet", "30 tablets"}, {EN, 1, "tablet", "1 tablet"}, {EN, 5, "patch", "5 patches"}, {EN, 100, "ml", "100 ml"},
	} {
		if got := tt.l.Quantity(tt.n, tt.unit); got != tt.want {
			t.Errorf("%s Quantity(%d, %q) = %q, want %q", tt.l, tt.n, tt.unit, got, tt.want)
		}
	}
	for l, want := range map[Lang]string{FI: "tablettia", SV: "tabletter", EN: "tablets"} {
		if got := l.Units("tablet"); got != want {
			t.Errorf("%s Units(tablet) = %q, want %q", l, got, want)
		}
	}
}
