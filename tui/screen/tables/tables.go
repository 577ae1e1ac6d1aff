// Package tables holds what the counter's list screens (prescriptions,
// sync and conflicts) share of their tables.
package tables

import (
	"github.com/charmbracelet/bubbles/table"

	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
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

// Layout titles t's columns in c's language at widths, the last column
// taking what the others leave of the screen's width (at least minLast),
// and fits t below the title, summary, filter and notice lines of a list
// screen.
func Layout(t table.Model, c common.Common, titles []i18n.Key, widths []int, minLast int) table.Model {
	cols := make([]table.Column, len(titles))
	used := 0
	for i := range cols {
		cols[i] = table.Column{Title: c.T(titles[i]), Width: widths[i]}
		used += widths[i] + 2 // a space either side of each cell
	}
	cols[len(cols)-1].Width = max(c.Width-used-2, minLast)
	t.SetColumns(cols)
	t.SetWidth(c.Width)
	t.SetHeight(max(c.Height-5, 3))
	return t
}

// SetRows puts rows in t with the cursor on row cursor, the row of the
// record selected before, or, when that record is gone (cursor < 0), in
// range.
func SetRows(t table.Model, rows []table.Row, cursor int) table.Model {
	t.SetRows(rows)
	switch {
	case cursor >= 0:
		t.SetCursor(cursor)
	case t.Cursor() >= len(rows):
		t.SetCursor(max(len(rows)-1, 0))
	case t.Cursor() < 0:
		t.SetCursor(0) // an empty table put it before the first row
	}
	return t
}
