// Package search is the counter's patient search: the identity code typed
// or scanned (a scanner types fast and ends with Enter), checked as typed.
// Online, the patient and their prescriptions load in a tea.Cmd with a
// spinner; Esc cancels, and a timeout or a lost connection offers fault
// mode. In FAULT mode the Prescription Centre is not asked: Enter shows
// this patient's journal records of the current outage, and the fault
// forms are offered.
package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/statusline"
)

// LoadedMsg says the patient and their prescriptions have loaded.
type LoadedMsg struct {
	Patient       rx.Patient
	Prescriptions []rx.Prescription
}

// loadedMsg is the outcome of one load.
type loadedMsg struct {
	seq int
	p   rx.Patient
	rxs []rx.Prescription
	err error
}

// DispenseMsg asks the root to open the dispense screen for a journal
// prescription, this counter's or another's (issue 19): its Dispensed
// counts the dispensings of every counter, so Remaining is what is left.
type DispenseMsg struct {
	Patient      rx.Patient
	Prescription rx.Prescription
}

// recordsMsg answers the read of the patient's outage records.
type recordsMsg struct {
	seq  int
	code string
	recs []journal.Record
	err  error
}

// State is where the search stands.
type State int

// States of the search.
const (
	Idle State = iota
	Loading
	Cancelled
	NotFound
	Failed
	TimedOut // no answer, or no connection: fault mode is offered
	FaultForced
	Records // FAULT: the patient's records of this outage are shown
)

// Model is the patient search.
type Model struct {
	c       common.Common
	input   textinput.Model
	spin    spinner.Model
	state   State
	seq     int
	cancel  context.CancelFunc
	problem string
	mode    rx.Mode
	since   time.Time // when the mode in force began: the outage's start in FAULT
	who     rx.Pharmacist

	patient string           // the code whose records are shown
	records []journal.Record // the patient's records of this outage
	sel     string           // the journal prescription chosen among them, by record id
}

// New returns the search with an empty code, in the mode in force.
func New(c common.Common, who rx.Pharmacist, mode rx.ModeState) Model {
	in := textinput.New()
	in.Prompt = ""
	in.CharLimit = 20
	in.Cursor.SetMode(cursor.CursorStatic)
	in.Focus()
	return Model{c: c, input: in, spin: spinner.New(spinner.WithSpinner(spinner.Line)), who: who, mode: mode.Mode, since: mode.Since}
}

// Patient returns the identity code as typed when it is valid, in its
// canonical form, for the fault forms.
func (m Model) Patient() (string, bool) {
	id, err := hetu.Parse(m.input.Value())
	if err != nil {
		return "", false
	}
	return id.String(), true
}

// OutageRecords returns the patient's records of this outage shown in
// FAULT mode.
func (m Model) OutageRecords() []journal.Record { return m.records }

// State returns where the search stands.
func (m Model) State() State { return m.state }

// Code returns the code as typed.
func (m Model) Code() string { return m.input.Value() }

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m }

// Init starts nothing: the search waits for a code.
func (m Model) Init() tea.Cmd { return nil }

