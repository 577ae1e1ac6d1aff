package page_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/page/browsertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// unmasked finds an identity code whose individual number shows.
var unmasked = regexp.MustCompile(`(?i)\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]`)

// sample is a document with every part of a page: a verdict, facts,
// notes, a chart with every kind of series, tables with statuses, an empty
// table, and a section on a page of its own.
func sample() page.Document {
	m := time.Minute
	return page.Document{
		Lang: "en", Title: "A sample page", Subtitle: "Every part of a page, once", Banner: "TRAINING",
		Verdict: &page.Verdict{Status: page.StatusFail, Text: "One check failed."},
		Sections: []page.Section{
			{ID: "summary", Title: "Summary", Notes: []string{"A note."},
				Facts: []page.Fact{{Label: "Records", Value: "3"}, {Label: "Reconciled", Value: "yes", Status: page.StatusPass}},
				Figures: []page.Figure{{Caption: "The mode and the queue.", Chart: page.TimeChart{
					ID: "timeline", Title: "Mode and queue", End: 90 * m, YLabel: "records",
					Bands: []page.Band{{Series: "mode", Label: "mode", Spans: []page.Span{
						{From: 0, To: 10 * m, State: "ONLINE", Tone: page.ToneOK},
						{From: 10 * m, To: 70 * m, State: "FAULT", Tone: page.ToneBad},
						{From: 70 * m, To: 75 * m, State: "RECOVERING", Tone: page.ToneWarn},
						{From: 75 * m, To: 90 * m, State: "ONLINE", Tone: page.ToneOK}}}},
					Areas: []page.Area{{Series: "throttled", Label: "throttled", Top: []page.Point{{0, 2}, {30 * m, 4}}, Base: []page.Point{{0, 1}, {30 * m, 2}}, Hatched: true}},
					Lines: []page.Line{{Series: "queue", Label: "queue", Step: true, Tone: page.ToneInfo, Points: []page.Point{{0, 0}, {25 * m, 1}, {45 * m, 3}, {72 * m, 0}}}},
					Refs:  []page.RefLine{{Series: "capacity", Label: "capacity 5", Value: 5}},
					Markers: []page.Marker{{Series: "step", Label: "step 2", At: 10 * m, Tone: page.ToneBad},
						{Series: "drained", Label: "drained", At: 72 * m, Tone: page.ToneOK}},
					Legend: []page.LegendItem{{Class: "tone-bad", Label: "FAULT"}, {Class: "line tone-info", Label: "queue"}},
				}}}},
			{ID: "cards", Title: "Cards", Cards: []page.Card{
				{ID: "EP26000101", Title: "Metforem 500 mg tablet", Subtitle: "1 tablet twice a day",
					Facts: []page.Fact{{Label: "Left", Value: "200 tablets"}}, Barcode: "EP26000101"},
				{ID: "plain", Title: "A card with no barcode"},
			}},
			{ID: "checks", Title: "Checks", NewPage: true, Tables: []page.Table{
				{ID: "expectations", Head: []string{"", "check", "want", "got"}, Numeric: []bool{false, false, true, true},
					Rows: []page.Row{{Cells: []string{"✓", "records", "3", "3"}, Status: page.StatusPass}, {Cells: []string{"✗", "reconciled", "1:20:00", "1:30:00"}, Status: page.StatusFail}}},
				{ID: "conflicts", Caption: "Conflicts", Head: []string{"record"}, Empty: "No conflicts."},
			}},
		},
		Footer: "Written by a test.",
	}
}

func write(t *testing.T, doc page.Document) string {
	t.Helper()
	var b bytes.Buffer
	if err := page.Write(&b, doc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
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
		t.Errorf("%s differs from the page written now (go test -update rewrites it if the change is meant):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\nwant " + a + "\ngot  " + b
		}
	}
	return ""
}

func TestWriteGolden(t *testing.T) {
	golden(t, "sample.html.golden", write(t, sample()))
}

// TestWriteIsSelfContained: the page fetches nothing (no src or href
// attribute, no url() but the chart's own pattern, no @import), and its
// Content Security Policy refuses any fetch a later change might add.
func TestWriteIsSelfContained(t *testing.T) {
	html := write(t, sample())
	for _, bad := range []string{" src=", " href=", "@import", "<script", "http://", "https://"} {
		if bad == "http://" {
			// The SVG namespace is a name, not a fetch.
			html = strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, "")
		}
		if strings.Contains(html, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if !strings.Contains(html, `content="default-src 'none';`) {
		t.Error("no Content Security Policy that refuses every fetch")
	}
	for _, m := range regexp.MustCompile(`url\(([^)]*)\)`).FindAllStringSubmatch(html, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("url(%s) reaches outside the page", m[1])
		}
	}
}

