package tui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
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

// heldServices hold the status line's reads until release is closed, as
// the counter's services do while its journal opens beside the first
// frame (issue 20).
type heldServices struct {
	*tuitest.Services
	release chan struct{}
}

func (s heldServices) wait(ctx context.Context) error {
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s heldServices) Counts(ctx context.Context) (journal.Counts, error) {
	if err := s.wait(ctx); err != nil {
		return journal.Counts{}, err
	}
	return s.Services.Counts(ctx)
}

func (s heldServices) Mode(ctx context.Context) (rx.ModeState, error) {
	if err := s.wait(ctx); err != nil {
		return rx.ModeState{}, err
	}
	return s.Services.Mode(ctx)
}

// TestFirstFrameBeforeServices: the counter's first frame does not wait
// for its services. With the status line's reads held, the frame is out,
// saying the mode is not known yet and showing no counts; once they are
// let go the same counter shows the mode and the counts it read.
func TestFirstFrameBeforeServices(t *testing.T) {
	env := tuitest.New(t)
	held := heldServices{Services: env.Services, release: make(chan struct{})}
	c := env.Common(i18n.EN, 80, 24)
	c.Services = held
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := FirstFrame(ctx, c, 80, 24, &out); err != nil {
		t.Fatal(err)
	}
	frame := out.String()
	for _, want := range []string{tuitest.Pharmacy.Name, "mode unknown", "User id"} {
		if !strings.Contains(frame, want) {
			t.Errorf("first frame lacks %q:\n%s", want, frame)
		}
	}
	if strings.Contains(frame, "Pending") || strings.Contains(frame, "ONLINE") {
		t.Errorf("first frame shows what was not read yet:\n%s", frame)
	}

	tm := teatest.NewTestModel(t, New(c), teatest.WithInitialTermSize(80, 24))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("User id")) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	close(held.release)
	tm.Send(TickMsg{}) // the status line rereads every second
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("ONLINE")) && bytes.Contains(b, []byte("Pending: 0"))
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestRenewalInProgram (issue 23) runs the counter in a real bubbletea
// program: a renewal request with the patient's message goes to the
// Prescription Centre; a second one for the same prescription is answered
// as already requested, with no review; one for a prescription cancelled
// meanwhile is refused and points to the review.
func TestRenewalInProgram(t *testing.T) {
	env := tuitest.New(t)
	tm := teatest.NewTestModel(t, New(env.Common(i18n.EN, 100, 30)), teatest.WithInitialTermSize(100, 30))
	var seen []byte
	waitFor := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { seen = append(seen, b...); return bytes.Contains(seen, []byte(s)) },
			teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
		seen = seen[:0]
	}
	// request asks for a renewal of the selected prescription and drains
	// the upload queue until the screen says want.
	request := func(message, want string) {
		t.Helper()
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlN})
		waitFor("Renewal of ")
		if message != "" {
			tm.Type(message)
		}
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor("recorded")
		env.Drain(t)
		waitFor(want)
	}
	waitFor("User id")
	tm.Type(tuitest.Pharmacist.ID)
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	tm.Type(tuitest.PharmacistPIN)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("Patient search")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(tuitest.Matti)})
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("Korhonen, Matti")

	request("loppuu ensi viikolla", "is in the Prescription Centre")
	request("", "was already requested")

	// The next prescription, cancelled by its prescriber meanwhile.
	rxs, err := env.Client.Prescriptions(context.Background(), tuitest.Matti)
	if err != nil || len(rxs) < 2 {
		t.Fatalf("prescriptions: %d, %v", len(rxs), err)
	}
	for _, p := range rxs {
		if err := env.Sim.CancelPrescription(p.ID); err != nil {
			t.Fatal(err)
		}
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	request("", "refused renewal request")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	var n int
	for _, e := range must(env.Journal.OutboxList(context.Background(), journal.OutboxConflict)) {
		if e.Kind == journal.KindRenewal {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d renewals wait for review, want the cancelled one", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