// Update handles keys, the load's outcome and mode changes.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k := m.c.Keys
	switch msg := msg.(type) {
	case statusline.ModeMsg:
		if msg.Err == nil {
			if msg.State.Mode != m.mode || !msg.State.Since.Equal(m.since) {
				if m.state == Records {
					m.state, m.records = Idle, nil // another outage, or none
				}
			}
			m.mode, m.since = msg.State.Mode, msg.State.Since
			if m.mode == rx.ModeFault && m.state == TimedOut {
				m.state = FaultForced
			}
		}
		return m, nil
	case recordsMsg:
		if msg.seq != m.seq || m.state != Loading {
			return m, nil
		}
		m.cancel = nil
		if msg.err != nil {
			m.state, m.problem = Failed, m.c.T(i18n.SearchOutageFailed, rx.ErrorMessage(msg.err))
			return m, nil
		}
		m.state, m.patient, m.records = Records, msg.code, msg.recs
		if ps := m.journalPrescriptions(); !slices.Contains(ps, m.sel) {
			m.sel = ""
			if len(ps) > 0 {
				m.sel = ps[len(ps)-1] // the newest
			}
		}
		return m, nil
	case spinner.TickMsg:
		if m.state != Loading {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case loadedMsg:
		if msg.seq != m.seq || m.state != Loading {
			return m, nil // cancelled, or superseded
		}
		m.cancel = nil
		switch {
		case msg.err == nil:
			m.state = Idle
			p, rxs := msg.p, msg.rxs
			return m, func() tea.Msg { return LoadedMsg{Patient: p, Prescriptions: rxs} }
		case errors.Is(msg.err, context.DeadlineExceeded) || errors.Is(msg.err, centre.ErrTimeout) || centre.ClassOf(msg.err) == centre.Transient:
			m.state = TimedOut
		case rx.ErrorCode(msg.err) == rx.ENOTFOUND || errors.Is(msg.err, centre.ErrNotFound):
			m.state = NotFound
		case errors.Is(msg.err, centre.ErrWrongPatient):
			// Issue 22, criterion (d): in the pharmacist's words, and
			// nothing of the other patient's answer is kept.
			m.state, m.problem = Failed, m.c.T(i18n.SearchWrongPatient)
		default:
			m.state, m.problem = Failed, rx.ErrorMessage(msg.err)
		}
		return m, nil
	case tea.KeyMsg:
		if m.state == Loading {
			if key.Matches(msg, k.Back) {
				m.cancel()
				m.cancel = nil
				m.seq++
				m.state = Cancelled
			}
			return m, nil
		}
		switch {
		case key.Matches(msg, k.ForceFault) && m.state == TimedOut:
			return m, m.forceFault()
		case key.Matches(msg, k.Submit):
			return m.submit()
		case m.state == Records && m.sel != "" && key.Matches(msg, k.Up, k.Down):
			ps := m.journalPrescriptions()
			by := 1
			if key.Matches(msg, k.Up) {
				by = -1
			}
			m.sel = ps[(slices.Index(ps, m.sel)+by+len(ps))%len(ps)]
			return m, nil
		case m.state == Records && m.sel != "" && key.Matches(msg, k.Dispense):
			return m, m.dispense()
		}
		before := m.input.Value()
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		if m.input.Value() != before {
			m.state, m.problem, m.records, m.patient = Idle, "", nil, ""
		}
		return m, cmd
	}
	return m, nil
}

func (m Model) submit() (Model, tea.Cmd) {
	id, err := hetu.Parse(m.input.Value())
	if err != nil {
		return m, nil // the reason is on screen already
	}
	if m.mode == rx.ModeFault {
		return m.outageRecords(id.String())
	}
	m.seq++
	ctx, cancel := context.WithTimeout(context.Background(), m.c.Counter.CallTimeout)
	m.cancel, m.state, m.problem = cancel, Loading, ""
	seq, svc, code := m.seq, m.c.Services, id.String()
	load := func() tea.Msg {
		defer cancel()
		p, err := svc.FindPatient(ctx, code)
		if err != nil {
			return loadedMsg{seq: seq, err: err}
		}
		rxs, err := svc.Prescriptions(ctx, code)
		return loadedMsg{seq: seq, p: p, rxs: rxs, err: err}
	}
	return m, tea.Batch(load, m.spin.Tick)
}

// Reload reads the patient's records again when they are shown: back
// from a dispensing, what is left has changed.
func (m Model) Reload() (Model, tea.Cmd) {
	if m.state != Records || m.patient == "" {
		return m, nil
	}
	return m.outageRecords(m.patient)
}

