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

// never is a Common.Every whose ticks never come: tests step the screens
// that reread by themselves.
func never(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }

func start(env *tuitest.Env, c common.Common) root {
	c.Every = never
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

// TestScreensOpenAndReturn opens the forms, the sync and the conflicts
// screens from the search and the prescriptions, and each goes back where
// it came from.
func TestScreensOpenAndReturn(t *testing.T) {
	env := tuitest.New(t)
	r := signIn(start(env, env.Common(i18n.EN, 120, 40)), tuitest.Pharmacist.ID, tuitest.PharmacistPIN)

	// No patient yet: the forms ask for one.
	r2, _ := tuitest.Settle(r, tuitest.Key(tea.KeyCtrlP), nil)
	if r2.Screen() != ScreenSearch || !strings.Contains(r2.View(), "Find the patient by identity code first.") {
		t.Fatalf("ctrl+p without a patient: screen %d\n%s", r2.Screen(), r2.View())
	}
	// Online, the essential-medication form is not offered.
	r2, _ = r.Update(tuitest.Type(tuitest.Matti))
	r2, _ = tuitest.Settle(r2, tuitest.Key(tea.KeyCtrlE), nil)
	if r2.Screen() != ScreenSearch || !strings.Contains(r2.View(), "only in fault mode") {
		t.Fatalf("ctrl+e online: screen %d\n%s", r2.Screen(), r2.View())
	}

	rxs := find(r, tuitest.Matti)
	for _, tt := range []struct {
		key    tea.KeyType
		screen Screen
		shows  string
	}{
		{tea.KeyCtrlP, ScreenPrescriptionForm, "Korhonen"},
		{tea.KeyCtrlT, ScreenPrescriptionForm, "Telephone"},
		{tea.KeyF7, ScreenSync, ""},
		{tea.KeyF12, ScreenConflicts, ""},
		{tea.KeyCtrlK, ScreenFaultDesk, "Nothing to report."},
	} {
		opened, _ := tuitest.Settle(rxs, tuitest.Key(tt.key), nil)
		if opened.Screen() != tt.screen || !strings.Contains(opened.View(), tt.shows) {
			t.Fatalf("key %v: screen %d\n%s", tt.key, opened.Screen(), opened.View())
		}
		back, _ := tuitest.Settle(opened, tuitest.Key(tea.KeyEsc), nil)
		if back.Screen() != ScreenPrescriptions {
			t.Errorf("Esc from screen %d went to %d", tt.screen, back.Screen())
		}
	}
	// From the sync screen to the conflicts screen, and back to where the
	// first was opened.
	s, _ := tuitest.Settle(rxs, tuitest.Key(tea.KeyF7), nil)
	s, _ = tuitest.Settle(s, tuitest.Key(tea.KeyF12), nil)
	s, _ = tuitest.Settle(s, tuitest.Key(tea.KeyEsc), nil)
	if s.Screen() != ScreenPrescriptions {
		t.Errorf("F7, F12, Esc went to %d", s.Screen())
	}

	// In FAULT, the essential-medication form opens for the patient typed.
	env.Fault(t)
	r, _ = tuitest.Settle(r, tuitest.Run(statusline.Refresh(r.c)), nil)
	r, _ = r.Update(tuitest.Type(tuitest.Matti))
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyCtrlE), nil)
	if r.Screen() != ScreenEssential {
		t.Fatalf("ctrl+e in FAULT: screen %d\n%s", r.Screen(), r.View())
	}
	if v := r.View(); !strings.Contains(v, "F10 confirm") {
		t.Errorf("the help line lacks F10:\n%s", v)
	}
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyEsc), nil)
	if r.Screen() != ScreenSearch {
		t.Errorf("Esc from the essential form went to %d", r.Screen())
	}
	// In FAULT the help line offers the fault desk, which drafts the report.
	if v := r.View(); !strings.Contains(v, "ctrl+k fault desk") {
		t.Errorf("in FAULT the help line lacks the fault desk:\n%s", v)
	}
	r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyCtrlK), nil)
	if v := r.View(); r.Screen() != ScreenFaultDesk || !strings.Contains(v, "Fault desk") || !strings.Contains(v, "Tell your own helpdesk") {
		t.Errorf("ctrl+k in FAULT: screen %d\n%s", r.Screen(), v)
	}
}

func TestGolden(t *testing.T) {
	env := tuitest.New(t)
	loaded := map[tuitest.Size]root{} // Matti's prescriptions, loaded online
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
			typed, _ := signed.Update(tuitest.Type(tuitest.Matti))
			t.Run(name("search"), func(t *testing.T) {
				tuitest.Golden(t, typed.View())
			})
			t.Run(name("help"), func(t *testing.T) {
				r, _ := signed.Update(tuitest.Key(tea.KeyF1))
				tuitest.Golden(t, r.View())
			})
			t.Run(name("lock"), func(t *testing.T) {
				r, _ := signed.Update(tuitest.Key(tea.KeyCtrlL))
				tuitest.Golden(t, r.View())
			})
			// In FAULT the prescriptions are those loaded before the fault.
			var rxs root
			if md == rx.ModeOnline {
				rxs = find(signed, tuitest.Matti)
				loaded[sz] = rxs
			} else {
				rxs, _ = tuitest.Settle(loaded[sz], tuitest.Run(statusline.Refresh(c)), nil)
			}
			t.Run(name("prescriptions"), func(t *testing.T) {
				tuitest.Golden(t, rxs.View())
			})
			t.Run(name("dispense"), func(t *testing.T) {
				r, _ := rxs.Update(tuitest.Key(tea.KeyF4))
				r, _ = r.Update(tuitest.Type("EP26000101"))
				r, _ = r.Update(tuitest.Key(tea.KeyEnter))
				r, _ = tuitest.Settle(r, tuitest.Key(tea.KeyF5), nil)
				tuitest.Golden(t, r.View())
			})
			for _, sc := range []struct {
				name string
				key  tea.KeyType
			}{{"paper", tea.KeyCtrlP}, {"telephone", tea.KeyCtrlT}, {"essential", tea.KeyCtrlE}, {"sync", tea.KeyF7}, {"conflicts", tea.KeyF12}} {
				t.Run(name(sc.name), func(t *testing.T) {
					r, _ := tuitest.Settle(typed, tuitest.Key(sc.key), nil)
					tuitest.Golden(t, r.View())
				})
			}
		}
	}
}
