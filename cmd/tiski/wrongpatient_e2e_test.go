package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
)

// TestWrongPatientInTmux (issue 22, criterion (d)): the built `tiski
// counter` in a terminal finds Matti; then IT pulls the simulator's
// wrong-patient lever with `tiski centre fault wrong-patient`, and the
// same search is refused: the counter says the Prescription Centre
// answered about another patient and shows nothing of that answer.
// `tiski fault triage` then says kanta and counts the call, and neither
// its answer nor the counter's log holds an identity code.
func TestWrongPatientInTmux(t *testing.T) {
	srv, r, s := signedInOnSim(t, 120, 40)
	const matti = "140348-901W"
	s.keys(matti, "Enter")
	s.waitFor("Metforem")
	s.waitFor("Korhonen, Matti")

	r.ok("", "centre", "fault", "wrong-patient", "--admin-addr", strings.TrimPrefix(srv.AdminURL(), "http://"))
	s.keys("F2")
	s.waitFor("Patient search")
	s.keys(matti, "Enter")
	s.waitFor("The Prescription Centre answered about another patient")
	screen := s.screen()
	if strings.Contains(screen, "Metforem") {
		t.Errorf("the refused answer's prescriptions are on the screen:\n%s", screen)
	}
	// The only identity code on the screen is the one typed.
	if rest := strings.ReplaceAll(screen, matti, ""); hetu.MaskText(rest) != rest {
		t.Errorf("another identity code is on the screen:\n%s", screen)
	}
	s.keys("C-c")
	deadline := time.Now().Add(10 * time.Second)
	for exec.Command("tmux", "has-session", "-t", s.name).Run() == nil && strings.Contains(s.screen(), "answered about another patient") {
		if time.Now().After(deadline) {
			t.Fatalf("ctrl+c did not quit the counter:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The fault log has the refused call: triage says kanta (exit 12)
	// and counts it, with no identity code in what it says.
	var out string
	var code int
	for end := time.Now().Add(10 * time.Second); ; {
		// The counter's last batch of the fault log is written as it
		// quits; wait for it, not a fixed time.
		out, code = r.run("", "fault", "triage", "--json")
		if code == 12 || time.Now().After(end) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var res struct {
		Verdict      string   `json:"verdict"`
		Evidence     []string `json:"evidence"`
		WrongPatient int      `json:"wrong_patient"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 12 || res.Verdict != "kanta" || res.WrongPatient < 1 {
		t.Fatalf("fault triage: exit %d, %+v, %v; want kanta with the wrong-patient calls counted:\n%s", code, res, err, out)
	}
	if !strings.Contains(strings.Join(res.Evidence, "\n"), "answered about another patient") {
		t.Errorf("the evidence does not name the wrong-patient calls: %v", res.Evidence)
	}
	if hetu.MaskText(out) != out {
		t.Errorf("the triage names an identity code:\n%s", out)
	}
	logText, err := os.ReadFile(filepath.Join(r.data, "tiski.log"))
	if err != nil {
		t.Fatal(err)
	}
	if masked := hetu.MaskText(string(logText)); masked != string(logText) {
		t.Errorf("the counter's log holds an identity code:\n%s", logText)
	}
}
