// Package faultview is the counter's fault desk (issue 22): one key shows
// where the fault lies (the triage, from this PC out to Kanta) and the
// draft of the fault report for Kela's technical support, in the
// pharmacist's language, so that the pharmacist can tell the helpdesk what
// the counter saw, and IT can send the report.
//
// The triage runs in a tea.Cmd bounded by Timeout: against a silent
// service its checks wait out their own timeouts. An answer of an earlier
// run, or of an earlier opening of the screen, is ignored.
package faultview

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/faultdesk"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// Timeout bounds one triage and report: DNS, TCP and TLS of 3 s each and
// the metadata's 10 s, with room.
const Timeout = 30 * time.Second

// BackMsg asks the root to close the fault desk.
type BackMsg struct{}

// markedMsg answers a mark that the helpdesk was told.
type markedMsg struct {
	screen int64
	at     time.Time
	err    error
}

// doneMsg answers a run.
type doneMsg struct {
	screen int64
	run    int
	report faultreport.Report
	err    error
}

var opened atomic.Int64

// Model is the fault desk.
type Model struct {
	c      common.Common
	who    rx.Pharmacist
	screen int64
	run    int

	running bool
	report  *faultreport.Report
	problem string
	view    viewport.Model
	again   key.Binding
	mark    key.Binding
	notice  string // the outcome of the last mark
}

// New returns the fault desk; Init runs the triage.
func New(c common.Common, who rx.Pharmacist) Model {
	m := Model{c: c, who: who, screen: opened.Add(1), run: 1, running: true, view: viewport.New(max(c.Width, 20), max(c.Height-3, 3))}
	m.again = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", c.T(i18n.FRDeskAgain)))
	m.mark = key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", c.T(i18n.FRDeskMark)))
	if _, ok := c.Services.(common.FaultDesk); !ok {
		m.running, m.problem = false, c.T(i18n.FRDeskUnavailable)
	}
	return m
}

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model {
	m.c = c
	m.view.Width, m.view.Height = max(c.Width, 20), max(c.Height-3, 3)
	return m.fill()
}

// Init runs the triage and drafts the report.
func (m Model) Init() tea.Cmd {
	if !m.running {
		return nil
	}
	return m.runCmd(m.run)
}

// Running reports whether a triage is running.
func (m Model) Running() bool { return m.running }

// Report returns the report shown, if there is one.
func (m Model) Report() (faultreport.Report, bool) {
	if m.report == nil {
		return faultreport.Report{}, false
	}
	return *m.report, true
}

// Problem returns why the last run failed, or "".
func (m Model) Problem() string { return m.problem }

// start runs the triage again.
func (m Model) start() (Model, tea.Cmd) {
	if _, ok := m.c.Services.(common.FaultDesk); !ok {
		return m, nil
	}
	m.run++
	m.running = true
	return m, m.runCmd(m.run)
}

// runCmd runs the triage and drafts the report, as run number run.
func (m Model) runCmd(run int) tea.Cmd {
	desk, _ := m.c.Services.(common.FaultDesk)
	screen := m.screen
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		r, err := desk.FaultReport(ctx)
		return doneMsg{screen: screen, run: run, report: r, err: err}
	}
}

// HelpKeys returns the bindings that act on the screen, for the root's
// help line.
func (m Model) HelpKeys() []key.Binding {
	k := m.c.Keys
	return []key.Binding{m.mark, k.Up, k.Down, m.again, k.Back}
}

// Update handles the keys and the triage's answer.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case doneMsg:
		if msg.screen != m.screen || msg.run != m.run {
			return m, nil // an earlier run or opening
		}
		m.running = false
		if msg.err != nil {
			m.problem = m.c.T(i18n.FRDeskFailed, rx.ErrorMessage(msg.err))
			return m, nil
		}
		r := msg.report
		m.report, m.problem = &r, ""
		return m.fill(), nil
	case markedMsg:
		if msg.screen != m.screen {
			return m, nil
		}
		if msg.err != nil {
			m.notice = m.c.T(i18n.FRDeskMarkFailed, rx.ErrorMessage(msg.err))
			return m, nil
		}
		m.notice = m.c.T(i18n.FRDeskMarked, msg.at.In(time.Local).Format("15:04"))
		if m.running {
			return m, nil
		}
		return m.start() // the report's actions show the mark
	case tea.KeyMsg:
		k := m.c.Keys
		switch {
		case key.Matches(msg, k.Back):
			return m, func() tea.Msg { return BackMsg{} }
		case key.Matches(msg, m.mark):
			desk, ok := m.c.Services.(common.FaultDesk)
			if !ok {
				return m, nil
			}
			screen, who, now, timeout := m.screen, m.who, m.c.Now, m.c.Counter.CallTimeout
			return m, func() tea.Msg {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				err := desk.MarkReported(ctx, who)
				return markedMsg{screen: screen, at: now(), err: err}
			}
		case key.Matches(msg, m.again):
			if m.running {
				return m, nil
			}
			m.problem = ""
			return m.start()
		}
		var cmd tea.Cmd
		m.view, cmd = m.view.Update(msg)
		return m, cmd
	}
	return m, nil
}

// fill puts the report's text in the viewport.
func (m Model) fill() Model {
	if m.report == nil {
		return m
	}
	var b bytes.Buffer
	if err := faultdesk.Text(&b, m.c.Lang, time.Local, *m.report); err != nil {
		m.problem = err.Error()
		return m
	}
	m.view.SetContent(b.String())
	return m
}

// View shows the verdict at the top, where the fault lies, and the report
// below it, scrolled by ↑ and ↓.
func (m Model) View() string {
	s := m.c.Styles
	var b strings.Builder
	b.WriteString(s.Title.Render(m.c.T(i18n.FRDeskTitle)) + "  " + s.Muted.Render(m.c.T(i18n.FRDeskHint)) + "\n")
	switch {
	case m.problem != "":
		b.WriteString(s.Error.Render(m.problem))
		return b.String()
	case m.report == nil:
		b.WriteString(s.Muted.Render(m.c.T(i18n.FRDeskRunning)))
		return b.String()
	}
	r := *m.report
	verdict := faultdesk.Verdict(m.c.Lang, r)
	switch r.Verdict {
	case faultreport.Kela, faultreport.Critical:
		verdict = s.Error.Render(verdict)
	case faultreport.Helpdesk:
		verdict = s.Warning.Render(verdict)
	}
	line := verdict
	if m.notice != "" {
		line += "  " + s.Warning.Render(m.notice)
	}
	if m.running {
		line += "  " + s.Muted.Render(m.c.T(i18n.FRDeskRunning))
	}
	b.WriteString(line + "\n")
	b.WriteString(m.view.View())
	return b.String()
}
