package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestCatalogueSyncThirdParty runs `tiski catalogue sync` against a FHIR R4
// server no one on tiski wrote (Medplum, as TestThirdPartyServer): a few
// hundred Medications in the shape of pkg/centresim's README, a full sync,
// changes made with plain FHIR updates and creates, and an incremental sync
// (_lastUpdated=gt…) that takes only those.
func TestCatalogueSyncThirdParty(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Medplum")
	}
	up := startMedplum(t)
	const n = 300
	medication := func(i int, name, status string) []byte {
		vnr := fmt.Sprintf("%06d", 500000+i)
		return mustMarshal(t, map[string]any{
			"resourceType": "Medication",
			"id":           "med-" + vnr,
			"status":       status,
			"code": map[string]any{"coding": []map[string]string{
				{"system": rx.SystemVNR, "code": vnr},
				{"system": rx.SystemATC, "code": "C10AA01", "display": "simvastatiini"}}, "text": name},
			"form":   map[string]string{"text": "tabletti, kalvopäällysteinen"},
			"amount": map[string]any{"numerator": map[string]any{"value": 30, "unit": "tablet"}, "denominator": map[string]any{"value": 1}},
			"extension": []map[string]string{
				{"url": "https://tiski-rx.github.io/fhir/StructureDefinition/strength", "valueString": "20 mg"},
				{"url": "https://tiski-rx.github.io/fhir/StructureDefinition/pack-size", "valueString": "30 fol"},
				{"url": "https://tiski-rx.github.io/fhir/StructureDefinition/prescription-status", "valueCode": "R"},
				{"url": "https://tiski-rx.github.io/fhir/StructureDefinition/substitution-group", "valueString": "1234"},
			},
		})
	}
	put := func(i int, name, status string) {
		fhirCall(t, http.MethodPut, fmt.Sprintf("%s/Medication/med-%06d", up.url, 500000+i), medication(i, name, status), http.StatusCreated, http.StatusOK)
	}
	for i := range n {
		put(i, fmt.Sprintf("Simvastatin Test %03d", i), "active")
	}
	data := t.TempDir()
	run := func(args ...string) ([]byte, error) {
		return exec.Command(tiskiBin, append([]string{"catalogue", "sync", "--json", "--centre", up.url, "--data", data}, args...)...).CombinedOutput()
	}
	// Medplum's FhirRouter (without Medplum's server package, which adds
	// them) answers a page with its total but no next link: the sync sees
	// its pages end short of the total and refuses them, rather than take
	// a third of the catalogue for the whole.
	if out, err := run("--page-size", "100"); err == nil || !strings.Contains(string(out), "ended after 100 of its 300") ||
		!strings.Contains(string(out), "The old catalogue still answers") {
		t.Errorf("sync of 300 in pages of 100 from a server without next links: %v\n%s", err, out)
	}
	sync := func(args ...string) catalogueSyncJSON {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("tiski catalogue sync against Medplum: %v\n%s", err, out)
		}
		var s catalogueSyncJSON
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return s
	}
	first := sync()
	if !first.Full || first.Fetched != n || first.Status.Count != n || first.Pages != 1 {
		t.Fatalf("first sync against Medplum: %+v, want %d packages", first, n)
	}
	put(3, "Simvastatin Test 003 uusi", "active")
	put(4, "Simvastatin Test 004", "inactive")
	put(n, "Simvastatin Test new", "active")
	second := sync()
	if second.Full || second.Fetched != 3 || second.Changed != 2 || second.Withdrawn != 1 || second.Status.Count != n {
		t.Errorf("incremental sync against Medplum: %+v; want 3 fetched, 2 changed, 1 withdrawn, %d packages", second, n)
	}
}

type catalogueSyncJSON struct {
	Full      bool `json:"full"`
	Pages     int  `json:"pages"`
	Fetched   int  `json:"fetched"`
	Changed   int  `json:"changed"`
	Withdrawn int  `json:"withdrawn"`
	Status    struct {
		Count int `json:"count"`
	} `json:"status"`
}
