package formkit

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// MatchPage is how many matches the picker asks the catalogue for at a time:
// more than a pharmacist reads, so the rest is "type more".
const MatchPage = 20

// CatalogueMsg answers CheckCatalogue: the catalogue's description, or
// why there is none (catalogue.ErrNoCatalogue: nothing imported).
type CatalogueMsg struct {
	Info catalogue.Info
	Err  error
}

// CheckCatalogue asks, in the background, whether the counter has a
// medicine catalogue, so the picker can say so before anything is typed.
func CheckCatalogue(c common.Common) tea.Cmd {
	svc, timeout := c.Services, c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		info, err := svc.CatalogueInfo(ctx)
		return CatalogueMsg{Info: info, Err: err}
	}
}

// FoundMsg answers one search of a picker. Seq tags the search: a picker
// takes only the answer to its latest one, so an answer that comes late,
// for text since changed, is dropped.
type FoundMsg struct {
	Seq       int64
	Query     string
	Medicines []rx.Medicine
	Err       error
}

// searches numbers the searches of every picker of the counter, so an
// answer meant for a form since closed never passes for one of the next
// form's.
var searches atomic.Int64

// Picker chooses a medicine from the catalogue and one of its packages.
// The pharmacist types the start of a trade name (or of the substance or
// the ATC code, or a package number, VNR); each change asks the catalogue
// in the background, and at most a page of matches shows. ↑ and ↓ move
// among them and Enter takes one. A barcode scanner types a VNR and Enter:
// that package of that product is taken at once, or as soon as the
// catalogue answers.
type Picker struct {
	query textinput.Model

	known  bool   // the catalogue's state is known
	none   bool   // no catalogue has been imported
	failed string // the catalogue could not be read

	seq      int64         // the latest search asked
	answered int64         // the search whose answer matches holds
	matches  []rx.Medicine // at most Page
	more     bool          // the page is full: more match
	sel      int
	taking   bool   // Enter came before the answer: take on its arrival
	missing  string // a scanned VNR the catalogue does not hold
	chosen   rx.Medicine
	has      bool // a medicine is chosen
	pack     int  // index in the chosen medicine's packages
	scanning bool // the search asked is a lookup by VNR, after Enter
}

// NewPicker returns a picker waiting for the catalogue.
func NewPicker() Picker { return Picker{query: Input(40)} }

// Load takes the catalogue's state.
func (p Picker) Load(msg CatalogueMsg) Picker {
	return p.state(msg.Err)
}

// state takes the catalogue's state from the error of a read of it.
func (p Picker) state(err error) Picker {
	p.known = true
	switch {
	case err == nil:
		p.none, p.failed = false, ""
	case errors.Is(err, catalogue.ErrNoCatalogue):
		p.none, p.failed = true, ""
	default:
		p.failed = rx.ErrorMessage(err)
	}
	return p
}

// Ready reports whether the catalogue is known to be there.
func (p Picker) Ready() bool { return p.known && !p.none && p.failed == "" }

// NoCatalogue reports whether the counter has no catalogue.
func (p Picker) NoCatalogue() bool { return p.none }

// Focus and Blur move the typing cursor into and out of the picker.
func (p Picker) Focus() Picker { p.query.Focus(); return p }

// Blur takes the cursor out of the picker.
func (p Picker) Blur() Picker { p.query.Blur(); return p }

// Medicine returns the medicine chosen.
func (p Picker) Medicine() (rx.Medicine, bool) { return p.chosen, p.has }

// Package returns the package chosen.
func (p Picker) Package() (rx.Package, bool) {
	if !p.has || p.pack < 0 || p.pack >= len(p.chosen.Packages) {
		return rx.Package{}, false
	}
	return p.chosen.Packages[p.pack], true
}

// MovePackage chooses the next (by 1) or previous (by -1) package.
func (p Picker) MovePackage(by int) Picker {
	if n := len(p.chosen.Packages); p.has && n > 0 {
		p.pack = (p.pack + by + n) % n
	}
	return p
}

// Matches returns the medicines of the latest answer.
func (p Picker) Matches() []rx.Medicine { return append([]rx.Medicine(nil), p.matches...) }

// Taking reports whether Enter came before the catalogue's answer: the
// form holds the keys that follow (Hold) until the answer takes the
// medicine, so Tab and the next field's text land where they would have
// had the answer been there at once, and a quantity typed is not then
// overwritten by the package's.
func (p Picker) Taking() bool { return p.taking }

