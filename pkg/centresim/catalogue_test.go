package centresim

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestGeneratedCatalogueIsStableAndRealistic(t *testing.T) {
	a, b := generateCatalogue(), generateCatalogue()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generations differ: the catalogue must be the same on every run")
	}
	if len(a) < 14000 || len(a) > 16000 {
		t.Errorf("%d packages generated, want about 15,000", len(a))
	}
	// Pinned: a change of the seed, the substances or the generation shows
	// here, since it renumbers every package a test or a demo may hold.
	if a[0].VNR != "447851" || a[0].Name != "Panadol" {
		t.Errorf("first package %+v, want VNR 447851 Panadol (was the generation changed?)", a[0])
	}
	seen := map[string]bool{}
	groups := map[string]map[string]bool{} // group → brands
	classes := map[string]string{}
	for _, p := range a {
		if seen[p.VNR] {
			t.Fatalf("VNR %s twice", p.VNR)
		}
		seen[p.VNR] = true
		if len(p.VNR) != 6 || strings.HasPrefix(p.VNR, "99") || strings.HasPrefix(p.VNR, "98") {
			t.Fatalf("VNR %q: six digits, never 98xxxx (added by the lever) nor 99xxxx (the fixtures')", p.VNR)
		}
		if p.Name == "" || p.ATC == "" || p.Strength == "" || p.Form == "" || p.PackText == "" || p.Group == "" || p.Size <= 0 {
			t.Fatalf("package lacks a field: %+v", p)
		}
		if p.Prescription != "R" && p.Prescription != "K" {
			t.Fatalf("package %s: prescription status %q", p.VNR, p.Prescription)
		}
		if groups[p.Group] == nil {
			groups[p.Group] = map[string]bool{}
		}
		groups[p.Group][p.Name] = true
		classes[p.Substance] = p.Class
	}
	multi := 0
	for _, brands := range groups {
		if len(brands) >= 3 {
			multi++
		}
	}
	if multi < len(groups)/2 {
		t.Errorf("%d of %d substitution groups have three brands or more; generics should share most", multi, len(groups))
	}
	for substance, want := range map[string]string{"oksikodoni": "narcotic", "fentanyyli": "narcotic", "diatsepaami": "pkv",
		"tsopikloni": "pkv", "simvastatiini": ""} {
		if got := classes[substance]; got != want {
			t.Errorf("%s: class %q, want %q", substance, got, want)
		}
	}
}

// servedMedication is what the tests read of a served Medication.
type servedMedication struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Meta   struct {
		VersionID string `json:"versionId"`
	} `json:"meta"`
	Code struct {
		Text string `json:"text"`
	} `json:"code"`
	Extension []extension `json:"extension"`
	raw       json.RawMessage
}

// pageAll reads a Medication search page by page through its next links.
func pageAll(t *testing.T, first string, between func(page int)) (ids []string, bodies map[string]servedMedication, pages int) {
	t.Helper()
	bodies = map[string]servedMedication{}
	next := first
	for next != "" {
		pages++
		if pages > 1000 {
			t.Fatal("more than 1000 pages")
		}
		a := call(t, nil, "GET", next, nil)
		if a.status != 200 {
			t.Fatalf("GET %s: %d %s", next, a.status, a.body)
		}
		var b struct {
			Link  []struct{ Relation, URL string }
			Entry []struct {
				Resource json.RawMessage
			}
		}
		if err := json.Unmarshal(a.body, &b); err != nil {
			t.Fatal(err)
		}
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		for _, e := range b.Entry {
			var m servedMedication
			if err := json.Unmarshal(e.Resource, &m); err != nil {
				t.Fatal(err)
			}
			m.raw = e.Resource
			ids = append(ids, m.ID)
			bodies[m.ID] = m
		}
		if between != nil {
			between(pages)
		}
	}
	return ids, bodies, pages
}

