package policy

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Medicines shaped like the fixtures'.
var (
	levothyroxine = rx.Medicine{ID: "thyroxin-100", Name: "Thyroxin", Strength: "100 mikrog", Form: "tablet", Unit: "tablet",
		Packages: []rx.Package{{VNR: "100001", Size: 100}, {VNR: "100002", Size: 28}}}
	oxycodone = rx.Medicine{ID: "oxynorm-5", Name: "OxyNorm", Strength: "5 mg", Form: "capsule", Unit: "capsule", Narcotic: true,
		Packages: []rx.Package{{VNR: "200001", Size: 28}}}
	diazepam = rx.Medicine{ID: "diapam-5", Name: "Diapam", Strength: "5 mg", Form: "tablet", Unit: "tablet", PKV: true,
		Packages: []rx.Package{{VNR: "300001", Size: 25}, {VNR: "300002", Size: 100}}}
	fentanylPatch = rx.Medicine{ID: "fentanyl-12", Name: "Fentanyl", Strength: "12 mikrog/h", Form: "patch", Unit: "patch", Narcotic: true,
		Packages: []rx.Package{{VNR: "400001", Size: 5}}}
	noPackages = rx.Medicine{ID: "gone", Name: "Gone", Strength: "1 mg", Form: "tablet", Unit: "tablet"}

	physician = rx.Prescriber{Name: "Anna Korhonen", Registration: "123456", Profession: rx.Physician}
	dentist   = rx.Prescriber{Name: "Erkki Hammas", Registration: "234567", Profession: rx.Dentist}
	nurse     = rx.Prescriber{Name: "Liisa Hoitaja", Registration: "345678", Profession: rx.Nurse}
)

// find returns the decision of rule id, failing the test when there is none.
func find(t *testing.T, ds []Decision, id string) Decision {
	t.Helper()
	for _, d := range ds {
		if d.RuleID == id {
			return d
		}
	}
	t.Fatalf("no decision of rule %s in %v", id, ds)
	return Decision{}
}

func has(ds []Decision, id string) bool { return slices.Contains(RuleIDs(ds), id) }

// check asserts the rule's verdict and that its message names the rule.
func check(t *testing.T, ds []Decision, id string, want Verdict, msgHas ...string) Decision {
	t.Helper()
	d := find(t, ds, id)
	if d.Verdict != want {
		t.Errorf("%s: verdict %s, want %s (%s)", id, d.Verdict, want, d.Message)
	}
	if !strings.HasSuffix(d.Message, "("+id+").") {
		t.Errorf("%s: message %q does not end with the rule id", id, d.Message)
	}
	for _, s := range msgHas {
		if !strings.Contains(d.Message, s) {
			t.Errorf("%s: message %q lacks %q", id, d.Message, s)
		}
	}
	return d
}

func TestDefaultIsEmbeddedAndVersioned(t *testing.T) {
	onDisk, err := os.ReadFile("default.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, defaultJSON) {
		t.Fatal("the embedded default differs from default.json")
	}
	s := Default()
	if s.Version != "2026-11-1" || s.Source != DefaultSource {
		t.Errorf("Default: version %q source %q, want 2026-11-1 from %q", s.Version, s.Source, DefaultSource)
	}
	want := Settings{
		ValidityMonths: 24, ValidityNarcoticPKVMonths: 12,
		EssentialMaxSmallestPacks: 1, EssentialMaxDays: 30, EssentialNarcotics: Deny, EssentialPKV: Warn,
		TelephoneValidityMonths: 3, TelephoneNarcotics: Deny, TelephonePKV: Warn, GraceMonths: 1,
	}
	if got := s.Settings(); got != want {
		t.Errorf("default settings\n got %+v\nwant %+v", got, want)
	}
	if s.TelephoneValidityMonths() != 3 || s.GraceMonths() != 1 {
		t.Errorf("TelephoneValidityMonths %d, GraceMonths %d; want 3 and 1", s.TelephoneValidityMonths(), s.GraceMonths())
	}
	// The four policy settings of DESIGN §2 are to be confirmed; the
	// rules from public sources are not.
	wantConfirm := map[string]bool{
		RuleEssentialQuantity: true, RuleEssentialNarcotic: true, RuleTelephoneNarcotic: true, RulePKV: true,
		RuleTelephoneValidity: false, RuleGrace: false, RulePrescriber: false,
		RuleValidity: false, RuleValidityNarcoticPKV: false,
	}
	rules := s.Rules()
	if len(rules) != len(wantConfirm) {
		t.Errorf("Rules lists %d rules, want %d", len(rules), len(wantConfirm))
	}
	for _, r := range rules {
		if want, ok := wantConfirm[r.ID]; !ok || r.ToBeConfirmed != want {
			t.Errorf("rule %s: to be confirmed %v, want %v (known %v)", r.ID, r.ToBeConfirmed, want, ok)
		}
	}
	if Default() != s {
		t.Error("Default parses the embedded file again on every call")
	}
}

