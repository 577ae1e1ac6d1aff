// Package dispense is the counter's dispense screen: the pharmacist
// chooses the package and the quantity of one prescription, sees the
// policy's decisions with their rule ids, and confirms with F10, a key
// bound to nothing else. In FAULT mode it is the essential-medication form:
// the basis document and the daily dose, for the policy's cap.
//
// The record goes through Services.Dispense, the one write path: the
// screen shows "recorded locally" as soon as the journal has it, then polls
// the outbox and shows "recorded in Prescription Centre", or the refusal at
// once, before the medicine is handed over (DESIGN §4, §7).
package dispense

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/rxform/formkit"
	"github.com/tiski-rx/tiski/tui/screen/upload"
)

// State is where the dispensing stands.
type State = upload.State

// States of the screen.
const (
	Editing   = upload.Editing   // choosing; an error of the last try may show
	Recording = upload.Recording // Services.Dispense is running
	Local     = upload.Local     // in the journal and the outbox, not yet upstream
	Centre    = upload.Centre    // the Prescription Centre has it: hand the medicine over
	Refused   = upload.Refused   // the Prescription Centre refused it: do not hand it over
)

// BackMsg asks the root to go back to the prescriptions.
type BackMsg struct{}

// RecordedMsg answers Services.Dispense.
type RecordedMsg struct {
	Receipt record.Receipt
	Err     error
}

// PollMsg asks the screen to read the upload state of its record; Key is
// the record's id.
type PollMsg = upload.PollMsg

// fields of the form, in focus order; the basis and the daily dose are
// on the essential form only.
const (
	fieldBasis = iota
	fieldPackage
	fieldQuantity
	fieldUnitsPerDay
)

var bases = []rx.BasisDocument{rx.BasisInstructionSheet, rx.BasisSummary, rx.BasisPreviousLabel}

var basisText = map[rx.BasisDocument]i18n.Key{
	rx.BasisInstructionSheet: i18n.DispBasisSheet,
	rx.BasisSummary:          i18n.DispBasisSummary,
	rx.BasisPreviousLabel:    i18n.DispBasisLabel,
}

// Model is the dispense screen.
type Model struct {
	c         common.Common
	patient   rx.Patient
	p         rx.Prescription
	who       rx.Pharmacist
	essential bool

	focus       int
	pack        int
	basis       int
	quantity    textinput.Model
	unitsPerDay textinput.Model

	decisions []policy.Decision
	state     State
	problem   string // why the last try was not recorded, or the state not read
	receipt   record.Receipt
	follow    upload.Follow
}

// New returns the form for dispensing p to patient. In FAULT mode it is the
// essential-medication form.
func New(c common.Common, patient rx.Patient, p rx.Prescription, who rx.Pharmacist, mode rx.Mode) Model {
	m := Model{c: c, patient: patient, p: p, who: who, essential: mode == rx.ModeFault && !Journal(p),
		quantity: formkit.Input(6), unitsPerDay: formkit.Input(6)}
	if pack, ok := p.Medicine.SmallestPackage(); ok {
		for i, q := range p.Medicine.Packages {
			if q.VNR == pack.VNR {
				m.pack = i
			}
		}
		qty := pack.Size
		if r := p.Remaining(); r > 0 && r < qty && !m.essential {
			qty = r
		}
		m.quantity.SetValue(strconv.Itoa(qty))
	}
	m.focus = fieldPackage
	if m.essential {
		m.focus = fieldBasis
	}
	return m.focusInputs().judge()
}

// Journal reports whether p is a journal prescription (a paper or
// telephone prescription of this pharmacy, at any of its counters): it is
// dispensed against its record, in every mode, never as essential
// medication, and its Remaining counts every counter's dispensings.
func Journal(p rx.Prescription) bool {
	return p.RecordID != "" && (p.Form == rx.FormPaper || p.Form == rx.FormTelephone)
}

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m }

// Init starts nothing: the form waits for the pharmacist.
func (m Model) Init() tea.Cmd { return nil }

