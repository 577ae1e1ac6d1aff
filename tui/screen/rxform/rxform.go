// Package rxform is the counter's paper and telephone prescription form
// (DESIGN §2, §7). It works in every mode, because the fault may be the
// prescriber's: online the record is uploaded at once, in a fault it
// waits in the outbox.
//
// Every field is checked as the pharmacist types where the form can tell
// (the identity code, the registration number's digits, the dates, the
// numbers, the phone number); after F10, record's own validation problems
// show next to their fields, all at once. The telephone form has a
// verification checklist: every item must be ticked (space) before F10
// records, and the ticked items become the record's verification text.
// By default the first dispensing is recorded together with the
// prescription, in one journal transaction.
package rxform

import (
	"context"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/rxform/formkit"
	"github.com/tiski-rx/tiski/tui/screen/upload"
)

// State is where the form's record stands.
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

// Field is one field of the form.
type Field int

// Fields, in focus order; the phone, the call time and the checklist are
// on the telephone form only.
const (
	FieldPatient Field = iota
	FieldPrescriber
	FieldRegistration
	FieldProfession
	FieldPhone
	FieldCallTime
	FieldMedicine
	FieldPackage
	FieldDosage
	FieldQuantity
	FieldRepeats
	FieldIssued
	FieldReason
	FieldDispense
	FieldCheckCallBack
	FieldCheckRegistration
	FieldCheckMedicine
	FieldCheckPatient
	FieldDispenseQuantity // the quantity dispensed now, when dispensing: the prescribed quantity until changed
	fieldCount
)

// checks are the telephone verification checklist, in order.
var checks = []struct {
	field Field
	text  i18n.Key
}{
	{FieldCheckCallBack, i18n.FormCheckCallBack},
	{FieldCheckRegistration, i18n.FormCheckRegistration},
	{FieldCheckMedicine, i18n.FormCheckMedicine},
	{FieldCheckPatient, i18n.FormCheckPatient},
}

var professions = []rx.Profession{rx.Physician, rx.Dentist}

// recordFields maps record's field names (pkg/rx ValidateRecorded and
// Validate, pkg/record's policy denials) to the form's fields.
var recordFields = map[string]Field{
	"patient":                                FieldPatient,
	"prescriber name":                        FieldPrescriber,
	"prescriber registration":                FieldRegistration,
	"prescriber profession":                  FieldProfession,
	"prescriber phone":                       FieldPhone,
	"call time":                              FieldCallTime,
	"verification":                           FieldCheckCallBack,
	"medicine":                               FieldMedicine,
	"dosage":                                 FieldDosage,
	"quantity":                               FieldQuantity,
	"repeats":                                FieldRepeats,
	"issue date":                             FieldIssued,
	"reason":                                 FieldReason,
	"dispensing patient":                     FieldPatient,
	"dispensing medicine":                    FieldMedicine,
	"dispensing package":                     FieldPackage,
	"dispensing quantity":                    FieldDispenseQuantity,
	"dispensing time":                        FieldDispense,
	"policy " + policy.RulePrescriber:        FieldProfession,
	"policy " + policy.RuleTelephoneNarcotic: FieldMedicine,
	"policy " + policy.RulePKV:               FieldMedicine,
	"policy " + policy.RuleTelephoneValidity: FieldIssued,
	"policy " + policy.RuleGrace:             FieldIssued,
}

// Model is the paper or telephone prescription form.
type Model struct {
	c       common.Common
	who     rx.Pharmacist
	patient rx.Patient
	form    rx.Form
	mode    rx.Mode

	focus    Field
	inputs   [fieldCount]textinput.Model // of the text fields; arrays, so a copy of the model is a copy
	isInput  [fieldCount]bool
	picker   formkit.Picker
	held     []tea.KeyMsg // keys typed while the picker was taking: replayed on its answer
	prof     int
	dispense bool
	ticked   [fieldCount]bool
	// ownQuantity is set once the pharmacist typed the quantity to
	// dispense now; until then it follows the prescribed quantity.
	ownQuantity bool

	decisions []policy.Decision
	live      map[Field]string   // problems seen as typed
	problems  map[Field][]string // record's problems of the last F10
	other     []string           // problems of no field

	state   State
	receipt record.Receipt
	follow  upload.Follow
}

