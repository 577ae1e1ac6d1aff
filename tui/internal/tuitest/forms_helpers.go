package tuitest

import (
	"os"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/tui/screen/upload"
)

// Main runs a screen package's tests with plain-text rendering (NoColour).
// Call it from TestMain.
func Main(m *testing.M) {
	NoColour()
	code := m.Run()
	if fixturesDir != "" {
		os.RemoveAll(fixturesDir)
	}
	os.Exit(code)
}

// NoTick stands in for tea.Tick in a screen's refresh: the tests read
// when they choose, never on the clock.
func NoTick(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }

// Form is a form screen the helpers drive by its fields.
type Form[M any, F comparable] interface {
	Updater[M]
	Focus() F
}

// To tabs m to field f; n is the number of fields of the form, so that a
// field not on the form fails the test rather than looping.
func To[M Form[M, F], F comparable](t testing.TB, m M, f F, n int) M {
	t.Helper()
	for range n + 1 {
		if m.Focus() == f {
			return m
		}
		m, _ = m.Update(Key(tea.KeyTab))
	}
	t.Fatalf("field %v is not on the form", f)
	return m
}

// Set tabs m to field f and replaces its text with s.
func Set[M Form[M, F], F comparable](t testing.TB, m M, f F, n int, s string) M {
	t.Helper()
	m = To(t, m, f, n)
	m = Answer(m.Update(Key(tea.KeyCtrlU)))
	if s != "" {
		m = Answer(m.Update(Type(s)))
	}
	return m
}

// Answer runs cmd, the command of a key, as bubbletea would, and feeds m
// the messages it gives, one level deep: the medicine picker's search
// answers so. The commands of those messages are dropped: a test runs the
// polls it wants.
func Answer[M Updater[M]](m M, cmd tea.Cmd) M {
	for _, msg := range flatten(Run(cmd)) {
		m, _ = m.Update(msg)
	}
	return m
}

// flatten runs the commands of a batch, and of batches in it.
func flatten(msg tea.Msg) []tea.Msg {
	switch msg := msg.(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, flatten(Run(c))...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// Confirm presses F10 and feeds back the answer of the record.
func Confirm[M Updater[M]](t testing.TB, m M) M {
	t.Helper()
	m, cmd := m.Update(Key(tea.KeyF10))
	if cmd == nil {
		return m
	}
	m, _ = m.Update(Run(cmd))
	return m
}

// Recorder is a screen that records and follows the upload (package
// upload).
type Recorder[M any] interface {
	Updater[M]
	Receipt() record.Receipt
	State() upload.State
}

// ReadOnce reads the outbox once, as the screen's poll would, without
// waiting for the tick.
func ReadOnce[M Recorder[M]](t testing.TB, m M) M {
	t.Helper()
	m, cmd := m.Update(upload.PollMsg{Key: m.Receipt().Record.ID})
	if cmd == nil {
		t.Fatalf("no read of the upload state in state %d", m.State())
	}
	m, _ = m.Update(Run(cmd))
	return m
}