// State returns where the dispensing stands.
func (m Model) State() State { return m.state }

// Essential reports whether this is the essential-medication form.
func (m Model) Essential() bool { return m.essential }

// Decisions returns the policy decisions shown: previewed while editing,
// those of the receipt once recorded.
func (m Model) Decisions() []policy.Decision { return m.decisions }

// Receipt returns the receipt, once recorded.
func (m Model) Receipt() record.Receipt { return m.receipt }

// Problem returns why the last try was not recorded, or "".
func (m Model) Problem() string { return m.problem }

// Entry returns the outbox entry last read.
func (m Model) Entry() journal.OutboxEntry {
	if es := m.follow.Entries(); len(es) > 0 {
		return es[0]
	}
	return journal.OutboxEntry{}
}

func (m Model) fields() []int {
	if m.essential {
		return []int{fieldBasis, fieldPackage, fieldQuantity, fieldUnitsPerDay}
	}
	return []int{fieldPackage, fieldQuantity}
}

func (m Model) focusInputs() Model {
	m.quantity.Blur()
	m.unitsPerDay.Blur()
	switch m.focus {
	case fieldQuantity:
		m.quantity.Focus()
	case fieldUnitsPerDay:
		m.unitsPerDay.Focus()
	}
	return m
}

func (m Model) move(by int) Model {
	m.focus = formkit.Move(m.fields(), m.focus, by)
	return m.focusInputs()
}

// packageChosen returns the package chosen, or false when the medicine has
// none.
func (m Model) packageChosen() (rx.Package, bool) {
	if m.pack < 0 || m.pack >= len(m.p.Medicine.Packages) {
		return rx.Package{}, false
	}
	return m.p.Medicine.Packages[m.pack], true
}

// judge previews the policy's decisions on the form as it stands.
func (m Model) judge() Model {
	pol := m.c.Counter.Policy
	if pol == nil {
		pol = policy.Default()
	}
	ds := pol.Dispensing(m.p, m.c.Now())
	if m.essential {
		pack, _ := m.packageChosen()
		qty, _ := strconv.Atoi(strings.TrimSpace(m.quantity.Value()))
		upd, _ := formkit.ParseDose(m.unitsPerDay.Value())
		ds = append(ds, pol.EssentialDispensing(m.p.Medicine, pack, qty, upd)...)
	}
	m.decisions = ds
	return m
}

// Update handles the form's keys, F10, and the answers of the record and
// of the outbox.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case RecordedMsg:
		if m.state != Recording {
			return m, nil
		}
		if msg.Err != nil {
			m.state, m.problem = Editing, m.explain(msg.Err)
			return m, nil
		}
		m.state, m.problem, m.receipt = Local, "", msg.Receipt
		m.decisions = msg.Receipt.Decisions
		var poll tea.Cmd
		m.follow, poll = upload.Start(msg.Receipt.Record.ID)
		return m, poll
	case upload.PollMsg, upload.StateMsg:
		if m.state != Local {
			return m, nil // m.problem says why the last try was not recorded
		}
		var cmd tea.Cmd
		m.follow, m.state, cmd = m.follow.Update(m.c, m.state, msg)
		m.problem = ""
		if err := m.follow.Err(); err != nil {
			m.problem = m.c.T(i18n.DispStateFailed, m.explain(err))
		}
		return m, cmd
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m Model) key(km tea.KeyMsg) (Model, tea.Cmd) {
	k := m.c.Keys
	switch formkit.KeyAction(k, m.state, km) {
	case formkit.Ignore:
		return m, nil
	case formkit.Back:
		return m, back
	case formkit.Confirm:
		return m.confirm()
	case formkit.Next:
		return m.move(1), nil
	case formkit.Prev:
		return m.move(-1), nil
	}
	if key.Matches(km, k.Up, k.Down) && (m.focus == fieldPackage || m.focus == fieldBasis) {
		by := 1
		if key.Matches(km, k.Up) {
			by = -1
		}
		if m.focus == fieldBasis {
			m.basis = (m.basis + by + len(bases)) % len(bases)
		} else if n := len(m.p.Medicine.Packages); n > 0 {
			m.pack = (m.pack + by + n) % n
		}
		return m.judge(), nil
	}
	var cmd tea.Cmd
	switch m.focus {
	case fieldQuantity:
		m.quantity, cmd = m.quantity.Update(km)
	case fieldUnitsPerDay:
		m.unitsPerDay, cmd = m.unitsPerDay.Update(km)
	}
	return m.judge(), cmd
}

