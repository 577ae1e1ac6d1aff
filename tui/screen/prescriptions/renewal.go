package prescriptions

import (
	"context"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/upload"
)

// renewal is the screen's renewal request (issue 23): ctrl+n asks for the
// patient's optional message, Enter records the request through pkg/record,
// and the screen then follows its upload in the local journal: recorded,
// in the Prescription Centre, already requested (an open request exists:
// no review), or refused (a conflict for the conflicts screen).
type renewal struct {
	asking       bool
	message      textinput.Model
	prescription string // the e-prescription asked about
	state        upload.State
	follow       upload.Follow
	id           string // the record, once in the journal
	err          error  // why it was not recorded
}

// renewedMsg is the journal's answer to a renewal request.
type renewedMsg struct {
	rc  record.Receipt
	err error
}

// Renewing reports whether the screen asks for the patient's message.
func (m Model) Renewing() bool { return m.renew.asking }

// updateRenewal takes what is the renewal's: ctrl+n, the message prompt's
// keys, and the answers of its commands. ok is false for anything else.
func (m Model) updateRenewal(msg tea.Msg) (Model, tea.Cmd, bool) {
	r := &m.renew
	switch msg := msg.(type) {
	case tea.KeyMsg:
		k := m.c.Keys
		switch {
		case r.asking && key.Matches(msg, k.Back):
			r.asking = false
			return m, nil, true
		case r.asking && key.Matches(msg, k.Submit):
			r.asking, r.state, r.err, r.id = false, upload.Recording, nil, ""
			return m, m.record(rx.Renewal{Patient: m.patient.HETU, PrescriptionID: r.prescription, Message: r.message.Value()}), true
		case r.asking:
			var cmd tea.Cmd
			r.message, cmd = r.message.Update(msg)
			return m, cmd, true
		case key.Matches(msg, k.Renewal) && !m.filtering:
			p, ok := m.Selected()
			_, can := m.c.Services.(common.Renewals)
			if !ok || !can || !m.who.Role.MayRecord() || r.state == upload.Recording {
				return m, nil, true // a student may look but not request
			}
			in := textinput.New()
			in.Prompt = ""
			in.CharLimit = rx.MaxRenewalMessage
			in.Cursor.SetMode(cursor.CursorStatic)
			in.Focus()
			*r = renewal{asking: true, message: in, prescription: p.ID}
			return m, nil, true
		}
	case renewedMsg:
		if msg.err != nil {
			r.state, r.err = upload.Editing, msg.err
			return m, nil, true
		}
		r.state, r.id = upload.Local, msg.rc.Record.ID
		var cmd tea.Cmd
		r.follow, cmd = upload.Start(r.id)
		return m, cmd, true
	case upload.PollMsg, upload.StateMsg:
		var cmd tea.Cmd
		r.follow, r.state, cmd = r.follow.Update(m.c, r.state, msg)
		return m, cmd, true
	}
	return m, nil, false
}

// record commits the request in the background.
func (m Model) record(r rx.Renewal) tea.Cmd {
	svc, who, timeout := m.c.Services.(common.Renewals), m.who, m.c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		rc, err := svc.Renew(ctx, who, r)
		return renewedMsg{rc, err}
	}
}

// renewalView is the renewal's line under the table: the prompt, or where
// the last request stands.
func (m Model) renewalView() string {
	r, s := m.renew, m.c.Styles
	switch {
	case r.asking:
		return s.Label.Render(m.c.T(i18n.RenewPrompt, r.prescription)) + r.message.View()
	case r.err != nil:
		return s.Error.Render(m.c.T(i18n.RenewFailed, rx.ErrorMessage(r.err)))
	case r.state == upload.Recording:
		return s.Muted.Render(m.c.T(i18n.RenewRecording))
	case r.state == upload.Local:
		return s.Warning.Render(m.c.T(i18n.RenewLocal, r.id))
	case r.state == upload.Centre:
		// Done without a Task of its own: the Prescription Centre
		// answered that a request is already open (queue.AlreadyRequested).
		if es := r.follow.Entries(); len(es) == 1 && es[0].UpstreamID == "" {
			return s.OK.Render(m.c.T(i18n.RenewAlready, r.prescription))
		}
		return s.OK.Render(m.c.T(i18n.RenewSent, r.id))
	case r.state == upload.Refused:
		detail := ""
		if es := r.follow.Entries(); len(es) == 1 {
			if c, ok := queue.EntryConflict(es[0]); ok {
				detail = common.ConflictName(m.c.Lang, c.Kind)
				if c.Detail != "" {
					detail += " – " + c.Detail
				}
			}
		}
		return s.Error.Render(m.c.T(i18n.RenewRefused, r.id, detail))
	}
	return ""
}