func TestCatalogueServedInPagesWithTheFixtures(t *testing.T) {
	v := fhirschema.ForTest(t)
	start := time.Now()
	s := startSim(t, Config{Fixtures: tiski.Fixtures(), Catalogue: true})
	t.Logf("start with the catalogue: %v", time.Since(start))
	ids, bodies, pages := pageAll(t, s.URL()+"/Medication?_count=500", nil)
	if len(ids) < 14000 {
		t.Fatalf("%d Medications served, want about 15,000", len(ids))
	}
	if len(bodies) != len(ids) {
		t.Fatalf("%d Medications served, %d distinct: a page repeated one", len(ids), len(bodies))
	}
	if want := (len(ids) + 499) / 500; pages != want {
		t.Errorf("%d pages, want %d", pages, want)
	}
	// The fixtures' medicines are among them, with their numbers.
	fx, err := rx.LoadFixtures(tiski.Fixtures(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range fx.Medicines {
		for _, p := range m.Packages {
			if _, ok := bodies["med-"+p.VNR]; !ok {
				t.Errorf("fixture package %s (%s) not served", p.VNR, m.Name)
			}
		}
	}
	// Every 499th Medication, and one of each class, validates against the
	// official R4 schema and carries what a catalogue needs.
	check := map[string]bool{"med-990051": true, "med-990111": true}
	for i, id := range ids {
		if i%499 == 0 {
			check[id] = true
		}
	}
	for id := range check {
		a := call(t, nil, "GET", s.URL()+"/Medication/"+id, nil)
		if a.status != 200 {
			t.Fatalf("GET Medication/%s: %d", id, a.status)
		}
		v.Check(t, "Medication/"+id, a.body)
		exts := map[string]any{}
		for _, e := range a.json(t)["extension"].([]any) {
			e := e.(map[string]any)
			for k, v := range e {
				if strings.HasPrefix(k, "value") {
					exts[e["url"].(string)] = v
				}
			}
		}
		for _, u := range []string{extStrength, extPackSize, extPrescription} {
			if exts[u] == nil {
				t.Errorf("Medication/%s lacks extension %s", id, u)
			}
		}
		if !strings.HasPrefix(id, "med-99") && exts[extSubstitution] == nil {
			t.Errorf("Medication/%s lacks its substitution group", id)
		}
	}
	if c := classOf(bodies["med-990051"]); c != "narcotic" {
		t.Errorf("OxyNorm's class %q, want narcotic", c)
	}
}

func classOf(m servedMedication) string {
	for _, e := range m.Extension {
		if e.URL == extMedicineClass && e.ValueCode != nil {
			return *e.ValueCode
		}
	}
	return ""
}

// A client paging through the catalogue while it changes meets every
// package: a Medication updated behind it moves to the end of the order,
// where it is met again with its new version, and none is skipped.
func TestMedicationPagingIsStableUnderUpdates(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{Fixtures: tiski.Fixtures(), Catalogue: true})
	var before []string
	rows, err := s.store.r.Query(`SELECT id FROM medication`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		before = append(before, id)
	}
	rows.Close()
	var changed CatalogueChanged
	ids, bodies, _ := pageAll(t, s.URL()+"/Medication?_count=300", func(page int) {
		if page == 3 {
			var err error
			if changed, err = s.ChangeCatalogue(CatalogueChange{Update: 4, Add: 2, Withdraw: 3}); err != nil {
				t.Fatal(err)
			}
		}
	})
	got := map[string]bool{}
	for _, id := range ids {
		got[id] = true
	}
	for _, id := range before {
		if !got[id] {
			t.Errorf("%s was skipped while the catalogue changed", id)
		}
	}
	for _, vnr := range changed.Added {
		if !got["med-"+vnr] {
			t.Errorf("added %s not met", vnr)
		}
	}
	if n := len(changed.Updated) + len(changed.Added) + len(changed.Withdrawn); n != 9 {
		t.Fatalf("changed %+v, want 4 + 2 + 3", changed)
	}
	// The last met of each is its newest version.
	for _, vnr := range changed.Updated {
		m := bodies["med-"+vnr]
		if !strings.HasSuffix(m.Code.Text, " uusi") || m.Meta.VersionID != "2" {
			t.Errorf("updated %s met as %q, version %s", vnr, m.Code.Text, m.Meta.VersionID)
		}
	}
	for _, vnr := range changed.Withdrawn {
		m := bodies["med-"+vnr]
		if m.Status != "inactive" {
			t.Errorf("withdrawn %s met with status %v", vnr, m.Status)
		}
		v.Check(t, "withdrawn Medication", m.raw)
	}
}

func TestMedicationLastUpdated(t *testing.T) {
	s := startSim(t, Config{Fixtures: tiski.Fixtures(), Catalogue: true})
	seeded := testNow.UTC().Format(lastUpdatedLayout)
	count := func(query string) int {
		t.Helper()
		a := call(t, nil, "GET", s.URL()+"/Medication?"+query, nil)
		if a.status != 200 {
			t.Fatalf("%s: %d %s", query, a.status, a.body)
		}
		return int(a.json(t)["total"].(float64))
	}
	all := count("_count=0")
	if n := count(url.Values{"_lastUpdated": {"gt" + seeded}, "_count": {"0"}}.Encode()); n != 0 {
		t.Errorf("gt the seeding: %d, want 0", n)
	}
	if n := count(url.Values{"_lastUpdated": {"ge" + seeded}, "_count": {"0"}}.Encode()); n != all {
		t.Errorf("ge the seeding: %d, want all %d", n, all)
	}
	// The day of the seeding holds it all; "gt" that day (after its end)
	// nothing; "eq" the second all.
	day := testNow.UTC().Format(time.DateOnly)
	if n := count(url.Values{"_lastUpdated": {day}, "_count": {"0"}}.Encode()); n != all {
		t.Errorf("eq the day: %d, want %d", n, all)
	}
	if n := count(url.Values{"_lastUpdated": {"gt" + day}, "_count": {"0"}}.Encode()); n != 0 {
		t.Errorf("gt the day: %d, want 0", n)
	}
	changed, err := s.ChangeCatalogue(CatalogueChange{Update: 2, Add: 1, Withdraw: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A "+" sent raw (a space once decoded) is read as the zone's sign.
	plus := strings.Replace(testNow.In(time.FixedZone("", 2*3600)).Format(lastUpdatedLayout), "+", "%2B", 1)
	for _, q := range []string{"_lastUpdated=gt" + url.QueryEscape(seeded), "_lastUpdated=gt" + plus,
		"_lastUpdated=gt" + strings.Replace(plus, "%2B", "+", 1)} {
		if n := count(q + "&_count=0"); n != 4 {
			t.Errorf("%s after the change: %d, want 4 (%+v)", q, n, changed)
		}
	}
	for _, bad := range []string{"_lastUpdated=sa" + seeded, "_lastUpdated=yesterday"} {
		a := call(t, nil, "GET", s.URL()+"/Medication?"+strings.ReplaceAll(bad, "+", "%2B"), nil)
		if a.status != 400 {
			t.Errorf("%s: %d, want 400", bad, a.status)
		}
	}
}
