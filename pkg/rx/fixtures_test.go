package rx_test

import (
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// fixtureNows are the moments the fixtures are checked at: the states they
// cover must hold on any day, including month ends and a leap day, where
// month arithmetic is most likely to slip.
func fixtureNows() map[string]time.Time {
	helsinki := time.FixedZone("EET", 2*60*60)
	return map[string]time.Time{
		"fixed":        time.Date(2026, time.November, 22, 14, 0, 0, 0, time.UTC),
		"month end":    time.Date(2026, time.March, 31, 23, 30, 0, 0, helsinki),
		"leap day":     time.Date(2028, time.February, 29, 9, 0, 0, 0, time.UTC),
		"new year eve": time.Date(2027, time.December, 31, 23, 59, 0, 0, time.UTC),
		"now":          time.Now(),
	}
}

func fixtureSources() map[string]fs.FS {
	return map[string]fs.FS{
		"dir":      os.DirFS("../../testdata/fixtures"),
		"embedded": tiski.Fixtures(),
	}
}

func TestFixturesEmbeddedMatchDir(t *testing.T) {
	now := time.Date(2026, time.November, 22, 14, 0, 0, 0, time.UTC)
	dir, err := rx.LoadFixtures(os.DirFS("../../testdata/fixtures"), now)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := rx.LoadFixtures(tiski.Fixtures(), now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dir, emb) {
		t.Error("the embedded fixtures differ from testdata/fixtures")
	}
}

func TestFixtures(t *testing.T) {
	for srcName, src := range fixtureSources() {
		for nowName, now := range fixtureNows() {
			t.Run(srcName+"/"+nowName, func(t *testing.T) {
				fx, err := rx.LoadFixtures(src, now)
				if err != nil {
					t.Fatal(err)
				}
				checkCounts(t, fx)
				checkPatients(t, fx)
				checkMedicines(t, fx)
				checkPrescribers(t, fx)
				checkPrescriptions(t, fx, now)
				checkStates(t, fx, now)
				checkDispensings(t, fx, now)
			})
		}
	}
}

func checkCounts(t *testing.T, fx *rx.Fixtures) {
	t.Helper()
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"medicines", len(fx.Medicines), 40},
		{"prescribers", len(fx.Prescribers), 12},
		{"patients", len(fx.Patients), 25},
		{"prescriptions", len(fx.Prescriptions), 80},
	} {
		if c.got < c.want {
			t.Errorf("%d %s, want at least %d", c.got, c.what, c.want)
		}
	}
}

func checkPatients(t *testing.T, fx *rx.Fixtures) {
	t.Helper()
	signs := map[byte]int{}
	seen := map[string]bool{}
	for _, p := range fx.Patients {
		id, err := p.ID()
		if err != nil {
			t.Errorf("patient %s: %v", p.Name(), err)
			continue
		}
		if !id.IsTest() {
			t.Errorf("patient %s has a real identity code", p.Name())
		}
		if seen[id.String()] {
			t.Errorf("patient %s: identity code used twice", p.Name())
		}
		seen[id.String()] = true
		if p.Family == "" || p.Given == "" {
			t.Errorf("patient %s has no full name", id.Masked())
		}
		signs[id.String()[6]]++
	}
	for _, s := range []byte("+-YXWVUABCDEF") {
		if signs[s] == 0 {
			t.Errorf("no patient with century sign %c", s)
		}
	}
	if signs['+'] > 2 {
		t.Errorf("%d patients born in the 1800s; keep them rare", signs['+'])
	}
}