// TestWriteMasksIdentityCodes puts an identity code in every text of a
// page, and none may show its individual number.
func TestWriteMasksIdentityCodes(t *testing.T) {
	const code = "140348-901W"
	doc := sample()
	doc.Title, doc.Subtitle, doc.Banner, doc.Footer = code, "for "+code, code, code
	doc.Verdict.Text = code
	s := &doc.Sections[0]
	s.ID, s.Title, s.Notes = code, code, []string{"patient " + code + " came"}
	s.Facts = append(s.Facts, page.Fact{Label: code, Value: code})
	c := &s.Figures[0].Chart
	s.Figures[0].Caption = code
	c.ID, c.Title, c.YLabel = "x"+code, code, code
	c.Bands[0].Label, c.Bands[0].Series, c.Bands[0].Spans[1].State = code, code, code
	c.Lines[0].Label, c.Areas[0].Label, c.Refs[0].Label, c.Markers[0].Label = code, code, code, code
	c.Legend = append(c.Legend, page.LegendItem{Class: "tone-ok", Label: code})
	cs := &doc.Sections[1].Cards[0]
	cs.ID, cs.Title, cs.Subtitle, cs.Facts[0].Label, cs.Facts[0].Value = code, code, code, code, code
	doc.Sections[1].Cards[1].Barcode = code
	tb := &doc.Sections[2].Tables[0]
	tb.Head[1], tb.Rows[0].Cells[1], tb.Caption = code, "task 1 ("+code+")", code
	doc.Sections[2].Tables[1].Empty = "010101a985f"

	html := write(t, doc)
	if m := unmasked.FindAllString(html, -1); len(m) > 0 {
		t.Fatalf("identity codes unmasked in the page: %q", m)
	}
	if n := strings.Count(html, "140348-***W"); n < 27 {
		t.Errorf("the masked code shows %d times, want every text (27 or more)", n)
	}
	if !strings.Contains(html, "010101a***f") {
		t.Error("a lower-case code is not masked")
	}
	// The caller's document is left as it was.
	if doc.Title != code {
		t.Errorf("Write changed the caller's document: title %q", doc.Title)
	}
}

// TestWritePatientIdentity: the patient's own paper carries the identity
// code as it is, there and only there; an identity code anywhere else on
// the same page is masked, and a Patient whose code is not one (text that
// would ride through unmasked) is refused.
func TestWritePatientIdentity(t *testing.T) {
	const code = "140348-901W"
	doc := sample()
	doc.Patient = &page.PatientIdentity{Label: "Patient", Name: "Korhonen, Matti", CodeLabel: "Identity code", Code: code}
	doc.Footer = "printed for " + code
	doc.Sections[0].Notes = []string{code}
	html := write(t, doc)
	if n := strings.Count(html, code); n != 1 {
		t.Errorf("the identity code shows %d times unmasked, want once", n)
	}
	if !regexp.MustCompile(`<dd class="patient-code">` + code + `</dd>`).MatchString(html) {
		t.Errorf("the code is not in the patient's box:\n%s", html)
	}
	if !strings.Contains(html, "printed for 140348-***W") {
		t.Error("the footer's code is not masked")
	}
	for _, bad := range []string{"", "Korhonen, Matti", "140348-901X", "140348-901W <b>"} {
		d := doc
		d.Patient = &page.PatientIdentity{Name: "Matti", Code: bad}
		if err := page.Write(&bytes.Buffer{}, d); err == nil {
			t.Errorf("code %q: written", bad)
		}
	}
	// The name is masked as any text is: a code in it does not show.
	doc.Patient.Name = "Matti " + code
	if n := strings.Count(write(t, doc), code); n != 1 {
		t.Errorf("a code in the name shows: %d unmasked", n)
	}
}

// TestWriteCards: each card carries its id, and a card with a barcode its
// bars and the value under them.
func TestWriteCards(t *testing.T) {
	html := write(t, sample())
	if !strings.Contains(html, `<article class="card" data-id="EP26000101">`) || !strings.Contains(html, `<article class="card" data-id="plain">`) {
		t.Fatalf("cards missing:\n%s", html)
	}
	if n := strings.Count(html, `<figure class="barcode"`); n != 1 {
		t.Errorf("%d barcodes, want 1", n)
	}
	if !strings.Contains(html, `<figcaption class="barcode-text">EP26000101</figcaption>`) {
		t.Error("no id under the barcode")
	}
	bad := sample()
	bad.Sections[1].Cards[0].Barcode = "ääkkönen"
	if err := page.Write(&bytes.Buffer{}, bad); err == nil {
		t.Error("a barcode that cannot be encoded was written")
	}
}

// TestWriteEscapes: text is text, in the HTML and in the SVG.
func TestWriteEscapes(t *testing.T) {
	doc := sample()
	evil := `<script>alert(1)</script>"&`
	doc.Sections[0].Notes = []string{evil}
	doc.Sections[0].Figures[0].Chart.Markers[0].Label = evil
	doc.Sections[0].Figures[0].Chart.Bands[0].Spans[0].State = evil
	html := write(t, doc)
	if strings.Contains(html, "<script>") {
		t.Fatal("unescaped markup in the page")
	}
	if n := strings.Count(html, "&lt;script&gt;"); n < 3 {
		t.Errorf("escaped text shows %d times, want 3 or more", n)
	}
}

