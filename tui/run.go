package tui

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/tui/common"
)

// Run shows the counter on the terminal behind in and out until the
// pharmacist quits or ctx ends. It is the counter's one place that starts a
// bubbletea program, so that cmd/ never imports bubbletea (syncbar.Start is
// sync run's).
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
// frame to out, with when that write ended: the time a pharmacist waits
// for the screen (DESIGN §10) ends then, not when the program has quit.
// The frame is recognised by the pharmacy's name, which the status line
// always shows.
func FirstFrame(ctx context.Context, c common.Common, w, h int, out io.Writer) (shown time.Time, err error) {
	if c.Counter.Pharmacy.Name == "" {
		return time.Time{}, errors.New("first frame: the counter has no pharmacy name to recognise its frame by")
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
	if _, err = p.Run(); errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return time.Time{}, err
	}
	select {
	case <-fw.seen:
		return fw.at, nil
	default:
		return time.Time{}, errors.New("first frame: the counter ended before it showed its frame")
	}
}

// frameWriter passes writes on to out and, once the first write that holds
// mark has been passed on, notes when in at and closes seen.
type frameWriter struct {
	out  io.Writer
	mark string
	once sync.Once
	at   time.Time // set before seen is closed
	seen chan struct{}
}

func (f *frameWriter) Write(b []byte) (int, error) {
	n, err := f.out.Write(b)
	if strings.Contains(string(b), f.mark) {
		f.once.Do(func() {
			f.at = time.Now()
			close(f.seen)
		})
	}
	return n, err
}
