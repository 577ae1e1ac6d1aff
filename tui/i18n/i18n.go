// Package i18n is the counter's message catalogue: one per language,
// Finnish by default, Swedish and English on request (DESIGN §7). Every
// string a screen shows comes from here, except what comes from elsewhere
// as it is: medicine names, people's names and the Prescription Centre's
// and the domain's own texts.
//
// Keys are typed constants, so a key used in a screen is a key the
// catalogue test checks in every language.
package i18n

import (
	"fmt"
	"strings"
)

// Lang is a language of the counter.
type Lang string

// The languages.
const (
	FI Lang = "fi"
	SV Lang = "sv"
	EN Lang = "en"
)

// Default is the language when none is chosen.
const Default = FI

// Langs lists every language, the default first.
func Langs() []Lang { return []Lang{FI, SV, EN} }

// Parse returns the language named by s ("fi", "sv", "en", any case), or
// Default and false when s names none.
func Parse(s string) (Lang, bool) {
	switch l := Lang(strings.ToLower(strings.TrimSpace(s))); l {
	case FI, SV, EN:
		return l, true
	}
	return Default, false
}

// T returns the text of k in l, formatted with args when there are any.
// An unknown language falls back to Default.
func (l Lang) T(k Key, args ...any) string {
	cat, ok := catalogues[l]
	if !ok {
		cat = catalogues[Default]
	}
	s := cat[k]
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}