func back() tea.Msg { return BackMsg{} }

// confirm builds the dispensing and records it in the background.
func (m Model) confirm() (Model, tea.Cmd) {
	if !m.who.Role.MayRecord() {
		m.problem = m.c.T(i18n.DispViewOnly)
		return m, nil
	}
	qty, err := strconv.Atoi(strings.TrimSpace(m.quantity.Value()))
	if err != nil {
		m.problem = m.c.T(i18n.DispNumber)
		return m, nil
	}
	upd, err := formkit.ParseDose(m.unitsPerDay.Value())
	if err != nil {
		m.problem = m.c.T(i18n.DispNumber)
		return m, nil
	}
	pack, _ := m.packageChosen()
	d := rx.Dispensing{
		PrescriptionID: m.p.ID,
		Patient:        m.p.Patient,
		Medicine:       m.p.Medicine,
		VNR:            pack.VNR,
		Quantity:       qty,
		Time:           m.c.Now(),
	}
	if d.Patient == "" {
		d.Patient = m.patient.HETU
	}
	opts := record.DispenseOptions{Prescription: &m.p}
	if Journal(m.p) {
		// pkg/record and the journal count what is left of it at every
		// counter, again in the append's transaction.
		d.PrescriptionID, d.PrescriptionRecord, opts.Prescription = "", m.p.RecordID, nil
	}
	if m.essential {
		d.Essential = true
		d.Basis = bases[m.basis]
		opts.UnitsPerDay = upd
	}
	m.state, m.problem = Recording, ""
	svc, who, timeout := m.c.Services, m.who, m.c.Counter.CallTimeout
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		rc, err := svc.Dispense(ctx, who, d, opts)
		return RecordedMsg{Receipt: rc, Err: err}
	}
}