// New returns the form of kind form (rx.FormPaper or rx.FormTelephone)
// for patient, who may be only an identity code while the Prescription
// Centre is down. mode is the counter's mode, shown on the form.
func New(c common.Common, who rx.Pharmacist, patient rx.Patient, form rx.Form, mode rx.Mode) Model {
	if form != rx.FormTelephone {
		form = rx.FormPaper
	}
	m := Model{c: c, who: who, patient: patient, form: form, mode: mode, dispense: true,
		picker: formkit.NewPicker()}
	for f, limit := range map[Field]int{
		FieldPatient: 11, FieldPrescriber: 60, FieldRegistration: 11, FieldPhone: 24, FieldCallTime: 16,
		FieldDosage: 120, FieldQuantity: 6, FieldRepeats: 3, FieldIssued: 10, FieldReason: 120, FieldDispenseQuantity: 6,
	} {
		m.inputs[f], m.isInput[f] = formkit.Input(limit), true
	}
	now := m.c.Now()
	m.inputs[FieldPatient].SetValue(patient.HETU)
	m.inputs[FieldRepeats].SetValue("0")
	m.inputs[FieldIssued].SetValue(formkit.FormatDate(now))
	m.inputs[FieldCallTime].SetValue(formkit.FormatDateTime(now))
	m.focus = FieldPatient
	if patient.HETU != "" {
		m.focus = FieldPrescriber
	}
	return m.sized().focusInputs().check()
}

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m.sized() }

// columnWidth is the width of a column of fields: half the screen when
// the form has two columns.
func (m Model) columnWidth() int {
	width := max(m.c.Width, 40)
	if width >= 100 {
		return width/2 - 1
	}
	return width
}

// sized fits the text inputs to their column: a longer text scrolls
// inside its field.
func (m Model) sized() Model {
	w := max(m.columnWidth()-labelWidth-4-2, 8) // the marker, the label, the gap; the cursor and the unit
	formkit.SizeInputs(m.inputs[:], m.isInput[:], w)
	return m
}

// Init loads the medicine catalogue.
func (m Model) Init() tea.Cmd { return formkit.CheckCatalogue(m.c) }

// State returns where the record stands.
func (m Model) State() State { return m.state }

// Form returns the kind of the form: paper or telephone.
func (m Model) Form() rx.Form { return m.form }

// Receipt returns the receipt, once recorded.
func (m Model) Receipt() record.Receipt { return m.receipt }

// Decisions returns the policy decisions shown: previewed while editing,
// those of the receipt once recorded.
func (m Model) Decisions() []policy.Decision { return m.decisions }

// Problems returns the problems shown next to field f: those seen as
// typed, then record's.
func (m Model) Problems(f Field) []string {
	var out []string
	// What the form saw as typed says the same as record would, in the
	// form's words: record's problem of the field shows once it is fixed.
	if p := m.live[f]; p != "" {
		return append(out, p)
	}
	return append(out, m.problems[f]...)
}

// Other returns the problems of no field, e.g. a refusal of the person.
func (m Model) Other() []string { return m.other }

// Focus returns the focused field.
func (m Model) Focus() Field { return m.focus }

// Entries returns the outbox entries of the records last read.
func (m Model) Entries() []journal.OutboxEntry { return m.follow.Entries() }

