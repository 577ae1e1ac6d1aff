package tui

import (
	"context"
	"errors"
	"io"

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
