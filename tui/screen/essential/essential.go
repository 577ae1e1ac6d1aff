// Package essential is the counter's standalone essential-medication form
// (DESIGN §2): in the pharmacy's own fault, with no e-prescription to load,
// the pharmacist scans the instruction sheet's barcode (the prescription
// id) or types it, chooses the basis document, the medicine, the package,
// the quantity and the daily dose; the policy caps the quantity, its
// decisions shown inline with their rule ids. The form warns when the
// patient already received the same medicine (by medicine or ATC code)
// during the current outage.
//
// F10 records through Services.Dispense, the one write path; the form
// then shows "recorded locally" and follows the outbox to "recorded in
// Prescription Centre", or the refusal at once, before the medicine is
// handed over.
package essential

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/rxform/formkit"
	"github.com/tiski-rx/tiski/tui/screen/upload"
)

// State is where the dispensing stands.
type State = upload.State

// States of the form.
const (
	Editing   = upload.Editing
	Recording = upload.Recording
	Local     = upload.Local
	Centre    = upload.Centre
	Refused   = upload.Refused
)

// BackMsg asks the root to go back.
type BackMsg struct{}

// RecordsMsg answers the read of the patient's records of the outage.
type RecordsMsg struct {
	Records []journal.Record
	Err     error
}

// ModeMsg answers the read of the counter's mode.
type ModeMsg struct {
	State rx.ModeState
	Err   error
}

// Field is one field of the form.
type Field int

// Fields, in focus order; the fault reference is asked only when the
// counter is not in FAULT mode.
const (
	FieldPrescriptionID Field = iota
	FieldBasis
	FieldMedicine
	FieldPackage
	FieldQuantity
	FieldUnitsPerDay
	FieldFaultReference
	fieldCount
)

var bases = []rx.BasisDocument{rx.BasisInstructionSheet, rx.BasisSummary, rx.BasisPreviousLabel}

var basisText = map[rx.BasisDocument]i18n.Key{
	rx.BasisInstructionSheet: i18n.DispBasisSheet,
	rx.BasisSummary:          i18n.DispBasisSummary,
	rx.BasisPreviousLabel:    i18n.DispBasisLabel,
}

// recordFields maps record's field names (rx.Dispensing.Validate and
// pkg/record's checks and policy denials) to the form's fields.
var recordFields = map[string]Field{
	"prescription":                           FieldPrescriptionID,
	"basis":                                  FieldBasis,
	"medicine":                               FieldMedicine,
	"package":                                FieldPackage,
	"quantity":                               FieldQuantity,
	"essential":                              FieldFaultReference,
	"policy " + policy.RuleEssentialQuantity: FieldQuantity,
	"policy " + policy.RuleEssentialNarcotic: FieldMedicine,
	"policy " + policy.RulePKV:               FieldMedicine,
}

// prior is a dispensing the patient received earlier in the outage.
type prior struct {
	seq      int64
	time     time.Time
	medicine rx.Medicine
	quantity int
}

// Model is the essential-medication form.
type Model struct {
	c       common.Common
	who     rx.Pharmacist
	patient rx.Patient
	since   time.Time

	focus   Field
	inputs  [fieldCount]textinput.Model
	isInput [fieldCount]bool
	basis   int
	picker  formkit.Picker
	held    []tea.KeyMsg // keys typed while the picker was taking: replayed on its answer

	faultKnown bool
	inFault    bool
	priors     []prior
	priorsErr  string

	decisions []policy.Decision
	live      map[Field]string
	problems  map[Field][]string
	other     []string

	state   State
	receipt record.Receipt
	follow  upload.Follow
}

// New returns the form for patient, who may be only an identity code.
// since is the start of the current outage (rx.ModeState.Since): the
// patient's dispensings from then on are checked for the same medicine.
func New(c common.Common, who rx.Pharmacist, patient rx.Patient, since time.Time) Model {
	m := Model{c: c, who: who, patient: patient, since: since, picker: formkit.NewPicker()}
	for f, limit := range map[Field]int{FieldPrescriptionID: 64, FieldQuantity: 6, FieldUnitsPerDay: 6, FieldFaultReference: 120} {
		m.inputs[f], m.isInput[f] = formkit.Input(limit), true
	}
	m.focus = FieldPrescriptionID
	return m.sized().focusInputs().check()
}

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m.sized() }

