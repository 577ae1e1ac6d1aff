// Package upload is the counter's follow-up of a record's upload, shared
// by the dispense screen and the forms (packages rxform and essential):
// once the journal has the record the screen shows "recorded locally",
// then reads the outbox every PollEvery until the Prescription Centre has
// every record ("recorded in Prescription Centre") or refuses one, which
// shows at once, before the medicine is handed over (DESIGN §4, §7).
//
// The screens read only the local journal, so the follow-up costs no
// network; the queue uploads whether a screen is open or not.
package upload

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/common"
)

// PollEvery is how often a screen reads the outbox entries of its records
// while it waits for the upload. It reads the local journal only.
const PollEvery = 250 * time.Millisecond

// State is where a screen's record stands.
type State int

// States of a screen that records.
const (
	Editing   State = iota // filling in; problems of the last try may show
	Recording              // the record is being committed to the journal
	Local                  // in the journal and the outbox, not yet upstream
	Centre                 // the Prescription Centre has every record: hand the medicine over
	Refused                // the Prescription Centre refused a record: do not hand over
)

// PollMsg asks a screen to read the upload state of its records; Key is
// the id of the screen's first record.
type PollMsg struct{ Key string }

// StateMsg answers ReadStates: the outbox entries of the records, in the
// order asked.
type StateMsg struct {
	Key     string
	Entries []journal.OutboxEntry
	Err     error
}

// Poll ticks once after PollEvery and then asks for a read.
func Poll(key string) tea.Cmd {
	return tea.Tick(PollEvery, func(time.Time) tea.Msg { return PollMsg{Key: key} })
}

// ReadStates reads the outbox entries of ids in the background, bounded
// by the counter's call timeout.
func ReadStates(c common.Common, key string, ids []string) tea.Cmd {
	svc, timeout := c.Services, c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		es := make([]journal.OutboxEntry, 0, len(ids))
		for _, id := range ids {
			e, err := svc.UploadState(ctx, id)
			if err != nil {
				return StateMsg{Key: key, Err: err}
			}
			es = append(es, e)
		}
		return StateMsg{Key: key, Entries: es}
	}
}

// Follow is the follow-up of the records of one recording: the ids it
// reads, the entries last read and the error of the last read. The zero
// Follow follows nothing.
type Follow struct {
	ids     []string
	entries []journal.OutboxEntry
	err     error
}

// Start follows the records ids, the first the key of the polls, and
// returns the first poll.
func Start(ids ...string) (Follow, tea.Cmd) {
	if len(ids) == 0 {
		return Follow{}, nil
	}
	return Follow{ids: ids}, Poll(ids[0])
}

// Entries returns the outbox entries last read, in the order of the ids.
func (f Follow) Entries() []journal.OutboxEntry { return f.entries }

// Err returns why the last read failed, or nil once one succeeds.
func (f Follow) Err() error { return f.err }

// Update takes a PollMsg or StateMsg for a screen in state st. It returns
// the state the records put the screen in and the next command: a read
// after a poll, another poll while a record waits or a read failed. Only
// a screen waiting in Local follows; a message of other records, or of no
// follow-up, leaves f and st as they are, with no command.
func (f Follow) Update(c common.Common, st State, msg tea.Msg) (Follow, State, tea.Cmd) {
	if st != Local || len(f.ids) == 0 {
		return f, st, nil
	}
	key := f.ids[0]
	switch msg := msg.(type) {
	case PollMsg:
		if msg.Key == key {
			return f, Local, ReadStates(c, key, f.ids)
		}
	case StateMsg:
		if msg.Key != key {
			return f, Local, nil
		}
		if msg.Err != nil {
			f.err = msg.Err
			return f, Local, Poll(key)
		}
		f.entries, f.err = msg.Entries, nil
		if st := Outcome(msg.Entries); st != Local {
			return f, st, nil
		}
		return f, Local, Poll(key)
	}
	return f, Local, nil
}

// Outcome is the state the entries put a recorded screen in: Refused when
// any record is in conflict or rejected, Centre when every one is done,
// else Local.
func Outcome(es []journal.OutboxEntry) State {
	done := len(es) > 0
	for _, e := range es {
		switch e.State {
		case journal.OutboxConflict, journal.OutboxRejected:
			return Refused
		case journal.OutboxDone:
		default:
			done = false
		}
	}
	if done {
		return Centre
	}
	return Local
}

// Waiting returns the outbox state to show while the records wait: the
// first not done.
func Waiting(es []journal.OutboxEntry) journal.OutboxState {
	for _, e := range es {
		if e.State != journal.OutboxDone && e.State != "" {
			return e.State
		}
	}
	return journal.OutboxPending
}

// Refusal says why a record of es did not reach the Prescription Centre,
// and whether it was held back for review (a conflict, such as a paper
// prescription that may duplicate an e-prescription) rather than refused.
func Refusal(es []journal.OutboxEntry) (text string, held bool) {
	for _, e := range es {
		if c, ok := queue.EntryConflict(e); ok {
			text = string(c.Kind)
			if c.Detail != "" {
				text += " – " + c.Detail
			}
			return text, e.State == journal.OutboxConflict
		}
	}
	return "", false
}
