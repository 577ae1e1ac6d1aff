package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoHubInTmux is `tiski demo --hub` end to end (issue 19): the demo
// prints the one command that opens a second counter, that command opens
// a training counter against the demo's simulator and hub in another
// terminal, and a paper prescription recorded at the demo's counter during
// an outage is in the second counter's journal, marked with the counter
// that made it.
func TestDemoHubInTmux(t *testing.T) {
	data := t.TempDir()
	one := newTmux(t, 240, 40, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, tiskiBin+" demo --hub --data "+data)
	one.waitFor("Press Enter to open counter 1")
	var command string
	for _, line := range strings.Split(one.screen(), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "TISKI_TERMINAL=demo-2 ") {
			command = line
		}
	}
	second := filepath.Join(data, "counter-2")
	for _, want := range []string{" counter --training ", "--data " + second, "--centre http://127.0.0.1:", "--hub nats://127.0.0.1:"} {
		if !strings.Contains(command, want) {
			t.Fatalf("the command for the second counter %q lacks %q; the screen:\n%s", command, want, one.screen())
		}
	}
	one.keys("Enter")
	one.waitFor("TRAINING – no real data")
	one.waitFor("Patient search")
	one.waitFor("ONLINE – connected")

	// The printed command, as is, in another terminal.
	two := newTmux(t, 120, 40, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, command)
	two.waitFor("TRAINING – no real data")
	two.waitFor("Sign in")
	two.keys("demo", "Tab", "1234", "Enter")
	two.waitFor("Patient search")

	// The outage, and a paper prescription at the demo's counter.
	one.keys("F9")
	one.waitFor("FAULT – fault mode")
	one.keys("140348-901W", "Enter")
	one.waitFor("No records during this outage.")
	one.keys("C-p")
	one.waitFor("Paper prescription: ")
	one.keys("Anna Korhonen", "Tab", "10090004180", "Tab", "Tab", "990511", "Enter")
	one.keys("Tab", "1 tablet 3 times a day for 7 days", "Tab", "C-u", "20", "Tab", "Tab", "Tab", "the health centre's system is down")
	one.keys("F10")
	one.waitFor("Prescription recorded locally")

	// The second counter's running sharer keeps it: its journal holds the
	// prescription from demo-1, read here with no hub, so that this
	// command's own catch-up cannot be what brought it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmd := exec.Command(tiskiBin, "journal", "export", "--counters", "all", "--format", "json", "--data", second, "--hub=")
		cmd.Env = append(cmd.Environ(), "TISKI_TERMINAL=demo-2")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("journal export at the second counter: %v\n%s", err, out)
		}
		if strings.Contains(string(out), `"kind": "paper_prescription"`) && strings.Contains(string(out), `"counter": "demo-1"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second counter's journal lacks demo-1's paper prescription 10 s after it was recorded:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	two.keys("C-c")
	one.keys("C-c")
}

// TestTrainingCounterStaysOnThisMachine: `tiski counter --training` (the
// second counter of the demo) refuses a Prescription Centre or a hub that
// is not on this machine, before it opens anything.
func TestTrainingCounterStaysOnThisMachine(t *testing.T) {
	r := tiskiRun{t: t, data: t.TempDir()}
	r.fails(1, "simulated Prescription Centre on this machine", "", "counter", "--training", "--centre", "https://kanta.example.fi/fhir")
	r.fails(1, "hub on this machine", "", "counter", "--training", "--centre", "http://127.0.0.1:1/fhir", "--hub", "nats://hub.apteekki.example:4222")
}
