package tui

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// TestProgram runs the counter in a real bubbletea program at 80×24: sign
// in, find a patient, see the prescriptions, quit. It waits for screen
// states rather than for fixed times.
func TestProgram(t *testing.T) {
	env := tuitest.New(t)
	tm := teatest.NewTestModel(t, New(env.Common(i18n.EN, 80, 24)), teatest.WithInitialTermSize(80, 24))
	waitFor := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	waitFor("User id")
	tm.Type(tuitest.Pharmacist.ID)
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	tm.Type(tuitest.PharmacistPIN)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("Patient search")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(tuitest.Matti)}) // a scanner: all at once
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("Korhonen, Matti")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	final, ok := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if !ok || final.Screen() != ScreenPrescriptions || final.Pharmacist().ID != tuitest.Pharmacist.ID {
		t.Errorf("final model: screen %d, %+v", final.Screen(), final.Pharmacist())
	}
}

// TestFirstFrame runs the counter with no keyboard and checks FirstFrame
// returns once the first frame, status line and sign-in, is written.
func TestFirstFrame(t *testing.T) {
	env := tuitest.New(t)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	shown, err := FirstFrame(ctx, env.Common(i18n.EN, 80, 24), 80, 24, &out)
	if err != nil {
		t.Fatal(err)
	}
	if shown.Before(start) || shown.After(time.Now()) {
		t.Errorf("FirstFrame says the frame was shown at %v, outside its call (%v to now)", shown, start)
	}
	for _, want := range []string{tuitest.Pharmacy.Name, "User id"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("first frame lacks %q:\n%s", want, out.String())
		}
	}
}

// BenchmarkFirstFrame is the counter's part of the time to the first
// frame: a bubbletea program from start to its first frame written.
func BenchmarkFirstFrame(b *testing.B) {
	env := tuitest.New(b)
	c := env.Common(i18n.EN, 80, 24)
	for b.Loop() {
		if _, err := FirstFrame(context.Background(), c, 80, 24, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
