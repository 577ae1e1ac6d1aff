package tui

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
	"github.com/tiski-rx/tiski/tui/screen/dispense"
	"github.com/tiski-rx/tiski/tui/statusline"
)

func TestMain(m *testing.M) {
	tuitest.NoColour()
	os.Exit(m.Run())
}

// root adapts Model to tuitest.Settle, whose models return their own type.
type root struct{ Model }

func (r root) Update(msg tea.Msg) (root, tea.Cmd) {
	m, cmd := r.update(msg)
	return root{m}, cmd
}

func start(env *tuitest.Env, c common.Common) root {
	r := root{New(c)}
	r, _ = tuitest.Settle(r, tuitest.Run(statusline.Refresh(c)), nil)
	return r
}

// signIn signs id in with pin through the sign-in screen.
func signIn(r root, id, pin string) root {
	r, _ = r.Update(tuitest.Type(id))
	r, _ = r.Update(tuitest.Key(tea.KeyTab))
	r, _ = r.Update(tuitest.Type(pin))
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyEnter), nil)
	return r
}

// find scans code and lets the search load.
func find(r root, code string) root {
	r, _ = r.Update(tuitest.Type(code))
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyEnter), nil)
	return r
}

func TestFlow(t *testing.T) {
	env := tuitest.New(t)
	r := start(env, env.Common(i18n.EN, 80, 24))
	if r.Screen() != ScreenSignIn {
		t.Fatalf("starts at %d", r.Screen())
	}
	r = signIn(r, tuitest.Pharmacist.ID, "0000")
	if r.Screen() != ScreenSignIn || !strings.Contains(r.View(), "Wrong user id or PIN") {
		t.Fatalf("wrong PIN:\n%s", r.View())
	}
	r = signIn(root{New(r.c)}, tuitest.Pharmacist.ID, tuitest.PharmacistPIN)
	if r.Screen() != ScreenSearch || r.Pharmacist().ID != tuitest.Pharmacist.ID {
		t.Fatalf("after sign-in: screen %d, %+v", r.Screen(), r.Pharmacist())
	}
	r = find(r, tuitest.Matti)
	if r.Screen() != ScreenPrescriptions {
		t.Fatalf("after the search: screen %d\n%s", r.Screen(), r.View())
	}
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyEsc), nil)
	if r.Screen() != ScreenSearch {
		t.Errorf("Esc from the prescriptions: screen %d", r.Screen())
	}
	r, _ = r.Update(tuitest.Key(tea.KeyF1))
	if v := r.View(); !strings.Contains(v, "confirm") || !strings.Contains(v, "F10") {
		t.Errorf("the help lacks the bindings:\n%s", v)
	}
	r, _ = r.Update(tuitest.Key(tea.KeyEsc))
	if r.showHelp {
		t.Errorf("Esc did not close the help")
	}
	if _, cmd := r.Update(tuitest.Key(tea.KeyCtrlC)); cmd == nil {
		t.Error("ctrl+c did not quit")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("ctrl+c did not quit")
	}
}

func TestInactivityLock(t *testing.T) {
	env := tuitest.New(t)
	c := env.Common(i18n.EN, 80, 24)
	c.Counter.LockAfter = 15 * time.Minute
	r := signIn(start(env, c), tuitest.Pharmacist.ID, tuitest.PharmacistPIN)

	env.Clock.Advance(14*time.Minute + 10*time.Second)
	r, _ = r.Update(TickMsg{})
	if r.Locked() || !strings.Contains(r.View(), "The session locks in 50 s") {
		t.Fatalf("no warning a minute before:\n%s", r.View())
	}
	r, _ = r.Update(tuitest.Type("1")) // a key press postpones the lock
	if r.warning != 0 {
		t.Error("a key press left the warning")
	}
	env.Clock.Advance(15 * time.Minute)
	r, _ = r.Update(TickMsg{})
	if !r.Locked() || !strings.Contains(r.View(), "Session locked") {
		t.Fatalf("not locked after 15 minutes:\n%s", r.View())
	}
	r, _ = r.Update(tuitest.Key(tea.KeyF2))
	if !r.Locked() || r.Screen() != ScreenSearch {
		t.Fatal("a key opened the locked session")
	}
	r, _ = r.Update(tuitest.Type("0000"))
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyEnter), nil)
	if !r.Locked() {
		t.Fatal("a wrong PIN unlocked")
	}
	r, _ = r.Update(tuitest.Type(tuitest.PharmacistPIN))
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyEnter), nil)
	if r.Locked() {
		t.Fatalf("the PIN did not unlock:\n%s", r.View())
	}
	before := r
	r, _ = r.Update(tuitest.Key(tea.KeyCtrlL))
	if !r.Locked() {
		t.Error("ctrl+l did not lock")
	}
	if before.session.Locked(env.Clock.Now()) {
		t.Error("locking changed an earlier copy of the model")
	}
}

