package tui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	tiski "github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// TestProgramPeers runs the counter in a real bubbletea program with a
// hub (issue 19): another counter is in FAULT and recorded a paper
// prescription for Matti with its first dispensing. The status line names
// that counter's fault and the hub; in this counter's own FAULT the
// patient search shows the other counter's records, who made them, and
// what is left of the prescription after that counter's dispensing; F5
// dispenses against it, and once nothing is left a further dispensing is
// refused.
func TestProgramPeers(t *testing.T) {
	env := tuitest.New(t)
	up := true
	env.Services.HubConnected = &up
	peer := env.Peer(t, "kassa-2")
	if _, err := mode.Force(t.Context(), peer.Journal, "the health centre's line is down", tuitest.PeerPharmacist.ID); err != nil {
		t.Fatal(err)
	}
	fx, err := rx.LoadFixtures(tiski.Fixtures(), env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	med, _ := fx.Medicine("panadol-500mg-tabl")
	pack, _ := med.SmallestPackage()
	env.Clock.Advance(14 * time.Minute)
	p := rx.Prescription{Patient: tuitest.Matti, Prescriber: fx.Prescribers[0], Medicine: med, Issued: env.Clock.Now(),
		Dosage: "1 tablet a day", Quantity: pack.Size, Repeats: 1, Reason: "the health centre's system was down"}
	d := &rx.Dispensing{Patient: tuitest.Matti, Medicine: med, VNR: pack.VNR, Quantity: pack.Size, Time: env.Clock.Now()}
	if _, err := peer.Recorder.Paper(t.Context(), tuitest.PeerPharmacist, p, d); err != nil {
		t.Fatal(err)
	}
	peer.Share(t)
	env.Clock.Advance(time.Minute)
	env.Fault(t)

	tm := teatest.NewTestModel(t, New(env.Common(i18n.EN, 120, 40)), teatest.WithInitialTermSize(120, 40))
	// waitFor waits until the output holds every text; what it read is
	// gone from the output after.
	waitFor := func(texts ...string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			for _, s := range texts {
				if !bytes.Contains(b, []byte(s)) {
					return false
				}
			}
			return true
		}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	// This counter's own mode change is not yet shared.
	waitFor("Counter kassa-2 in fault mode since 10:00", "Hub: connected, 1 not shared")
	tm.Type(tuitest.Pharmacist.ID)
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	tm.Type(tuitest.PharmacistPIN)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("Patient search")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(tuitest.Matti)})
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("recorded at counter kassa-2, 10.14, Aino Virtanen", fmt.Sprintf("%d of %s left", pack.Size, i18n.EN.Quantity(2*pack.Size, med.Unit)))
	// Dispensing against the other counter's prescription: the screen
	// says what is left after that counter's dispensing, and records.
	tm.Send(tea.KeyMsg{Type: tea.KeyF5})
	waitFor("Dispense: ", i18n.EN.T(i18n.DispRemaining, i18n.EN.Quantity(pack.Size, med.Unit)))
	tm.Send(tea.KeyMsg{Type: tea.KeyF10})
	waitFor("Recorded locally")
	// Back in the search, nothing is left; a further dispensing is
	// refused with the counters' dispensings counted.
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(fmt.Sprintf("0 of %s left", i18n.EN.Quantity(2*pack.Size, med.Unit)))
	tm.Send(tea.KeyMsg{Type: tea.KeyF5})
	waitFor(i18n.EN.T(i18n.DispRemaining, i18n.EN.Quantity(0, med.Unit)))
	tm.Send(tea.KeyMsg{Type: tea.KeyF10})
	waitFor("Not recorded", fmt.Sprintf("quantity %d is more than the 0 left", pack.Size))
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	final, ok := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if !ok || final.Screen() != ScreenDispense {
		t.Errorf("final model: screen %d", final.Screen())
	}
	if st, ok := final.status.Hub(); !ok || !st.Connected || len(st.Peers) != 1 {
		t.Errorf("hub on the status line %+v, %v", st, ok)
	}
}