func (m Model) fields() []Field {
	fs := []Field{FieldPatient, FieldPrescriber, FieldRegistration, FieldProfession}
	if m.form == rx.FormTelephone {
		fs = append(fs, FieldPhone, FieldCallTime)
	}
	fs = append(fs, FieldMedicine, FieldPackage, FieldDosage, FieldQuantity, FieldRepeats, FieldIssued, FieldReason, FieldDispense)
	if m.dispense {
		fs = append(fs, FieldDispenseQuantity)
	}
	if m.form == rx.FormTelephone {
		for _, c := range checks {
			fs = append(fs, c.field)
		}
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

// check looks at the fields as they stand: the problems the form can see
// as the pharmacist types, and the policy's preview.
func (m Model) check() Model {
	live := map[Field]string{}
	// The identity code is judged once it is whole, or when the pharmacist
	// has left the field.
	if v := m.value(FieldPatient); len(v) >= 11 || v != "" && m.focus != FieldPatient {
		if _, err := hetu.Parse(v); err != nil {
			reason := err.Error()
			if he, ok := err.(*hetu.Error); ok {
				reason = he.Reason
			}
			live[FieldPatient] = m.c.T(i18n.FormBadHETU, reason)
		}
	}
	if v := m.value(FieldRegistration); v != "" && !rx.DigitsOnly(v) {
		live[FieldRegistration] = m.c.T(i18n.FormDigitsOnly)
	}
	if v := m.value(FieldIssued); v != "" {
		if _, err := formkit.ParseDate(v, m.c.Now().Location()); err != nil {
			live[FieldIssued] = m.c.T(i18n.FormDate)
		}
	}
	for _, f := range []Field{FieldQuantity, FieldRepeats, FieldDispenseQuantity} {
		if _, _, err := formkit.ParseCount(m.value(f)); err != nil {
			live[f] = m.c.T(i18n.FormWholeNumber)
		}
	}
	if n, prescribed := m.dispenseQuantity(), m.prescribedQuantity(); m.dispense && prescribed > 0 && n > prescribed {
		unit := ""
		if med, ok := m.picker.Medicine(); ok {
			unit = med.Unit
		}
		live[FieldDispenseQuantity] = m.c.T(i18n.FormDispenseMore, m.c.Lang.Quantity(prescribed, unit))
	}
	if m.form == rx.FormTelephone {
		if v := m.value(FieldPhone); v != "" && !rx.LooksLikePhone(v) {
			live[FieldPhone] = m.c.T(i18n.FormPhoneShape)
		}
		if v := m.value(FieldCallTime); v != "" {
			if _, err := formkit.ParseDateTime(v, m.c.Now()); err != nil {
				live[FieldCallTime] = m.c.T(i18n.FormDateTime)
			}
		}
	}
	m.live = live
	pol := m.c.Counter.Policy
	if pol == nil {
		pol = policy.Default()
	}
	p := m.prescription()
	ds := pol.RecordedPrescription(p)
	if m.dispense && !p.Issued.IsZero() {
		// The validity of the dispensing repeats what the prescription's
		// rules said, unless it says more.
		for _, d := range pol.Dispensing(p, m.c.Now()) {
			if !said(ds, d) {
				ds = append(ds, d)
			}
		}
	}
	m.decisions = ds
	return m
}

// prescribedQuantity is the quantity field's whole number; 0 when it is
// not one.
func (m Model) prescribedQuantity() int {
	n, _, _ := formkit.ParseCount(m.value(FieldQuantity))
	return n
}

// dispenseQuantity is the quantity to dispense now: the prescribed one
// when the field is empty, -1 when it is not a whole number (record names
// it).
func (m Model) dispenseQuantity() int {
	n, ok, err := formkit.ParseCount(m.value(FieldDispenseQuantity))
	switch {
	case err != nil:
		return -1
	case !ok:
		return m.prescribedQuantity()
	}
	return n
}

// said reports whether ds has a decision of d's rule with its verdict.
func said(ds []policy.Decision, d policy.Decision) bool {
	for _, e := range ds {
		if e.RuleID == d.RuleID && e.Verdict == d.Verdict {
			return true
		}
	}
	return false
}

// prescription builds the prescription the fields describe; a field that
// does not parse is left zero, for record to name.
func (m Model) prescription() rx.Prescription {
	now := m.c.Now()
	p := rx.Prescription{
		Patient: m.value(FieldPatient),
		Form:    m.form,
		Prescriber: rx.Prescriber{
			Name:         m.value(FieldPrescriber),
			Registration: m.value(FieldRegistration),
			Profession:   professions[m.prof],
		},
		Dosage: m.value(FieldDosage),
		Reason: m.value(FieldReason),
	}
	if med, ok := m.picker.Medicine(); ok {
		p.Medicine = med
	}
	p.Quantity = m.prescribedQuantity()
	if n, _, err := formkit.ParseCount(m.value(FieldRepeats)); err == nil {
		p.Repeats = n
	} else {
		p.Repeats = -1 // record names it
	}
	if t, err := formkit.ParseDate(m.value(FieldIssued), now.Location()); err == nil {
		p.Issued = t
	}
	if m.form == rx.FormTelephone {
		call := &rx.TelephoneCall{Phone: m.value(FieldPhone), Verification: m.verification()}
		p.Prescriber.Phone = call.Phone
		if t, err := formkit.ParseDateTime(m.value(FieldCallTime), now); err == nil {
			call.Time = t
		}
		p.Telephone = call
	}
	return p
}

// verification is the record's verification text: the items ticked, in
// the counter's language, or "" until every one is.
func (m Model) verification() string {
	var done []string
	for _, c := range checks {
		if !m.ticked[c.field] {
			return ""
		}
		done = append(done, m.c.T(c.text))
	}
	return strings.Join(done, "; ")
}

// Update handles the form's keys, F10, and the answers of the catalogue,
// the record and the outbox.
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
	case formkit.RecordedMsg:
		if m.state != Recording {
			return m, nil
		}
		if msg.Err != nil {
			m.state = Editing
			return m.placeProblems(msg.Err), nil
		}
		m.state, m.receipt, m.decisions = Local, msg.Receipt, msg.Receipt.Decisions
		ids := []string{msg.Receipt.Record.ID}
		if msg.Receipt.Dispensing != nil {
			ids = append(ids, msg.Receipt.Dispensing.ID)
		}
		m.problems, m.other = nil, nil
		var poll tea.Cmd
		m.follow, poll = upload.Start(ids...)
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
	case FieldProfession, FieldPackage, FieldDispense:
		by, next := formkit.ChoiceKey(k, km)
		if next {
			return m.move(1), nil
		}
		if by == 0 {
			return m, nil
		}
		switch m.focus {
		case FieldProfession:
			m.prof = (m.prof + by + len(professions)) % len(professions)
		case FieldPackage:
			m.picker = m.picker.MovePackage(by)
		case FieldDispense:
			m.dispense = !m.dispense
		}
		return m.clear(m.focus).check(), nil
	case FieldCheckCallBack, FieldCheckRegistration, FieldCheckMedicine, FieldCheckPatient:
		if km.String() == " " {
			m.ticked[m.focus] = !m.ticked[m.focus]
			return m.clear(FieldCheckCallBack).check(), nil
		}
		if by := formkit.InputMove(k, km); by != 0 {
			return m.move(by), nil
		}
		return m, nil
	}
	if !m.isInput[m.focus] {
		return m, nil
	}
	if by := formkit.InputMove(k, km); by != 0 {
		return m.move(by), nil // a scanner ends with Enter
	}
	var changed bool
	var cmd tea.Cmd
	m.inputs[m.focus], changed, cmd = formkit.Type(m.inputs[m.focus], km)
	if changed {
		m = m.clear(m.focus)
		switch m.focus {
		case FieldQuantity:
			m = m.followQuantity()
		case FieldDispenseQuantity:
			m.ownQuantity = true
		}
	}
	return m.check(), cmd
}