func TestStudentSeesViewOnly(t *testing.T) {
	env := tuitest.New(t)
	r := signIn(start(env, env.Common(i18n.EN, 120, 40)), tuitest.Student.ID, tuitest.StudentPIN)
	r = find(r, tuitest.Matti)
	v := r.View()
	for _, want := range []string{"student: view only", "may look but not dispense"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyF5), nil)
	if r.Screen() != ScreenPrescriptions {
		t.Errorf("F5 took a student to screen %d", r.Screen())
	}
}

// TestDispenseFlow goes from the table to the dispense screen with F5,
// records with F10, and comes back with Esc.
func TestDispenseFlow(t *testing.T) {
	env := tuitest.New(t)
	r := signIn(start(env, env.Common(i18n.EN, 80, 24)), tuitest.Pharmacist.ID, tuitest.PharmacistPIN)
	r = find(r, tuitest.Matti)
	r, _ = r.Update(tuitest.Key(tea.KeyF4))
	r, _ = r.Update(tuitest.Type("Metforem"))
	r, _ = r.Update(tuitest.Key(tea.KeyEnter))
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyF5), nil)
	if r.Screen() != ScreenDispense || !strings.Contains(r.View(), "EP26000101") {
		t.Fatalf("F5: screen %d\n%s", r.Screen(), r.View())
	}
	if v := r.View(); !strings.Contains(v, "F10 confirm") {
		t.Errorf("the help line lacks F10:\n%s", v)
	}
	// Stop at the first poll: its tick is the screen's own, not waited for.
	r, msg := tuitest.Settle(r, tuitest.Key(tea.KeyF10), func(msg tea.Msg) bool { _, ok := msg.(dispense.PollMsg); return ok })
	if !strings.Contains(r.View(), "Recorded locally") {
		t.Fatalf("after F10:\n%s", r.View())
	}
	env.Drain(t)
	r, cmd := r.Update(msg)
	r, _ = tuitest.Settle(r, tuitest.Run(cmd), func(msg tea.Msg) bool { _, ok := msg.(dispense.PollMsg); return ok })
	if !strings.Contains(r.View(), "Recorded in Prescription Centre") {
		t.Fatalf("after the upload:\n%s", r.View())
	}
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyEsc), nil)
	if r.Screen() != ScreenPrescriptions {
		t.Errorf("Esc: screen %d", r.Screen())
	}
}

func TestGolden(t *testing.T) {
	env := tuitest.New(t)
	for _, md := range tuitest.Modes {
		if md == rx.ModeFault {
			env.Fault(t)
		}
		for _, sz := range tuitest.Sizes {
			c := env.Common(i18n.FI, sz.W, sz.H)
			name := func(screen string) string { return fmt.Sprintf("%s_%s_%dx%d", screen, md, sz.W, sz.H) }
			t.Run(name("signin"), func(t *testing.T) {
				tuitest.Golden(t, start(env, c).View())
			})
			signed := signIn(start(env, c), tuitest.Pharmacist.ID, tuitest.PharmacistPIN)
			t.Run(name("search"), func(t *testing.T) {
				r, _ := signed.Update(tuitest.Type(tuitest.Matti))
				tuitest.Golden(t, r.View())
			})
			t.Run(name("help"), func(t *testing.T) {
				r, _ := signed.Update(tuitest.Key(tea.KeyF1))
				tuitest.Golden(t, r.View())
			})
			t.Run(name("lock"), func(t *testing.T) {
				r, _ := signed.Update(tuitest.Key(tea.KeyCtrlL))
				tuitest.Golden(t, r.View())
			})
			if md == rx.ModeOnline {
				t.Run(name("prescriptions"), func(t *testing.T) {
					tuitest.Golden(t, find(signed, tuitest.Matti).View())
				})
			}
		}
	}
}
