//go:build !windows

package drill

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestStatusOfADrillWhoseProcessIsGone: a drill that never wrote its end
// but whose process no longer runs is not shown as running; one whose
// process runs is.
func TestStatusOfADrillWhoseProcessIsGone(t *testing.T) {
	s, err := Load("../../testdata/drills/blackhole.toml")
	if err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skipf("no true command: %v", err)
	}
	start := time.Now().Add(-time.Minute)
	d := &Drill{Scenario: s, State: State{Started: start, Speed: 60, PID: gone.Process.Pid}}
	st := d.Status(time.Now())
	if st.Running || !st.Gone {
		t.Fatalf("running %v, gone %v; want a drill whose process is gone", st.Running, st.Gone)
	}
	var b bytes.Buffer
	st.WriteText(&b)
	if !strings.Contains(b.String(), "its process is gone") {
		t.Errorf("status text:\n%s", b.String())
	}
	d.State.PID = os.Getpid()
	if st := d.Status(time.Now()); !st.Running || st.Gone {
		t.Errorf("a drill whose process runs: running %v, gone %v", st.Running, st.Gone)
	}
}