func checkMedicines(t *testing.T, fx *rx.Fixtures) {
	t.Helper()
	vnrs := map[string]string{}
	for _, m := range fx.Medicines {
		if m.ID == "" || m.Name == "" || m.Substance == "" || m.Strength == "" || m.Form == "" || m.Unit == "" || m.Category == "" {
			t.Errorf("medicine %q has an empty field: %+v", m.ID, m)
		}
		if len(m.ATC) != 7 {
			t.Errorf("medicine %s: ATC %q is not 7 characters", m.ID, m.ATC)
		}
		for i, p := range m.Packages {
			if len(p.VNR) != 6 || strings.Trim(p.VNR, "0123456789") != "" {
				t.Errorf("medicine %s: package number %q is not 6 digits", m.ID, p.VNR)
			}
			if !p.FixtureNumber {
				t.Errorf("medicine %s: package %s is not marked as a fixture number", m.ID, p.VNR)
			}
			if p.Size <= 0 {
				t.Errorf("medicine %s: package %s has size %d", m.ID, p.VNR, p.Size)
			}
			if i > 0 && p.Size <= m.Packages[i-1].Size {
				t.Errorf("medicine %s: packages are not smallest first", m.ID)
			}
			if other, dup := vnrs[p.VNR]; dup {
				t.Errorf("package number %s used by both %s and %s", p.VNR, other, m.ID)
			}
			vnrs[p.VNR] = m.ID
		}
	}
	groups := []struct {
		name string
		is   func(rx.Medicine) bool
	}{
		{"narcotic", func(m rx.Medicine) bool { return m.Narcotic }},
		{"PKV", func(m rx.Medicine) bool { return m.PKV }},
		{"oxycodone", func(m rx.Medicine) bool { return m.Narcotic && m.ATC == "N02AA05" }},
		{"buprenorphine", func(m rx.Medicine) bool { return m.Narcotic && m.ATC == "N02AE01" }},
		{"fentanyl", func(m rx.Medicine) bool { return m.Narcotic && m.ATC == "N02AB03" }},
		{"morphine", func(m rx.Medicine) bool { return m.Narcotic && m.ATC == "N02AA01" }},
		{"diazepam", func(m rx.Medicine) bool { return m.PKV && m.ATC == "N05BA01" }},
		{"zopiclone", func(m rx.Medicine) bool { return m.PKV && m.ATC == "N05CF01" }},
		{"alprazolam", func(m rx.Medicine) bool { return m.PKV && m.ATC == "N05BA12" }},
		{"insulin", func(m rx.Medicine) bool { return strings.HasPrefix(m.ATC, "A10A") }},
		{"inhaler", func(m rx.Medicine) bool { return strings.HasPrefix(m.ATC, "R03") }},
		{"antiepileptic", func(m rx.Medicine) bool { return strings.HasPrefix(m.ATC, "N03") }},
		{"levothyroxine", func(m rx.Medicine) bool { return m.ATC == "H03AA01" }},
		{"warfarin", func(m rx.Medicine) bool { return m.ATC == "B01AA03" }},
		{"metformin", func(m rx.Medicine) bool { return m.ATC == "A10BA02" }},
		{"ramipril", func(m rx.Medicine) bool { return m.ATC == "C09AA05" }},
	}
	for _, g := range groups {
		if count(fx.Medicines, g.is) == 0 {
			t.Errorf("no %s medicine", g.name)
		}
	}
}

func checkPrescribers(t *testing.T, fx *rx.Fixtures) {
	t.Helper()
	profs := map[rx.Profession]int{}
	seen := map[string]bool{}
	for _, d := range fx.Prescribers {
		if seen[d.ID] {
			t.Errorf("prescriber %q appears twice", d.ID)
		}
		seen[d.ID] = true
		if len(d.Registration) != 11 || strings.Trim(d.Registration, "0123456789") != "" {
			t.Errorf("prescriber %s: registration %q is not 11 digits", d.ID, d.Registration)
		}
		if d.Name == "" || d.Phone == "" || d.Workplace == "" {
			t.Errorf("prescriber %s has an empty field", d.ID)
		}
		profs[d.Profession]++
	}
	if profs[rx.Physician] <= len(fx.Prescribers)/2 {
		t.Errorf("%d physicians of %d prescribers, want most", profs[rx.Physician], len(fx.Prescribers))
	}
	for _, p := range []rx.Profession{rx.Dentist, rx.Nurse} {
		if profs[p] == 0 {
			t.Errorf("no %s among the prescribers", p)
		}
	}
}

func checkPrescriptions(t *testing.T, fx *rx.Fixtures, now time.Time) {
	t.Helper()
	perPatient := map[string]int{}
	for _, p := range fx.Prescriptions {
		perPatient[p.Patient]++
		if !isBarcodeID(p.ID) {
			t.Errorf("prescription id %q is not usable as a FHIR id and a barcode", p.ID)
		}
		if p.Dosage == "" {
			t.Errorf("%s has no dosage", p.ID)
		}
		if p.Issued.After(now) {
			t.Errorf("%s is issued in the future", p.ID)
		}
		if p.Status == rx.StatusCompleted && p.Dispensed != p.Total() {
			t.Errorf("%s is completed with %d of %d dispensed", p.ID, p.Dispensed, p.Total())
		}
		if p.Status == rx.StatusActive && p.Remaining() == 0 {
			t.Errorf("%s is active with nothing left to dispense", p.ID)
		}
		if p.Form != rx.FormElectronic {
			if !p.Prescriber.MayIssueExceptional() {
				t.Errorf("%s: a %s issued a %s prescription", p.ID, p.Prescriber.Profession, p.Form)
			}
			if p.Reason == "" {
				t.Errorf("%s: %s prescription without a reason", p.ID, p.Form)
			}
		}
	}
	most := 0
	for _, p := range fx.Patients {
		n := perPatient[p.HETU]
		if n == 0 {
			t.Errorf("patient %s has no prescription", p.Name())
		}
		most = max(most, n)
	}
	if most < 15 {
		t.Errorf("the patient with the most prescriptions has %d, want one with at least 15", most)
	}
}

