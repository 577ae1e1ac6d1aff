// Package prescriptions is the counter's table of a patient's
// prescriptions: medicine, strength, dosage, remaining quantity, validity,
// status and prescriber, with sorting, filtering and a detail view.
//
// Rows are built once per sort or filter, not per frame, and the table
// renders only the rows in view, so a patient with hundreds of
// prescriptions draws as fast as one with ten.
package prescriptions

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/tables"
)

// BackMsg asks the root to go back to the patient search.
type BackMsg struct{}

// DispenseMsg asks the root to open the dispense screen for a
// prescription. Only a person who may record gets one.
type DispenseMsg struct {
	Patient      rx.Patient
	Prescription rx.Prescription
}

// SummaryMsg asks the root to print the patient's prescription summary
// (issue 23); the root knows the mode and the services that write it.
type SummaryMsg struct{ Patient rx.Patient }

// Columns, in order.
const (
	ColMedicine = iota
	ColStrength
	ColDosage
	ColRemaining
	ColValidity
	ColStatus
	ColPrescriber
	numCols
)

var colTitles = [numCols]i18n.Key{i18n.RxColMedicine, i18n.RxColStrength, i18n.RxColDosage,
	i18n.RxColRemaining, i18n.RxColValidity, i18n.RxColStatus, i18n.RxColPrescriber}

// colShare is each column's share of the width beside the validity
// column, in percent; the validity column is a date, always whole.
var colShare = [numCols]int{25, 10, 21, 12, 0, 15, 17}

// dateWidth fits a date as the table shows it: 31.12.2027.
const dateWidth = 10

// Model is the prescriptions table.
type Model struct {
	c         common.Common
	patient   rx.Patient
	all       []rx.Prescription
	shown     []rx.Prescription
	table     table.Model
	sortBy    int
	filter    textinput.Model
	filtering bool
	detail    bool
	who       rx.Pharmacist
	renew     renewal // a renewal request of the selected prescription (renewal.go)
}

// New returns the table of patient's prescriptions, sorted by medicine.
func New(c common.Common, patient rx.Patient, rxs []rx.Prescription, who rx.Pharmacist) Model {
	f := textinput.New()
	f.Prompt = ""
	f.CharLimit = 40
	f.Cursor.SetMode(cursor.CursorStatic)
	t := tables.New(c)
	m := Model{c: c, patient: patient, all: rxs, table: t, filter: f, who: who}
	return m.layout().refresh()
}

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m.layout().refresh() }

// Patient returns the patient whose prescriptions show.
func (m Model) Patient() rx.Patient { return m.patient }

// Shown returns the prescriptions in the table, in order.
func (m Model) Shown() []rx.Prescription { return m.shown }

// Selected returns the prescription under the cursor.
func (m Model) Selected() (rx.Prescription, bool) {
	i := m.table.Cursor()
	if i < 0 || i >= len(m.shown) {
		return rx.Prescription{}, false
	}
	return m.shown[i], true
}

// Detail reports whether the detail view is open.
func (m Model) Detail() bool { return m.detail }

// SortedBy returns the column the table is sorted by.
func (m Model) SortedBy() int { return m.sortBy }

// Init loads nothing: the prescriptions came with the patient.
func (m Model) Init() tea.Cmd { return nil }

// bodyHeight is the rows the table may take.
func (m Model) bodyHeight() int { return max(m.c.Height-5, 3) }

func (m Model) layout() Model {
	avail := max(m.c.Width-2*numCols-dateWidth, numCols*4) // each cell has a space either side
	cols := make([]table.Column, numCols)
	for i := range cols {
		cols[i] = table.Column{Title: m.c.T(colTitles[i]), Width: avail * colShare[i] / 100}
	}
	cols[ColValidity].Width = dateWidth
	m.table.SetColumns(cols)
	m.table.SetWidth(m.c.Width)
	m.table.SetHeight(m.bodyHeight())
	return m
}

