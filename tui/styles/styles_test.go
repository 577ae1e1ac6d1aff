package styles

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestBadgeDegrades renders the badges on a 16-colour terminal and on one
// without colour: each keeps its words, and the 16-colour one uses the
// chosen basic colours, not approximations.
func TestBadgeDegrades(t *testing.T) {
	tests := []struct {
		mode rx.Mode
		ansi string // the background's SGR code on a 16-colour terminal
	}{
		{rx.ModeOnline, "42"},
		{rx.ModeFault, "41"},
		{rx.ModeRecovering, "43"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			r := lipgloss.NewRenderer(&strings.Builder{})
			r.SetColorProfile(termenv.ANSI)
			s := New()
			got := s.Badge(tt.mode).Renderer(r).Render(string(tt.mode))
			if !strings.Contains(got, string(tt.mode)) {
				t.Errorf("badge %q lost its words", got)
			}
			if !strings.Contains(got, tt.ansi) {
				t.Errorf("badge %q: no background %s on 16 colours", got, tt.ansi)
			}
			r.SetColorProfile(termenv.Ascii)
			if got := s.Badge(tt.mode).Renderer(r).Render(string(tt.mode)); strings.TrimSpace(got) != string(tt.mode) {
				t.Errorf("without colour the badge is %q, want the words", got)
			}
		})
	}
}