// sized fits the text inputs to the screen: a longer text scrolls inside
// its field.
func (m Model) sized() Model {
	w := max(max(m.c.Width, 40)-labelWidth-4-2, 8) // the marker, the label, the gap; the cursor and the unit
	formkit.SizeInputs(m.inputs[:], m.isInput[:], w)
	m.inputs[FieldPrescriptionID].Placeholder = m.c.T(i18n.EssScanHint)
	return m
}

// Init loads the medicine catalogue, the patient's records of the outage
// and the counter's mode, each in the background.
func (m Model) Init() tea.Cmd {
	svc, timeout, code, since := m.c.Services, m.c.Counter.CallTimeout, m.patient.HETU, m.since
	records := func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		recs, err := svc.PatientRecords(ctx, code, since)
		return RecordsMsg{Records: recs, Err: err}
	}
	mode := func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		st, err := svc.Mode(ctx)
		return ModeMsg{State: st, Err: err}
	}
	return tea.Batch(formkit.CheckCatalogue(m.c), records, mode)
}

// State returns where the dispensing stands.
func (m Model) State() State { return m.state }

// Receipt returns the receipt, once recorded.
func (m Model) Receipt() record.Receipt { return m.receipt }

// Decisions returns the policy decisions shown.
func (m Model) Decisions() []policy.Decision { return m.decisions }

// Focus returns the focused field.
func (m Model) Focus() Field { return m.focus }

// Entries returns the outbox entries last read.
func (m Model) Entries() []journal.OutboxEntry { return m.follow.Entries() }

// Other returns the problems of no field.
func (m Model) Other() []string { return m.other }

// Problems returns the problems shown next to field f.
func (m Model) Problems(f Field) []string {
	if p := m.live[f]; p != "" {
		return []string{p}
	}
	return m.problems[f]
}

// SameMedicine returns the warnings that the patient already received the
// chosen medicine (or one of its ATC code) during the outage.
func (m Model) SameMedicine() []string {
	med, ok := m.picker.Medicine()
	if !ok {
		return nil
	}
	var out []string
	for _, p := range m.priors {
		if p.medicine.ID == med.ID || (med.ATC != "" && p.medicine.ATC == med.ATC) {
			out = append(out, m.c.T(i18n.EssSameMedicine, p.medicine.DisplayName(), p.quantity, p.medicine.Unit,
				p.time.In(m.c.Now().Location()).Format("15:04"), p.seq))
		}
	}
	return out
}

func (m Model) fields() []Field {
	fs := []Field{FieldPrescriptionID, FieldBasis, FieldMedicine, FieldPackage, FieldQuantity, FieldUnitsPerDay}
	if m.faultKnown && !m.inFault {
		fs = append(fs, FieldFaultReference)
	}
	return fs
}

func (m Model) focusInputs() Model {
	m.picker = formkit.FocusInputs(m.inputs[:], m.isInput[:], m.focus, FieldMedicine, m.picker)
	return m
}

func (m Model) move(by int) Model {
	m.focus = formkit.Move(m.fields(), m.focus, by)
	return m.focusInputs()
}

func (m Model) value(f Field) string { return strings.TrimSpace(m.inputs[f].Value()) }

