package signin

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/tiski-rx/tiski/pkg/rx"
	auth "github.com/tiski-rx/tiski/pkg/signin"
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
		problem       string
	}{
		{"pharmacist", tuitest.Pharmacist.ID, tuitest.PharmacistPIN, tuitest.Pharmacist, ""},
		{"student", tuitest.Student.ID, tuitest.StudentPIN, tuitest.Student, ""},
		{"wrong PIN", tuitest.Pharmacist.ID, "9999", rx.Pharmacist{}, i18n.EN.T(i18n.SignInWrongLeft, 4)},
		// The same answer: the screen never says whether a user exists.
		{"unknown id", "nobody", "1234", rx.Pharmacist{}, i18n.EN.T(i18n.SignInWrongLeft, 4)},
		{"no PIN", tuitest.Pharmacist.ID, "", rx.Pharmacist{}, i18n.EN.T(i18n.SignInMissing)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, msg := signIn(New(env.Common(i18n.EN, 80, 24)), tt.id, tt.pin)
			if tt.want.ID == "" {
				if msg != nil {
					t.Fatalf("signed in: %#v", msg)
				}
				if m.Problem() != tt.problem {
					t.Errorf("problem %q, want %q", m.Problem(), tt.problem)
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
		if msg != nil || m.Problem() != i18n.EN.T(i18n.SignInWrongLeft, 4) {
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
			c := tuitest.New(t).Common(i18n.FI, sz.W, sz.H) // the first wrong PIN: 4 tries left
			m, _ := signIn(New(c), tuitest.Pharmacist.ID, "9999")
			tuitest.Golden(t, m.View())
		})
		t.Run(fmt.Sprintf("locked_%dx%d", sz.W, sz.H), func(t *testing.T) {
			env := tuitest.New(t)
			m, _ := lockOut(t, env, New(env.Common(i18n.FI, sz.W, sz.H)), tuitest.Pharmacist.ID)
			tuitest.Golden(t, m.View())
		})
		t.Run(fmt.Sprintf("lock_%dx%d", sz.W, sz.H), func(t *testing.T) {
			m, _ := tuitest.Settle(NewLock(c, tuitest.Pharmacist), tuitest.Type("12"), nil)
			tuitest.Golden(t, m.View())
		})
	}
}

// retry types the PIN again and presses Enter: after a refusal the id stays
// and the PIN field is focused and empty.
func retry(m Model, pin string) (Model, tea.Msg) {
	m, _ = m.Update(tuitest.Type(pin))
	return tuitest.Settle(m, tuitest.Key(tea.KeyEnter), isResult)
}

// lockOut signs in as id with a wrong PIN five times, each after the delay
// (the Env's clock moves, no test waits), checking the tries left. It
// returns the screen showing the lock and the problems shown on the way.
func lockOut(t *testing.T, env *tuitest.Env, m Model, id string) (Model, []string) {
	t.Helper()
	var problems []string
	m, msg := signIn(m, id, "9999")
	for n := 1; ; n++ {
		if msg != nil {
			t.Fatalf("failure %d signed in: %#v", n, msg)
		}
		problems = append(problems, m.Problem())
		env.Clock.Advance(auth.Delay(n))
		if n == auth.MaxFailures {
			return m, problems
		}
		m, msg = retry(m, "9999")
	}
}

// The Done-when of issue 18 at the counter: after five wrong PINs the sixth
// attempt fails even with the right PIN, saying the account is locked and
// what IT must run, until IT unlocks it.
func TestLockoutAfterFiveWrongPINs(t *testing.T) {
	env := tuitest.New(t)
	c := env.Common(i18n.EN, 80, 24)
	m, problems := lockOut(t, env, New(c), tuitest.Pharmacist.ID)
	locked := i18n.EN.T(i18n.SignInLocked, tuitest.Pharmacist.ID)
	want := []string{
		i18n.EN.T(i18n.SignInWrongLeft, 4), i18n.EN.T(i18n.SignInWrongLeft, 3), i18n.EN.T(i18n.SignInWrongLeft, 2),
		i18n.EN.T(i18n.SignInWrongLeft, 1), locked,
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(locked, "tiski users unlock aino") {
		t.Errorf("the lock's message does not say what IT must run: %q", locked)
	}

	m, msg := retry(m, tuitest.PharmacistPIN)
	if msg != nil || m.Problem() != locked {
		t.Fatalf("sixth attempt with the right PIN: %#v, problem %q", msg, m.Problem())
	}
	// The session lock screen refuses the locked person too.
	l, _ := tuitest.Settle(NewLock(c, tuitest.Pharmacist), tuitest.Type(tuitest.PharmacistPIN), nil)
	l, msg = tuitest.Settle(l, tuitest.Key(tea.KeyEnter), isResult)
	if msg != nil || l.Problem() != locked {
		t.Fatalf("lock screen of the locked person: %#v, problem %q", msg, l.Problem())
	}

	if _, err := env.Journal.UnlockUser(t.Context(), tuitest.Pharmacist.ID, "it-1"); err != nil {
		t.Fatal(err)
	}
	_, msg = retry(m, tuitest.PharmacistPIN)
	if got, ok := msg.(SignedInMsg); !ok || got.Pharmacist != tuitest.Pharmacist {
		t.Fatalf("after the unlock: %#v", msg)
	}
}

// Between failures the screen says how long to wait, and the attempt is not
// checked; the first mistake costs no wait.
func TestTooSoonSaysTheWait(t *testing.T) {
	env := tuitest.New(t)
	m, _ := signIn(New(env.Common(i18n.FI, 80, 24)), tuitest.Pharmacist.ID, "9999")
	m, _ = retry(m, "9999") // at once: taken
	if want := i18n.FI.T(i18n.SignInWrongLeft, 3); m.Problem() != want {
		t.Fatalf("second try at once: %q, want %q", m.Problem(), want)
	}
	m, msg := retry(m, tuitest.PharmacistPIN) // at once after the second: refused unchecked
	if want := i18n.FI.T(i18n.SignInTooSoon, 2); msg != nil || m.Problem() != want {
		t.Fatalf("third try at once: %#v, %q; want %q", msg, m.Problem(), want)
	}
	env.Clock.Advance(auth.Delay(2))
	if _, msg := retry(m, tuitest.PharmacistPIN); msg == nil {
		t.Fatalf("after the wait the right PIN was refused")
	}
}

// An id that is no user gets, attempt by attempt, the answers a user's
// wrong PINs get: the same words and the same tries left, then the same
// lock, in every language.
func TestUnknownIDLooksLikeAWrongPIN(t *testing.T) {
	for _, lang := range i18n.Langs() {
		t.Run(string(lang), func(t *testing.T) {
			env := tuitest.New(t)
			_, user := lockOut(t, env, New(env.Common(lang, 80, 24)), tuitest.Pharmacist.ID)
			_, nobody := lockOut(t, env, New(env.Common(lang, 80, 24)), "nobody")
			for i := range user {
				if strings.ReplaceAll(user[i], tuitest.Pharmacist.ID, "nobody") != nobody[i] {
					t.Errorf("attempt %d: a user's wrong PIN shows %q, an unknown id %q", i+1, user[i], nobody[i])
				}
			}
		})
	}
}