func TestEssentialQuantity(t *testing.T) {
	s := Default()
	small, large := levothyroxine.Packages[1], levothyroxine.Packages[0]
	tests := []struct {
		name        string
		med         rx.Medicine
		pack        rx.Package
		qty         int
		unitsPerDay float64
		want        Verdict
		msgHas      []string
	}{
		{"within the pack and 30 days", levothyroxine, small, 28, 1, Allow, []string{"28 tablets", "30 days at 1 a day"}},
		{"the whole smallest pack at two a day", levothyroxine, small, 28, 2, Allow, nil},
		{"more than the smallest pack", levothyroxine, small, 29, 2, Deny, []string{"the smallest pack (28 tablets)", "29 tablets is more"}},
		{"more than 30 days of treatment", levothyroxine, small, 20, 0.5, Deny, []string{"30 days at 0.5 a day (15 tablets)", "at most 15 tablets here"}},
		{"exactly 30 days of treatment", levothyroxine, small, 15, 0.5, Allow, nil},
		{"a fractional daily dose", levothyroxine, small, 3, 0.1, Allow, []string{"(3 tablets)"}},
		{"daily dose unknown: pack cap only, with a warning", levothyroxine, small, 28, 0, Warn, []string{"30-day cap could not be checked"}},
		{"daily dose unknown and more than the pack", levothyroxine, small, 30, 0, Deny, []string{"at most the smallest pack (28 tablets)"}},
		{"a package larger than the cap", levothyroxine, large, 28, 1, Deny, []string{"Package 100001 holds 100 tablets", "Dispense package 100002"}},
		{"no package chosen yet", levothyroxine, rx.Package{}, 28, 1, Allow, nil},
		{"a medicine without packages", noPackages, rx.Package{}, 1, 1, Deny, []string{"no package on sale"}},
		{"plural of patch", rx.Medicine{Name: "Evra", Unit: "patch", Packages: []rx.Package{{VNR: "1", Size: 3}}}, rx.Package{}, 4, 0, Deny, []string{"(3 patches)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := s.EssentialDispensing(tt.med, tt.pack, tt.qty, tt.unitsPerDay)
			d := check(t, ds, RuleEssentialQuantity, tt.want, tt.msgHas...)
			if !d.ToBeConfirmed || d.Note() != ConfirmNote {
				t.Errorf("the default quantity cap is not marked to be confirmed: %+v", d)
			}
			if Denied(ds) != (tt.want == Deny) {
				t.Errorf("Denied = %v with verdict %s", Denied(ds), tt.want)
			}
		})
	}
}

