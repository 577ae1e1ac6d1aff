package syncbar

import (
	"errors"
	"io"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/tui/i18n"
)

// Bar is the bar running on a terminal, so that cmd/ never imports
// bubbletea. Its methods are safe for concurrent use.
type Bar struct {
	p    *tea.Program
	done chan struct{}
	err  error // set before done is closed
}

// fps caps the redraws: the command sends counts ten times a second, and
// a bar redrawn more often than that costs the terminal and tells no one
// anything more.
const fps = 10

// Start shows the bar on out, a terminal, from start until Stop.
//
// It takes no keyboard and leaves the signals alone: the terminal stays
// as it is, so Ctrl-C reaches the command as a signal and stops the run
// as it does without the bar (the record being sent is sent again later,
// never twice). The bar is drawn inline, not on the alternate screen, so
// it stays in the scrollback with the lines printed above it.
func Start(out io.Writer, lang i18n.Lang, start Counts) *Bar {
	b := &Bar{done: make(chan struct{})}
	b.p = tea.NewProgram(New(lang, start), tea.WithOutput(out), tea.WithInput(nil),
		tea.WithoutSignalHandler(), tea.WithFPS(fps))
	go func() {
		defer close(b.done)
		_, b.err = b.p.Run()
	}()
	return b
}

// Show redraws the bar with c.
func (b *Bar) Show(c Counts) { b.p.Send(c) }

// Print prints line above the bar, and reports false when the bar has
// ended (bubbletea failed on this terminal): then the caller prints it, as
// a conflict's line must not be lost with the bar.
func (b *Bar) Print(line string) bool {
	select {
	case <-b.done:
		return false
	default:
	}
	// The print goes in as the message tea.Println's command makes, sent
	// from here: in order with the Finish that Stop sends after it. A
	// Line message whose Update returned tea.Println would print from a
	// goroutine of its own, which a Finish sent at once could overtake,
	// and the program would quit with the conflict's line unprinted
	// (TestSyncRunProgressBarInTmux saw it on a loaded machine).
	b.p.Send(tea.Println(line)())
	return true
}

// Stop draws the bar a last time with final, leaves it on the screen and
// returns once the terminal is as it was, so that what the command prints
// next follows the bar.
func (b *Bar) Stop(final Counts) error {
	b.p.Send(Finish(final))
	<-b.done
	if errors.Is(b.err, tea.ErrProgramKilled) {
		return nil
	}
	return b.err
}
