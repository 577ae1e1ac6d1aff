// Package page writes printable pages: one self-contained HTML file each,
// with its CSS and its charts (hand-written SVG) inline and nothing fetched
// over the network, laid out for A4 paper by print CSS. It serves the
// drill's scorecard, the reconnect-storm report, the fault report and the
// patient's prescription summary, so it knows none of their types: a
// caller shapes its data into a Document, in the reader's language, and
// Write prints it.
//
// Every text of a Document is masked before it reaches the template
// (hetu.MaskText): an identity code in a note, a cell or a chart's label
// is printed with its individual number hidden. The one exception is
// Document.Patient, the patient's own identity on the patient's own paper
// (the prescription summary), which holds nothing but a name and a valid
// identity code.
//
// Model: the Go toolchain's cmd/cover/html.go, which writes the coverage
// page the same way.
package page

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"

	"github.com/tiski-rx/tiski/pkg/hetu"
)

// Document is one printable page, shaped for the template: the caller has
// chosen every word, in its reader's language.
type Document struct {
	// Lang is the page's language, the html element's lang: fi, sv or en.
	Lang string
	// Title heads the page and names it in the browser's tab.
	Title    string
	Subtitle string
	// Banner, when set, is a ribbon above the title, e.g. TRAINING.
	Banner string
	// Verdict, when set, is the page's outcome at a glance.
	Verdict *Verdict
	// Patient, when set, names the patient the page is about, under the
	// title. It is for the patient's own paper only (the prescription
	// summary, which carries the name and identity code as Kanta's own
	// printout does), never for a report: its Code is the one text of a
	// page printed unmasked.
	Patient  *PatientIdentity
	Sections []Section
	// Footer is a line at the end, e.g. what made the page and when.
	Footer string
}

// PatientIdentity is the patient's name and identity code, printed as
// they are on the patient's own paper. Write refuses a Code that is not a
// valid identity code, so that nothing else rides through unmasked; the
// labels and the name are masked as every other text.
type PatientIdentity struct {
	Label     string // e.g. "Patient"
	Name      string
	CodeLabel string // e.g. "Personal identity code"
	Code      string
}

// Verdict is a page's outcome in a sentence, marked pass or fail.
type Verdict struct {
	Status Status
	Text   string
}

// Status marks a fact, a row or a verdict as good or bad at a glance.
type Status string

// The statuses. StatusNone is unmarked.
const (
	StatusNone Status = ""
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusWarn Status = "warn"
)

// Section is a part of a page under its own heading. Its parts come in a
// fixed order: notes, facts, cards, figures, tables.
type Section struct {
	// ID names the section in the HTML (its id), for links and tests.
	ID    string
	Title string
	// NewPage starts the section on a new printed page.
	NewPage bool
	Notes   []string
	Facts   []Fact
	Cards   []Card
	Figures []Figure
	Tables  []Table
}

// Card is one item of a list printed whole, never split across printed
// pages: a prescription on the summary, its facts and its barcode.
type Card struct {
	// ID names the card in the HTML (data-id), for tests.
	ID       string
	Title    string
	Subtitle string
	Facts    []Fact
	// Barcode, when set, is printed under the facts as a Code 128
	// barcode (Code128), with the value as text under it: a prescription's
	// id, which a scanner types back at the counter.
	Barcode string
}

// Fact is a label and its value.
type Fact struct {
	Label  string
	Value  string
	Status Status
}

// Figure is a chart with its caption and its legend. A figure is never
// split across printed pages.
type Figure struct {
	Caption string
	Chart   TimeChart
}

// Table is a table with a header row. Numeric marks the columns that hold
// numbers, set right-aligned; it may be shorter than Head.
type Table struct {
	ID      string
	Caption string
	Head    []string
	Numeric []bool
	Rows    []Row
	// Empty is shown in place of the table when it has no rows.
	Empty string
}

// Row is a table row. A row with a status is marked: a pass or fail column
// reads at a glance.
type Row struct {
	Cells  []string
	Status Status
}

//go:embed page.html.tmpl
var pageTemplate string

//go:embed page.css
var pageCSS string

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"numeric": func(t Table, i int) bool { return i < len(t.Numeric) && t.Numeric[i] },
	"status":  statusWord,
}).Parse(pageTemplate))

// statusWord is the mark a status shows beside its text, so that pass and
// fail read in black and white too, not only in colour.
func statusWord(s Status) string {
	switch s {
	case StatusPass:
		return "✓"
	case StatusFail:
		return "✗"
	case StatusWarn:
		return "!"
	}
	return ""
}

