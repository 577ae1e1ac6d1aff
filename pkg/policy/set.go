package policy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tiski-rx/tiski/pkg/rx"
)

//go:embed default.json
var defaultJSON []byte

// DefaultSource is the Source of the embedded default.
const DefaultSource = "embedded default"

// Settings are the values a policy file may set. Every one has a key in the
// file, named in its comment.
type Settings struct {
	ValidityMonths            int     // validity.months: validity of a prescription (24)
	ValidityNarcoticPKVMonths int     // validity.narcotic_pkv_months: validity of a prescription of a narcotic or PKV medicine (12)
	EssentialMaxSmallestPacks int     // essential.max_smallest_packs: cap in smallest packs (1)
	EssentialMaxDays          int     // essential.max_days: cap in days of treatment (30)
	EssentialNarcotics        Verdict // essential.narcotics: narcotics as essential medication (deny)
	EssentialPKV              Verdict // essential.pkv: PKV medicines as essential medication (warn)
	TelephoneValidityMonths   int     // telephone.validity_months: validity of a telephone prescription (3)
	TelephoneNarcotics        Verdict // telephone.narcotics: narcotics prescribed by telephone (deny)
	TelephonePKV              Verdict // telephone.pkv: PKV medicines prescribed by telephone (warn)
	GraceMonths               int     // lapsed.grace_months: grace after a prescription lapsed (1)
}

// Set is one version of the fault-mode rules. It is immutable and safe for
// concurrent use.
type Set struct {
	Version string // e.g. "2026-11-1"; journal records name it
	Source  string // DefaultSource, or the policy file's path

	settings Settings
	// confirmed holds the keys a policy file set. A key not in it holds the
	// shipped default.
	confirmed map[string]bool
}

// Settings returns the values in force.
func (s *Set) Settings() Settings { return s.settings }

// TelephoneValidityMonths is how long a telephone prescription is valid.
func (s *Set) TelephoneValidityMonths() int { return s.settings.TelephoneValidityMonths }

// GraceMonths is how long after it lapsed a prescription may still be
// dispensed, with a warning.
func (s *Set) GraceMonths() int { return s.settings.GraceMonths }

// Validity returns how long prescriptions are valid under this policy, for
// rx.Prescription.ValidUntil and ValidityAt.
func (s *Set) Validity() rx.ValidityRules {
	st := s.settings
	return rx.ValidityRules{Months: st.ValidityMonths, NarcoticPKVMonths: st.ValidityNarcoticPKVMonths,
		TelephoneMonths: st.TelephoneValidityMonths, GraceMonths: st.GraceMonths}
}

// ValidityRule names the rule that says how long a prescription of m in
// form f is valid, and the months it says: FM-TEL-VALID for a telephone
// prescription, RX-VALID-NARC-PKV for a narcotic or PKV medicine, RX-VALID
// for any other.
func (s *Set) ValidityRule(m rx.Medicine, f rx.Form) (rule string, months int) {
	months = s.Validity().MonthsFor(m, f)
	switch {
	case f == rx.FormTelephone:
		return RuleTelephoneValidity, months
	case m.Narcotic || m.PKV:
		return RuleValidityNarcoticPKV, months
	}
	return RuleValidity, months
}

// Policy-file keys of the settings that are still to be confirmed while they
// hold their shipped default (DESIGN §2).
const (
	keyEssentialPacks     = "essential.max_smallest_packs"
	keyEssentialDays      = "essential.max_days"
	keyEssentialNarcotics = "essential.narcotics"
	keyEssentialPKV       = "essential.pkv"
	keyTelephoneNarcotics = "telephone.narcotics"
	keyTelephonePKV       = "telephone.pkv"
)

// Policy-file keys of the validity of a prescription: law, so confirmed by
// their shipped default.
const (
	keyValidityMonths      = "validity.months"
	keyValidityNarcoticPKV = "validity.narcotic_pkv_months"
)

// unconfirmed reports whether any of keys still holds its shipped default.
func (s *Set) unconfirmed(keys ...string) bool {
	for _, k := range keys {
		if !s.confirmed[k] {
			return true
		}
	}
	return false
}

// Rule describes one rule and its setting, for `tiski config show` and the
// help screen.
type Rule struct {
	ID            string `json:"id"`
	Summary       string `json:"summary"`
	Setting       string `json:"setting"`
	ToBeConfirmed bool   `json:"to_be_confirmed,omitempty"`
}