// TestChartSeries: each series of a chart carries its name, and the spans
// of a band their states, in order.
func TestChartSeries(t *testing.T) {
	html := write(t, sample())
	for _, s := range []string{"mode", "queue", "throttled", "capacity", "step", "drained"} {
		if n := strings.Count(html, `data-series="`+s+`"`); n != 1 {
			t.Errorf("data-series=%q shows %d times, want 1", s, n)
		}
	}
	states := regexp.MustCompile(`data-state="([A-Z]+)"`).FindAllStringSubmatch(html, -1)
	var got []string
	for _, m := range states {
		got = append(got, m[1])
	}
	if want := "ONLINE FAULT RECOVERING ONLINE"; strings.Join(got, " ") != want {
		t.Errorf("band states %v, want %s", got, want)
	}
}

// TestChartGeometry checks where a step line and a band land: the plot
// spans x 96 to 708, and the time axis runs from 0 to End.
func TestChartGeometry(t *testing.T) {
	doc := page.Document{Title: "t", Sections: []page.Section{{Title: "s", Figures: []page.Figure{{Chart: page.TimeChart{
		End: 100 * time.Second, YMin: 10,
		Bands: []page.Band{{Series: "mode", Spans: []page.Span{{From: 25 * time.Second, To: 75 * time.Second, State: "FAULT", Tone: page.ToneBad}}}},
		Lines: []page.Line{{Series: "queue", Step: true, Points: []page.Point{{0, 0}, {50 * time.Second, 10}}}},
	}}}}}}
	html := write(t, doc)
	// One band (16 + 4) and the markers' room (14) put the plot's top at
	// 4 + 20 + 14 = 38, and its foot at 38 + 190 = 228; 10 is the top.
	if !strings.Contains(html, `d="M96 228H402V38H708"`) {
		t.Errorf("step line not where it belongs:\n%s", html)
	}
	if !strings.Contains(html, `data-state="FAULT" x="249" y="4" width="306"`) {
		t.Errorf("band span not where it belongs:\n%s", html)
	}
}

func TestClock(t *testing.T) {
	tests := []struct {
		d, end time.Duration
		want   string
	}{
		{90 * time.Minute, 2 * time.Hour, "1:30:00"},
		{90 * time.Second, 10 * time.Minute, "1:30"},
		{30 * time.Second, 50 * time.Second, "30 s"},
	}
	for _, tt := range tests {
		if got := page.Clock(tt.d, tt.end); got != tt.want {
			t.Errorf("Clock(%v, %v) = %q, want %q", tt.d, tt.end, got, tt.want)
		}
	}
}

// TestInBrowser loads the sample page in headless Chromium: it renders
// with nothing on the console, the browser's DOM holds every series, and
// the print gives two A4 pages (the print CSS's size; the browser's own is
// Letter), the second section starting the second.
func TestInBrowser(t *testing.T) {
	b := browsertest.Require(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "sample.html")
	if err := os.WriteFile(file, []byte(write(t, sample())), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := b.Load(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Console) > 0 {
		t.Errorf("console messages: %q", l.Console)
	}
	for _, s := range []string{"mode", "queue", "throttled", "capacity", "step", "drained"} {
		if !regexp.MustCompile(`<(path|g|line)[^>]* data-series="` + s + `"`).MatchString(l.DOM) {
			t.Errorf("the browser's DOM has no SVG series %q", s)
		}
	}
	printed, err := b.PrintPDF(ctx, file, filepath.Join(dir, "sample.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if printed.Pages != 2 || !printed.A4() {
		t.Errorf("printed %d pages of %g × %g points, want 2 A4 pages", printed.Pages, printed.Width, printed.Height)
	}
}

// TestBrowserSeesConsoleErrors: the browser check would catch a page that
// reaches for the network, which its policy blocks and its console reports.
func TestBrowserSeesConsoleErrors(t *testing.T) {
	b := browsertest.Require(t)
	html := strings.Replace(write(t, sample()), "<h1>", `<img src="http://example.invalid/logo.png" alt=""><h1>`, 1)
	file := filepath.Join(t.TempDir(), "bad.html")
	if err := os.WriteFile(file, []byte(html), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := b.Load(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Console) == 0 || !strings.Contains(strings.Join(l.Console, "\n"), "example.invalid") {
		t.Fatalf("no console message for a blocked fetch; console %q", l.Console)
	}
}

func TestPrintA4(t *testing.T) {
	for _, tt := range []struct {
		p    browsertest.Print
		want bool
	}{{browsertest.Print{Width: 594.96, Height: 841.92}, true}, {browsertest.Print{Width: 612, Height: 792}, false}, {browsertest.Print{}, false}} {
		if got := tt.p.A4(); got != tt.want {
			t.Errorf("%+v: A4 %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestPDFPages(t *testing.T) {
	if _, err := browsertest.PDFPages([]byte("<html>")); err == nil {
		t.Error("not a PDF, and no error")
	}
	n, err := browsertest.PDFPages([]byte("%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type/Page /Parent 1 0 R>>"))
	if err != nil || n != 2 {
		t.Errorf("PDFPages = %d, %v; want 2", n, err)
	}
}
