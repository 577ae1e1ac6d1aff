package tables

import (
	"testing"

	"github.com/charmbracelet/bubbles/table"
)

func TestSetRowsKeepsTheCursorInRange(t *testing.T) {
	rows := func(n int) []table.Row {
		rs := make([]table.Row, n)
		for i := range rs {
			rs[i] = table.Row{"r"}
		}
		return rs
	}
	tb := table.New(table.WithColumns([]table.Column{{Title: "c", Width: 1}}), table.WithHeight(10))
	tb = SetRows(tb, rows(5), 3)
	if tb.Cursor() != 3 {
		t.Fatalf("the selected row: cursor %d", tb.Cursor())
	}
	if tb = SetRows(tb, rows(2), -1); tb.Cursor() != 1 {
		t.Fatalf("fewer rows: cursor %d, want the last", tb.Cursor())
	}
	// An empty table puts the cursor before the first row; rows that come
	// back bring it to the first.
	tb = SetRows(tb, rows(0), -1)
	if tb = SetRows(tb, rows(3), -1); tb.Cursor() != 0 {
		t.Fatalf("rows after none: cursor %d, want the first", tb.Cursor())
	}
}