// checkStates asserts that every state the simulator and the counter need is
// present, derived from the data rather than from the notes.
func checkStates(t *testing.T, fx *rx.Fixtures, now time.Time) {
	t.Helper()
	valid := func(p rx.Prescription) bool { return p.ValidityAt(now, law) == rx.Valid }
	active := func(p rx.Prescription) bool {
		return p.Status == rx.StatusActive && p.LockedBy == "" && p.Remaining() > 0 && valid(p)
	}
	states := []struct {
		name string
		is   func(rx.Prescription) bool
	}{
		{"active, not yet dispensed", func(p rx.Prescription) bool { return active(p) && p.Dispensed == 0 }},
		{"partly dispensed", func(p rx.Prescription) bool {
			return p.Status == rx.StatusActive && p.Dispensed > 0 && p.Dispensed < p.Total()
		}},
		{"with repeats", func(p rx.Prescription) bool { return active(p) && p.Repeats > 0 }},
		{"completed", func(p rx.Prescription) bool { return p.Status == rx.StatusCompleted && p.Dispensed == p.Total() }},
		{"cancelled", func(p rx.Prescription) bool { return p.Status == rx.StatusCancelled }},
		{"expired", func(p rx.Prescription) bool {
			return p.Status == rx.StatusActive && p.ValidityAt(now, law) == rx.Expired
		}},
		{"in grace", func(p rx.Prescription) bool {
			return p.Status == rx.StatusActive && p.Remaining() > 0 && p.ValidityAt(now, law) == rx.InGrace
		}},
		{"locked by another pharmacy", func(p rx.Prescription) bool {
			return p.Status == rx.StatusActive && p.LockedBy != "" && p.Remaining() > 0 && valid(p)
		}},
		{"narcotic, dispensable", func(p rx.Prescription) bool { return active(p) && p.Medicine.Narcotic }},
		{"PKV, dispensable", func(p rx.Prescription) bool { return active(p) && p.Medicine.PKV }},
		{"telephone, still valid", func(p rx.Prescription) bool {
			return active(p) && p.Form == rx.FormTelephone && p.Reason != "" &&
				law.MonthsFor(p.Medicine, p.Form) == 3
		}},
		{"paper", func(p rx.Prescription) bool { return p.Form == rx.FormPaper && p.Reason != "" }},
		{"one dispensing left", func(p rx.Prescription) bool {
			return active(p) && p.Dispensed > 0 && p.Remaining() == p.Quantity
		}},
	}
	for _, s := range states {
		if count(fx.Prescriptions, s.is) == 0 {
			t.Errorf("no prescription is %s", s.name)
		}
	}

	// Reconciliation: two dispensable prescriptions of one patient with the
	// same ATC code from the same prescriber, and a paper one among such.
	type key struct{ patient, atc, prescriber string }
	byKey := map[key][]rx.Prescription{}
	for _, p := range fx.Prescriptions {
		if active(p) {
			k := key{p.Patient, p.Medicine.ATC, p.Prescriber.ID}
			byKey[k] = append(byKey[k], p)
		}
	}
	var pairs, paperPairs int
	for _, ps := range byKey {
		if len(ps) >= 2 {
			pairs++
			if count(ps, func(p rx.Prescription) bool { return p.Form == rx.FormPaper }) > 0 {
				paperPairs++
			}
		}
	}
	if pairs < 2 {
		t.Errorf("%d duplicate-ATC pairs (same patient and prescriber), want at least 2", pairs)
	}
	if paperPairs == 0 {
		t.Error("no paper prescription duplicating an active e-prescription")
	}
}

func checkDispensings(t *testing.T, fx *rx.Fixtures, now time.Time) {
	t.Helper()
	byID := map[string]rx.Prescription{}
	for _, p := range fx.Prescriptions {
		byID[p.ID] = p
	}
	sum := map[string]int{}
	for i, d := range fx.Dispensings {
		p, ok := byID[d.PrescriptionID]
		if !ok {
			t.Errorf("dispensing of unknown prescription %s", d.PrescriptionID)
			continue
		}
		sum[d.PrescriptionID] += d.Quantity
		if d.Time.Before(p.Issued) || d.Time.After(now) {
			t.Errorf("%s: dispensing at %s is outside issue %s .. now %s", p.ID, d.Time, p.Issued, now)
		}
		if d.Quantity <= 0 || d.Pharmacy == "" {
			t.Errorf("%s: dispensing %+v", p.ID, d)
		}
		if i > 0 && d.Time.Before(fx.Dispensings[i-1].Time) {
			t.Errorf("dispensings are not oldest first at %d", i)
		}
	}
	for _, p := range fx.Prescriptions {
		if sum[p.ID] != p.Dispensed {
			t.Errorf("%s: Dispensed %d, dispensings sum to %d", p.ID, p.Dispensed, sum[p.ID])
		}
	}
}

