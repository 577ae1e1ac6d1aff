package dispense

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
	"github.com/tiski-rx/tiski/tui/screen/upload"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// Fixtures of the simulator.
const (
	metforem = "EP26000101" // Matti's, active, with repeats
	locked   = "EP26000701" // locked by another pharmacy
	lockedOf = "080963U907X"
)

// load returns the patient and one of their prescriptions from the
// simulator.
func load(t testing.TB, env *tuitest.Env, code, id string) (rx.Patient, rx.Prescription) {
	t.Helper()
	p, err := env.Services.FindPatient(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	rxs, err := env.Services.Prescriptions(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rxs {
		if r.ID == id {
			return p, r
		}
	}
	t.Fatalf("%s has no prescription %s", code, id)
	return rx.Patient{}, rx.Prescription{}
}

func TestOnlineDispensingReachesTheCentre(t *testing.T) {
	env := tuitest.New(t)
	patient, p := load(t, env, tuitest.Matti, metforem)
	m := New(env.Common(i18n.EN, 120, 40), patient, p, tuitest.Pharmacist, rx.ModeOnline)
	if m.Essential() {
		t.Fatal("an online dispensing shows the essential form")
	}
	m = tuitest.Confirm(t, m)
	if m.State() != Local || !strings.Contains(m.View(), "Recorded locally") {
		t.Fatalf("after F10: state %d, problem %q\n%s", m.State(), m.Problem(), m.View())
	}
	m = tuitest.ReadOnce(t, m)
	if m.State() != Local {
		t.Fatalf("before the upload: state %d", m.State())
	}
	env.Drain(t)
	m = tuitest.ReadOnce(t, m)
	if m.State() != Centre || !strings.Contains(m.View(), "Recorded in Prescription Centre") {
		t.Fatalf("after the upload: state %d\n%s", m.State(), m.View())
	}
	// A late answer for another record changes nothing.
	if m2, cmd := m.Update(upload.StateMsg{Key: "other", Entries: []journal.OutboxEntry{{State: journal.OutboxConflict}}}); cmd != nil || m2.State() != Centre {
		t.Fatalf("a stray answer moved the screen to %d", m2.State())
	}
	if _, cmd := m.Update(tuitest.Key(tea.KeyEsc)); cmd == nil {
		t.Fatal("Esc does not leave a finished dispensing")
	} else if _, ok := cmd().(BackMsg); !ok {
		t.Fatal("Esc does not go back")
	}
}

func TestLockedPrescriptionIsRefusedAtOnce(t *testing.T) {
	env := tuitest.New(t)
	patient, p := load(t, env, lockedOf, locked)
	m := New(env.Common(i18n.EN, 120, 40), patient, p, tuitest.Pharmacist, rx.ModeOnline)
	m = tuitest.Confirm(t, m)
	if m.State() != Local {
		t.Fatalf("after F10: state %d, problem %q", m.State(), m.Problem())
	}
	env.Drain(t)
	m = tuitest.ReadOnce(t, m)
	v := m.View()
	if m.State() != Refused || !strings.Contains(v, "refused the dispensing: locked") || !strings.Contains(v, "Do not hand over") {
		t.Fatalf("state %d, entry %+v\n%s", m.State(), m.Entry(), v)
	}
	if _, cmd := m.Update(PollMsg{Key: m.Receipt().Record.ID}); cmd != nil {
		t.Fatal("a refused dispensing is still polled")
	}
}

func TestEssentialDispensingInFault(t *testing.T) {
	env := tuitest.New(t)
	patient, p := load(t, env, tuitest.Matti, metforem)
	env.Fault(t)
	m := New(env.Common(i18n.EN, 120, 40), patient, p, tuitest.Pharmacist, rx.ModeFault)
	if !m.Essential() || !strings.Contains(m.View(), "essential-medication dispensing") {
		t.Fatalf("FAULT does not show the essential form:\n%s", m.View())
	}
	t.Run("the basis is chosen with the arrows", func(t *testing.T) {
		s, _ := m.Update(tuitest.Key(tea.KeyDown))
		if !strings.Contains(s.View(), "prescription summary") {
			t.Fatalf("\n%s", s.View())
		}
	})
	t.Run("over the 30-day cap is denied with its rule id", func(t *testing.T) {
		s := m
		for range 3 {
			s, _ = s.Update(tuitest.Key(tea.KeyTab))
		}
		s, _ = s.Update(tuitest.Type("1"))
		if policy.Worst(s.Decisions()) != policy.Deny || !strings.Contains(s.View(), policy.RuleEssentialQuantity) {
			t.Fatalf("preview: %v\n%s", s.Decisions(), s.View())
		}
		s = tuitest.Confirm(t, s)
		if s.State() != Editing || !strings.Contains(s.Problem(), policy.RuleEssentialQuantity) {
			t.Fatalf("state %d, problem %q", s.State(), s.Problem())
		}
	})
	t.Run("within the cap it is recorded locally and waits", func(t *testing.T) {
		s := m
		for range 3 {
			s, _ = s.Update(tuitest.Key(tea.KeyTab))
		}
		s, _ = s.Update(tuitest.Type("8")) // 30 days at 8 a day: more than the 200-tablet pack
		s = tuitest.Confirm(t, s)
		if s.State() != Local || !strings.Contains(s.View(), "Recorded locally") {
			t.Fatalf("state %d, problem %q\n%s", s.State(), s.Problem(), s.View())
		}
		if !strings.Contains(strings.Join(s.Receipt().Record.Rules, " "), policy.RuleEssentialQuantity) {
			t.Fatalf("rules %v", s.Receipt().Record.Rules)
		}
		s = tuitest.ReadOnce(t, s)
		if s.State() != Local || s.Entry().State != journal.OutboxPending {
			t.Fatalf("state %d, entry %+v", s.State(), s.Entry())
		}
	})
}

func TestProblemsInThePharmacistsTerms(t *testing.T) {
	env := tuitest.New(t)
	patient, p := load(t, env, tuitest.Matti, metforem)
	m := New(env.Common(i18n.EN, 120, 40), patient, p, tuitest.Pharmacist, rx.ModeOnline)
	m, _ = m.Update(tuitest.Key(tea.KeyTab))
	for _, tc := range []struct {
		name, typed, want string
	}{
		{"not a number", "x", "whole number"},
		{"zero", "0", "quantity must be above zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := m
			for range 5 {
				s, _ = s.Update(tuitest.Key(tea.KeyBackspace))
			}
			s, _ = s.Update(tuitest.Type(tc.typed))
			s = tuitest.Confirm(t, s)
			if s.State() != Editing || !strings.Contains(s.View(), tc.want) {
				t.Fatalf("state %d\n%s", s.State(), s.View())
			}
		})
	}
	t.Run("a student may not record", func(t *testing.T) {
		s := New(env.Common(i18n.EN, 120, 40), patient, p, tuitest.Student, rx.ModeOnline)
		s, cmd := s.Update(tuitest.Key(tea.KeyF10))
		if cmd != nil || s.State() != Editing || !strings.Contains(s.View(), "may look but not dispense") {
			t.Fatalf("state %d\n%s", s.State(), s.View())
		}
	})
}

func TestGolden(t *testing.T) {
	env := tuitest.New(t)
	patient, p := load(t, env, tuitest.Matti, metforem)
	for _, mode := range tuitest.Modes {
		for _, sz := range tuitest.Sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", mode, sz.W, sz.H), func(t *testing.T) {
				m := New(env.Common(i18n.EN, sz.W, sz.H), patient, p, tuitest.Pharmacist, mode)
				tuitest.Golden(t, m.View())
			})
		}
	}
}
