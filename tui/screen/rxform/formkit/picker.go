package formkit

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// CatalogueMsg answers LoadCatalogue.
type CatalogueMsg struct {
	Medicines []rx.Medicine
	Err       error
}

// LoadCatalogue reads the pharmacy's medicine catalogue in the
// background, bounded by the counter's call timeout.
func LoadCatalogue(c common.Common) tea.Cmd {
	svc, timeout := c.Services, c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ms, err := svc.Medicines(ctx)
		return CatalogueMsg{Medicines: ms, Err: err}
	}
}

// Picker chooses a medicine from the catalogue and one of its packages.
// The pharmacist types part of a name, substance, ATC code or package
// number (VNR) to filter, ↑ and ↓ move among the matches and Enter takes
// one. A barcode scanner types a VNR and Enter: that package of that
// medicine is taken at once.
type Picker struct {
	query   textinput.Model
	all     []rx.Medicine
	loaded  bool
	failed  string
	matches []int
	sel     int
	chosen  int // index in all; -1 when none is chosen
	pack    int // index in the chosen medicine's packages
}

// NewPicker returns a picker waiting for the catalogue.
func NewPicker() Picker { return Picker{query: Input(40), chosen: -1} }

// Load takes the catalogue, or the reason it could not be read.
func (p Picker) Load(msg CatalogueMsg) Picker {
	if msg.Err != nil {
		p.failed = msg.Err.Error()
		return p
	}
	p.all, p.loaded, p.failed = msg.Medicines, true, ""
	return p.filter()
}

// Loaded reports whether the catalogue is in.
func (p Picker) Loaded() bool { return p.loaded }

// Focus and Blur move the typing cursor into and out of the picker.
func (p Picker) Focus() Picker { p.query.Focus(); return p }

// Blur takes the cursor out of the picker.
func (p Picker) Blur() Picker { p.query.Blur(); return p }

// Medicine returns the medicine chosen.
func (p Picker) Medicine() (rx.Medicine, bool) {
	if p.chosen < 0 || p.chosen >= len(p.all) {
		return rx.Medicine{}, false
	}
	return p.all[p.chosen], true
}

// Package returns the package chosen.
func (p Picker) Package() (rx.Package, bool) {
	m, ok := p.Medicine()
	if !ok || p.pack < 0 || p.pack >= len(m.Packages) {
		return rx.Package{}, false
	}
	return m.Packages[p.pack], true
}

// MovePackage chooses the next (by 1) or previous (by -1) package.
func (p Picker) MovePackage(by int) Picker {
	if m, ok := p.Medicine(); ok && len(m.Packages) > 0 {
		n := len(m.Packages)
		p.pack = (p.pack + by + n) % n
	}
	return p
}

// Matches returns the medicines the query matches.
func (p Picker) Matches() []rx.Medicine {
	out := make([]rx.Medicine, len(p.matches))
	for i, j := range p.matches {
		out[i] = p.all[j]
	}
	return out
}

// Update handles a key while the picker has the focus. It reports whether
// the key took a medicine, so the form can move on.
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
		return p.take()
	}
	before := p.query.Value()
	var cmd tea.Cmd
	p.query, cmd = UpdateInput(p.query, km)
	if p.query.Value() != before {
		p.chosen = -1
		p = p.filter()
	}
	return p, false, cmd
}

// take chooses the package whose VNR was typed, or the highlighted match.
func (p Picker) take() (Picker, bool, tea.Cmd) {
	q := strings.TrimSpace(p.query.Value())
	for i, m := range p.all {
		for j, pk := range m.Packages {
			if q != "" && pk.VNR == q {
				return p.choose(i, j), true, nil
			}
		}
	}
	if p.sel < 0 || p.sel >= len(p.matches) {
		return p, false, nil
	}
	i := p.matches[p.sel]
	j := 0
	if small, ok := p.all[i].SmallestPackage(); ok {
		for k, pk := range p.all[i].Packages {
			if pk.VNR == small.VNR {
				j = k
			}
		}
	}
	return p.choose(i, j), true, nil
}

func (p Picker) choose(i, pack int) Picker {
	p.query.SetValue(p.all[i].DisplayName())
	p.query.CursorEnd()
	p = p.filter()
	p.chosen, p.pack = i, pack
	return p
}

// filter finds the medicines every word of the query matches.
func (p Picker) filter() Picker {
	words := strings.Fields(strings.ToLower(p.query.Value()))
	p.matches, p.sel = p.matches[:0:0], 0
	if len(words) == 0 {
		return p
	}
	for i, m := range p.all {
		hay := strings.ToLower(strings.Join([]string{m.DisplayName(), m.Substance, m.ATC, m.ID}, " "))
		ok := true
		for _, w := range words {
			if strings.Contains(hay, w) {
				continue
			}
			vnr := false
			for _, pk := range m.Packages {
				vnr = vnr || strings.HasPrefix(pk.VNR, w)
			}
			if !vnr {
				ok = false
				break
			}
		}
		if ok {
			p.matches = append(p.matches, i)
		}
	}
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
	switch {
	case p.failed != "":
		return Wrap(s.Error, width, pad+c.T(i18n.FormCatalogueFailed, p.failed))
	case !p.loaded:
		return []string{pad + s.Muted.Render(c.T(i18n.FormCatalogueLoading))}
	case p.chosen >= 0:
		return nil
	case strings.TrimSpace(p.query.Value()) == "":
		return []string{pad + s.Muted.Render(ansi.Truncate(c.T(i18n.FormMedicineHint), max(width-indent, 10), "…"))}
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
		m := p.all[p.matches[i]]
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
	if rest := len(p.matches) - (first + len(out)); rest > 0 {
		out = append(out, pad+s.Muted.Render(c.T(i18n.FormMoreMatches, rest)))
	}
	return out
}