// Rules lists every rule with the setting in force.
func (s *Set) Rules() []Rule {
	st := s.settings
	return []Rule{
		{RuleValidity, "Validity of a prescription",
			fmt.Sprintf("%s = %d", keyValidityMonths, st.ValidityMonths), false},
		{RuleValidityNarcoticPKV, "Validity of a prescription of a narcotic or PKV medicine",
			fmt.Sprintf("%s = %d", keyValidityNarcoticPKV, st.ValidityNarcoticPKVMonths), false},
		{RuleEssentialQuantity, "Essential medication: at most the smallest pack and a number of days of treatment",
			fmt.Sprintf("%s = %d, %s = %d", keyEssentialPacks, st.EssentialMaxSmallestPacks, keyEssentialDays, st.EssentialMaxDays),
			s.unconfirmed(keyEssentialPacks, keyEssentialDays)},
		{RuleEssentialNarcotic, "Narcotics as essential medication",
			fmt.Sprintf("%s = %s", keyEssentialNarcotics, st.EssentialNarcotics), s.unconfirmed(keyEssentialNarcotics)},
		{RuleTelephoneNarcotic, "Narcotics prescribed by telephone",
			fmt.Sprintf("%s = %s", keyTelephoneNarcotics, st.TelephoneNarcotics), s.unconfirmed(keyTelephoneNarcotics)},
		{RulePKV, "PKV (CNS) medicines as essential medication and by telephone",
			fmt.Sprintf("%s = %s, %s = %s", keyEssentialPKV, st.EssentialPKV, keyTelephonePKV, st.TelephonePKV),
			s.unconfirmed(keyEssentialPKV, keyTelephonePKV)},
		{RuleTelephoneValidity, "Validity of a telephone prescription",
			fmt.Sprintf("telephone.validity_months = %d", st.TelephoneValidityMonths), false},
		{RuleGrace, "Grace after a prescription lapsed",
			fmt.Sprintf("lapsed.grace_months = %d", st.GraceMonths), false},
		{RulePrescriber, "Only a physician or a dentist may issue a paper or telephone prescription",
			"fixed by law", false},
	}
}

// file is the policy file's format. Pointers tell a key that is absent (keep
// the default) from one that is set.
type file struct {
	Version   *string        `json:"version"`
	Validity  *validityFile  `json:"validity"`
	Essential *essentialFile `json:"essential"`
	Telephone *telephoneFile `json:"telephone"`
	Lapsed    *lapsedFile    `json:"lapsed"`
}

type validityFile struct {
	Months            *int `json:"months"`
	NarcoticPKVMonths *int `json:"narcotic_pkv_months"`
}

type essentialFile struct {
	MaxSmallestPacks *int    `json:"max_smallest_packs"`
	MaxDays          *int    `json:"max_days"`
	Narcotics        *string `json:"narcotics"`
	PKV              *string `json:"pkv"`
}

type telephoneFile struct {
	ValidityMonths *int    `json:"validity_months"`
	Narcotics      *string `json:"narcotics"`
	PKV            *string `json:"pkv"`
}

type lapsedFile struct {
	GraceMonths *int `json:"grace_months"`
}

var defaultSet = sync.OnceValues(func() (*Set, error) {
	return parse(defaultJSON, DefaultSource, nil)
})

// Default returns the embedded default policy.
func Default() *Set {
	s, err := defaultSet()
	if err != nil {
		// The default is part of the binary and tested; a bad one is a
		// build that must not run.
		panic("policy: embedded default.json: " + err.Error())
	}
	return s
}

// Load reads a policy file and lays it over the default: the file changes
// only the settings it names. It must name its own version, because journal
// records name the policy version they were judged by. Unknown keys, wrong
// types and values out of range are refused, each named.
func Load(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	return Parse(b, path)
}

// Parse is Load for a policy file already read; source names it in errors.
func Parse(b []byte, source string) (*Set, error) {
	return parse(b, source, Default())
}

