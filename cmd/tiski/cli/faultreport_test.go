package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

var identityCode = regexp.MustCompile(`\d{6}[-+A]\d{3}[0-9A-Y]`)

// TestFaultReportAfterOutage runs the check: after a simulated
// outage (the simulator answers 500 to every call while the counter is in
// FAULT and its records wait), `tiski --lang fi fault report` names the
// criteria met with their evidence and holds no identity code; the JSON
// says the same in every language, and a notice from Kela turns the
// verdict to "announced".
func TestFaultReportAfterOutage(t *testing.T) {
	sim, data := syncFixture(t)
	t.Setenv("TISKI_PHARMACY_NAME", "Apteekki Tiski")
	t.Setenv("TISKI_PHARMACY_OID", "1.2.246.10.12345678.10.0")
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{Terminal: "kassa-1", SkipIntegrityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: 500 Internal Server Error"}); err != nil || !changed {
		t.Fatalf("FAULT: changed %v, %v", changed, err)
	}
	// During the fault, essential medication on the patient's instruction sheet.
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	metformin, _ := fx.Medicine("metforem-500mg-tabl")
	svc := &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}}
	if _, err := svc.Dispense(ctx, rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist},
		rx.Dispensing{PrescriptionID: "EP26000101", Patient: "140348-901W", Medicine: metformin, VNR: "990291", Quantity: 100, Essential: true, Basis: rx.BasisInstructionSheet},
		record.DispenseOptions{UnitsPerDay: 4}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultError}); err != nil {
		t.Fatal(err)
	}
	defer sim.SetFault(centresim.Fault{Kind: centresim.FaultUp})
	// The counter's uploads meet the fault: the fault log has them.
	run(t, "sync", "run", "--once", "--centre", sim.URL(), "--data", data)

	out, errOut, code := run(t, "--lang", "fi", "fault", "report", "--centre", sim.URL(), "--data", data)
	if code != 0 {
		t.Fatalf("fault report: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"VIKAILMOITUS Kelan tekniseen tukeen",
		"Ilmoita Kelan tekniseen tukeen",
		"tekninentuki@kanta.fi",
		"[x] a) Vika estää palvelun käytön",
		"vikatilassa",
		"palvelinvirhe (5xx)",
		"[x] b) Vika ei ole apteekin omissa järjestelmissä",
		"[x] c) Vika voi vaarantaa potilasturvallisuuden",
		"ei vielä Reseptikeskuksessa",
		"1 välttämättömän lääkityksen toimitusta tehtiin ilman Reseptikeskuksen tietoja",
		"[ ] d)",
		"[ ] e)",
		"[ ] f)",
		"Apteekki Tiski",
		"Kelalta ei ole tiedotetta: ilmoita heti omaan IT-tukeen.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the Finnish report lacks %q:\n%s", want, out)
		}
	}
	if identityCode.MatchString(out) || strings.Contains(out, "140348") {
		t.Errorf("the report holds an identity code:\n%s", out)
	}

	var keys string
	for _, lang := range []string{"fi", "sv", "en"} {
		out, errOut, code := run(t, "--lang", lang, "fault", "report", "--json", "--centre", sim.URL(), "--data", data)
		var r faultreport.Report
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("%s --json: exit %d: %s %s", lang, code, out, errOut)
		}
		met := ""
		for _, c := range r.Criteria {
			if c.Met {
				met += c.ID
			}
		}
		if met != "abc" || (r.Verdict != faultreport.Kela && r.Verdict != faultreport.Critical) || !r.Fault.Found || r.Impact.Essential != 1 {
			t.Errorf("%s --json: criteria met %q, verdict %s, fault %+v, impact %+v", lang, met, r.Verdict, r.Fault, r.Impact)
		}
		k := strings.Join(regexp.MustCompile(`"[a-z_]+":`).FindAllString(out, -1), "")
		if keys == "" {
			keys = k
		} else if k != keys {
			t.Errorf("%s: the JSON keys differ from fi's", lang)
		}
		if identityCode.MatchString(out) {
			t.Errorf("%s --json holds an identity code", lang)
		}
	}

	page := filepath.Join(t.TempDir(), "report.html")
	if _, errOut, code := run(t, "--lang", "sv", "fault", "report", "--html", page, "--centre", sim.URL(), "--data", data); code != 0 {
		t.Fatalf("--html: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`lang="sv"`, "FELANMÄLAN", `id="criteria"`, "Anmäl till FPA:s tekniska support"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if identityCode.Match(b) {
		t.Error("the page holds an identity code")
	}

	// Kela announces the fault: no report is needed.
	if _, errOut, code := run(t, "notice", "add", "--kind", "fault", "--from", time.Now().Add(-time.Hour).Format("2006-01-02 15:04"),
		"--text", "Reseptikeskuksessa on häiriö", "--ref", "KANTA-123", "--data", data); code != 0 {
		t.Fatalf("notice add: exit %d: %s", code, errOut)
	}
	out, _, _ = run(t, "--lang", "en", "fault", "report", "--centre", sim.URL(), "--data", data)
	if !strings.Contains(out, "No report needed: Kela has announced this fault") || !strings.Contains(out, "KANTA-123") {
		t.Errorf("with Kela's notice on file:\n%s", out)
	}
}