// check looks at the fields as typed and previews the policy's cap.
func (m Model) check() Model {
	live := map[Field]string{}
	if v := m.value(FieldPrescriptionID); v != "" && !rx.IsFHIRID(v) {
		live[FieldPrescriptionID] = m.c.T(i18n.EssBadID)
	}
	if _, _, err := formkit.ParseCount(m.value(FieldQuantity)); err != nil {
		live[FieldQuantity] = m.c.T(i18n.FormWholeNumber)
	}
	if _, err := formkit.ParseDose(m.value(FieldUnitsPerDay)); err != nil {
		live[FieldUnitsPerDay] = m.c.T(i18n.FormNumber)
	}
	m.live = live
	m.decisions = nil
	if med, ok := m.picker.Medicine(); ok {
		pol := m.c.Counter.Policy
		if pol == nil {
			pol = policy.Default()
		}
		pk, _ := m.picker.Package()
		qty, _, _ := formkit.ParseCount(m.value(FieldQuantity))
		upd, _ := formkit.ParseDose(m.value(FieldUnitsPerDay))
		m.decisions = pol.EssentialDispensing(med, pk, qty, upd)
	}
	return m
}

// Update handles the form's keys, F10, and the answers of the loads, the
// record and the outbox.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case formkit.CatalogueMsg:
		m.picker = m.picker.Load(msg)
		return m, nil
	case formkit.FoundMsg:
		before, _ := m.picker.Medicine()
		var took bool
		m.picker, took = m.picker.Found(msg)
		m = m.picked(before, took).check()
		if m.picker.Taking() || len(m.held) == 0 {
			return m, nil
		}
		held := m.held
		m.held = nil
		return formkit.Replay(m, held, Model.key)
	case RecordsMsg:
		if msg.Err != nil {
			m.priorsErr = msg.Err.Error()
			return m, nil
		}
		m.priors, m.priorsErr = dispensed(msg.Records), ""
		return m, nil
	case ModeMsg:
		if msg.Err == nil {
			m.faultKnown, m.inFault = true, msg.State.Mode == rx.ModeFault
		}
		return m, nil
	case formkit.RecordedMsg:
		if m.state != Recording {
			return m, nil
		}
		if msg.Err != nil {
			m.state = Editing
			return m.placeProblems(msg.Err), nil
		}
		m.state, m.receipt, m.decisions = Local, msg.Receipt, msg.Receipt.Decisions
		m.problems, m.other = nil, nil
		var poll tea.Cmd
		m.follow, poll = upload.Start(msg.Receipt.Record.ID)
		return m, poll
	case upload.PollMsg, upload.StateMsg:
		var cmd tea.Cmd
		m.follow, m.state, cmd = m.follow.Update(m.c, m.state, msg)
		return m, cmd
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

// dispensed returns the dispensings among recs that no void in recs
// cancels.
func dispensed(recs []journal.Record) []prior {
	voided := map[string]bool{}
	for _, r := range recs {
		if r.Kind == journal.KindVoid {
			voided[r.RefersTo] = true
		}
	}
	var out []prior
	for _, r := range recs {
		if r.Kind != journal.KindDispensing || voided[r.ID] {
			continue
		}
		var body record.DispensingBody
		if err := json.Unmarshal(r.Body, &body); err != nil {
			continue // an unreadable body names no medicine to warn of
		}
		out = append(out, prior{seq: r.Seq, time: r.Time, medicine: body.Medicine, quantity: body.Quantity})
	}
	return out
}

func (m Model) key(km tea.KeyMsg) (Model, tea.Cmd) {
	if m.picker.Taking() {
		// Enter came before the catalogue's answer: the keys after it
		// wait for the answer, as if it had come at once.
		m.held = formkit.Hold(m.held, km)
		return m, nil
	}
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
	switch m.focus {
	case FieldMedicine:
		before, _ := m.picker.Medicine()
		var took bool
		var cmd tea.Cmd
		m.picker, took, cmd = m.picker.Update(km, m.c)
		return m.picked(before, took).check(), cmd
	case FieldBasis, FieldPackage:
		by, next := formkit.ChoiceKey(k, km)
		if next {
			return m.move(1), nil
		}
		if by == 0 {
			return m, nil
		}
		if m.focus == FieldBasis {
			m.basis = (m.basis + by + len(bases)) % len(bases)
			m = m.clear(FieldPrescriptionID)
		} else {
			m.picker = m.picker.MovePackage(by)
			if pk, ok := m.picker.Package(); ok {
				m.inputs[FieldQuantity].SetValue(strconv.Itoa(pk.Size))
			}
		}
		return m.clear(m.focus).check(), nil
	}
	if !m.isInput[m.focus] {
		return m, nil
	}
	if by := formkit.InputMove(k, km); by != 0 {
		return m.move(by), nil // the scanner ends the barcode with Enter
	}
	var changed bool
	var cmd tea.Cmd
	m.inputs[m.focus], changed, cmd = formkit.Type(m.inputs[m.focus], km)
	if changed {
		m = m.clear(m.focus)
	}
	return m.check(), cmd
}

