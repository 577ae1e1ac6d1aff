package tui

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/tui/common"
)

// Run shows the counter on the terminal behind in and out until the
// pharmacist quits or ctx ends. It is the one place that starts a bubbletea
// program, so that cmd/ never imports bubbletea.
func Run(ctx context.Context, c common.Common, in io.Reader, out io.Writer) error {
	p := tea.NewProgram(New(c), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen())
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// FirstFrame runs the counter as Run does, on a w×h screen with no
// keyboard, and returns once bubbletea has written the counter's first
// frame to out: the time a pharmacist waits for the screen (DESIGN §10).
// The frame is recognised by the pharmacy's name, which the status line
// always shows.
func FirstFrame(ctx context.Context, c common.Common, w, h int, out io.Writer) error {
	if c.Counter.Pharmacy.Name == "" {
		return errors.New("first frame: the counter has no pharmacy name to recognise its frame by")
	}
	fw := &frameWriter{out: out, mark: c.Counter.Pharmacy.Name, seen: make(chan struct{})}
	c.Width, c.Height = w, h
	p := tea.NewProgram(New(c), tea.WithContext(ctx), tea.WithInput(nil), tea.WithOutput(fw), tea.WithoutSignalHandler())
	go func() {
		select {
		case <-fw.seen:
			p.Quit()
		case <-ctx.Done():
		}
	}()
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// frameWriter passes writes on to out and closes seen at the first write
// that holds mark.
type frameWriter struct {
	out  io.Writer
	mark string
	once sync.Once
	seen chan struct{}
}

func (f *frameWriter) Write(b []byte) (int, error) {
	if strings.Contains(string(b), f.mark) {
		f.once.Do(func() { close(f.seen) })
	}
	return f.out.Write(b)
}
