package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCounterSeesPeerThroughHub is issue 19's TUI test through the binary:
// counter B runs `tiski counter` in tmux against a `tiski hub serve`; counter
// A, another data folder, goes into fault mode and records a paper
// prescription with its full dispensing with `tiski record paper`. B's
// status line names the hub and A's fault, and in B's own fault mode the
// patient search shows A's prescription and dispensing, who recorded them
// at which counter, and that nothing is left of the prescription: a
// dispensing against it at B is refused.
func TestCounterSeesPeerThroughHub(t *testing.T) {
	addr := freeAddr(t)
	startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	env := func(name string) []string {
		return []string{"TISKI_PIN=4711", "TISKI_HUB_URL=nats://" + addr, "TISKI_TERMINAL=" + name}
	}
	a := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "a"), env: env("kassa-1")}
	writeConfig(t, a.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n")
	a.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	a.fixtureCatalogue()
	b := counterData(t)
	b.env = env("kassa-2")
	b.ok("", "mode", "fault", "--reason", "Kela notice: Prescription Centre outage")

	s := newTmux(t, 120, 40, append(b.env, "TISKI_LANG=en", "TERM=xterm-256color"), tiskiBin+" counter --data "+b.data)
	s.waitFor("Sign in")
	s.keys("aino", "Enter")
	s.keys("4711", "Enter")
	s.waitFor("Patient search")
	s.waitFor("Hub: connected") // B's sharer reached the hub

	a.ok("", "mode", "fault", "--reason", "the network of counter 1 is down")
	a.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")

	// B receives while it runs: A's mode change reaches its status line.
	s.waitFor("Counter kassa-1 in fault mode since")
	s.keys("131052-902Y", "Enter")
	s.waitFor("recorded at counter kassa-1")
	screen := s.screen()
	for _, want := range []string{"paper prescription", "dispensing", "Aino Virtanen", "0 of 200 tablets left"} {
		if !strings.Contains(screen, want) {
			t.Errorf("counter B's search does not show %q:\n%s", want, screen)
		}
	}
	if n := strings.Count(screen, "recorded at counter kassa-1"); n != 2 {
		t.Errorf("%d of A's records shown as A's, want its prescription and its dispensing:\n%s", n, screen)
	}
	// A further dispensing at B against A's prescription is refused:
	// nothing is left after A's dispensing.
	s.keys("F5")
	s.waitFor("Dispense: 131052-902Y")
	s.waitFor("  0 tablets left")
	s.keys("F10")
	s.waitFor("Not recorded")
	s.waitFor("more than the 0 left")
	s.keys("C-c")
}