// picked follows the picker after a key or a catalogue's answer: a new
// medicine clears the field's problems and starts the quantity at its
// package, and one taken (Enter, or a scanner's VNR answered) moves to the
// next field.
func (m Model) picked(before rx.Medicine, took bool) Model {
	if after, ok := m.picker.Medicine(); ok && after.ID != before.ID {
		m = m.clear(FieldMedicine)
		if pk, ok := m.picker.Package(); ok {
			// The cap is the smallest pack: start there.
			m.inputs[FieldQuantity].SetValue(strconv.Itoa(pk.Size))
		}
	}
	if took && m.focus == FieldMedicine && m.state == Editing {
		m = m.move(1)
	}
	return m
}

func back() tea.Msg { return BackMsg{} }

// clear drops record's problems of field f, into a new map.
func (m Model) clear(f Field) Model {
	m.problems = formkit.Without(m.problems, f)
	return m
}

// confirm records the dispensing in the background.
func (m Model) confirm() (Model, tea.Cmd) {
	m.problems, m.other = nil, nil
	if !m.who.Role.MayRecord() {
		m.other = []string{m.c.T(i18n.FormViewOnly)}
		return m, nil
	}
	basis := bases[m.basis]
	id := m.value(FieldPrescriptionID)
	if id == "" && basis != rx.BasisPreviousLabel {
		m.problems = map[Field][]string{FieldPrescriptionID: {m.c.T(i18n.EssIDNeeded)}}
		return m, nil
	}
	if len(m.live) > 0 {
		return m, nil // the problems show already, next to their fields
	}
	med, _ := m.picker.Medicine()
	pk, _ := m.picker.Package()
	qty, _, _ := formkit.ParseCount(m.value(FieldQuantity))
	upd, _ := formkit.ParseDose(m.value(FieldUnitsPerDay))
	d := rx.Dispensing{
		PrescriptionID: id, Patient: m.patient.HETU, Medicine: med, VNR: pk.VNR, Quantity: qty,
		Time: m.c.Now(), Essential: true, Basis: basis,
	}
	opts := record.DispenseOptions{UnitsPerDay: upd}
	if m.faultKnown && !m.inFault {
		opts.FaultReference = m.value(FieldFaultReference)
	}
	m.state = Recording
	svc, who := m.c.Services, m.who
	return m, formkit.Record(m.c, func(ctx context.Context) (record.Receipt, error) {
		return svc.Dispense(ctx, who, d, opts)
	})
}

// placeProblems puts record's problems next to their fields.
func (m Model) placeProblems(err error) Model {
	if text, ok := m.c.Refusal(err); ok {
		m.problems, m.other = nil, []string{text}
		return m
	}
	shown := map[Field]bool{}
	for _, f := range m.fields() {
		shown[f] = true
	}
	m.problems, m.other = formkit.PlaceProblems(err, func(name string) (Field, bool) {
		f, ok := recordFields[name]
		return f, ok && shown[f]
	})
	return m
}

const labelWidth = 16

