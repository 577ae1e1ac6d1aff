// Package formkit holds what the counter's fault forms share: the paper
// and telephone prescription form (package rxform) and the
// essential-medication form (package essential). It has the medicine
// picker, the parsing of dates and numbers as the pharmacist types them,
// the placing of record's validation problems next to their fields, the
// policy decisions with their rule ids, a window that keeps the focused
// field on a short terminal, and the rendering of a refused upload. The
// follow-up of the upload itself is package upload's, which the dispense
// screen shares.
//
// It lives under rxform because the forms are the only screens that use
// it.
package formkit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/upload"
)

// RecordedMsg answers a form's record through Services.
type RecordedMsg struct {
	Receipt record.Receipt
	Err     error
}

// RefusalLines renders Refusal: held for review, with the key of the
// conflicts screen, or refused.
func RefusalLines(c common.Common, es []journal.OutboxEntry, width int) []string {
	text, held := upload.Refusal(es)
	if held {
		return Wrap(c.Styles.Error, width, c.T(i18n.FormHeldForReview, c.Keys.Conflicts.Help().Key, text))
	}
	return Wrap(c.Styles.Error, width, c.T(i18n.FormRefused, text))
}

// Input returns a text input of the forms: no prompt, a static cursor
// (so snapshots do not blink) and at most limit characters.
func Input(limit int) textinput.Model {
	t := textinput.New()
	t.Prompt = ""
	t.CharLimit = limit
	t.Cursor.SetMode(cursor.CursorStatic)
	return t
}

// UpdateInput hands a key to a text input. The input's text is copied
// first: a textinput appends in place, so without the copy a key typed
// into one copy of a model could show in another that shares the text.
func UpdateInput(in textinput.Model, km tea.KeyMsg) (textinput.Model, tea.Cmd) {
	in.SetValue(in.Value())
	return in.Update(km)
}

// Problems splits an error of record into the problems of each field, in
// record's field names, and the text of an error that is not about a
// field (a refusal of the person, the journal failing).
func Problems(err error) (fields []rx.FieldError, other string) {
	var v *rx.ValidationError
	if errors.As(err, &v) {
		return v.Problems, ""
	}
	var e *rx.Error
	if errors.As(err, &e) {
		return nil, e.Message
	}
	if err != nil {
		return nil, err.Error()
	}
	return nil, ""
}

// ParseDate reads a date typed the Finnish way, d.m.yyyy, as midnight in
// loc. Spaces around it are ignored.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	return time.ParseInLocation("2.1.2006", strings.TrimSpace(s), loc)
}

// ParseDateTime reads a time typed as "d.m.yyyy hh:mm" or just "hh:mm"
// (today, by now), with ':' or '.' between hours and minutes.
func ParseDateTime(s string, now time.Time) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	loc := now.Location()
	date, clock, ok := strings.Cut(s, " ")
	if !ok {
		date, clock = now.Format("2.1.2006"), s
	}
	clock = strings.Replace(clock, ".", ":", 1)
	return time.ParseInLocation("2.1.2006 15:04", date+" "+clock, loc)
}

// FormatDate writes t as d.m.yyyy.
func FormatDate(t time.Time) string { return t.Format("2.1.2006") }

// FormatDateTime writes t as d.m.yyyy hh:mm.
func FormatDateTime(t time.Time) string { return t.Format("2.1.2006 15:04") }

// ParseCount reads a whole number; "" is 0 with ok false.
func ParseCount(s string) (n int, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(s)
	return n, err == nil, err
}

// ParseDose reads a daily dose such as "2", "0,5" or "1.5"; "" is 0.
func ParseDose(s string) (float64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", "."))
	if s == "" {
		return 0, nil
	}
	return strconv.ParseFloat(s, 64)
}