// journalPrescriptions lists the ids of the paper and telephone
// prescriptions among the records shown, in their order.
func (m Model) journalPrescriptions() []string {
	var ids []string
	for _, r := range m.records {
		if _, _, _, ok := common.JournalLeft(r, m.records); ok {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// Selected returns the journal prescription chosen for dispensing, with
// what is left of it after every counter's dispensings.
func (m Model) Selected() (rx.Prescription, bool) {
	for _, r := range m.records {
		if r.ID != m.sel {
			continue
		}
		left, total, _, ok := common.JournalLeft(r, m.records)
		var p rx.Prescription
		if !ok || json.Unmarshal(r.Body, &p) != nil {
			return rx.Prescription{}, false
		}
		p.RecordID, p.Dispensed = r.ID, total-left
		return p, true
	}
	return rx.Prescription{}, false
}

// dispense asks the root for the dispense screen of the chosen journal
// prescription; a student may look but not dispense.
func (m Model) dispense() tea.Cmd {
	p, ok := m.Selected()
	if !ok || !m.who.Role.MayRecord() {
		return nil
	}
	patient := rx.Patient{HETU: m.patient}
	return func() tea.Msg { return DispenseMsg{Patient: patient, Prescription: p} }
}

// outageRecords reads the patient's journal records since the outage
// began; the Prescription Centre is not asked.
func (m Model) outageRecords(code string) (Model, tea.Cmd) {
	m.seq++
	ctx, cancel := context.WithTimeout(context.Background(), m.c.Counter.CallTimeout)
	m.cancel, m.state, m.problem = cancel, Loading, ""
	seq, svc, since := m.seq, m.c.Services, m.since
	return m, func() tea.Msg {
		defer cancel()
		recs, err := svc.PatientRecords(ctx, code, since)
		return recordsMsg{seq: seq, code: code, recs: recs, err: err}
	}
}

func (m Model) forceFault() tea.Cmd {
	svc, by, timeout := m.c.Services, m.who.ID, m.c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		st, err := svc.ForceFault(ctx, "counter: the Prescription Centre did not answer", by)
		return statusline.ModeMsg{State: st, Err: err}
	}
}

// check returns the verdict on the code as typed.
func (m Model) check() string {
	s := m.c.Styles
	code := strings.TrimSpace(m.input.Value())
	if code == "" {
		return s.Muted.Render(m.c.T(i18n.SearchHint))
	}
	if _, err := hetu.Parse(code); err != nil {
		var he *hetu.Error
		reason := err.Error()
		if errors.As(err, &he) {
			reason = he.Reason // the domain's own words, shown as they come
		}
		return s.Error.Render(m.c.T(i18n.SearchInvalid, reason))
	}
	return s.OK.Render(m.c.T(i18n.SearchValid))
}

// recordsView lists the patient's records of this outage, one a line,
// as many as the screen has room for, newest last.
func (m Model) recordsView() string {
	s := m.c.Styles
	since := m.since.In(m.c.Now().Location()).Format("2.1. 15.04")
	lines := []string{s.Title.Render(m.c.T(i18n.SearchOutageRecords, since))}
	if len(m.records) == 0 {
		lines = append(lines, s.Muted.Render(m.c.T(i18n.SearchOutageNone)))
	}
	recs := m.records
	if room := m.c.Height - 12; room > 0 && len(recs) > room {
		recs = recs[len(recs)-room:]
	}
	choosing := m.sel != ""
	for _, r := range recs {
		line := m.recordLine(r)
		if choosing { // a journal prescription may be chosen for dispensing
			switch {
			case r.ID == m.sel:
				line = s.Selected.Render("▸ " + line)
			default:
				line = "  " + line
			}
		}
		lines = append(lines, line)
		if r.Peer { // another counter's: which one, when and who (issue 19)
			at := m.when(r.CreatedAt)
			lines = append(lines, "      "+s.Muted.Render(m.c.T(i18n.HubRecordedAt, r.Terminal, at, common.Recorder(r))))
		}
	}
	if choosing && m.who.Role.MayRecord() {
		k := m.c.Keys
		lines = append(lines, "", s.Label.Render(m.c.T(i18n.HubDispenseHint, k.Up.Help().Key+k.Down.Help().Key, k.Dispense.Help().Key)))
	}
	return strings.Join(lines, "\n")
}

// recordLine is one record: its time, kind, medicine, quantity and
// prescription.
func (m Model) recordLine(r journal.Record) string {
	var body struct {
		Medicine       rx.Medicine `json:"medicine"`
		Quantity       int         `json:"quantity"`
		PrescriptionID string      `json:"prescription_id"`
		Essential      bool        `json:"essential"`
	}
	_ = json.Unmarshal(r.Body, &body) // a body of another shape shows its kind only
	kind := m.c.KindText(r.Kind)
	if r.Kind == journal.KindDispensing && body.Essential {
		kind = m.c.T(i18n.RecordEssential)
	}
	parts := []string{m.when(r.Time), fmt.Sprintf("#%d", r.Seq), kind}
	if body.Medicine.Name != "" {
		parts = append(parts, body.Medicine.DisplayName())
	}
	if body.Quantity > 0 {
		parts = append(parts, fmt.Sprintf("× %d", body.Quantity))
	}
	if body.PrescriptionID != "" {
		parts = append(parts, body.PrescriptionID)
	}
	// A journal prescription: what is left of it after every counter's
	// dispensings (issue 19).
	if left, total, unit, ok := common.JournalLeft(r, m.records); ok {
		parts = append(parts, m.c.T(i18n.HubLeft, left, m.c.Lang.Quantity(total, unit)))
	}
	return strings.Join(parts, "  ")
}

// when is a record's time of day, with its date when it is not today: a
// paper prescription happened when it was issued, and another counter's
// records may be of yesterday.
func (m Model) when(t time.Time) string {
	now := m.c.Now()
	t = t.In(now.Location())
	if y, mo, d := t.Date(); y == now.Year() && mo == now.Month() && d == now.Day() {
		return t.Format("15.04")
	}
	return t.Format("2.1. 15.04")
}

// View renders the search.
func (m Model) View() string {
	s := m.c.Styles
	var b strings.Builder
	b.WriteString(s.Title.Render(m.c.T(i18n.SearchTitle)) + "\n\n")
	b.WriteString(s.Label.Render(m.c.T(i18n.SearchPrompt)+": ") + m.input.View() + "\n")
	b.WriteString(m.check() + "\n\n")
	switch m.state {
	case Loading:
		b.WriteString(m.spin.View() + " " + m.c.T(i18n.SearchLoading) + "  " + s.Muted.Render(m.c.Keys.Back.Help().Key+" "+m.c.Keys.Back.Help().Desc))
	case Cancelled:
		b.WriteString(s.Muted.Render(m.c.T(i18n.SearchCancelled)))
	case NotFound:
		b.WriteString(s.Warning.Render(m.c.T(i18n.SearchNotFound)))
	case Failed:
		b.WriteString(s.Error.Render(m.c.T(i18n.SearchFailed, m.problem)))
	case TimedOut:
		b.WriteString(s.Error.Render(m.c.T(i18n.SearchTimeout)) + "\n")
		b.WriteString(s.Warning.Render(m.c.T(i18n.SearchOfferFault, m.c.Keys.ForceFault.Help().Key)))
	case FaultForced:
		b.WriteString(s.Warning.Render(m.c.T(i18n.SearchFaultForced)))
	}
	if m.mode == rx.ModeFault {
		k := m.c.Keys
		b.WriteString("\n" + s.Error.Render(m.c.T(i18n.SearchFaultMode)) + "\n")
		b.WriteString(s.Label.Render(m.c.T(i18n.SearchFormsHint, k.Paper.Help().Key, k.Telephone.Help().Key, k.Essential.Help().Key)) + "\n")
		if m.state == Records {
			b.WriteString("\n" + m.recordsView())
		}
	}
	if m.c.Width <= 0 {
		return b.String()
	}
	return lipgloss.NewStyle().Width(m.c.Width).Render(b.String())
}