// explain puts an error of record in the pharmacist's terms: each
// validation problem and policy denial on a line of its own.
func (m Model) explain(err error) string {
	if text, ok := m.c.Refusal(err); ok {
		return text
	}
	var v *rx.ValidationError
	if errors.As(err, &v) {
		lines := make([]string, len(v.Problems))
		for i, p := range v.Problems {
			lines[i] = "• " + p.Field + ": " + p.Message
		}
		return "\n" + strings.Join(lines, "\n")
	}
	var e *rx.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// View renders the form, the decisions and where the record stands.
func (m Model) View() string {
	s := m.c.Styles
	width := max(m.c.Width, 20)
	wrap := lipgloss.NewStyle().Width(width)
	var b strings.Builder
	who := m.patient.HETU
	if m.patient.Family != "" || m.patient.Given != "" { // a journal prescription's patient has the code only
		who = m.patient.Name() + "  " + who
	}
	b.WriteString(s.Title.Render(m.c.T(i18n.DispTitle, who)) + "\n")
	if m.essential {
		b.WriteString(s.Error.Render(m.c.T(i18n.DispEssential)) + "\n")
	}
	med := m.p.Medicine
	label := func(k i18n.Key) string { return s.Muted.Render(fmt.Sprintf("%-14s", m.c.T(k))) }
	marker := func(f int) string {
		if m.focus == f && m.state == Editing {
			return "▸ "
		}
		return "  "
	}
	id := m.p.ID
	if Journal(m.p) && id == "" { // named by its kind
		id = m.c.KindText(journal.KindPaperPrescription)
		if m.p.Form == rx.FormTelephone {
			id = m.c.KindText(journal.KindTelephonePrescription)
		}
	}
	b.WriteString("  " + label(i18n.DispPrescription) + id + "  " + med.DisplayName() + "\n")
	b.WriteString("  " + label(i18n.RxColDosage) + m.p.Dosage + "  " +
		s.Muted.Render(m.c.T(i18n.DispRemaining, m.c.Lang.Quantity(m.p.Remaining(), med.Unit))) + "\n")
	if m.essential {
		v := bases[m.basis]
		b.WriteString(marker(fieldBasis) + label(i18n.DispBasis) + choice(m, m.focus == fieldBasis, m.c.T(basisText[v])) + "\n")
	}
	packText := "–"
	if pack, ok := m.packageChosen(); ok {
		packText = m.c.T(i18n.DispPackOf, pack.VNR, m.c.Lang.Quantity(pack.Size, med.Unit))
	}
	b.WriteString(marker(fieldPackage) + label(i18n.DispPackage) + choice(m, m.focus == fieldPackage, packText) + "\n")
	b.WriteString(marker(fieldQuantity) + label(i18n.DispQuantity) + m.quantity.View() + " " + m.c.Lang.Units(med.Unit) + "\n")
	if m.essential {
		b.WriteString(marker(fieldUnitsPerDay) + label(i18n.DispUnitsPerDay) + m.unitsPerDay.View() + "\n")
	}
	b.WriteString("\n" + s.Label.Render(m.c.T(i18n.DispDecisions)) + "\n")
	for _, line := range formkit.DecisionLines(m.c, m.decisions, width, false) {
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	switch m.state {
	case Editing:
		if !m.who.Role.MayRecord() {
			b.WriteString(s.Warning.Render(m.c.T(i18n.DispViewOnly)))
		} else {
			b.WriteString(s.Label.Render(m.c.T(i18n.DispConfirmHint, m.c.Keys.ConfirmDispense.Help().Key)))
		}
		if m.problem != "" {
			b.WriteString("\n" + s.Error.Inherit(wrap).Render(m.c.T(i18n.DispNotRecorded, m.problem)))
		}
	case Recording:
		b.WriteString(s.Muted.Render(m.c.T(i18n.DispRecording)))
	case Local:
		b.WriteString(s.OK.Render(m.c.T(i18n.DispRecordedLocally, m.receipt.Record.Seq)) + "\n")
		b.WriteString(s.Warning.Render(m.c.T(i18n.DispWaitingUpload, string(upload.Waiting(m.follow.Entries())))))
		if m.Entry().LastError != "" {
			b.WriteString("\n" + s.Muted.Inherit(wrap).Render(m.Entry().LastError))
		}
		if m.problem != "" {
			b.WriteString("\n" + s.Error.Inherit(wrap).Render(m.problem))
		}
	case Centre:
		b.WriteString(s.OK.Render(m.c.T(i18n.DispRecordedLocally, m.receipt.Record.Seq)) + "\n")
		b.WriteString(s.OK.Render(m.c.T(i18n.DispRecordedCentre) + " " + m.c.T(i18n.DispHandOver)))
	case Refused:
		b.WriteString(s.OK.Render(m.c.T(i18n.DispRecordedLocally, m.receipt.Record.Seq)) + "\n")
		c, ok := queue.EntryConflict(m.Entry())
		text := m.Entry().LastError
		if ok {
			text = string(c.Kind) + " – " + c.Detail
		}
		b.WriteString(s.Error.Inherit(wrap).Render(m.c.T(i18n.DispRefused, text)) + "\n")
		b.WriteString(s.Error.Inherit(wrap).Render(m.c.T(i18n.DispDoNotHand)))
	}
	return b.String()
}

// choice renders a value chosen with ↑ and ↓, marked when focused.
func choice(m Model, focused bool, text string) string {
	if focused && m.state == Editing {
		return m.c.Styles.Selected.Render("‹ " + text + " ›")
	}
	return "  " + text
}