// DecisionLines renders the policy decisions with their rule ids. In full
// each wraps to width, with the note of a setting still to be confirmed;
// compact gives each one line, the rule id first, cut to width, for a
// short terminal.
func DecisionLines(c common.Common, ds []policy.Decision, width int, compact bool) []string {
	s := c.Styles
	if len(ds) == 0 {
		return []string{"  " + s.Muted.Render(c.T(i18n.DispNoDecisions))}
	}
	var out []string
	for _, d := range ds {
		mark, st := "✓ ", s.OK
		switch d.Verdict {
		case policy.Warn:
			mark, st = "! ", s.Warning
		case policy.Deny:
			mark, st = "✗ ", s.Error
		}
		if compact {
			msg := strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(d.Message, ".")), "("+d.RuleID+")")
			line := ansi.Truncate("  "+mark+d.RuleID+" "+strings.TrimSpace(msg), max(width, 10), "…")
			out = append(out, st.Render(line))
			continue
		}
		line := mark + d.Message
		if n := d.Note(); n != "" {
			line += " (" + n + ")"
		}
		out = append(out, strings.Split(st.Width(max(width-2, 10)).Render("  "+line), "\n")...)
	}
	return out
}

// Wrap renders text in st wrapped to width, as lines.
func Wrap(st lipgloss.Style, width int, text string) []string {
	return strings.Split(st.Width(max(width, 10)).Render(text), "\n")
}

// Block is the lines of one field: its line, and its problems under it.
type Block struct {
	Focused bool
	Lines   []string
}

// Fit returns the lines of blocks that fit in height, keeping the focused
// block in view, and how many blocks are left out above and below; a line
// saying so takes the place of each side left out.
func Fit(blocks []Block, height int) (lines []string, above, below int) {
	total := 0
	for _, b := range blocks {
		total += len(b.Lines)
	}
	if total <= height || len(blocks) == 0 {
		for _, b := range blocks {
			lines = append(lines, b.Lines...)
		}
		return lines, 0, 0
	}
	room := max(height-2, 1) // a line each for what is above and below
	f := 0
	for i, b := range blocks {
		if b.Focused {
			f = i
		}
	}
	from, to := f, f+1
	used := len(blocks[f].Lines)
	for grown := true; grown; {
		grown = false
		if to < len(blocks) && used+len(blocks[to].Lines) <= room {
			used += len(blocks[to].Lines)
			to++
			grown = true
		}
		if from > 0 && used+len(blocks[from-1].Lines) <= room {
			from--
			used += len(blocks[from].Lines)
			grown = true
		}
	}
	for _, b := range blocks[from:to] {
		lines = append(lines, b.Lines...)
	}
	if len(lines) > room {
		lines = lines[:room]
	}
	return lines, from, len(blocks) - to
}

// FitView is Fit with the lines saying what is left out.
func FitView(c common.Common, blocks []Block, height int) []string {
	lines, above, below := Fit(blocks, height)
	if above > 0 {
		lines = append([]string{c.Styles.Muted.Render(c.T(i18n.FormFieldsAbove, above))}, lines...)
	}
	if below > 0 {
		lines = append(lines, c.Styles.Muted.Render(c.T(i18n.FormFieldsBelow, below)))
	}
	return lines
}

// Label renders a field's label in a column of width w, with the focus
// marker before it.
func Label(c common.Common, text string, focused bool, w int) string {
	marker := "  "
	if focused {
		marker = "▸ "
	}
	return marker + c.Styles.Muted.Render(fmt.Sprintf("%-*s", w, ansi.Truncate(text, w, "…")))
}

// Choice renders a value chosen with ↑ and ↓, marked when focused.
func Choice(c common.Common, focused bool, text string) string {
	if focused {
		return c.Styles.Selected.Render("‹ " + text + " ›")
	}
	return "  " + text
}

// ProblemLines renders a field's problems under it, indented past the
// label column.
func ProblemLines(c common.Common, msgs []string, indent, width int) []string {
	var out []string
	for _, m := range msgs {
		for _, l := range Wrap(c.Styles.Error, width-indent, "✗ "+m) {
			out = append(out, strings.Repeat(" ", indent)+l)
		}
	}
	return out
}

// Join puts two columns side by side, the left padded to width lw.
func Join(left, right []string, lw int) []string {
	n := max(len(left), len(right))
	out := make([]string, n)
	for i := range n {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		pad := lw - ansi.StringWidth(l)
		if pad < 1 {
			l, pad = ansi.Truncate(l, lw-1, "…"), 1
			pad = lw - ansi.StringWidth(l)
		}
		out[i] = l + strings.Repeat(" ", pad) + r
	}
	return out
}