// view is what the template sees: the document, masked, and its charts
// drawn.
type view struct {
	Document
	CSS      template.CSS
	Sections []sectionView
}

type sectionView struct {
	Section
	Cards   []cardView
	Figures []figureView
}

type cardView struct {
	Card
	SVG template.HTML
}

type figureView struct {
	Caption string
	ID      string
	SVG     template.HTML
	Legend  []LegendItem
}

// Write writes doc as one self-contained HTML page to w. Every text in doc
// is masked first (hetu.MaskText), but for the patient's identity code in
// doc.Patient, which must be a valid identity code.
func Write(w io.Writer, doc Document) error {
	if p := doc.Patient; p != nil {
		if _, err := hetu.Parse(p.Code); err != nil {
			return errors.New("write page: the patient's identity code is not valid, and no other text is printed unmasked")
		}
	}
	doc = doc.masked()
	v := view{Document: doc, CSS: template.CSS(pageCSS)}
	for _, s := range doc.Sections {
		sv := sectionView{Section: s}
		for _, c := range s.Cards {
			cv := cardView{Card: c}
			if c.Barcode != "" {
				bars, err := Code128(c.Barcode)
				if err != nil {
					return fmt.Errorf("write page: %w", err)
				}
				cv.SVG = bars.SVG()
			}
			sv.Cards = append(sv.Cards, cv)
		}
		for _, f := range s.Figures {
			svg, legend := f.Chart.render()
			sv.Figures = append(sv.Figures, figureView{Caption: f.Caption, ID: f.Chart.ID, SVG: svg, Legend: legend})
		}
		v.Sections = append(v.Sections, sv)
	}
	if err := tmpl.Execute(w, v); err != nil {
		return fmt.Errorf("write page: %w", err)
	}
	return nil
}

// masked returns a copy of d with every text masked: the one place where
// identity codes are hidden, before anything reaches the template or a
// chart.
func (d Document) masked() Document {
	m := hetu.MaskText
	out := d
	out.Title, out.Subtitle, out.Banner, out.Footer = m(d.Title), m(d.Subtitle), m(d.Banner), m(d.Footer)
	if d.Verdict != nil {
		out.Verdict = &Verdict{Status: d.Verdict.Status, Text: m(d.Verdict.Text)}
	}
	if p := d.Patient; p != nil {
		// The code stays as it is: Write has checked that it is one.
		out.Patient = &PatientIdentity{Label: m(p.Label), Name: m(p.Name), CodeLabel: m(p.CodeLabel), Code: p.Code}
	}
	out.Sections = make([]Section, len(d.Sections))
	for i, s := range d.Sections {
		ms := s
		ms.ID, ms.Title = m(s.ID), m(s.Title)
		ms.Notes = mapStrings(s.Notes, m)
		ms.Facts = make([]Fact, len(s.Facts))
		for j, f := range s.Facts {
			ms.Facts[j] = Fact{Label: m(f.Label), Value: m(f.Value), Status: f.Status}
		}
		ms.Cards = make([]Card, len(s.Cards))
		for j, c := range s.Cards {
			mc := Card{ID: m(c.ID), Title: m(c.Title), Subtitle: m(c.Subtitle), Barcode: m(c.Barcode)}
			mc.Facts = make([]Fact, len(c.Facts))
			for k, f := range c.Facts {
				mc.Facts[k] = Fact{Label: m(f.Label), Value: m(f.Value), Status: f.Status}
			}
			ms.Cards[j] = mc
		}
		ms.Figures = make([]Figure, len(s.Figures))
		for j, f := range s.Figures {
			ms.Figures[j] = Figure{Caption: m(f.Caption), Chart: f.Chart.masked()}
		}
		ms.Tables = make([]Table, len(s.Tables))
		for j, t := range s.Tables {
			mt := t
			mt.ID, mt.Caption, mt.Empty = m(t.ID), m(t.Caption), m(t.Empty)
			mt.Head = mapStrings(t.Head, m)
			mt.Rows = make([]Row, len(t.Rows))
			for k, r := range t.Rows {
				mt.Rows[k] = Row{Cells: mapStrings(r.Cells, m), Status: r.Status}
			}
			ms.Tables[j] = mt
		}
		out.Sections[i] = ms
	}
	return out
}

func mapStrings(in []string, f func(string) string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
