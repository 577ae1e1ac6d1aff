package formkit

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
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
	return c.T(i18n.DispPackOf, pk.VNR, pk.Size, med.Unit)
}
