package cli

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/drill"
	"github.com/tiski-rx/tiski/pkg/page/browsertest"
	"github.com/tiski-rx/tiski/tui/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// drillFixture is a blackhole drill played at speed 600 by `tiski drill
// run blackhole --speed 600 --headless`: its state, scenario and events,
// with their times as recorded, so that the page made from it is the same
// on every run.
const drillFixture = "testdata/drill-blackhole"

// unmaskedCode finds an identity code whose individual number shows.
var unmaskedCode = regexp.MustCompile(`(?i)\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]`)

// goldenFile compares got with testdata/name, or rewrites it under -update.
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(got) != string(want) {
		w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
		for i := range max(len(w), len(g)) {
			if i >= len(w) || i >= len(g) || w[i] != g[i] {
				var wl, gl string
				if i < len(w) {
					wl = w[i]
				}
				if i < len(g) {
					gl = g[i]
				}
				t.Fatalf("%s differs at line %d (go test -update rewrites it if the change is meant):\nwant %.400s\ngot  %.400s", path, i+1, wl, gl)
			}
		}
	}
}

// TestDrillReportHTMLGolden writes the fixture drill's page in English and
// in Finnish and compares each with its golden file: the structure, the
// chart's series and the words.
func TestDrillReportHTMLGolden(t *testing.T) {
	for _, lang := range []string{"en", "fi"} {
		t.Run(lang, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "r.html")
			_, errOut, code := run(t, "drill", "report", "--data", drillFixture, "--html", file, "--lang", lang)
			if code != ExitOK || !strings.Contains(errOut, file) {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			goldenFile(t, "drill-report."+lang+".html.golden", got)
		})
	}
}