func TestEssentialNarcotic(t *testing.T) {
	s := Default()
	ds := s.EssentialDispensing(oxycodone, oxycodone.Packages[0], 10, 2)
	d := check(t, ds, RuleEssentialNarcotic, Deny, "OxyNorm 5 mg capsule is a narcotic", "narcotics cannot be dispensed as essential medication")
	if !d.ToBeConfirmed {
		t.Error("FM-ESS-NARC default not marked to be confirmed")
	}
	if !Denied(ds) {
		t.Error("a narcotic as essential medication is not denied")
	}
	if err := Err(ds); rx.ErrorCode(err) != rx.EPOLICY || !strings.Contains(err.Error(), "(FM-ESS-NARC)") {
		t.Errorf("Err = %v (code %q), want an EPOLICY error naming FM-ESS-NARC", err, rx.ErrorCode(err))
	}
	if has(s.EssentialDispensing(levothyroxine, rx.Package{}, 28, 1), RuleEssentialNarcotic) {
		t.Error("FM-ESS-NARC judged a medicine that is not a narcotic")
	}
}

func TestTelephoneNarcotic(t *testing.T) {
	s := Default()
	for _, m := range []rx.Medicine{oxycodone, fentanylPatch} {
		t.Run(m.Name, func(t *testing.T) {
			ds := s.TelephonePrescription(m, physician)
			d := check(t, ds, RuleTelephoneNarcotic, Deny, "narcotics cannot be prescribed by telephone")
			if !d.ToBeConfirmed || !Denied(ds) {
				t.Errorf("decision %+v: want a denial to be confirmed", d)
			}
		})
	}
	if has(s.TelephonePrescription(levothyroxine, physician), RuleTelephoneNarcotic) {
		t.Error("FM-TEL-NARC judged a medicine that is not a narcotic")
	}
	// A narcotic on paper is not this rule's business.
	if has(s.RecordedPrescription(rx.Prescription{Form: rx.FormPaper, Medicine: oxycodone, Prescriber: physician}), RuleTelephoneNarcotic) {
		t.Error("FM-TEL-NARC judged a paper prescription")
	}
}

func TestPKV(t *testing.T) {
	s := Default()
	t.Run("essential", func(t *testing.T) {
		ds := s.EssentialDispensing(diazepam, diazepam.Packages[0], 25, 0)
		d := check(t, ds, RulePKV, Warn, "Diapam 5 mg tablet acts on the central nervous system (PKV)")
		if !d.ToBeConfirmed || Denied(ds) {
			t.Errorf("want an allowed warning to be confirmed; got %v", ds)
		}
	})
	t.Run("telephone", func(t *testing.T) {
		ds := s.TelephonePrescription(diazepam, physician)
		d := check(t, ds, RulePKV, Warn, "verify the caller")
		if !d.ToBeConfirmed || Denied(ds) {
			t.Errorf("want an allowed warning to be confirmed; got %v", ds)
		}
	})
	t.Run("not PKV", func(t *testing.T) {
		if has(s.EssentialDispensing(levothyroxine, rx.Package{}, 28, 1), RulePKV) || has(s.TelephonePrescription(levothyroxine, physician), RulePKV) {
			t.Error("FM-PKV-WARN judged a medicine that is not PKV")
		}
	})
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestTelephoneValidity(t *testing.T) {
	s := Default()
	if got := s.TelephoneValidityMonths(); got != 3 {
		t.Fatalf("TelephoneValidityMonths = %d, want 3", got)
	}
	check(t, s.TelephonePrescription(levothyroxine, physician), RuleTelephoneValidity, Allow, "valid for 3 months")

	// Issued 31 August: valid through 30 November (the month is clamped).
	tel := rx.Prescription{Form: rx.FormTelephone, Medicine: levothyroxine, Prescriber: physician, Issued: date(2026, 8, 31)}
	tests := []struct {
		name      string
		at        time.Time
		want      Verdict
		wantGrace bool
		msgHas    string
	}{
		{"on the issue day", date(2026, 8, 31), Allow, false, "through 30.11.2026"},
		{"late on the last valid day", time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC), Allow, false, "through 30.11.2026"},
		{"the day after", date(2026, 12, 1), Warn, true, "lapsed after 30.11.2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := s.Dispensing(tel, tt.at)
			check(t, ds, RuleTelephoneValidity, tt.want, tt.msgHas)
			if has(ds, RuleGrace) != tt.wantGrace {
				t.Errorf("FM-GRACE present %v, want %v: %v", has(ds, RuleGrace), tt.wantGrace, ds)
			}
		})
	}
	// The same medicine as an e-prescription is valid for 24 months, by
	// RX-VALID, and no fault rule applies to it.
	e := tel
	e.Form = rx.FormElectronic
	ds := s.Dispensing(e, date(2026, 12, 1))
	if len(ds) != 1 {
		t.Errorf("a valid e-prescription got decisions %v, want RX-VALID alone", ds)
	}
	check(t, ds, RuleValidity, Allow, "valid for 24 months, through 31.8.2028")
}

