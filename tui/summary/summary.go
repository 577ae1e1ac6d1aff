// Package summary words the patient's prescription summary (issue 23) in
// the reader's language as a printable page (pkg/page): the valid
// prescriptions as the Prescription Centre holds them now, each with its
// id as a Code 128 barcode that the essential-medication form scans back
// during a later outage, and the patient's name and identity code, as
// Kanta's own printout carries them. `tiski summary` and the counter's
// summary key share it.
//
// In a fault there is nothing current to print. What it offers then is
// the pharmacy's own journal records of the outage about the patient, on
// a page marked as such (OutagePage), never dressed as a summary.
package summary

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// Input is what a summary is made of.
type Input struct {
	Patient rx.Patient
	// Prescriptions are the patient's prescriptions as the Prescription
	// Centre lists them now, every status; the page lists the valid ones.
	Prescriptions []rx.Prescription
	Pharmacy      rx.Pharmacy
	Made          time.Time
	Rules         rx.ValidityRules
	// Training marks the page TRAINING: the demo's and drills' patients.
	Training bool
}

// Valid picks the prescriptions a summary lists: active, within their
// validity on the day (not in the grace month, which is the pharmacy's
// exception, not the patient's prescription), with something left to
// dispense; by medicine, then id.
func Valid(rxs []rx.Prescription, now time.Time, rules rx.ValidityRules) []rx.Prescription {
	var out []rx.Prescription
	for _, p := range rxs {
		if p.Status == rx.StatusActive && p.Remaining() > 0 && p.ValidityAt(now, rules) == rx.Valid {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b rx.Prescription) int {
		return cmp.Or(cmp.Compare(a.Medicine.Name, b.Medicine.Name), cmp.Compare(a.Medicine.Strength, b.Medicine.Strength), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// words says dates and times in one language and zone.
type words struct {
	l   i18n.Lang
	loc *time.Location
}

func (w words) date(t time.Time) string {
	if w.l == i18n.EN {
		return t.Format("2006-01-02")
	}
	return t.Format("2.1.2006")
}

func (w words) when(t time.Time) string {
	t = t.In(w.loc)
	switch w.l {
	case i18n.FI:
		return t.Format("2.1.2006 klo 15.04")
	case i18n.SV:
		return t.Format("2.1.2006 kl. 15.04")
	}
	return t.Format("2006-01-02 15:04")
}

func pharmacyName(p rx.Pharmacy) string {
	if p.Name == "" {
		return "—"
	}
	return p.Name
}

// Page words the summary in l, with times in loc.
func Page(l i18n.Lang, loc *time.Location, in Input) page.Document {
	w := words{l, loc}
	valid := Valid(in.Prescriptions, in.Made.In(loc), in.Rules)
	doc := page.Document{
		Lang:  string(l),
		Title: l.T(i18n.SumTitle),
		Patient: &page.PatientIdentity{Label: l.T(i18n.SumPatient), Name: patientName(l, in.Patient),
			CodeLabel: l.T(i18n.SumCode), Code: in.Patient.HETU},
		Footer: l.T(i18n.SumFooter, pharmacyName(in.Pharmacy)),
	}
	if in.Training {
		doc.Banner = l.T(i18n.StatusTraining)
	}
	head := page.Section{ID: "made", Title: l.T(i18n.SumAbout), Notes: []string{l.T(i18n.SumNote), l.T(i18n.SumKeepSafe)},
		Facts: []page.Fact{
			{Label: l.T(i18n.SumPharmacy), Value: pharmacyName(in.Pharmacy)},
			{Label: l.T(i18n.SumMade), Value: w.when(in.Made)},
		}}
	list := page.Section{ID: "prescriptions", Title: l.T(i18n.SumSecValid, len(valid))}
	if len(valid) == 0 {
		list.Notes = []string{l.T(i18n.SumNone)}
	}
	for _, p := range valid {
		unit := p.Medicine.Unit
		prescribed := l.Quantity(p.Total(), unit)
		if p.Repeats > 0 {
			prescribed = l.T(i18n.SumPrescribedRepeats, prescribed, l.Quantity(p.Quantity, unit), 1+p.Repeats)
		}
		prescriber := p.Prescriber.Name
		if p.Prescriber.Workplace != "" {
			prescriber += ", " + p.Prescriber.Workplace
		}
		c := page.Card{ID: p.ID, Title: p.Medicine.Name, Subtitle: strings.TrimSpace(p.Medicine.Strength + " " + p.Medicine.Form),
			Facts: []page.Fact{
				{Label: l.T(i18n.SumDosage), Value: p.Dosage},
				{Label: l.T(i18n.SumPrescribed), Value: prescribed},
				{Label: l.T(i18n.SumLeft), Value: l.Quantity(p.Remaining(), unit)},
				{Label: l.T(i18n.SumValidity), Value: w.date(p.Issued) + " – " + w.date(p.ValidUntil(in.Rules))},
				{Label: l.T(i18n.SumPrescriber), Value: prescriber},
			},
			Barcode: p.ID,
		}
		if p.LockedBy != "" {
			c.Facts = append(c.Facts, page.Fact{Label: l.T(i18n.SumLocked), Value: p.LockedBy, Status: page.StatusWarn})
		}
		list.Cards = append(list.Cards, c)
	}
	doc.Sections = []page.Section{head, list}
	return doc
}

func patientName(l i18n.Lang, p rx.Patient) string {
	if p.Family == "" && p.Given == "" {
		return l.T(i18n.SumNameUnknown)
	}
	return strings.TrimSpace(p.Given + " " + p.Family)
}

// Outage is what the page of an outage's records is made of.
type Outage struct {
	// Patient is the patient; only the identity code is known when the
	// Prescription Centre cannot be reached.
	Patient rx.Patient
	// Records are the patient's journal records of the outage
	// (common.OutageRecords), oldest first.
	Records  []journal.Record
	Since    time.Time // the outage's start
	Pharmacy rx.Pharmacy
	Made     time.Time
	Training bool
}

// OutagePage words the pharmacy's own records of an outage about the
// patient in l: marked as such in its banner, title and note, with no
// barcode, so that it is never taken for a summary of valid prescriptions.
func OutagePage(l i18n.Lang, loc *time.Location, in Outage) page.Document {
	w := words{l, loc}
	doc := page.Document{
		Lang:   string(l),
		Title:  l.T(i18n.SumOutTitle),
		Banner: l.T(i18n.SumOutBanner),
		Patient: &page.PatientIdentity{Label: l.T(i18n.SumPatient), Name: patientName(l, in.Patient),
			CodeLabel: l.T(i18n.SumCode), Code: in.Patient.HETU},
		Footer: l.T(i18n.SumFooter, pharmacyName(in.Pharmacy)),
	}
	if in.Training {
		doc.Banner = l.T(i18n.StatusTraining) + " · " + doc.Banner
	}
	head := page.Section{ID: "made", Title: l.T(i18n.SumAboutPrintout), Notes: []string{l.T(i18n.SumOutNote, w.when(in.Since))},
		Facts: []page.Fact{
			{Label: l.T(i18n.SumPharmacy), Value: pharmacyName(in.Pharmacy)},
			{Label: l.T(i18n.SumMade), Value: w.when(in.Made)},
		}}
	t := page.Table{ID: "outage-records", Empty: l.T(i18n.SumOutNone), Numeric: []bool{false, false, false, true},
		Head: []string{l.T(i18n.SumColTime), l.T(i18n.SumColKind), l.T(i18n.SumColMedicine), l.T(i18n.SumColQuantity), l.T(i18n.SumColPrescription)}}
	for _, r := range in.Records {
		t.Rows = append(t.Rows, page.Row{Cells: RecordCells(l, w.when(r.Time), r)})
	}
	recs := page.Section{ID: "outage", Title: l.T(i18n.SumOutSec, len(in.Records)), Tables: []page.Table{t}}
	doc.Sections = []page.Section{head, recs}
	return doc
}

// RecordCells says one journal record as the outage page's row: its time
// (as given), kind, medicine, quantity and prescription.
func RecordCells(l i18n.Lang, when string, r journal.Record) []string {
	var body struct {
		Medicine       rx.Medicine `json:"medicine"`
		Quantity       int         `json:"quantity"`
		PrescriptionID string      `json:"prescription_id"`
		ID             string      `json:"id"`
		Essential      bool        `json:"essential"`
	}
	_ = json.Unmarshal(r.Body, &body) // a body of another shape shows its kind only
	kind := common.KindName(l, r.Kind)
	if r.Kind == journal.KindDispensing && body.Essential {
		kind = l.T(i18n.RecordEssential)
	}
	med, qty := "", ""
	if body.Medicine.Name != "" {
		med = body.Medicine.DisplayName()
	}
	if body.Quantity > 0 {
		qty = l.Quantity(body.Quantity, body.Medicine.Unit)
	}
	rxID := body.PrescriptionID
	if rxID == "" && r.Kind != journal.KindDispensing {
		rxID = body.ID
	}
	return []string{when, kind, med, qty, rxID}
}

// MaxAge is how long a printout is kept in the data folder: it holds an
// identity code, so the counter removes it at its next start after a day.
const MaxAge = 24 * time.Hour

// Folder is the data folder's subfolder that the counter writes
// printouts into (0700).
const Folder = "printouts"

// FileName is a printout's file name in Folder: its kind and when it was
// made, never the identity code, which a file listing would show.
func FileName(kind string, made time.Time) string {
	return fmt.Sprintf("%s-%s.html", kind, made.UTC().Format("20060102-150405.000000000"))
}

// RemoveOld removes the printouts in dir last written before now less
// MaxAge, and returns how many it removed. A folder that does not exist
// holds nothing to remove.
func RemoveOld(dir string, now time.Time) (int, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".html") {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(now.Add(-MaxAge)) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
			return n, err
		}
		n++
	}
	return n, nil
}
