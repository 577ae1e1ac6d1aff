package main

import (
	"strings"
	"testing"
	"time"
)

// waitGone waits until the screen no longer shows text, never for a fixed
// time.
func (s *tmuxSession) waitGone(text string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if !strings.Contains(s.screen(), text) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("the screen still shows %q:\n%s", text, s.screen())
}

// TestCounterWithoutCatalogue is issue 24's counter test through the
// binary: a pharmacy's counter whose data folder has no medicine catalogue
// never falls back to the fixtures. In FAULT its status line says so and
// what IT must run, and the essential-medication form's picker cannot take
// a medicine; what was typed stays. IT imports a catalogue while the
// counter runs: the warning goes, the same form finds the medicine by the
// start of its name and records.
func TestCounterWithoutCatalogue(t *testing.T) {
	r := counterDataNoCatalogue(t)
	r.ok("", "mode", "fault", "--reason", "Kela notice: Prescription Centre outage")
	s := newTmux(t, 120, 40, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, tiskiBin+" counter --data "+r.data)
	s.waitFor("Sign in")
	s.keys("aino", "Enter")
	s.keys("4711", "Enter")
	s.waitFor("Patient search")
	s.waitFor("FAULT – fault mode")
	s.waitFor("No medicine catalogue: IT must run tiski catalogue sync")
	s.keys("140348-901W", "Enter")
	s.waitFor("No records during this outage.")

	s.keys("C-e")
	s.waitFor("Essential medication: ")
	s.keys("EP26000101", "Enter", "Tab", "metforem", "Enter")
	s.waitFor("This counter has no medicine catalogue")
	if sc := s.screen(); !strings.Contains(sc, "EP26000101") || !strings.Contains(sc, "metforem") || strings.Contains(sc, "Metforem 500 mg") {
		t.Fatalf("with no catalogue the form lost what was typed, or found a medicine:\n%s", sc)
	}

	// IT imports a catalogue; the counter's reader follows it.
	r.ok("", "catalogue", "import", "--fixtures")
	s.waitGone("No medicine catalogue: IT must run")
	s.keys("BSpace", "m") // any change searches again
	s.waitFor("Metforem 500 mg tablet")
	s.keys("Enter")
	s.keys("Tab", "C-u", "60", "Tab", "2")
	s.waitFor("within the essential-medication cap")
	s.keys("F10")
	s.waitFor("Recorded locally")
	s.keys("C-c")
}
