package signin

import (
	"fmt"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

func isResult(msg tea.Msg) bool {
	switch msg.(type) {
	case SignedInMsg, UnlockedMsg:
		return true
	}
	return false
}

// signIn types id, Tab, pin and Enter into m, as a person would.
func signIn(m Model, id, pin string) (Model, tea.Msg) {
	m, _ = m.Update(tuitest.Type(id))
	m, _ = m.Update(tuitest.Key(tea.KeyTab))
	m, _ = m.Update(tuitest.Type(pin))
	return tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isResult)
}

func TestSignIn(t *testing.T) {
	env := tuitest.New(t)
	tests := []struct {
		name, id, pin string
		want          rx.Pharmacist // zero: refused
		problem       i18n.Key
	}{
		{"pharmacist", tuitest.Pharmacist.ID, tuitest.PharmacistPIN, tuitest.Pharmacist, 0},
		{"student", tuitest.Student.ID, tuitest.StudentPIN, tuitest.Student, 0},
		{"wrong PIN", tuitest.Pharmacist.ID, "9999", rx.Pharmacist{}, i18n.SignInWrong},
		{"unknown id", "nobody", "1234", rx.Pharmacist{}, i18n.SignInWrong},
		{"no PIN", tuitest.Pharmacist.ID, "", rx.Pharmacist{}, i18n.SignInMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, msg := signIn(New(env.Common(i18n.EN, 80, 24)), tt.id, tt.pin)
			if tt.want.ID == "" {
				if msg != nil {
					t.Fatalf("signed in: %#v", msg)
				}
				if want := i18n.EN.T(tt.problem); m.Problem() != want {
					t.Errorf("problem %q, want %q", m.Problem(), want)
				}
				return
			}
			got, ok := msg.(SignedInMsg)
			if !ok || got.Pharmacist != tt.want {
				t.Fatalf("got %#v, want SignedInMsg for %+v", msg, tt.want)
			}
		})
	}
}

func TestEnterOnIDMovesToPIN(t *testing.T) {
	env := tuitest.New(t)
	m := New(env.Common(i18n.EN, 80, 24))
	m, _ = m.Update(tuitest.Type("aino"))
	m, cmd := m.Update(tuitest.Key(tea.KeyEnter))
	if cmd != nil || m.focus != fieldPIN || m.Checking() {
		t.Errorf("focus %d, checking %v: Enter on the id should move to the PIN", m.focus, m.Checking())
	}
}

func TestLock(t *testing.T) {
	env := tuitest.New(t)
	c := env.Common(i18n.EN, 80, 24)
	t.Run("wrong PIN", func(t *testing.T) {
		m, _ := tuitest.Settle(NewLock(c, tuitest.Pharmacist), tuitest.Type("0000"), nil)
		m, msg := tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isResult)
		if msg != nil || m.Problem() != i18n.EN.T(i18n.SignInWrong) {
			t.Errorf("got %#v, problem %q", msg, m.Problem())
		}
	})
	t.Run("right PIN", func(t *testing.T) {
		m, _ := tuitest.Settle(NewLock(c, tuitest.Pharmacist), tuitest.Type(tuitest.PharmacistPIN), nil)
		_, msg := tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isResult)
		if got, ok := msg.(UnlockedMsg); !ok || got.Pharmacist.ID != tuitest.Pharmacist.ID {
			t.Errorf("got %#v, want UnlockedMsg", msg)
		}
	})
	t.Run("another person's PIN", func(t *testing.T) {
		m, _ := tuitest.Settle(NewLock(c, tuitest.Student), tuitest.Type(tuitest.PharmacistPIN), nil)
		m.id.SetValue(tuitest.Pharmacist.ID) // cannot be typed; checks the guard
		m, msg := tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isResult)
		if msg != nil || m.Problem() != i18n.EN.T(i18n.SignInWrong) {
			t.Errorf("got %#v, problem %q", msg, m.Problem())
		}
	})
}

func TestGolden(t *testing.T) {
	env := tuitest.New(t)
	for _, sz := range tuitest.Sizes {
		c := env.Common(i18n.FI, sz.W, sz.H)
		t.Run(fmt.Sprintf("signin_%dx%d", sz.W, sz.H), func(t *testing.T) {
			m, _ := signIn(New(c), tuitest.Pharmacist.ID, "9999")
			tuitest.Golden(t, m.View())
		})
		t.Run(fmt.Sprintf("lock_%dx%d", sz.W, sz.H), func(t *testing.T) {
			m, _ := tuitest.Settle(NewLock(c, tuitest.Pharmacist), tuitest.Type("12"), nil)
			tuitest.Golden(t, m.View())
		})
	}
}