// Hold adds km to the keys held while the picker is taking, in a new
// slice: earlier copies of a form keep theirs. At most maxHeld are held;
// a scanner's burst is shorter.
func Hold(held []tea.KeyMsg, km tea.KeyMsg) []tea.KeyMsg {
	if len(held) >= maxHeld {
		return held
	}
	return append(held[:len(held):len(held)], km)
}

const maxHeld = 256

// Replay hands the keys held while the picker was taking to key, in order,
// once the answer came. A key that makes the picker take again holds the
// rest again (key holds them).
func Replay[M any](m M, held []tea.KeyMsg, key func(M, tea.KeyMsg) (M, tea.Cmd)) (M, tea.Cmd) {
	var cmds []tea.Cmd
	for _, km := range held {
		var cmd tea.Cmd
		m, cmd = key(m, km)
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

// Searching reports whether the answer to the text as it stands is still
// to come.
func (p Picker) Searching() bool { return p.seq != p.answered }

// Update handles a key while the picker has the focus. It reports whether
// the key took a medicine, so the form can move on; a key that changes the
// text returns the search.
func (p Picker) Update(km tea.KeyMsg, c common.Common) (Picker, bool, tea.Cmd) {
	switch {
	case key.Matches(km, c.Keys.Up):
		if len(p.matches) > 0 {
			p.sel = (p.sel - 1 + len(p.matches)) % len(p.matches)
		}
		return p, false, nil
	case key.Matches(km, c.Keys.Down):
		if len(p.matches) > 0 {
			p.sel = (p.sel + 1) % len(p.matches)
		}
		return p, false, nil
	case key.Matches(km, c.Keys.Submit):
		return p.take(c)
	}
	before := p.query.Value()
	var cmd tea.Cmd
	p.query, cmd = UpdateInput(p.query, km)
	if p.query.Value() == before {
		return p, false, cmd
	}
	p.has, p.taking, p.missing = false, false, ""
	return p, false, tea.Batch(cmd, p.search(c))
}

// search asks the catalogue for the text as it stands, in the background;
// nil for no text.
func (p *Picker) search(c common.Common) tea.Cmd {
	p.seq = searches.Add(1)
	p.scanning = false
	q := strings.TrimSpace(p.query.Value())
	if q == "" {
		p.answered, p.matches, p.more, p.sel = p.seq, nil, false, 0
		return nil
	}
	svc, timeout, seq := c.Services, c.Counter.CallTimeout, p.seq
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ms, err := svc.FindMedicines(ctx, q, MatchPage+1)
		return FoundMsg{Seq: seq, Query: q, Medicines: ms, Err: err}
	}
}

// lookUp asks the catalogue for the package vnr, in the background: a
// scanner's Enter that came before the answer to the digits.
func (p *Picker) lookUp(c common.Common, vnr string) tea.Cmd {
	p.seq = searches.Add(1)
	p.scanning = true
	svc, timeout, seq := c.Services, c.Counter.CallTimeout, p.seq
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		m, err := svc.MedicineByVNR(ctx, vnr)
		if err != nil {
			return FoundMsg{Seq: seq, Query: vnr, Err: err}
		}
		return FoundMsg{Seq: seq, Query: vnr, Medicines: []rx.Medicine{m}}
	}
}

// Found takes the answer to a search. An answer to any but the latest
// search is dropped. It reports whether the answer took a medicine: Enter
// came before it.
func (p Picker) Found(msg FoundMsg) (Picker, bool) {
	if msg.Seq != p.seq || p.has {
		return p, false
	}
	p.answered = msg.Seq
	if msg.Err != nil {
		taking := p.taking
		p.taking = false
		if rx.ErrorCode(msg.Err) == rx.ENOTFOUND && !errors.Is(msg.Err, catalogue.ErrNoCatalogue) {
			// A scanned VNR the catalogue does not hold.
			p.matches, p.more, p.sel = nil, false, 0
			if taking || p.scanning {
				p.missing = msg.Query
			}
			return p.state(nil), false
		}
		p.matches, p.more, p.sel = nil, false, 0
		return p.state(msg.Err), false
	}
	p = p.state(nil)
	ms := msg.Medicines
	p.more = len(ms) > MatchPage
	if p.more {
		ms = ms[:MatchPage]
	}
	p.matches, p.sel = ms, 0
	if p.taking {
		p.taking = false
		return p.takeNow()
	}
	return p, false
}