// picked follows the picker after a key or a catalogue's answer: a new
// medicine clears the field's problems and fills in the quantity, and one
// taken (Enter, or a scanner's VNR answered) moves to the next field.
func (m Model) picked(before rx.Medicine, took bool) Model {
	if after, _ := m.picker.Medicine(); after.ID != before.ID {
		m = m.clear(FieldMedicine)
		if pk, ok := m.picker.Package(); ok && m.value(FieldQuantity) == "" {
			m.inputs[FieldQuantity].SetValue(strconv.Itoa(pk.Size))
			m = m.followQuantity()
		}
	}
	if took && m.focus == FieldMedicine && m.state == Editing {
		m = m.move(1)
	}
	return m
}

// followQuantity copies the prescribed quantity into the quantity to
// dispense now, until the pharmacist types one of their own.
func (m Model) followQuantity() Model {
	if !m.ownQuantity {
		m.inputs[FieldDispenseQuantity].SetValue(m.value(FieldQuantity))
	}
	return m
}

func back() tea.Msg { return BackMsg{} }

// clear drops record's problems of field f, into a new map: earlier
// copies of the model keep theirs.
func (m Model) clear(f Field) Model {
	m.problems = formkit.Without(m.problems, f)
	return m
}

// confirm records the prescription, with its dispensing when asked, in
// the background.
func (m Model) confirm() (Model, tea.Cmd) {
	m.problems, m.other = nil, nil
	if !m.who.Role.MayRecord() {
		m.other = []string{m.c.T(i18n.FormViewOnly)}
		return m, nil
	}
	if m.form == rx.FormTelephone && m.verification() == "" {
		m.problems = map[Field][]string{FieldCheckCallBack: {m.c.T(i18n.FormChecklistIncomplete)}}
		return m, nil
	}
	p := m.prescription()
	var d *rx.Dispensing
	if m.dispense {
		pk, _ := m.picker.Package()
		d = &rx.Dispensing{Patient: p.Patient, Medicine: p.Medicine, VNR: pk.VNR, Quantity: m.dispenseQuantity(), Time: m.c.Now()}
	}
	m.state = Recording
	svc, who, form := m.c.Services, m.who, m.form
	return m, formkit.Record(m.c, func(ctx context.Context) (record.Receipt, error) {
		if form == rx.FormTelephone {
			return svc.Telephone(ctx, who, p, d)
		}
		return svc.Paper(ctx, who, p, d)
	})
}