func TestGrace(t *testing.T) {
	s := Default()
	if s.GraceMonths() != 1 {
		t.Fatalf("GraceMonths = %d, want 1", s.GraceMonths())
	}
	// 24 months: valid through 15.1.2026, grace through 15.2.2026.
	p := rx.Prescription{Form: rx.FormElectronic, Medicine: levothyroxine, Issued: date(2024, 1, 15)}
	// A narcotic: 12 months, valid through 15.1.2025.
	narc := rx.Prescription{Form: rx.FormElectronic, Medicine: oxycodone, Issued: date(2024, 1, 15)}
	// A telephone prescription: 3 months, valid through 15.4.2024.
	tel := rx.Prescription{Form: rx.FormTelephone, Medicine: levothyroxine, Issued: date(2024, 1, 15)}
	tests := []struct {
		name   string
		p      rx.Prescription
		at     time.Time
		want   Verdict
		none   bool // no FM-GRACE decision: still valid
		msgHas string
	}{
		{"valid on its last day", p, date(2026, 1, 15), 0, true, ""},
		{"lapsed a day ago", p, date(2026, 1, 16), Warn, false, "Within the grace of 1 month, through 15.2.2026"},
		{"last day of grace", p, time.Date(2026, 2, 15, 18, 0, 0, 0, time.UTC), Warn, false, ""},
		{"after the grace", p, date(2026, 2, 16), Deny, false, "its grace of 1 month ended on 15.2.2026; it cannot be dispensed"},
		{"narcotic lapsed after 12 months", narc, date(2025, 1, 20), Warn, false, "was valid through 15.1.2025"},
		{"telephone in grace", tel, date(2024, 5, 1), Warn, false, "through 15.5.2024"},
		{"telephone after grace", tel, date(2024, 5, 16), Deny, false, ""},
		{"issue date missing", rx.Prescription{Form: rx.FormPaper}, date(2026, 1, 1), Deny, false, "issue date is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := s.Dispensing(tt.p, tt.at)
			if tt.none {
				if has(ds, RuleGrace) {
					t.Errorf("a valid prescription got %v", ds)
				}
				return
			}
			d := check(t, ds, RuleGrace, tt.want, tt.msgHas)
			if d.ToBeConfirmed {
				t.Error("FM-GRACE is from a public source, not a setting to be confirmed")
			}
		})
	}
}

func TestPrescriber(t *testing.T) {
	s := Default()
	tests := []struct {
		name   string
		p      rx.Prescriber
		want   Verdict
		msgHas string
	}{
		{"physician", physician, Allow, "Anna Korhonen is a physician"},
		{"dentist", dentist, Allow, "is a dentist"},
		{"nurse", nurse, Deny, "Only a physician or a dentist may issue a paper or telephone prescription; Liisa Hoitaja is a nurse"},
		{"profession missing", rx.Prescriber{Name: "X"}, Deny, "profession of X is not given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for form, ds := range map[string][]Decision{
				"paper":              s.PaperPrescription(levothyroxine, tt.p),
				"telephone":          s.TelephonePrescription(levothyroxine, tt.p),
				"recorded paper":     s.RecordedPrescription(rx.Prescription{Form: rx.FormPaper, Prescriber: tt.p}),
				"recorded telephone": s.RecordedPrescription(rx.Prescription{Form: rx.FormTelephone, Prescriber: tt.p, Medicine: levothyroxine}),
			} {
				t.Run(form, func(t *testing.T) {
					d := check(t, ds, RulePrescriber, tt.want, tt.msgHas)
					if d.ToBeConfirmed {
						t.Error("FM-PRESCRIBER is law, not a setting to be confirmed")
					}
				})
			}
		})
	}
	if ds := s.RecordedPrescription(rx.Prescription{Form: rx.FormElectronic, Prescriber: nurse}); len(ds) != 0 {
		t.Errorf("an e-prescription got fault-rule decisions %v", ds)
	}
}

