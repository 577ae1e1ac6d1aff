// Package formkit holds what the counter's fault forms share: the paper
// and telephone prescription form (package rxform) and the
// essential-medication form (package essential). It has the medicine
// picker, the parsing of dates and numbers as the pharmacist types them,
// the placing of record's validation problems next to their fields, the
// policy decisions with their rule ids, a window that keeps the focused
// field on a short terminal, the focus, the keys and the footers every
// form handles alike, the recording in the background and the rendering
// of a refused upload. The follow-up of the upload itself is package
// upload's, which the dispense screen shares; the dispense screen uses
// formkit's keys and inputs too.
//
// It lives under rxform because the forms are the only screens that use
// it.
package formkit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
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
	"github.com/tiski-rx/tiski/tui/keymap"
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
			msg := strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(c.Lang.DecisionSentence(d), ".")), "("+d.RuleID+")")
			line := ansi.Truncate("  "+mark+d.RuleID+" "+strings.TrimSpace(msg), max(width, 10), "…")
			out = append(out, st.Render(line))
			continue
		}
		out = append(out, strings.Split(st.Width(max(width-2, 10)).Render("  "+mark+c.Lang.Decision(d)), "\n")...)
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

// FocusInputs focuses the text input of field focus and blurs the other
// inputs; isInput tells which fields have one. The picker has the focus
// when focus is the medicine field. The inputs are changed in place: pass
// a slice of the model's own array.
func FocusInputs[F ~int](inputs []textinput.Model, isInput []bool, focus, medicine F, p Picker) Picker {
	for f := range inputs {
		if !isInput[f] {
			continue
		}
		if F(f) == focus {
			inputs[f].Focus()
		} else {
			inputs[f].Blur()
		}
	}
	if focus == medicine {
		return p.Focus()
	}
	return p.Blur()
}

// Move returns the field by places from focus in the focus order fs,
// round the ends; a focus not in fs counts as the first field.
func Move[F comparable](fs []F, focus F, by int) F {
	i := 0
	for j, f := range fs {
		if f == focus {
			i = j
		}
	}
	return fs[(i+by+len(fs))%len(fs)]
}

// Without returns problems without those of field f, in a new map so
// that earlier copies of a model keep theirs; problems itself when f has
// none.
func Without[F comparable](problems map[F][]string, f F) map[F][]string {
	if len(problems[f]) == 0 {
		return problems
	}
	ps := make(map[F][]string, len(problems))
	for k, v := range problems {
		if k != f {
			ps[k] = v
		}
	}
	return ps
}

// Action is what a form does with a key before its focused field sees it.
type Action int

// Actions of a key on a form.
const (
	ToField Action = iota // the focused field takes the key
	Ignore                // the form is closed to the key
	Back                  // leave the form
	Confirm               // record (F10)
	Next                  // focus the next field
	Prev                  // focus the previous field
)

// KeyAction says what km does on a form in state st. Once recorded the
// form is closed and only Esc leaves it (not while the record is being
// committed): the queue uploads whether the screen is open or not.
func KeyAction(k keymap.KeyMap, st upload.State, km tea.KeyMsg) Action {
	if st != upload.Editing {
		if st != upload.Recording && key.Matches(km, k.Back) {
			return Back
		}
		return Ignore
	}
	switch {
	case key.Matches(km, k.Back):
		return Back
	case key.Matches(km, k.ConfirmDispense):
		return Confirm
	case key.Matches(km, k.NextField):
		return Next
	case key.Matches(km, k.PrevField):
		return Prev
	}
	return ToField
}

// ChoiceKey reads a key on a field chosen with ↑ and ↓: by is -1 for ↑
// and 1 for ↓ or space, next is true for Enter, which moves on.
func ChoiceKey(k keymap.KeyMap, km tea.KeyMsg) (by int, next bool) {
	switch {
	case key.Matches(km, k.Up):
		return -1, false
	case key.Matches(km, k.Down), km.String() == " ":
		return 1, false
	case key.Matches(km, k.Submit):
		return 0, true
	}
	return 0, false
}

// InputMove reads a key on a text field that moves the focus instead of
// typing: 1 for Enter (a scanner ends the barcode with it) and ↓, -1 for
// ↑, else 0.
func InputMove(k keymap.KeyMap, km tea.KeyMsg) int {
	switch {
	case key.Matches(km, k.Submit, k.Down):
		return 1
	case key.Matches(km, k.Up):
		return -1
	}
	return 0
}

// Type hands a key to a text input, as UpdateInput, and reports whether
// the text changed.
func Type(in textinput.Model, km tea.KeyMsg) (textinput.Model, bool, tea.Cmd) {
	before := in.Value()
	in, cmd := UpdateInput(in, km)
	return in, in.Value() != before, cmd
}

