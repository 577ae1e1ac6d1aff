// Package signin is the counter's sign-in screen, and its lock screen: the
// same form with the person fixed, asking only for the PIN again.
//
// The PIN is checked by Services.SignIn in a tea.Cmd (argon2id takes tens
// of milliseconds); the screen reports the outcome as SignedInMsg or
// UnlockedMsg for the root.
package signin

import (
	"context"
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/tiski-rx/tiski/pkg/rx"
	auth "github.com/tiski-rx/tiski/pkg/signin"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// SignedInMsg says a person signed in.
type SignedInMsg struct{ Pharmacist rx.Pharmacist }

// UnlockedMsg says the locked session's person gave their PIN again.
type UnlockedMsg struct{ Pharmacist rx.Pharmacist }

// checkedMsg is the outcome of one PIN check.
type checkedMsg struct {
	seq        int
	pharmacist rx.Pharmacist
	err        error
}

const (
	fieldID = iota
	fieldPIN
)

// Model is the sign-in (or lock) form.
type Model struct {
	c        common.Common
	id, pin  textinput.Model
	focus    int
	locked   rx.Pharmacist // the session's person, on the lock screen
	checking bool
	seq      int
	problem  string
}

// New returns the sign-in form.
func New(c common.Common) Model {
	m := Model{c: c, id: textinput.New(), pin: textinput.New()}
	m.id.Prompt, m.pin.Prompt = "", ""
	m.id.CharLimit = 32
	m.pin.CharLimit = 12
	m.pin.EchoMode = textinput.EchoPassword
	m.pin.EchoCharacter = '•'
	// A steady cursor: a counter screen needs no blinking, and a blink is a
	// timer the snapshots would depend on.
	m.id.Cursor.SetMode(cursor.CursorStatic)
	m.pin.Cursor.SetMode(cursor.CursorStatic)
	m.id.Focus()
	return m
}

// NewLock returns the lock screen of p's session: only the PIN is asked.
func NewLock(c common.Common, p rx.Pharmacist) Model {
	m := New(c)
	m.locked = p
	m.id.SetValue(p.ID)
	m.focus = fieldPIN
	m.id.Blur()
	m.pin.Focus()
	return m
}

// Locked reports whether this is the lock screen.
func (m Model) Locked() bool { return m.locked.ID != "" }

// Checking reports whether a PIN check is under way.
func (m Model) Checking() bool { return m.checking }

// Problem returns the message shown under the form, if any.
func (m Model) Problem() string { return m.problem }

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m }

// Init implements the screen's start: nothing to load.
func (m Model) Init() tea.Cmd { return nil }

func (m Model) setFocus(f int) Model {
	if m.Locked() {
		f = fieldPIN
	}
	m.focus = f
	if f == fieldID {
		m.id.Focus()
		m.pin.Blur()
	} else {
		m.id.Blur()
		m.pin.Focus()
	}
	return m
}

// Update handles keys and the PIN check's outcome.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k := m.c.Keys
	switch msg := msg.(type) {
	case checkedMsg:
		if msg.seq != m.seq {
			return m, nil
		}
		m.checking = false
		if msg.err == nil && m.Locked() && msg.pharmacist.ID != m.locked.ID {
			msg.err = rx.Errorf(rx.EFORBIDDEN, "another person")
		}
		if msg.err != nil {
			m.pin.SetValue("")
			m.problem = m.refusal(msg.err)
			return m, nil
		}
		m.problem = ""
		p := msg.pharmacist
		if m.Locked() {
			return m, func() tea.Msg { return UnlockedMsg{Pharmacist: p} }
		}
		return m, func() tea.Msg { return SignedInMsg{Pharmacist: p} }
	case tea.KeyMsg:
		if m.checking {
			return m, nil
		}
		switch {
		case key.Matches(msg, k.NextField, k.Down):
			return m.setFocus((m.focus + 1) % 2), nil
		case key.Matches(msg, k.PrevField, k.Up):
			return m.setFocus((m.focus + 1) % 2), nil
		case key.Matches(msg, k.Submit):
			return m.submit()
		}
	}
	var cmd tea.Cmd
	if m.focus == fieldID {
		m.id, cmd = m.id.Update(msg)
	} else {
		m.pin, cmd = m.pin.Update(msg)
	}
	return m, cmd
}

// refusal says why a sign-in was refused. A wrong PIN and an id that is no
// user get the same words, with the tries left before the lock; the counts
// are kept per id tried, so the number says nothing about the id either.
func (m Model) refusal(err error) string {
	var r *auth.Refusal
	switch {
	case errors.As(err, &r) && r.Reason == auth.WrongPIN:
		return m.c.T(i18n.SignInWrongLeft, r.TriesLeft)
	case errors.As(err, &r) && r.Reason == auth.TooSoon:
		return m.c.T(i18n.SignInTooSoon, r.WaitSeconds())
	case errors.As(err, &r) && r.Reason == auth.Locked:
		return m.c.T(i18n.SignInLocked, r.User)
	case rx.ErrorCode(err) == rx.EFORBIDDEN:
		return m.c.T(i18n.SignInWrong) // a disabled user, or another person's PIN on the lock screen
	}
	return m.c.T(i18n.SignInFailed, rx.ErrorMessage(err))
}

func (m Model) submit() (Model, tea.Cmd) {
	id, pin := strings.TrimSpace(m.id.Value()), m.pin.Value()
	if m.focus == fieldID && id != "" && pin == "" {
		return m.setFocus(fieldPIN), nil
	}
	if id == "" || pin == "" {
		m.problem = m.c.T(i18n.SignInMissing)
		return m, nil
	}
	m.checking, m.problem = true, ""
	m.seq++
	seq, svc, timeout := m.seq, m.c.Services, m.c.Counter.CallTimeout
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		p, err := svc.SignIn(ctx, id, pin)
		return checkedMsg{seq: seq, pharmacist: p, err: err}
	}
}

// View renders the form.
func (m Model) View() string {
	s := m.c.Styles
	var b strings.Builder
	if m.Locked() {
		b.WriteString(s.Title.Render(m.c.T(i18n.LockTitle)) + "\n\n")
		b.WriteString(m.c.T(i18n.LockPrompt, m.locked.Name) + "\n\n")
	} else {
		b.WriteString(s.Title.Render(m.c.T(i18n.SignInTitle)) + "\n\n")
		b.WriteString(s.Label.Render(m.c.T(i18n.SignInID)+": ") + m.id.View() + "\n")
	}
	b.WriteString(s.Label.Render(m.c.T(i18n.SignInPIN)+": ") + m.pin.View() + "\n\n")
	switch {
	case m.checking:
		b.WriteString(s.Muted.Render(m.c.T(i18n.SignInChecking)))
	case m.problem != "":
		// A lock's message names the command for IT and is long: wrap it
		// within the screen, at most 72 columns wide.
		width := min(lipgloss.Width(m.problem), max(20, min(72, m.c.Width-4)))
		b.WriteString(s.Error.Width(width).Render(m.problem))
	}
	return s.Box.Render(b.String())
}
