package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
)

// TestFaultDeskInTmux (issue 22, item 4): the built counter in a terminal
// goes to FAULT when the simulator answers 500 to every call; with no
// notice from Kela it says to tell the helpdesk, and ctrl+k shows the
// fault desk: the triage places the fault at Kanta and the draft report
// says to report it to Kela, criteria (a) and (b) met, with no identity
// code on the screen.
func TestFaultDeskInTmux(t *testing.T) {
	srv, r, s := signedInOnSim(t, 120, 60)
	s.keys("140348-901W", "Enter")
	s.waitFor("Korhonen, Matti")

	r.ok("", "centre", "fault", "error", "--admin-addr", strings.TrimPrefix(srv.AdminURL(), "http://"))
	s.waitFor("FAULT")
	s.waitFor("No notice from Kela: tell your helpdesk")
	s.waitFor("ctrl+k fault desk")
	s.keys("C-k")
	s.waitFor("Fault desk")
	s.waitFor("Report to Kela's technical support")
	s.waitFor("[x] a)")
	s.waitFor("[x] b)")
	screen := s.screen()
	if hetu.MaskText(screen) != screen {
		t.Errorf("an identity code is on the fault desk:\n%s", screen)
	}
	s.keys("Escape")
	s.waitFor("Korhonen, Matti")
	s.keys("C-c")
}

// signedInOnSim starts the simulator with its admin port, a data folder
// configured for it with the pharmacist aino, and the built counter in a
// terminal of w×h, signed in as aino at the patient search (in English).
func signedInOnSim(t *testing.T, w, h int) (*centresim.Server, tiskiRun, *tmuxSession) {
	t.Helper()
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir(), AdminAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data")}
	writeConfig(t, r.data, "terminal = \"kassa-1\"\n[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n[centre]\nurl = \""+srv.URL()+"\"\n")
	r.ok("4711\n", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.ok("", "catalogue", "import", "--fixtures")
	s := newTmux(t, w, h, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, tiskiBin+" counter --data "+r.data)
	s.waitFor("Sign in")
	s.keys("aino", "Enter")
	s.keys("4711", "Enter")
	s.waitFor("Patient search")
	return srv, r, s
}