// PatientLine names the patient in a form's title: the name and the
// identity code, or the code alone when the name is not known.
func PatientLine(p rx.Patient) string {
	if p.Family != "" || p.Given != "" {
		return p.Name() + "  " + p.HETU
	}
	return p.HETU
}

// EditingLines renders the foot of a form being filled in: the key that
// records (hint names it) or that the person may only view, how many
// problems the fields have, and the problems of no field.
func EditingLines[F comparable](c common.Common, mayRecord bool, hint i18n.Key, problems map[F][]string, other []string, width int) []string {
	s := c.Styles
	var out []string
	if !mayRecord {
		out = append(out, s.Warning.Render(c.T(i18n.FormViewOnly)))
	} else {
		out = append(out, s.Label.Render(c.T(hint, c.Keys.ConfirmDispense.Help().Key)))
	}
	n := 0
	for _, ps := range problems {
		n += len(ps)
	}
	if n > 0 {
		out = append(out, s.Error.Render(c.T(i18n.DispNotRecorded, c.T(i18n.FormFixFields, n))))
	}
	for _, o := range other {
		out = append(out, Wrap(s.Error, width, c.T(i18n.DispNotRecorded, o))...)
	}
	return out
}

// WaitingLines renders the foot of a form whose records wait for the
// upload: the outbox state, the last errors of the upload and of the read.
func WaitingLines(c common.Common, es []journal.OutboxEntry, readErr error, width int) []string {
	s := c.Styles
	out := []string{s.Warning.Render(c.T(i18n.DispWaitingUpload, string(upload.Waiting(es))))}
	for _, e := range es {
		if e.LastError != "" {
			out = append(out, Wrap(s.Muted, width, e.LastError)...)
		}
	}
	if readErr != nil {
		out = append(out, Wrap(s.Error, width, c.T(i18n.DispStateFailed, readErr.Error()))...)
	}
	return out
}

// DecisionSection renders the policy's decisions under their heading and
// returns the room it leaves for the fields, of height less used (the
// lines of the head and the foot and the gap). The decisions go compact,
// a line each, when the fields (of fieldLines) would not fit beside them
// in full.
func DecisionSection(c common.Common, ds []policy.Decision, width, height, used, fieldLines int) ([]string, int) {
	rules := func(compact bool) []string {
		return append([]string{"", c.Styles.Label.Render(c.T(i18n.DispDecisions))}, DecisionLines(c, ds, width, compact)...)
	}
	decisions := rules(false)
	room := height - used - len(decisions)
	if fieldLines > room {
		decisions = rules(true)
		room = height - used - len(decisions)
	}
	return decisions, max(room, 4)
}

// Page puts a form together: the head, the fields, the decisions, a gap
// and the foot, cut to height lines of width.
func Page(head, body, decisions, foot []string, width, height int) string {
	lines := append(head, body...)
	lines = append(lines, decisions...)
	lines = append(lines, "")
	lines = append(lines, foot...)
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, width, "…") // a guard: every part above keeps to width
	}
	return strings.Join(lines, "\n")
}

// Lines counts the lines of blocks.
func Lines(blocks []Block) int {
	n := 0
	for _, b := range blocks {
		n += len(b.Lines)
	}
	return n
}

// SizeInputs fits the text inputs to w columns, or to their character
// limit when less: a longer text scrolls inside its field.
func SizeInputs(inputs []textinput.Model, isInput []bool, w int) {
	for f := range inputs {
		if isInput[f] {
			inputs[f].Width = min(w, inputs[f].CharLimit) // a textinput pads to its width
			inputs[f].SetCursor(inputs[f].Position())     // scrolls to the cursor at the new width
		}
	}
}

// PlaceProblems splits an error of record into the problems of each of
// the form's fields, found by fieldOf from record's field name, and the
// problems of no field: those fieldOf does not place, named, and an error
// that is not about a field.
func PlaceProblems[F comparable](err error, fieldOf func(name string) (F, bool)) (map[F][]string, []string) {
	fields, text := Problems(err)
	problems, other := map[F][]string{}, []string(nil)
	if text != "" {
		other = []string{text}
	}
	for _, p := range fields {
		f, ok := fieldOf(p.Field)
		if !ok {
			other = append(other, p.Field+": "+p.Message)
			continue
		}
		problems[f] = append(problems[f], p.Message)
	}
	return problems, other
}

// Record runs rec in the background, bounded by the counter's call
// timeout, and answers with its RecordedMsg.
func Record(c common.Common, rec func(ctx context.Context) (record.Receipt, error)) tea.Cmd {
	timeout := c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		rc, err := rec(ctx)
		return RecordedMsg{Receipt: rc, Err: err}
	}
}

// PackageText names the package chosen in p, or "–" when none is.
func PackageText(c common.Common, p Picker) string {
	pk, ok := p.Package()
	if !ok {
		return "–"
	}
	med, _ := p.Medicine()
	return c.T(i18n.DispPackOf, pk.VNR, c.Lang.Quantity(pk.Size, med.Unit))
}