// refresh filters and sorts the prescriptions and rebuilds the rows.
func (m Model) refresh() Model {
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	m.shown = m.shown[:0:0]
	for _, p := range m.all {
		if q == "" || strings.Contains(strings.ToLower(p.Medicine.Name+" "+p.Medicine.Substance+" "+p.Prescriber.Name+" "+p.ID), q) {
			m.shown = append(m.shown, p)
		}
	}
	now := m.c.Now()
	rules := m.c.Policy().Validity()
	by := m.sortBy
	slices.SortStableFunc(m.shown, func(a, b rx.Prescription) int {
		switch by {
		case ColStrength:
			return cmp.Compare(a.Medicine.Strength, b.Medicine.Strength)
		case ColDosage:
			return cmp.Compare(a.Dosage, b.Dosage)
		case ColRemaining:
			return cmp.Compare(a.Remaining(), b.Remaining())
		case ColValidity:
			return a.ValidUntil(rules).Compare(b.ValidUntil(rules))
		case ColStatus:
			return cmp.Compare(m.rowStatus(a, now), m.rowStatus(b, now))
		case ColPrescriber:
			return cmp.Compare(a.Prescriber.Name, b.Prescriber.Name)
		}
		return cmp.Compare(a.Medicine.Name, b.Medicine.Name)
	})
	rows := make([]table.Row, len(m.shown))
	for i, p := range m.shown {
		rows[i] = table.Row{
			p.Medicine.Name,
			p.Medicine.Strength,
			p.Dosage,
			m.c.Lang.Quantity(p.Remaining(), p.Medicine.Unit),
			p.ValidUntil(rules).Format("2.1.2006"),
			m.rowStatus(p, now),
			p.Prescriber.Name,
		}
	}
	m.table.SetRows(rows)
	if m.table.Cursor() >= len(rows) {
		m.table.SetCursor(max(len(rows)-1, 0))
	}
	return m
}

// validUntil is the detail's validity: its last day, where it stands now,
// and the policy rule that set how long it is valid, as every decision
// names its rule: "15.1.2027 (valid, RX-VALID)".
func (m Model) validUntil(p rx.Prescription, now time.Time) string {
	pol := m.c.Policy()
	rule, _ := pol.ValidityRule(p.Medicine, p.Form)
	return p.ValidUntil(pol.Validity()).Format("2.1.2006") + " (" + m.validity(p.ValidityAt(now, pol.Validity())) + ", " + rule + ")"
}

func (m Model) validity(v rx.Validity) string {
	switch v {
	case rx.Valid:
		return m.c.T(i18n.RxValid)
	case rx.InGrace:
		return m.c.T(i18n.RxInGrace)
	}
	return m.c.T(i18n.RxExpired)
}

// rowStatus is the status column: the status, or for an active
// prescription that has lapsed, how far it has.
func (m Model) rowStatus(p rx.Prescription, now time.Time) string {
	if v := p.ValidityAt(now, m.c.Policy().Validity()); p.Status == rx.StatusActive && p.LockedBy == "" && v != rx.Valid {
		return m.validity(v)
	}
	return m.status(p)
}

func (m Model) status(p rx.Prescription) string {
	if p.LockedBy != "" {
		return m.c.T(i18n.RxLocked)
	}
	switch p.Status {
	case rx.StatusActive:
		return m.c.T(i18n.RxActive)
	case rx.StatusCompleted:
		return m.c.T(i18n.RxCompleted)
	case rx.StatusCancelled:
		return m.c.T(i18n.RxCancelled)
	}
	return string(p.Status) // an upstream status tiski does not know, as it comes
}

func (m Model) form(f rx.Form) string {
	switch f {
	case rx.FormPaper:
		return m.c.T(i18n.RxFormPaper)
	case rx.FormTelephone:
		return m.c.T(i18n.RxFormTelephone)
	}
	return m.c.T(i18n.RxFormElectronic)
}

// Update handles keys: Up and Down move, F3 sorts, F4 filters, Enter opens
// the detail view and Esc closes it, ends filtering or goes back, F5 asks
// to dispense the selected prescription, and ctrl+n requests its renewal.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if m, cmd, ok := m.updateRenewal(msg); ok {
		return m, cmd
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	k := m.c.Keys
	if key.Matches(km, k.Dispense) && !m.filtering {
		p, ok := m.Selected()
		if !ok || !m.who.Role.MayRecord() {
			return m, nil // a student may look but not dispense: the screen says so
		}
		patient := m.patient
		return m, func() tea.Msg { return DispenseMsg{Patient: patient, Prescription: p} }
	}
	if key.Matches(km, k.Summary) && !m.filtering {
		patient := m.patient
		return m, func() tea.Msg { return SummaryMsg{Patient: patient} }
	}
	switch {
	case m.detail:
		if key.Matches(km, k.Back) {
			m.detail = false
		}
		return m, nil
	case m.filtering:
		switch {
		case key.Matches(km, k.Back):
			m.filtering = false
			m.filter.SetValue("")
			m.filter.Blur()
			return m.refresh(), nil
		case key.Matches(km, k.Submit, k.Filter):
			m.filtering = false
			m.filter.Blur()
			return m, nil
		}
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(km)
		return m.refresh(), cmd
	}
	switch {
	case key.Matches(km, k.Back):
		return m, func() tea.Msg { return BackMsg{} }
	case key.Matches(km, k.Sort):
		m.sortBy = (m.sortBy + 1) % numCols
		return m.refresh(), nil
	case key.Matches(km, k.Filter):
		m.filtering = true
		m.filter.Focus()
		return m, nil
	case key.Matches(km, k.Detail):
		if _, ok := m.Selected(); ok {
			m.detail = true
		}
		return m, nil
	}
	var cmd tea.Cmd
	m.table, cmd = m.table.Update(km)
	return m, cmd
}