func isBarcodeID(s string) bool {
	if len(s) < 6 || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func count[T any](xs []T, is func(T) bool) int {
	n := 0
	for _, x := range xs {
		if is(x) {
			n++
		}
	}
	return n
}

// testCode makes a valid identity code for 1 January 1980 with individual.
func testCode(individual int) string {
	return fmt.Sprintf("010180-%03d%c", individual, hetu.CheckChar("010180", individual))
}

// minimalFixtures is one of everything, as files; each loader test breaks one.
func minimalFixtures() map[string]string {
	return map[string]string{
		"medicines.json": `{"note": "", "medicines": [{"id": "panadol", "name": "Panadol", "substance": "paracetamol",
			"atc": "N02BE01", "strength": "500 mg", "form": "tablet", "unit": "tablet", "category": "analgesic",
			"narcotic": false, "pkv": false, "packages": [{"vnr": "990011", "size": 30, "fixture_number": true}]}]}`,
		"prescribers.json": `{"note": "", "prescribers": [{"id": "dr-a", "name": "Anna Korhonen",
			"registration": "10094180000", "profession": "physician"}]}`,
		"patients.json": `{"note": "", "patients": [{"hetu": "` + testCode(901) + `", "family": "Korhonen", "given": "Matti"}]}`,
		"prescriptions.json": `{"note": "", "prescriptions": [{"id": "EP26000101", "patient": "` + testCode(901) + `",
			"prescriber": "dr-a", "medicine": "panadol", "form": "electronic", "issued_months_ago": 1,
			"dosage": "1 tablet 3 times a day", "quantity": 30, "repeats": 1,
			"dispensings": [{"days_ago": 10, "quantity": 30, "pharmacy": "Helsingin Kallion apteekki"}]}]}`,
	}
}

func TestLoadFixturesRejects(t *testing.T) {
	now := time.Date(2026, time.November, 22, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		file    string
		replace [2]string // old, new in that file
		want    string    // in the error
	}{
		{"non-test identity code", "patients.json", [2]string{testCode(901), testCode(123)}, "test codes"},
		{"invalid identity code", "patients.json", [2]string{testCode(901), "010180-901X"}, "check character"},
		{"dangling medicine", "prescriptions.json", [2]string{`"medicine": "panadol"`, `"medicine": "burana"`}, `no medicine "burana"`},
		{"dangling prescriber", "prescriptions.json", [2]string{`"prescriber": "dr-a"`, `"prescriber": "dr-b"`}, `no prescriber "dr-b"`},
		{"dangling patient", "prescriptions.json", [2]string{`"patient": "` + testCode(901), `"patient": "` + testCode(903)}, "no patient"},
		{"unknown field", "medicines.json", [2]string{`"pkv": false`, `"pkv": false, "schedule": "A"`}, "unknown field"},
		{"unknown form", "prescriptions.json", [2]string{`"form": "electronic"`, `"form": "fax"`}, "unknown form"},
		{"dispensed over total", "prescriptions.json", [2]string{`"dispensings": [`,
			`"dispensings": [{"days_ago": 5, "quantity": 31, "pharmacy": "Turun Hansa-apteekki"}, `}, "cannot cover 61 dispensed"},
		{"medicine without packages", "medicines.json", [2]string{`[{"vnr": "990011", "size": 30, "fixture_number": true}]`, `[]`}, "no packages"},
	}
	t.Run("minimal set loads", func(t *testing.T) {
		if _, err := rx.LoadFixtures(mapFS(minimalFixtures()), now); err != nil {
			t.Fatal(err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := minimalFixtures()
			if !strings.Contains(files[tt.file], tt.replace[0]) {
				t.Fatalf("%s does not contain %q", tt.file, tt.replace[0])
			}
			files[tt.file] = strings.Replace(files[tt.file], tt.replace[0], tt.replace[1], 1)
			_, err := rx.LoadFixtures(mapFS(files), now)
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		files := minimalFixtures()
		delete(files, "patients.json")
		if _, err := rx.LoadFixtures(mapFS(files), now); err == nil {
			t.Fatal("loaded without patients.json")
		}
	})
}

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, body := range files {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}
