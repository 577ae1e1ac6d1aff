// Package tables holds what the counter's list screens (prescriptions,
// sync and conflicts) share of their tables.
package tables

import (
	"github.com/charmbracelet/bubbles/table"

	"github.com/tiski-rx/tiski/tui/common"
)

// New returns a focused table in the counter's styles. It moves with the
// keymap's ↑ and ↓ only: the table's own keys are off, so that every key
// has one source (tui/keymap) and none is bound twice.
func New(c common.Common) table.Model {
	k := c.Keys
	st := table.DefaultStyles()
	st.Header = st.Header.Inherit(c.Styles.Header)
	st.Selected = c.Styles.Selected
	return table.New(
		table.WithFocused(true),
		table.WithStyles(st),
		table.WithKeyMap(table.KeyMap{LineUp: k.Up, LineDown: k.Down}),
	)
}