// View renders the form, the warnings, the policy's decisions and where
// the dispensing stands, in c.Height lines.
func (m Model) View() string {
	s := m.c.Styles
	width := max(m.c.Width, 40)
	height := max(m.c.Height, 10)
	who := formkit.PatientLine(m.patient)
	head := []string{s.Title.Render(m.c.T(i18n.EssTitle, who))}
	if m.faultKnown && !m.inFault {
		head = append(head, formkit.Wrap(s.Warning, width, m.c.T(i18n.EssNotFault))...)
	} else {
		head = append(head, s.Error.Render(m.c.T(i18n.EssFault)))
	}
	for _, w := range m.SameMedicine() {
		head = append(head, formkit.Wrap(s.Warning, width, "! "+w)...)
	}
	if m.priorsErr != "" {
		head = append(head, formkit.Wrap(s.Error, width, m.c.T(i18n.EssRecordsFailed, m.priorsErr))...)
	}

	var blocks []formkit.Block
	for _, f := range m.fields() {
		blocks = append(blocks, m.block(f, width))
	}
	foot := m.footer(width)
	decisions, room := formkit.DecisionSection(m.c, m.decisions, width, height, len(head)+len(foot)+1, formkit.Lines(blocks))
	return formkit.Page(head, formkit.FitView(m.c, blocks, room), decisions, foot, width, height)
}

// block renders one field with its problems under it.
func (m Model) block(f Field, width int) formkit.Block {
	focused := m.focus == f && m.state == Editing
	label := func(k i18n.Key) string { return formkit.Label(m.c, m.c.T(k), focused, labelWidth) }
	var lines []string
	switch f {
	case FieldPrescriptionID:
		lines = append(lines, label(i18n.EssPrescriptionID)+"  "+m.inputs[f].View())
	case FieldBasis:
		lines = append(lines, label(i18n.DispBasis)+formkit.Choice(m.c, focused, m.c.T(basisText[bases[m.basis]])))
	case FieldMedicine:
		lines = append(lines, label(i18n.FormMedicine)+"  "+m.picker.Value(m.c, focused))
		if focused {
			lines = append(lines, m.picker.Lines(m.c, labelWidth+4, width, 5)...)
		}
	case FieldPackage:
		lines = append(lines, label(i18n.DispPackage)+formkit.Choice(m.c, focused, formkit.PackageText(m.c, m.picker)))
	case FieldQuantity:
		line := label(i18n.DispQuantity) + "  " + m.inputs[f].View()
		if med, ok := m.picker.Medicine(); ok {
			line += " " + med.Unit
		}
		lines = append(lines, line)
	case FieldUnitsPerDay:
		lines = append(lines, label(i18n.DispUnitsPerDay)+"  "+m.inputs[f].View())
	case FieldFaultReference:
		lines = append(lines, label(i18n.EssFaultReference)+"  "+m.inputs[f].View())
	}
	lines = append(lines, formkit.ProblemLines(m.c, m.Problems(f), labelWidth+4, width)...)
	return formkit.Block{Focused: focused, Lines: lines}
}

// footer renders where the dispensing stands.
func (m Model) footer(width int) []string {
	s := m.c.Styles
	var out []string
	switch m.state {
	case Editing:
		out = formkit.EditingLines(m.c, m.who.Role.MayRecord(), i18n.DispConfirmHint, m.problems, m.other, width)
	case Recording:
		out = append(out, s.Muted.Render(m.c.T(i18n.DispRecording)))
	default:
		out = append(out, s.OK.Render(m.c.T(i18n.DispRecordedLocally, m.receipt.Record.Seq)))
		switch m.state {
		case Local:
			out = append(out, formkit.WaitingLines(m.c, m.follow.Entries(), m.follow.Err(), width)...)
		case Centre:
			out = append(out, s.OK.Render(m.c.T(i18n.DispRecordedCentre)+" "+m.c.T(i18n.DispHandOver)))
		case Refused:
			if text, held := upload.Refusal(m.follow.Entries()); held {
				out = append(out, formkit.RefusalLines(m.c, m.follow.Entries(), width)...)
			} else {
				out = append(out, formkit.Wrap(s.Error, width, m.c.T(i18n.DispRefused, text))...)
			}
			out = append(out, formkit.Wrap(s.Error, width, m.c.T(i18n.DispDoNotHand))...)
		}
	}
	return out
}