func TestHelpers(t *testing.T) {
	ds := []Decision{
		{RuleID: RulePrescriber, Verdict: Allow, Message: "a"},
		{RuleID: RulePKV, Verdict: Warn, Message: "b"},
		{RuleID: RulePKV, Verdict: Warn, Message: "c"},
	}
	if Denied(ds) || Worst(ds) != Warn || Err(ds) != nil {
		t.Errorf("Denied %v, Worst %s, Err %v; want false, warn, nil", Denied(ds), Worst(ds), Err(ds))
	}
	if got := RuleIDs(ds); !slices.Equal(got, []string{RulePrescriber, RulePKV}) {
		t.Errorf("RuleIDs = %v", got)
	}
	ds = append(ds, Decision{RuleID: RuleGrace, Verdict: Deny, Message: "no."}, Decision{RuleID: RulePrescriber, Verdict: Deny, Message: "nor."})
	if !Denied(ds) || Worst(ds) != Deny {
		t.Error("a denial is not seen")
	}
	if err := Err(ds); rx.ErrorCode(err) != rx.EPOLICY || rx.ErrorMessage(err) != "no. nor." {
		t.Errorf("Err = %q (%s), want both denials", rx.ErrorMessage(err), rx.ErrorCode(err))
	}
	if Worst(nil) != Allow || len(RuleIDs(nil)) != 0 {
		t.Error("no decisions is not Allow")
	}
	var v Verdict
	if err := v.UnmarshalText([]byte("warn")); err != nil || v != Warn {
		t.Errorf("UnmarshalText(warn) = %v, %v", v, err)
	}
	if err := v.UnmarshalText([]byte("maybe")); err == nil {
		t.Error("UnmarshalText accepted maybe")
	}
}

