package summary_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/page/browsertest"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
	"github.com/tiski-rx/tiski/tui/screen/essential"
	"github.com/tiski-rx/tiski/tui/summary"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// updating reports -update, the flag of x/exp/golden (through tuitest),
// which rewrites the golden files in testdata/.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var helsinki, _ = time.LoadLocation("Europe/Helsinki")

var (
	matti    = rx.Patient{HETU: "140348-901W", Family: "Korhonen", Given: "Matti"}
	made     = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	pharmacy = rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}
	rules    = policy.Default().Validity()
)

// prescriptions are every case the summary sorts out: valid ones (one
// with repeats, one locked by another pharmacy, a PKV one), and ones it
// leaves out (completed, cancelled, lapsed, in grace, nothing left).
func prescriptions() []rx.Prescription {
	tabl := func(name, strength string, pkv bool) rx.Medicine {
		return rx.Medicine{Name: name, Strength: strength, Form: "tablet", Unit: "tablet", PKV: pkv}
	}
	doc := rx.Prescriber{Name: "Anna Lääkäri", Registration: "10012345", Workplace: "Terveysasema Keskusta"}
	issued := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	p := func(id string, m rx.Medicine, qty, repeats, dispensed int, st rx.Status, issued time.Time) rx.Prescription {
		return rx.Prescription{ID: id, Patient: matti.HETU, Prescriber: doc, Medicine: m, Form: rx.FormElectronic, Issued: issued,
			Dosage: "1 tabletti 2 kertaa päivässä", Quantity: qty, Repeats: repeats, Dispensed: dispensed, Status: st}
	}
	locked := p("EP26000103", tabl("Thyroxin", "0,1 mg", false), 100, 0, 0, rx.StatusActive, issued)
	locked.LockedBy = "Apteekki Muu"
	return []rx.Prescription{
		p("EP26000102", tabl("Zolpidem", "10 mg", true), 30, 0, 0, rx.StatusActive, issued),
		p("EP26000101", tabl("Metforem", "500 mg", false), 100, 2, 100, rx.StatusActive, issued),
		locked,
		p("EP26000104", tabl("Burana", "400 mg", false), 30, 0, 30, rx.StatusActive, issued),                                   // nothing left
		p("EP26000105", tabl("Panadol", "500 mg", false), 30, 0, 0, rx.StatusCompleted, issued),                                // completed
		p("EP26000106", tabl("Panadol", "1 g", false), 30, 0, 0, rx.StatusCancelled, issued),                                   // cancelled
		p("EP26000107", tabl("Diapam", "5 mg", true), 30, 0, 0, rx.StatusActive, time.Date(2025, 2, 15, 0, 0, 0, 0, time.UTC)), // 12 months: in grace
		p("EP26000108", tabl("Primaspan", "100 mg", false), 100, 0, 0, rx.StatusActive, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
}

func input() summary.Input {
	return summary.Input{Patient: matti, Prescriptions: prescriptions(), Pharmacy: pharmacy, Made: made, Rules: rules}
}

func write(t *testing.T, doc page.Document) string {
	t.Helper()
	var b bytes.Buffer
	if err := page.Write(&b, doc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the page written now (go test -update rewrites it if the change is meant)", path)
	}
}

var dataID = regexp.MustCompile(`<article class="card" data-id="([^"]+)">`)

// TestSummaryGolden: the summary in each language, and what it lists: the
// valid prescriptions only, by medicine, each with its barcode; the
// patient's code once, unmasked, in the patient's box.
func TestSummaryGolden(t *testing.T) {
	for _, l := range i18n.Langs() {
		t.Run(string(l), func(t *testing.T) {
			html := write(t, summary.Page(l, helsinki, input()))
			golden(t, "summary."+string(l)+".html.golden", html)
			var ids []string
			for _, m := range dataID.FindAllStringSubmatch(html, -1) {
				ids = append(ids, m[1])
			}
			if want := []string{"EP26000101", "EP26000103", "EP26000102"}; !slices.Equal(ids, want) {
				t.Errorf("cards %v, want %v (Metforem, Thyroxin, Zolpidem)", ids, want)
			}
			if n := strings.Count(html, `<figure class="barcode"`); n != 3 {
				t.Errorf("%d barcodes, want 3", n)
			}
			if n := strings.Count(html, matti.HETU); n != 1 {
				t.Errorf("the identity code shows %d times, want once", n)
			}
			for _, want := range []string{"Matti Korhonen", "Apteekki Tiski", l.T(i18n.SumTitle), l.Quantity(300, "tablet")} {
				if !strings.Contains(html, want) {
					t.Errorf("no %q on the page", want)
				}
			}
		})
	}
}

func TestSummaryEmpty(t *testing.T) {
	in := input()
	in.Prescriptions = nil
	in.Training = true
	html := write(t, summary.Page(i18n.EN, helsinki, in))
	if !strings.Contains(html, i18n.EN.T(i18n.SumNone)) || strings.Contains(html, "<article") || !strings.Contains(html, "TRAINING") {
		t.Fatalf("an empty summary:\n%s", html)
	}
}

// TestOutagePage: the outage's records are marked as such (banner, title),
// carry no barcode, and list each record.
func TestOutagePage(t *testing.T) {
	body, _ := json.Marshal(rx.Dispensing{PrescriptionID: "EP26000101", Patient: matti.HETU, Quantity: 60, Essential: true, Basis: rx.BasisSummary,
		Medicine: rx.Medicine{Name: "Metforem", Strength: "500 mg", Form: "tablet", Unit: "tablet"}})
	recs := []journal.Record{{Seq: 4, ID: "0190", Kind: journal.KindDispensing, Time: made.Add(-time.Hour), Patient: matti.HETU, Body: body}}
	for _, l := range i18n.Langs() {
		html := write(t, summary.OutagePage(l, helsinki, summary.Outage{Patient: rx.Patient{HETU: matti.HETU}, Records: recs,
			Since: made.Add(-2 * time.Hour), Pharmacy: pharmacy, Made: made}))
		for _, want := range []string{l.T(i18n.SumOutBanner), l.T(i18n.SumOutTitle), "EP26000101", l.T(i18n.RecordEssential), l.T(i18n.SumNameUnknown)} {
			if !strings.Contains(html, template(want)) {
				t.Errorf("%s: no %q on the outage page", l, want)
			}
		}
		if strings.Contains(html, "<svg") || strings.Contains(html, l.T(i18n.SumTitle)) {
			t.Errorf("%s: the outage page looks like a summary", l)
		}
	}
}

// template escapes s as html/template does the page's text.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestRemoveOld(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	for name, age := range map[string]time.Duration{"old.html": 25 * time.Hour, "new.html": time.Hour, "keep.txt": 48 * time.Hour} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := summary.RemoveOld(dir, now)
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want 1", n, err)
	}
	left, _ := os.ReadDir(dir)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"keep.txt", "new.html"}) {
		t.Errorf("left %v", names)
	}
	if n, err := summary.RemoveOld(filepath.Join(dir, "none"), now); n != 0 || err != nil {
		t.Errorf("a missing folder: %d, %v", n, err)
	}
	if name := summary.FileName("summary", now); strings.Contains(name, matti.HETU) || !strings.HasSuffix(name, ".html") {
		t.Errorf("file name %q", name)
	}
}

