package search

import "github.com/charmbracelet/lipgloss"

// lipglossWidth wraps s to the screen's width.
func lipglossWidth(s string, w int) string {
	if w <= 0 {
		return s
	}
	return lipgloss.NewStyle().Width(w).Render(s)
}