// take chooses the package whose VNR was typed, or the highlighted match.
// Before the answer to the text as it stands, it takes once the answer
// comes; a scanned VNR is then looked up by itself, the quickest answer
// the catalogue gives.
func (p Picker) take(c common.Common) (Picker, bool, tea.Cmd) {
	q := strings.TrimSpace(p.query.Value())
	switch {
	case p.has:
		return p, true, nil // taken already: Enter moves on
	case q == "":
		return p, false, nil
	case !p.Searching():
		p, took := p.takeNow()
		if !took && isVNR(q) {
			p.missing = q
		}
		return p, took, nil
	}
	p.taking = true
	if vnr, ok := catalogue.NormalVNR(q); ok && isVNR(q) {
		return p, false, p.lookUp(c, vnr)
	}
	return p, false, nil
}

// isVNR reports whether q reads as a whole package number: a scanner's.
func isVNR(q string) bool {
	_, ok := catalogue.NormalVNR(q)
	return ok && len(q) >= 5
}

// takeNow takes from the matches as they stand.
func (p Picker) takeNow() (Picker, bool) {
	q := strings.TrimSpace(p.query.Value())
	if vnr, ok := catalogue.NormalVNR(q); ok {
		for _, m := range p.matches {
			for j, pk := range m.Packages {
				if pk.VNR == vnr {
					return p.choose(m, j), true
				}
			}
		}
	}
	if p.sel < 0 || p.sel >= len(p.matches) {
		return p, false
	}
	m := p.matches[p.sel]
	j := 0
	if small, ok := m.SmallestPackage(); ok {
		for k, pk := range m.Packages {
			if pk.VNR == small.VNR {
				j = k
			}
		}
	}
	return p.choose(m, j), true
}

func (p Picker) choose(m rx.Medicine, pack int) Picker {
	p.query.SetValue(m.DisplayName())
	p.query.CursorEnd()
	p.chosen, p.has, p.pack, p.missing = m, true, pack, ""
	return p
}

// Value renders the field's value: the text typed when focused, else the
// medicine chosen.
func (p Picker) Value(c common.Common, focused bool) string {
	if focused {
		return p.query.View()
	}
	if m, ok := p.Medicine(); ok {
		return m.DisplayName()
	}
	return c.Styles.Muted.Render(p.query.Value())
}

// Lines renders what shows under the field while it has the focus: the
// state of the catalogue, or at most limit matches with the highlighted
// one marked, cut to width.
func (p Picker) Lines(c common.Common, indent, width, limit int) []string {
	s := c.Styles
	pad := strings.Repeat(" ", indent)
	q := strings.TrimSpace(p.query.Value())
	switch {
	case p.none:
		return indented(pad, Wrap(s.Error, width-indent, c.T(i18n.MedNoCatalogue)))
	case p.failed != "":
		return indented(pad, Wrap(s.Error, width-indent, c.T(i18n.FormCatalogueFailed, p.failed)))
	case p.has:
		return nil
	case p.missing != "":
		return []string{pad + s.Warning.Render(c.T(i18n.MedNoPackage, p.missing))}
	case !p.known && q == "":
		return []string{pad + s.Muted.Render(c.T(i18n.FormCatalogueLoading))}
	case q == "":
		return []string{pad + s.Muted.Render(ansi.Truncate(c.T(i18n.FormMedicineHint), max(width-indent, 10), "…"))}
	case len(p.matches) == 0 && p.Searching():
		return []string{pad + s.Muted.Render(c.T(i18n.MedSearching))}
	case len(p.matches) == 0 && isVNR(q):
		return []string{pad + s.Warning.Render(c.T(i18n.MedNoPackage, q))}
	case len(p.matches) == 0:
		return []string{pad + s.Warning.Render(c.T(i18n.FormNoMatch))}
	}
	limit = max(limit, 1)
	first := 0
	if p.sel >= limit {
		first = p.sel - limit + 1
	}
	var out []string
	for i := first; i < len(p.matches) && i < first+limit; i++ {
		m := p.matches[i]
		vnrs := make([]string, len(m.Packages))
		for j, pk := range m.Packages {
			vnrs[j] = pk.VNR
		}
		text := ansi.Truncate(m.DisplayName()+"  "+m.ATC+"  "+strings.Join(vnrs, " "), max(width-indent-2, 10), "…")
		if i == p.sel {
			out = append(out, pad+s.Selected.Render("› "+text))
		} else {
			out = append(out, pad+"  "+text)
		}
	}
	switch rest := len(p.matches) - (first + len(out)); {
	case p.more:
		out = append(out, pad+s.Muted.Render(c.T(i18n.MedMorePage, MatchPage)))
	case rest > 0:
		out = append(out, pad+s.Muted.Render(c.T(i18n.FormMoreMatches, rest)))
	}
	return out
}

// indented puts pad before each line.
func indented(pad string, lines []string) []string {
	for i, l := range lines {
		lines[i] = pad + l
	}
	return lines
}
