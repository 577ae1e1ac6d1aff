// Package search is the counter's patient search: the identity code typed
// or scanned (a scanner types fast and ends with Enter), checked as typed.
// Online, the patient and their prescriptions load in a tea.Cmd with a
// spinner; Esc cancels, and a timeout or a lost connection offers fault
// mode.
package search

import (
	"context"
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/hetu"
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
	who     rx.Pharmacist
}

// New returns the search with an empty code.
func New(c common.Common, who rx.Pharmacist, mode rx.Mode) Model {
	in := textinput.New()
	in.Prompt = ""
	in.CharLimit = 20
	in.Cursor.SetMode(cursor.CursorStatic)
	in.Focus()
	return Model{c: c, input: in, spin: spinner.New(spinner.WithSpinner(spinner.Line)), who: who, mode: mode}
}

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
			m.mode = msg.State.Mode
			if m.mode == rx.ModeFault && m.state == TimedOut {
				m.state = FaultForced
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
		}
		before := m.input.Value()
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		if m.input.Value() != before {
			m.state, m.problem = Idle, ""
		}
		return m, cmd
	}
	return m, nil
}

func (m Model) submit() (Model, tea.Cmd) {
	id, err := hetu.Parse(m.input.Value())
	if err != nil || m.mode == rx.ModeFault {
		// The reason is on screen already; in FAULT the Prescription
		// Centre is not asked.
		return m, nil
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
		b.WriteString("\n" + s.Error.Render(m.c.T(i18n.SearchFaultMode)))
	}
	if m.c.Width <= 0 {
		return b.String()
	}
	return lipgloss.NewStyle().Width(m.c.Width).Render(b.String())
}