func writePolicy(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadOverride(t *testing.T) {
	path := writePolicy(t, `{
		"version": "apteekki-2026-12",
		"essential": {"max_days": 14},
		"telephone": {"narcotics": "warn", "validity_months": 6},
		"lapsed": {"grace_months": 0}
	}`)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "apteekki-2026-12" || s.Source != path {
		t.Errorf("version %q source %q", s.Version, s.Source)
	}
	want := Default().Settings()
	want.EssentialMaxDays, want.TelephoneNarcotics, want.TelephoneValidityMonths, want.GraceMonths = 14, Warn, 6, 0
	if got := s.Settings(); got != want {
		t.Errorf("settings\n got %+v\nwant %+v (a partial file must keep the rest)", got, want)
	}
	// The day cap follows the file: 14 days at 1 a day.
	check(t, s.EssentialDispensing(levothyroxine, rx.Package{}, 15, 1), RuleEssentialQuantity, Deny, "14 days at 1 a day (14 tablets)")
	// A setting the file gives is confirmed by it; one it leaves is not.
	if d := find(t, s.TelephonePrescription(oxycodone, physician), RuleTelephoneNarcotic); d.Verdict != Warn || d.ToBeConfirmed {
		t.Errorf("FM-TEL-NARC from the file: %+v, want a confirmed warning", d)
	}
	if d := find(t, s.EssentialDispensing(oxycodone, rx.Package{}, 1, 1), RuleEssentialNarcotic); d.Verdict != Deny || !d.ToBeConfirmed {
		t.Errorf("FM-ESS-NARC left at the default: %+v, want a denial still to be confirmed", d)
	}
	// The quantity cap rests on two settings; the file gave only one.
	if d := find(t, s.EssentialDispensing(levothyroxine, rx.Package{}, 1, 1), RuleEssentialQuantity); !d.ToBeConfirmed {
		t.Error("FM-ESS-QTY is confirmed though max_smallest_packs still holds its default")
	}
	tel := rx.Prescription{Form: rx.FormTelephone, Medicine: levothyroxine, Issued: date(2026, 1, 10)}
	if ds := s.Dispensing(tel, date(2026, 7, 10)); Worst(ds) != Allow {
		t.Errorf("6-month telephone validity not applied: %v", ds)
	}
	check(t, s.Dispensing(tel, date(2026, 7, 11)), RuleGrace, Deny, "allows no grace")

	// The default is untouched by the override.
	if Default().Settings().EssentialMaxDays != 30 {
		t.Error("loading an override changed the default")
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // each must appear in the error
	}{
		{"unknown top-level key", `{"version": "x", "narcotics": "allow"}`,
			[]string{`unknown key "narcotics"`, "known here: essential, lapsed, telephone, validity, version"}},
		{"unknown keys in sections, all named", `{"version": "x", "essential": {"max_day": 10, "pkv": "warn"}, "lapsed": {"grace": 2}}`,
			[]string{`unknown key "essential.max_day"`, `unknown key "lapsed.grace"`, "essential.max_days"}},
		{"negative day cap", `{"version": "x", "essential": {"max_days": -5}}`,
			[]string{"essential.max_days = -5 is negative", "from 1 to 365"}},
		{"negative pack cap", `{"version": "x", "essential": {"max_smallest_packs": -1}}`,
			[]string{"essential.max_smallest_packs = -1 is negative"}},
		{"zero pack cap", `{"version": "x", "essential": {"max_smallest_packs": 0}}`,
			[]string{"essential.max_smallest_packs = 0 is out of range"}},
		{"negative grace", `{"version": "x", "lapsed": {"grace_months": -1}}`,
			[]string{"lapsed.grace_months = -1 is negative"}},
		{"telephone validity too long", `{"version": "x", "telephone": {"validity_months": 36}}`,
			[]string{"telephone.validity_months = 36 is out of range"}},
		{"bad verdict", `{"version": "x", "telephone": {"narcotics": "sometimes"}}`,
			[]string{`telephone.narcotics = "sometimes" is not allow, warn or deny`}},
		{"every problem at once", `{"version": "x", "essential": {"max_days": 0, "pkv": "no"}}`,
			[]string{"essential.max_days = 0", `essential.pkv = "no"`}},
		{"wrong type", `{"version": "x", "essential": {"max_days": "30"}}`,
			[]string{"essential.max_days: expected a whole number, not a JSON string"}},
		{"fraction", `{"version": "x", "essential": {"max_days": 2.5}}`,
			[]string{"essential.max_days: expected a whole number"}},
		{"null", `{"version": "x", "essential": {"max_days": null}}`,
			[]string{"essential.max_days is null"}},
		{"version missing", `{"essential": {"max_days": 10}}`, []string{"version is missing"}},
		{"not JSON", `version = "x"`, []string{"not valid JSON"}},
		{"not an object", `["x"]`, []string{"one JSON object"}},
		{"trailing data", `{"version": "x"} {"version": "y"}`, []string{"more after the JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writePolicy(t, tt.body)
			s, err := Load(path)
			if err == nil {
				t.Fatalf("Load accepted %s: %+v", tt.body, s.Settings())
			}
			if rx.ErrorCode(err) != rx.EINVALID {
				t.Errorf("code %q, want %q", rx.ErrorCode(err), rx.EINVALID)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := Load(filepath.Join(t.TempDir(), "absent.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load of a missing file: %v", err)
		}
	})
}