// View renders the table, or the detail view.
func (m Model) View() string {
	s := m.c.Styles
	var b strings.Builder
	b.WriteString(s.Title.Render(m.c.T(i18n.RxTitle, m.patient.Name()+"  "+m.patient.HETU)) + "\n")
	if m.detail {
		p, _ := m.Selected()
		return b.String() + m.viewDetail(p)
	}
	info := m.c.T(i18n.RxCount, len(m.shown), len(m.all)) + "  " + m.c.T(i18n.RxSortedBy, m.c.T(colTitles[m.sortBy]))
	if !m.who.Role.MayRecord() {
		info += "  " + s.Warning.Render(m.c.T(i18n.RxViewOnly))
	}
	b.WriteString(s.Muted.Render(info) + "\n")
	if m.filtering || m.filter.Value() != "" {
		b.WriteString(s.Label.Render(m.c.T(i18n.RxFilterPrompt)) + m.filter.View() + "\n")
	} else {
		b.WriteString("\n")
	}
	if len(m.shown) == 0 {
		b.WriteString(s.Muted.Render(m.c.T(i18n.RxNone)))
		return b.String()
	}
	// The renewal's lines (issue 23) go under the table, which gives up
	// as many rows so that the screen keeps its height.
	var below []string
	if p, ok := m.Selected(); ok && p.Renewal != nil {
		// Read with the prescription, in the same answer.
		below = append(below, s.Label.Render(p.ID+": "+m.renewal(p)))
	}
	if r := m.renewalView(); r != "" {
		below = append(below, r)
	}
	t := m.table
	if len(below) > 0 {
		t.SetHeight(max(m.bodyHeight()-len(below), 1))
	}
	b.WriteString(t.View())
	for _, l := range below {
		b.WriteString("\n" + l)
	}
	return b.String()
}

// renewal says when the open renewal request of p was made.
func (m Model) renewal(p rx.Prescription) string {
	return m.c.T(i18n.RxRenewalRequested, p.Renewal.Requested.In(m.c.Now().Location()).Format("2.1.2006"))
}

func (m Model) viewDetail(p rx.Prescription) string {
	s := m.c.Styles
	now := m.c.Now()
	rows := [][2]string{
		{m.c.T(i18n.RxDetailID), p.ID},
		{m.c.T(i18n.RxColMedicine), p.Medicine.DisplayName()},
		{m.c.T(i18n.RxColDosage), p.Dosage},
		{m.c.T(i18n.RxDetailForm), m.form(p.Form)},
		{m.c.T(i18n.RxDetailIssued), p.Issued.Format("2.1.2006")},
		{m.c.T(i18n.RxDetailValidUntil), m.validUntil(p, now)},
		{m.c.T(i18n.RxDetailQuantity), m.c.Lang.Quantity(p.Quantity, p.Medicine.Unit)},
		{m.c.T(i18n.RxDetailRepeats), fmt.Sprint(p.Repeats)},
		{m.c.T(i18n.RxDetailDispensed), fmt.Sprintf("%d / %s", p.Dispensed, m.c.Lang.Quantity(p.Total(), p.Medicine.Unit))},
		{m.c.T(i18n.RxColRemaining), m.c.Lang.Quantity(p.Remaining(), p.Medicine.Unit)},
		{m.c.T(i18n.RxColStatus), m.status(p)},
		{m.c.T(i18n.RxColPrescriber), p.Prescriber.Name + " " + p.Prescriber.Registration},
	}
	if p.LockedBy != "" {
		rows = append(rows, [2]string{m.c.T(i18n.RxDetailLockedBy), p.LockedBy})
	}
	if p.Reason != "" {
		rows = append(rows, [2]string{m.c.T(i18n.RxDetailReason), p.Reason})
	}
	if p.Renewal != nil {
		rows = append(rows, [2]string{m.c.T(i18n.RxDetailRenewal), m.renewal(p)})
	}
	w := 0
	for _, r := range rows {
		w = max(w, len([]rune(r[0])))
	}
	var b strings.Builder
	b.WriteString(s.Label.Render(m.c.T(i18n.RxDetailTitle, p.ID)) + "\n")
	for _, r := range rows {
		b.WriteString(s.Muted.Render(fmt.Sprintf("%-*s", w, r[0])) + "  " + r[1] + "\n")
	}
	return s.Box.MaxWidth(m.c.Width).Render(strings.TrimRight(b.String(), "\n"))
}
