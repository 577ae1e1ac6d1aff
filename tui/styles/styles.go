// Package styles holds the counter's one Styles struct: every colour and
// border a screen uses comes from here (STYLE §11).
//
// Colours are lipgloss.CompleteColor values, so a 16-colour terminal gets a
// chosen ANSI colour rather than a poor approximation, and a terminal with
// none still reads: the mode badge always carries the mode in words.
package styles

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Colours of the counter, each with its 256- and 16-colour stand-ins.
var (
	green  = lipgloss.CompleteColor{TrueColor: "#1E7F3C", ANSI256: "28", ANSI: "2"}
	red    = lipgloss.CompleteColor{TrueColor: "#C62828", ANSI256: "160", ANSI: "1"}
	amber  = lipgloss.CompleteColor{TrueColor: "#E0A000", ANSI256: "178", ANSI: "3"}
	white  = lipgloss.CompleteColor{TrueColor: "#FFFFFF", ANSI256: "231", ANSI: "15"}
	black  = lipgloss.CompleteColor{TrueColor: "#000000", ANSI256: "16", ANSI: "0"}
	grey   = lipgloss.CompleteColor{TrueColor: "#8A8A8A", ANSI256: "245", ANSI: "8"}
	blue   = lipgloss.CompleteColor{TrueColor: "#1F5FAF", ANSI256: "25", ANSI: "4"}
	purple = lipgloss.CompleteColor{TrueColor: "#7B1FA2", ANSI256: "91", ANSI: "5"}
)

// Styles is every style of the counter.
type Styles struct {
	// The status line.
	StatusBar       lipgloss.Style
	BadgeOnline     lipgloss.Style
	BadgeFault      lipgloss.Style
	BadgeRecovering lipgloss.Style
	BadgeUnknown    lipgloss.Style
	Training        lipgloss.Style
	StatusItem      lipgloss.Style

	// Screens.
	Title    lipgloss.Style
	Label    lipgloss.Style
	Muted    lipgloss.Style
	Error    lipgloss.Style
	Warning  lipgloss.Style
	OK       lipgloss.Style
	Box      lipgloss.Style
	Selected lipgloss.Style
	Header   lipgloss.Style
	Cell     lipgloss.Style
	Help     lipgloss.Style

	// The progress bar of `tiski sync run`: bubbles' progress takes its
	// colours as hex strings, not as styles.
	BarFull  string
	BarEmpty string
}

// New returns the counter's styles.
func New() Styles {
	badge := lipgloss.NewStyle().Bold(true).Padding(0, 1)
	return Styles{
		StatusBar:       lipgloss.NewStyle(),
		BadgeOnline:     badge.Foreground(white).Background(green),
		BadgeFault:      badge.Foreground(white).Background(red),
		BadgeRecovering: badge.Foreground(black).Background(amber),
		BadgeUnknown:    badge.Foreground(white).Background(grey),
		Training:        lipgloss.NewStyle().Bold(true).Foreground(white).Background(purple),
		StatusItem:      lipgloss.NewStyle().Foreground(grey),

		Title:    lipgloss.NewStyle().Bold(true).Foreground(blue),
		Label:    lipgloss.NewStyle().Bold(true),
		Muted:    lipgloss.NewStyle().Foreground(grey),
		Error:    lipgloss.NewStyle().Bold(true).Foreground(red),
		Warning:  lipgloss.NewStyle().Bold(true).Foreground(amber),
		OK:       lipgloss.NewStyle().Foreground(green),
		Box:      lipgloss.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(grey).Padding(0, 1),
		Selected: lipgloss.NewStyle().Bold(true).Reverse(true),
		Header:   lipgloss.NewStyle().Bold(true).Underline(true),
		Cell:     lipgloss.NewStyle(),
		Help:     lipgloss.NewStyle().Foreground(grey),

		BarFull:  blue.TrueColor,
		BarEmpty: grey.TrueColor,
	}
}

// Badge returns the style of the mode badge for m.
func (s Styles) Badge(m rx.Mode) lipgloss.Style {
	switch m {
	case rx.ModeOnline:
		return s.BadgeOnline
	case rx.ModeFault:
		return s.BadgeFault
	case rx.ModeRecovering:
		return s.BadgeRecovering
	}
	return s.BadgeUnknown
}