// placeProblems puts record's problems next to their fields.
func (m Model) placeProblems(err error) Model {
	if text, ok := m.c.Refusal(err); ok {
		m.problems, m.other = nil, []string{text}
		return m
	}
	m.problems, m.other = formkit.PlaceProblems(err, func(name string) (Field, bool) {
		if f, ok := recordFields[name]; ok {
			return f, true
		}
		return FieldDispense, strings.HasPrefix(name, "dispensing ")
	})
	return m
}

// View renders the form, the policy's decisions and where the record
// stands, in c.Height lines: two columns when the terminal is wide, and
// the fields scrolled around the focus when it is short.
func (m Model) View() string {
	s := m.c.Styles
	width := max(m.c.Width, 40)
	height := max(m.c.Height, 10)
	title := i18n.FormPaperTitle
	if m.form == rx.FormTelephone {
		title = i18n.FormTelephoneTitle
	}
	who := formkit.PatientLine(m.patient)
	head := []string{s.Title.Render(m.c.T(title, who))}
	if m.mode == rx.ModeFault {
		head = append(head, formkit.Wrap(s.Error, width, m.c.T(i18n.FormFault))...)
	} else {
		head = append(head, formkit.Wrap(s.Muted, width, m.c.T(i18n.FormOnline))...)
	}

	foot := m.footer(width)
	two := width >= 100
	var left, right []formkit.Block
	colWidth := m.columnWidth()
	for _, f := range m.fields() {
		b := m.block(f, colWidth)
		if two && m.rightColumn(f) {
			right = append(right, b)
		} else {
			left = append(left, b)
		}
	}
	decisions, room := formkit.DecisionSection(m.c, m.decisions, width, height, len(head)+len(foot)+1,
		max(formkit.Lines(left), formkit.Lines(right)))
	var body []string
	if two {
		body = formkit.Join(formkit.FitView(m.c, left, room), formkit.FitView(m.c, right, room), colWidth+2)
	} else {
		body = formkit.FitView(m.c, left, room)
	}
	return formkit.Page(head, body, decisions, foot, width, height)
}

// rightColumn tells the fields of the medicine, shown on the right when
// the form has two columns.
func (m Model) rightColumn(f Field) bool {
	switch f {
	case FieldMedicine, FieldPackage, FieldDosage, FieldQuantity, FieldRepeats, FieldDispense, FieldDispenseQuantity:
		return true
	}
	return false
}

const labelWidth = 14

