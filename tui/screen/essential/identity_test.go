package essential

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// TestIdentityMissingRecordsNothing: in FAULT mode, with the pharmacy's
// identity missing from the configuration, an essential-medication
// dispensing filled in whole is refused on F10 in the counter's words,
// and nothing is recorded (issue 18).
func TestIdentityMissingRecordsNothing(t *testing.T) {
	env := tuitest.New(t)
	since := env.Fault(t).Since
	env.NoPharmacy()
	m := open(t, env, tuitest.Pharmacist, aino, since, 80, 24)
	m = to(t, m, FieldBasis)
	m, _ = m.Update(tuitest.Key(tea.KeyUp)) // previous label
	m = pick(t, m, "990371")
	m = tuitest.Confirm(t, m)
	if m.State() != Editing || !strings.Contains(m.View(), "PHARMACY IDENTITY MISSING") {
		t.Fatalf("state %d, problems %v, other %v\n%s", m.State(), m.problems, m.Other(), m.View())
	}
	if recs := dispensings(t, env); len(recs) != 0 {
		t.Fatalf("%d dispensings recorded without the pharmacy's identity", len(recs))
	}
}
