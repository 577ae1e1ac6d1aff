package i18n

import (
	"regexp"
	"slices"
	"testing"
)

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// TestCatalogueComplete fails when a key has no text in a language, when a
// language has a text for no key, or when the format verbs of a key differ
// between languages.
func TestCatalogueComplete(t *testing.T) {
	for _, l := range Langs() {
		t.Run(string(l), func(t *testing.T) {
			cat, ok := catalogues[l]
			if !ok {
				t.Fatalf("no catalogue for %q", l)
			}
			for _, k := range Keys() {
				s, ok := cat[k]
				if !ok || s == "" {
					t.Errorf("key %d has no text", k)
					continue
				}
				if want := verb.FindAllString(catalogues[Default][k], -1); !slices.Equal(verb.FindAllString(s, -1), want) {
					t.Errorf("key %d: verbs %v, %s has %v", k, verb.FindAllString(s, -1), Default, want)
				}
			}
			if len(cat) != len(Keys()) {
				t.Errorf("%d texts for %d keys", len(cat), len(Keys()))
			}
		})
	}
	if len(catalogues) != len(Langs()) {
		t.Errorf("%d catalogues for %d languages", len(catalogues), len(Langs()))
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Lang
		ok   bool
	}{
		{"fi", FI, true}, {"SV", SV, true}, {" en ", EN, true}, {"de", FI, false}, {"", FI, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Parse(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Parse(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestT(t *testing.T) {
	if got := EN.T(StatusPending, 3); got != "Pending: 3" {
		t.Errorf("EN.T(StatusPending, 3) = %q", got)
	}
	if got := Lang("xx").T(SignInPIN); got != catalogues[FI][SignInPIN] {
		t.Errorf("unknown language gave %q, want the default's", got)
	}
}