// block renders one field with its problems under it.
func (m Model) block(f Field, width int) formkit.Block {
	s := m.c.Styles
	focused := m.focus == f && m.state == Editing
	label := func(k i18n.Key) string { return formkit.Label(m.c, m.c.T(k), focused, labelWidth) }
	var lines []string
	switch f {
	case FieldPatient, FieldPrescriber, FieldRegistration, FieldPhone, FieldCallTime, FieldDosage, FieldQuantity, FieldRepeats, FieldIssued, FieldReason,
		FieldDispenseQuantity:
		k := map[Field]i18n.Key{
			FieldPatient: i18n.FormPatient, FieldPrescriber: i18n.FormPrescriber, FieldRegistration: i18n.FormRegistration,
			FieldPhone: i18n.FormPhone, FieldCallTime: i18n.FormCallTime, FieldDosage: i18n.FormDosage,
			FieldQuantity: i18n.DispQuantity, FieldRepeats: i18n.FormRepeats, FieldIssued: i18n.FormIssued, FieldReason: i18n.FormReason,
			FieldDispenseQuantity: i18n.FormDispenseQuantity,
		}[f]
		line := label(k) + "  " + m.inputs[f].View()
		if f == FieldQuantity || f == FieldDispenseQuantity {
			if med, ok := m.picker.Medicine(); ok {
				line += " " + m.c.Lang.Units(med.Unit)
			}
		}
		lines = append(lines, line)
	case FieldProfession:
		text := m.c.T(i18n.FormPhysician)
		if professions[m.prof] == rx.Dentist {
			text = m.c.T(i18n.FormDentist)
		}
		lines = append(lines, label(i18n.FormProfession)+formkit.Choice(m.c, focused, text))
	case FieldMedicine:
		lines = append(lines, label(i18n.FormMedicine)+"  "+m.picker.Value(m.c, focused))
		if focused {
			lines = append(lines, m.picker.Lines(m.c, labelWidth+4, width, 4)...)
		}
	case FieldPackage:
		lines = append(lines, label(i18n.DispPackage)+formkit.Choice(m.c, focused, formkit.PackageText(m.c, m.picker)))
	case FieldDispense:
		text := m.c.T(i18n.FormNo)
		if m.dispense {
			text = m.c.T(i18n.FormYes)
		}
		lines = append(lines, label(i18n.FormDispenseNow)+formkit.Choice(m.c, focused, text))
	default:
		for i, c := range checks {
			if c.field != f {
				continue
			}
			if i == 0 {
				lines = append(lines, "  "+s.Label.Render(m.c.T(i18n.FormChecklist)))
			}
			box := "[ ] "
			if m.ticked[f] {
				box = "[x] "
			}
			marker := "  "
			if focused {
				marker = "▸ "
			}
			text := box + m.c.T(c.text)
			if focused {
				text = s.Selected.Render(text)
			}
			lines = append(lines, marker+text)
		}
	}
	problemsOf := f
	if f == FieldCheckPatient {
		problemsOf = FieldCheckCallBack // the checklist's problems show under it
	} else if f == FieldCheckCallBack {
		problemsOf = -1
	}
	lines = append(lines, formkit.ProblemLines(m.c, m.Problems(problemsOf), labelWidth+4, width)...)
	return formkit.Block{Focused: focused, Lines: lines}
}

// footer renders where the record stands.
func (m Model) footer(width int) []string {
	s := m.c.Styles
	var out []string
	switch m.state {
	case Editing:
		out = formkit.EditingLines(m.c, m.who.Role.MayRecord(), i18n.FormConfirmHint, m.problems, m.other, width)
	case Recording:
		out = append(out, s.Muted.Render(m.c.T(i18n.DispRecording)))
	default:
		out = append(out, s.OK.Render(m.c.T(i18n.FormPrescriptionLocal, m.receipt.Record.Seq)))
		if m.receipt.Dispensing != nil {
			out = append(out, s.OK.Render(m.c.T(i18n.FormDispensingLocal, m.receipt.Dispensing.Seq)))
		}
		switch m.state {
		case Local:
			out = append(out, formkit.WaitingLines(m.c, m.follow.Entries(), m.follow.Err(), width)...)
		case Centre:
			line := m.c.T(i18n.FormRecordedCentre)
			if m.receipt.Dispensing != nil {
				line += " " + m.c.T(i18n.DispHandOver)
			}
			out = append(out, s.OK.Render(line))
		case Refused:
			out = append(out, formkit.RefusalLines(m.c, m.follow.Entries(), width)...)
			if m.receipt.Dispensing != nil {
				out = append(out, formkit.Wrap(s.Error, width, m.c.T(i18n.DispDoNotHand))...)
			}
		}
		if m.receipt.Dispensing == nil && m.state != Refused {
			out = append(out, s.Muted.Render(m.c.T(i18n.FormNothingDispensed)))
		}
	}
	return out
}