// TestSummaryScansBack is issue 23's round trip with real parts: the
// simulator's prescriptions of Matti, read with the real client, printed
// as the summary; the page loads in headless Chromium with nothing on its
// console; zbarimg reads every barcode of a screenshot of it back to the
// ids on the page, which are the patient's valid prescriptions; and the
// essential-medication form, in FAULT, takes each decoded id as typed by
// the scanner, with the summary as its basis document, and records a
// dispensing on the first.
func TestSummaryScansBack(t *testing.T) {
	b := browsertest.Require(t)
	zbar := browsertest.RequireZbarimg(t)
	env := tuitest.New(t)
	ctx := context.Background()
	who, err := env.Client.FindPatient(ctx, tuitest.Matti)
	if err != nil {
		t.Fatal(err)
	}
	rxs, err := env.Client.Prescriptions(ctx, tuitest.Matti)
	if err != nil {
		t.Fatal(err)
	}
	in := summary.Input{Patient: who, Prescriptions: rxs, Pharmacy: tuitest.Pharmacy, Made: env.Clock.Now(), Rules: rules}
	var want []string
	for _, p := range summary.Valid(rxs, in.Made, rules) {
		want = append(want, p.ID)
	}
	if len(want) < 5 {
		t.Fatalf("only %d valid prescriptions on the simulator for Matti: %v", len(want), want)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "summary.html")
	if err := os.WriteFile(file, []byte(write(t, summary.Page(i18n.FI, helsinki, in))), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := b.Load(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Console) > 0 {
		t.Errorf("console messages: %q", l.Console)
	}
	var onPage []string
	for _, m := range dataID.FindAllStringSubmatch(l.DOM, -1) {
		onPage = append(onPage, m[1])
	}
	slices.Sort(onPage)
	slices.Sort(want)
	if !slices.Equal(onPage, want) {
		t.Fatalf("the page lists %v, the valid prescriptions are %v", onPage, want)
	}
	printed, err := b.PrintPDF(ctx, file, filepath.Join(dir, "summary.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if !printed.A4() {
		t.Errorf("printed %g × %g points, not A4", printed.Width, printed.Height)
	}

	decoded := b.Barcodes(t, zbar, file, filepath.Join(dir, "summary.png"))
	if !slices.Equal(decoded, want) {
		t.Fatalf("zbarimg read %v, the page's ids are %v", decoded, want)
	}

	since := env.Fault(t).Since
	for i, id := range decoded {
		m := essential.New(env.Common(i18n.EN, 120, 40), tuitest.Pharmacist, who, since)
		m, _ = tuitest.Settle(m, tuitest.Run(m.Init()), nil)
		m, _ = m.Update(tuitest.Type(id)) // the scanner types the id, then Enter
		m, _ = m.Update(tuitest.Key(tea.KeyEnter))
		if p := m.Problems(essential.FieldPrescriptionID); len(p) > 0 || m.Focus() != essential.FieldBasis {
			t.Fatalf("%s: the form did not take the scanned id: focus %v, problems %v\n%s", id, m.Focus(), p, m.View())
		}
		m, _ = m.Update(tuitest.Key(tea.KeyDown))
		if !strings.Contains(m.View(), "prescription summary") {
			t.Fatalf("%s: the basis is not the summary\n%s", id, m.View())
		}
		if i > 0 {
			continue
		}
		// The first (Metforem) is dispensed on the summary's barcode.
		m, _ = m.Update(tuitest.Key(tea.KeyTab))
		m = tuitest.Answer(m.Update(tuitest.Type("metforem"))) // the catalogue answers the search
		m, _ = m.Update(tuitest.Key(tea.KeyEnter))
		m = tuitest.Set(t, m, essential.FieldUnitsPerDay, 7, "2")
		m = tuitest.Set(t, m, essential.FieldQuantity, 7, "60")
		m = tuitest.Confirm(t, m)
		if m.State() != essential.Local {
			t.Fatalf("not recorded: %v\n%s", m.Other(), m.View())
		}
		recs, err := env.Journal.List(ctx, journal.Filter{Kinds: []journal.Kind{journal.KindDispensing}})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || !strings.Contains(string(recs[0].Body), `"prescription_id":"`+id+`"`) || !strings.Contains(string(recs[0].Body), `"basis":"summary"`) {
			t.Fatalf("journal: %+v", recs)
		}
	}
}