// TestDrillReportHTMLContent: the page holds what the issue asks for, found
// by the attributes the page gives them.
func TestDrillReportHTMLContent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.html")
	if _, errOut, code := run(t, "drill", "report", "--data", drillFixture, "--html", file, "--lang", "en"); code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	b, _ := os.ReadFile(file)
	html := string(b)
	for _, want := range []string{
		`data-series="mode"`, `data-series="fault"`, `data-series="queue"`, `data-series="review"`,
		`data-state="FAULT"`, `data-state="RECOVERING"`, `data-state="ONLINE"`, `data-state="blackhole"`,
		`>step 2 blackhole<`, `>step 3 up<`, // each fault step marked
		`FAULT after 0.9 s`, `6.6 s after the last step`, // detect, reconcile
		`<td>FM-ESS-QTY</td>`, `<td>RX-VALID</td>`, // the policy's decisions by rule
		`id="conflicts"`, `data-verdict="pass"`, `<tr class="pass"><td>PASS</td><td>detect blackhole (step 2)</td>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page holds no %s", want)
		}
	}
	if strings.Contains(html, `class="fail"`) {
		t.Error("a passing drill's page marks something failed")
	}
}

// TestDrillReportHTMLMasksIdentityCodes puts identity codes where a drill
// folder could hold them (the scenario's title and a task's patient, an
// events file written before the runner masked them, a refusal's detail)
// and the page must show none.
func TestDrillReportHTMLMasksIdentityCodes(t *testing.T) {
	dir := copyDrill(t, func(name, s string) string {
		switch name {
		case "scenario.toml":
			s = strings.Replace(s, `title = "A black hole`, `title = "For 140348-901W: a black hole`, 1)
		case "events.jsonl":
			s = strings.ReplaceAll(s, `"patient":"230271-***2"`, `"patient":"230271-9082"`)
			s += `{"time":"2026-12-07T17:05:18.000000000Z","offset":"1h28m","type":"refused","task":2,"detail":"patient 230271-9082: no valid prescription","rule":"FM-PRESCRIBER"}` + "\n"
		}
		return s
	})
	for _, lang := range []string{"fi", "sv", "en"} {
		file := filepath.Join(t.TempDir(), "r.html")
		if _, errOut, code := run(t, "drill", "report", "--data", dir, "--html", file, "--lang", lang); code != ExitOK && code != ExitFailed {
			t.Fatalf("%s: exit %d, stderr %q", lang, code, errOut)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if m := unmaskedCode.FindAllString(string(b), -1); len(m) > 0 {
			t.Errorf("%s: identity codes unmasked in the page: %q", lang, m)
		}
		if !strings.Contains(string(b), "140348-***W") || !strings.Contains(string(b), "230271-***2") {
			t.Errorf("%s: the masked codes are not on the page", lang)
		}
	}
}

// copyDrill copies the fixture drill into a folder of its own, with edit
// applied to each file's text, for a test that needs a drill the fixture
// is not.
func copyDrill(t *testing.T, edit func(name, text string) string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "drill")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"state.json", "scenario.toml", "events.jsonl"} {
		b, err := os.ReadFile(filepath.Join(drillFixture, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(edit(name, string(b))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestDrillReportHTMLConflicts: each record that went to review is listed
// with its kind, why, and its resolution or that it still waits.
func TestDrillReportHTMLConflicts(t *testing.T) {
	dir := copyDrill(t, func(name, text string) string {
		if name != "events.jsonl" {
			return text
		}
		// The fixture's first dispensing went into conflict and was
		// resolved; its paper prescription was rejected and waits.
		return text +
			`{"time":"2026-12-07T17:05:17.500000000Z","offset":"1h18m","type":"conflict","kind":"dispensing","record":"01a25177-71b7-7236-b6e6-4059a09efbec","detail":"conflict: dispensed elsewhere"}` + "\n" +
			`{"time":"2026-12-07T17:05:17.600000000Z","offset":"1h19m","type":"conflict","record":"01a25177-7983-72ca-9682-37048603cc99","detail":"rejected: prescriber unknown"}` + "\n" +
			`{"time":"2026-12-07T17:05:20.000000000Z","offset":"1h43m","type":"resolved","kind":"resolution","record":"01a25177-71b7-7236-b6e6-4059a09efbec"}` + "\n"
	})
	file := filepath.Join(t.TempDir(), "r.html")
	if _, errOut, code := run(t, "drill", "report", "--data", dir, "--html", file, "--lang", "en"); code != ExitOK && code != ExitFailed {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	b, _ := os.ReadFile(file)
	for _, want := range []string{
		`<tr class="pass"><td>1:18:51</td><td>dispensing</td><td>01a25177-71b7-7236-b6e6-4059a09efbec</td><td>conflict: dispensed elsewhere</td><td>resolution at 1:43:51</td></tr>`,
		`<tr class="fail"><td>1:19:51</td><td>paper_prescription</td><td>01a25177-7983-72ca-9682-37048603cc99</td><td>rejected: prescriber unknown</td><td>waiting for a pharmacist</td></tr>`,
		`<dt>Raised</dt><dd>2</dd>`, `<dt>Resolved</dt><dd>1</dd>`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page holds no %s", want)
		}
	}
}

// TestDrillReportHTMLBadFile: a page that cannot be written is an error
// that names the file, and leaves no file behind.
func TestDrillReportHTMLBadFile(t *testing.T) {
	dir := t.TempDir()
	for name, file := range map[string]string{"no such folder": filepath.Join(dir, "no-such-folder", "r.html"), "a folder": dir} {
		t.Run(name, func(t *testing.T) {
			_, errOut, code := run(t, "drill", "report", "--data", drillFixture, "--html", file)
			if code == ExitOK || !strings.Contains(errOut, file) {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left behind in the folder: %v", entries)
			}
		})
	}
}

// TestDrillReportHTMLInBrowser loads the fixture drill's page in headless
// Chromium: no console message, the timeline's series in the DOM the
// browser built, and three A4 pages in print (the scorecard and the
// timeline; the faults, records and conflicts; the tasks).
func TestDrillReportHTMLInBrowser(t *testing.T) {
	b := browsertest.Require(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "r.html")
	if _, errOut, code := run(t, "drill", "report", "--data", drillFixture, "--html", file, "--lang", "fi"); code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	checkDrillPageInBrowser(t, b, file, 3)
}

// TestDrillRunThenReportHTML is the check end to end: a blackhole
// drill played at speed 600 headless, then its report as a page, which the
// browser loads with the mode timeline and the queue series present.
func TestDrillRunThenReportHTML(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a drill for about 15 s")
	}
	b := browsertest.Require(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "D")
	if _, errOut, code := run(t, "drill", "run", "blackhole", "--speed", "600", "--headless", "--data", data); code != ExitOK {
		t.Fatalf("drill run: exit %d, stderr %q", code, errOut)
	}
	file := filepath.Join(dir, "r.html")
	if _, errOut, code := run(t, "drill", "report", "--data", data, "--html", file); code != ExitOK && code != ExitFailed {
		t.Fatalf("drill report: exit %d, stderr %q", code, errOut)
	}
	checkDrillPageInBrowser(t, b, file, 0)
}

// checkDrillPageInBrowser loads a drill's page and checks what the browser
// made of it; pages, when not 0, is the page count the print must give
// (0: no print, which the fixture's page has covered, to save a run of
// the browser).
func checkDrillPageInBrowser(t *testing.T, b *browsertest.Browser, file string, pages int) {
	t.Helper()
	ctx := context.Background()
	l, err := b.Load(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Console) > 0 {
		t.Errorf("console messages: %q", l.Console)
	}
	for _, series := range []string{"mode", "fault", "queue", "step"} {
		if !regexp.MustCompile(`<(g|path)[^>]* data-series="` + series + `"`).MatchString(l.DOM) {
			t.Errorf("the browser's DOM has no SVG series %q", series)
		}
	}
	for _, state := range []string{"FAULT", "ONLINE"} {
		if !strings.Contains(l.DOM, `data-state="`+state+`"`) {
			t.Errorf("the mode timeline has no %s band", state)
		}
	}
	if m := unmaskedCode.FindAllString(l.DOM, -1); len(m) > 0 {
		t.Errorf("identity codes unmasked: %q", m)
	}
	if pages == 0 {
		return
	}
	printed, err := b.PrintPDF(ctx, file, filepath.Join(filepath.Dir(file), "r.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if printed.Pages != pages || !printed.A4() {
		t.Errorf("printed %d pages of %g × %g points, want %d A4 pages", printed.Pages, printed.Width, printed.Height, pages)
	}
}

// TestDrillCheckText: every kind of check the drill makes is said in
// Finnish, with its particulars, and its values in Finnish words and
// decimal marks.
func TestDrillCheckText(t *testing.T) {
	s := &drill.Scenario{Expect: drill.Expectations{PolicyViolations: 0, MaxDetect: 3 * time.Second, ReconciledBy: 80 * time.Minute}}
	tests := []struct {
		check           drill.Check
		name, want, got string
	}{
		{drill.Check{Code: drill.CheckPlayed, Want: "yes", Got: "no"}, "aikajana toistettiin loppuun", "kyllä", "ei"},
		{drill.Check{Code: drill.CheckRecords, Args: []string{"dispensing"}, Want: "2", Got: "2"}, "tietueet: toimitus", "2", "2"},
		{drill.Check{Code: drill.CheckTaskRecord, Args: []string{"1", "essential", "140348-***W", "dispensing"}, Want: "recorded", Got: "missing"},
			"tehtävä 1 (essential, 140348-***W): toimitus", "kirjattu", "puuttuu"},
		{drill.Check{Code: drill.CheckTaskRefused, Args: []string{"3", "renew", "230271-***2", "FM-NO-RENEW"}, Want: "caught", Got: "caught"},
			"tehtävä 3 (renew, 230271-***2): säännön FM-NO-RENEW esto", "estetty", "estetty"},
		{drill.Check{Code: drill.CheckTaskLeft, Args: []string{"4", "journal", "230271-***2", "2", "3"}, Want: "10", Got: "prescription not seen"},
			"tehtävä 4 (journal, 230271-***2) kassalla 2: määrä jäljellä tehtävän 3 reseptissä", "10", "reseptiä ei nähty"},
		{drill.Check{Code: drill.CheckSharedUnsettled, Want: "every counter holds the others'", Got: "not checked: the drill did not settle"},
			"tietueet jaettu kassojen kesken", "jokaisella kassalla muiden tietueet", "ei tarkistettu: harjoitus ei asettunut"},
		{drill.Check{Code: drill.CheckShared, Args: []string{"2", "1"}, Want: "3", Got: "3"}, "kassalla 2 on kassan 1 tietueet", "3", "3"},
		{drill.Check{Code: drill.CheckViolations, Want: "at most 0", Got: "0"}, "käytännön vastaiset tietueet päiväkirjassa", "enintään 0", "0"},
		{drill.Check{Code: drill.CheckCaught, Want: "1", Got: "1"}, "käytännön estämät yritykset", "1", "1"},
		{drill.Check{Code: drill.CheckConflicts, Want: "1", Got: "0"}, "syntyneet ristiriidat", "1", "0"},
		{drill.Check{Code: drill.CheckDetect, Args: []string{"blackhole", "2"}, Want: "within 3.0 s", Got: "0.9 s"}, "havaitse blackhole (vaihe 2)", "3,0 s kuluessa", "0,9 s"},
		{drill.Check{Code: drill.CheckDetect, Args: []string{"down", "2"}, Want: "within 3.0 s", Got: "not detected"}, "havaitse down (vaihe 2)", "3,0 s kuluessa", "ei havaittu"},
		{drill.Check{Code: drill.CheckReconciled, Want: "by 1:20:00", Got: "not reconciled"}, "kaikki täsmäytetty", "viimeistään 1:20:00", "ei täsmäytetty"},
		{drill.Check{Code: "new-kind", Name: "something new", Want: "1", Got: "2"}, "something new", "1", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.check.Code, func(t *testing.T) {
			name, want, got := checkText(i18n.FI, s, tt.check)
			if name != tt.name || want != tt.want || got != tt.got {
				t.Errorf("checkText = %q, %q, %q\n          want %q, %q, %q", name, want, got, tt.name, tt.want, tt.got)
			}
		})
	}
}

// TestDrillChecksHaveCodes: every check of the fixture drill has a code,
// so that the page can say it in the reader's language.
func TestDrillChecksHaveCodes(t *testing.T) {
	d, err := drill.Open(drillFixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range drill.Score(d).Checks {
		if c.Code == "" {
			t.Errorf("check %q has no code", c.Name)
		}
	}
}

// TestDrillReportFaultReports: the report of july-2015 (an outage no
// notice announced, reported to the helpdesk) and of the planned break
// (announced by Kela's maintenance notice), each recorded as played by
// `tiski drill run … --headless`, say in every language whether and when
// the fault was reported, or that no report was needed (issue 22).
func TestDrillReportFaultReports(t *testing.T) {
	tests := []struct {
		fixture, lang string
		want          []string
	}{
		{"testdata/drill-july-2015", "en", []string{"Reported to the helpdesk at 0:25:05, 15 min after FAULT", "task 1: report the fault (helpdesk)",
			"report down (step 2) unless Kela announced it", "within 30 min", "after 15 min"}},
		{"testdata/drill-july-2015", "fi", []string{"Ilmoitettu IT-tukeen 0:25:05, 15 min FAULT-tilan jälkeen", "tehtävä 1: ilmoita viasta (IT-tuki)",
			"ilmoita down (vaihe 2), ellei Kela tiedottanut", "30 min kuluessa", "15 min jälkeen", "Vikailmoitukset"}},
		{"testdata/drill-july-2015", "sv", []string{"Anmält till IT-stödet 0:25:05, 15 min efter FAULT", "uppgift 1: anmäl felet (IT-stödet)", "efter 15 min"}},
		{"testdata/drill-planned-break", "en", []string{"Kela announced it (maintenance break notice at 0:00:00): no report needed",
			"FAULT by Kela&#39;s maintenance notice (step 2), not a probe", "Kela&#39;s maintenance break notice at 0:00:00 (step 2), 0:30:00–14:30:00: Kanta: Reseptikeskuksen huoltokatko",
			"not needed: Kela announced it", `<g data-series="notice">`, ">step 2 maintenance break<"}},
		{"testdata/drill-planned-break", "fi", []string{"Kela tiedotti siitä (huoltokatko, tiedote ajassa 0:00:00): ilmoitusta ei tarvittu",
			"FAULT Kelan huoltokatkotiedotteen (vaihe 2) perusteella, ei koettimen", "ei tarvittu: Kela tiedotti"}},
		{"testdata/drill-planned-break", "sv", []string{"FPA meddelade det (serviceavbrott, meddelande vid 0:00:00): ingen anmälan behövdes", "behövs inte: FPA meddelade det"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.fixture)+"/"+tt.lang, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "r.html")
			if _, errOut, code := run(t, "drill", "report", "--data", tt.fixture, "--html", file, "--lang", tt.lang); code != ExitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			if unmaskedCode.Match(b) {
				t.Errorf("an identity code shows: %s", unmaskedCode.Find(b))
			}
		})
	}
	// The status counts every step played, a lever too, and the report
	// task's mark as its outcome.
	var st drill.Status
	out, _, code := run(t, "drill", "status", "--data", "testdata/drill-july-2015", "--json")
	if code != ExitOK || json.Unmarshal([]byte(out), &st) != nil || st.Steps != 4 || st.StepsAll != 4 || len(st.Given) != 8 ||
		st.Given[0].Do != drill.ActReport || st.Given[0].Outcome != drill.OutcomeRecorded || st.ByKind["fault_report"] != 1 {
		t.Errorf("status: exit %d, %+v", code, st)
	}
	out, _, code = run(t, "drill", "report", "--data", "testdata/drill-july-2015")
	if code != ExitOK || !strings.Contains(out, "step 2  down                     reported to the helpdesk at 0:25:05, 15 min after FAULT") {
		t.Errorf("text report: exit %d\n%s", code, out)
	}
}