// parse reads b over base, or as the complete default when base is nil.
func parse(b []byte, source string, base *Set) (*Set, error) {
	fail := func(format string, args ...any) error {
		return rx.Errorf(rx.EINVALID, "policy file %s: "+format, append([]any{source}, args...)...)
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fail("not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fail("there is more after the JSON object; a policy file holds one object")
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, fail("a policy file is one JSON object")
	}
	if problems := checkKeys(raw, reflect.TypeFor[file](), ""); len(problems) > 0 {
		return nil, fail("%s", strings.Join(problems, "; "))
	}

	var f file
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a backstop: checkKeys named them already
	if err := dec.Decode(&f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fail("%s: expected %s, not a JSON %s", te.Field, typeName(te.Type), te.Value)
		}
		return nil, fail("%v", err)
	}

	s := &Set{Source: source, confirmed: map[string]bool{}}
	if base != nil {
		s.settings = base.settings
	}
	var problems []string
	complete := base == nil // the default must set every key
	setInt := func(key string, v *int, dst *int, lo, hi int, unit string) {
		switch {
		case v == nil && complete:
			problems = append(problems, key+" is missing")
		case v == nil:
		case *v < lo || *v > hi:
			what := "out of range"
			if *v < 0 {
				what = "negative"
			}
			problems = append(problems, fmt.Sprintf("%s = %d is %s; give %s from %d to %d", key, *v, what, unit, lo, hi))
		default:
			*dst = *v
			s.confirmed[key] = true
		}
	}
	setVerdict := func(key string, v *string, dst *Verdict) {
		switch {
		case v == nil && complete:
			problems = append(problems, key+" is missing")
		case v == nil:
		default:
			p, ok := parseVerdict(*v)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s = %q is not allow, warn or deny", key, *v))
				return
			}
			*dst = p
			s.confirmed[key] = true
		}
	}

	switch {
	case f.Version == nil || strings.TrimSpace(*f.Version) == "":
		problems = append(problems, `version is missing; name this policy's version, e.g. "version": "pharmacy-2026-12", so journal records can say which rules judged them`)
	default:
		s.Version = strings.TrimSpace(*f.Version)
	}
	st := &s.settings
	va, e, t, l := f.Validity, f.Essential, f.Telephone, f.Lapsed
	if va == nil {
		va = &validityFile{}
	}
	if e == nil {
		e = &essentialFile{}
	}
	if t == nil {
		t = &telephoneFile{}
	}
	if l == nil {
		l = &lapsedFile{}
	}
	setInt(keyValidityMonths, va.Months, &st.ValidityMonths, 1, 120, "a number of months")
	setInt(keyValidityNarcoticPKV, va.NarcoticPKVMonths, &st.ValidityNarcoticPKVMonths, 1, 120, "a number of months")
	setInt(keyEssentialPacks, e.MaxSmallestPacks, &st.EssentialMaxSmallestPacks, 1, rx.MaxPacksPerDispensing, "a number of packs")
	setInt(keyEssentialDays, e.MaxDays, &st.EssentialMaxDays, 1, 365, "a number of days")
	setVerdict(keyEssentialNarcotics, e.Narcotics, &st.EssentialNarcotics)
	setVerdict(keyEssentialPKV, e.PKV, &st.EssentialPKV)
	setInt("telephone.validity_months", t.ValidityMonths, &st.TelephoneValidityMonths, 1, 24, "a number of months")
	setVerdict(keyTelephoneNarcotics, t.Narcotics, &st.TelephoneNarcotics)
	setVerdict(keyTelephonePKV, t.PKV, &st.TelephonePKV)
	setInt("lapsed.grace_months", l.GraceMonths, &st.GraceMonths, 0, 12, "a number of months")
	if len(problems) > 0 {
		return nil, fail("%s", strings.Join(problems, "; "))
	}
	if base == nil {
		// The shipped default confirms nothing.
		s.confirmed = map[string]bool{}
	}
	return s, nil
}

// checkKeys walks a decoded JSON value against the struct type t and names
// every key t does not know, and every null, with its full path.
func checkKeys(v any, t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	obj, ok := v.(map[string]any)
	if t.Kind() != reflect.Struct || !ok {
		return nil // a type mismatch; the typed decode names it
	}
	fields := map[string]reflect.Type{}
	var known []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields[name] = f.Type
		known = append(known, prefix+name)
	}
	slices.Sort(known)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []string
	for _, k := range keys {
		ft, ok := fields[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("unknown key %q (known here: %s)", prefix+k, strings.Join(known, ", ")))
		case obj[k] == nil:
			problems = append(problems, fmt.Sprintf("%s is null; remove the key to keep the default", prefix+k))
		default:
			problems = append(problems, checkKeys(obj[k], ft, prefix+k+".")...)
		}
	}
	return problems
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}
