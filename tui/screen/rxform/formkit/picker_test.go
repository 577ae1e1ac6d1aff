package formkit

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// answered hands p a key and feeds it the answers of the searches the key
// asks, as bubbletea would; took is whether the key or an answer took a
// medicine.
func answered(p Picker, c common.Common, k tea.KeyMsg) (Picker, bool) {
	p, took, cmd := p.Update(k, c)
	for _, msg := range messages(cmd) {
		if f, ok := msg.(FoundMsg); ok {
			var t bool
			p, t = p.Found(f)
			took = took || t
		}
	}
	return p, took
}

// messages runs cmd and the commands of its batches.
func messages(cmd tea.Cmd) []tea.Msg {
	msg := tuitest.Run(cmd)
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, messages(c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

// vnrs lists the package numbers of ms.
func vnrs(ms []rx.Medicine) []string {
	var out []string
	for _, m := range ms {
		for _, pk := range m.Packages {
			out = append(out, pk.VNR)
		}
	}
	return out
}

func TestPicker(t *testing.T) {
	env := tuitest.New(t)
	c := env.Common(i18n.EN, 80, 24)
	p := NewPicker().Focus()
	if !strings.Contains(strings.Join(p.Lines(c, 2, 80, 3), ""), "Loading") {
		t.Fatal("no loading line before the catalogue")
	}
	p = p.Load(CheckCatalogue(c)().(CatalogueMsg))
	if !p.Ready() {
		t.Fatal("the fixtures' catalogue is not ready")
	}
	t.Run("typing searches by name, substance and ATC", func(t *testing.T) {
		for query, want := range map[string]string{"keppra": "990201", "levetiracetam": "990201", "A10BA02": "990291", "metforem 500": "990291", "99020": "990201"} {
			s, _ := answered(p, c, tuitest.Type(query))
			if !strings.Contains(strings.Join(vnrs(s.Matches()), " "), want) {
				t.Errorf("%q does not find package %s: %v", query, want, vnrs(s.Matches()))
			}
		}
	})
	t.Run("arrows choose among the matches, Enter takes", func(t *testing.T) {
		s, _ := answered(p, c, tuitest.Type("A10BA02"))
		s, _ = answered(s, c, tuitest.Key(tea.KeyDown))
		s, took := answered(s, c, tuitest.Key(tea.KeyEnter))
		m, ok := s.Medicine()
		if !took || !ok || m.ID != s.Matches()[1].ID || m.ATC != "A10BA02" {
			t.Fatalf("took %v, %+v", took, m)
		}
	})
	t.Run("a scanned VNR takes its package", func(t *testing.T) {
		s, _ := answered(p, c, tuitest.Type("990012"))
		s, took := answered(s, c, tuitest.Key(tea.KeyEnter))
		pk, ok := s.Package()
		if !took || !ok || pk.VNR != "990012" {
			t.Fatalf("took %v, package %+v", took, pk)
		}
		// Enter on the medicine taken moves on with it.
		if again, took := answered(s, c, tuitest.Key(tea.KeyEnter)); !took {
			t.Fatal("Enter on a medicine taken does not move on")
		} else if pk, _ := again.Package(); pk.VNR != "990012" {
			t.Fatalf("Enter on a medicine taken changed the package to %s", pk.VNR)
		}
		// Typing again lets the medicine go.
		s, _ = answered(s, c, tuitest.Type("x"))
		if _, ok := s.Medicine(); ok {
			t.Fatal("the medicine stays chosen after the text changed")
		}
	})
	t.Run("Enter before the answer takes once it comes", func(t *testing.T) {
		s, _, search := p.Update(tuitest.Type("990292"), c) // the scanner's digits
		s, took, lookUp := s.Update(tuitest.Key(tea.KeyEnter), c)
		if took || lookUp == nil {
			t.Fatalf("Enter before the answer: took %v, look-up %v", took, lookUp != nil)
		}
		for _, msg := range append(messages(search), messages(lookUp)...) { // the search's answer is stale by now
			var t2 bool
			s, t2 = s.Found(msg.(FoundMsg))
			took = took || t2
		}
		if pk, ok := s.Package(); !took || !ok || pk.VNR != "990292" {
			t.Fatalf("took %v, package %+v", took, pk)
		}
	})
	t.Run("a VNR the catalogue lacks says so", func(t *testing.T) {
		s, _ := answered(p, c, tuitest.Type("123456"))
		s, took := answered(s, c, tuitest.Key(tea.KeyEnter))
		if took || !strings.Contains(strings.Join(s.Lines(c, 2, 80, 3), ""), "No package 123456 in the medicine catalogue") {
			t.Fatalf("took %v:\n%s", took, strings.Join(s.Lines(c, 2, 80, 3), "\n"))
		}
	})
	t.Run("nothing matches", func(t *testing.T) {
		s, _ := answered(p, c, tuitest.Type("zzzz"))
		s, took := answered(s, c, tuitest.Key(tea.KeyEnter))
		if took || !strings.Contains(strings.Join(s.Lines(c, 2, 80, 3), ""), "No medicine matches") {
			t.Fatal("Enter took a medicine that matches nothing")
		}
	})
	t.Run("an answer to older text is dropped", func(t *testing.T) {
		s, _, old := p.Update(tuitest.Type("k"), c)
		s, _ = answered(s, c, tuitest.Type("eppra"))
		for _, msg := range messages(old) {
			s, _ = s.Found(msg.(FoundMsg))
		}
		for _, m := range s.Matches() {
			if m.Name != "Keppra" {
				t.Fatalf("the answer for %q replaced the one for %q: %v", "k", "keppra", s.Matches())
			}
		}
	})
	t.Run("a catalogue that fails says so", func(t *testing.T) {
		s := NewPicker().Load(CatalogueMsg{Err: rx.Errorf(rx.EUNAVAILABLE, "disk on fire")})
		if !strings.Contains(strings.Join(s.Lines(c, 2, 80, 3), ""), "disk on fire") {
			t.Fatal("the failure is not shown")
		}
	})
}

// pickerModel is a program of a picker alone, for teatest: it shows the
// text, the lines under it, the package taken and how many answers came.
type pickerModel struct {
	c       common.Common
	p       Picker
	answers int
}

func (m pickerModel) Init() tea.Cmd { return CheckCatalogue(m.c) }

func (m pickerModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case CatalogueMsg:
		m.p = m.p.Load(msg)
	case FoundMsg:
		m.answers++
		m.p, _ = m.p.Found(msg)
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlC {
			return m, tea.Quit
		}
		var cmd tea.Cmd
		m.p, _, cmd = m.p.Update(msg, m.c)
		return m, cmd
	}
	return m, nil
}

func (m pickerModel) View() string {
	taken := "–"
	if pk, ok := m.p.Package(); ok {
		taken = pk.VNR
	}
	lines := []string{"Medicine: " + m.p.Value(m.c, true), fmt.Sprintf("Taken: %s  answers: %d", taken, m.answers)}
	return strings.Join(append(lines, m.p.Lines(m.c, 2, 100, 4)...), "\n")
}

// heldServices hold the catalogue's answer to one text until release is
// closed, as a slow disk would.
type heldServices struct {
	*tuitest.Services
	hold    string
	release chan struct{}
}

func (h heldServices) FindMedicines(ctx context.Context, q string, n int) ([]rx.Medicine, error) {
	if q == h.hold {
		<-h.release
	}
	return h.Services.FindMedicines(ctx, q, n)
}

// runPicker runs a picker program over svc and returns it with a wait for
// text in its output. Each wait reads the output on from the last, and the
// renderer writes only the lines that change.
func runPicker(t *testing.T, env *tuitest.Env, svc common.Services) (*teatest.TestModel, func(string)) {
	c := env.Common(i18n.EN, 100, 12)
	c.Services = svc
	tm := teatest.NewTestModel(t, pickerModel{c: c, p: NewPicker().Focus()}, teatest.WithInitialTermSize(100, 12))
	return tm, func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
}

// TestPickerProgram runs the picker in a real bubbletea program, where
// each search is a command answered in the background: it finds a
// package by the start of its name, takes a scanned VNR typed fast with
// its Enter, and drops an answer that comes after the text changed.
func TestPickerProgram(t *testing.T) {
	env := tuitest.New(t)
	t.Run("by name", func(t *testing.T) {
		tm, waitFor := runPicker(t, env, env.Services)
		waitFor("Type a name")
		tm.Type("amor")
		waitFor("Amorion mixt 100 mg/ml")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor("Taken: 990511")
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
		final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(pickerModel)
		if m, ok := final.p.Medicine(); !ok || m.Name != "Amorion" || m.Strength != "500 mg" {
			t.Fatalf("took %+v", m)
		}
	})
	t.Run("a scanned VNR", func(t *testing.T) {
		tm, waitFor := runPicker(t, env, env.Services)
		waitFor("Type a name")
		// A scanner: the digits at once, Enter straight after, before
		// the catalogue can have answered.
		tm.Send(tuitest.Type("990292"))
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor("Taken: 990292")
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
		final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(pickerModel)
		if m, ok := final.p.Medicine(); !ok || m.Name != "Metforem" {
			t.Fatalf("took %+v", m)
		}
	})
	t.Run("a late answer is dropped", func(t *testing.T) {
		held := heldServices{Services: env.Services, hold: "k", release: make(chan struct{})}
		tm, waitFor := runPicker(t, env, held)
		waitFor("Type a name")
		tm.Type("k") // its answer waits
		tm.Type("lexane")
		waitFor("answers: 6") // k held; kl, kle, klex, klexa, klexan, klexane
		close(held.release)
		waitFor("answers: 7")
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
		final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(pickerModel)
		if got := vnrs(final.p.Matches()); strings.Join(got, " ") != "990411 990412" {
			t.Fatalf("matches %v after the late answer for %q: want Klexane's alone", got, "k")
		}
	})
	t.Run("no catalogue", func(t *testing.T) {
		bare := tuitest.New(t)
		bare.NoCatalogue(t)
		tm, waitFor := runPicker(t, bare, bare.Services)
		waitFor("This counter has no medicine catalogue")
		tm.Type("metforem")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor("answers: 8") // the searches answer that there is none
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
		final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(pickerModel)
		if _, ok := final.p.Medicine(); ok || !final.p.NoCatalogue() || final.p.query.Value() != "metforem" {
			t.Fatalf("with no catalogue: chosen %v, none %v, text %q", ok, final.p.NoCatalogue(), final.p.query.Value())
		}
		if v := final.View(); !strings.Contains(v, "Ask IT to run: tiski catalogue sync") {
			t.Fatalf("the picker does not say what IT must run:\n%s", v)
		}
	})
}
