package rxform

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// TestIdentityMissingRecordsNothing: with the pharmacy's identity missing
// from the configuration, a paper or telephone prescription filled in
// whole is refused on F10 in the counter's words, in every mode, and the
// journal stays empty (issue 18).
func TestIdentityMissingRecordsNothing(t *testing.T) {
	for _, form := range []rx.Form{rx.FormPaper, rx.FormTelephone} {
		for _, mode := range tuitest.Modes {
			t.Run(fmt.Sprintf("%s_%s", form, mode), func(t *testing.T) {
				env := tuitest.New(t)
				if mode == rx.ModeFault {
					env.Fault(t)
				}
				env.NoPharmacy()
				m := fill(t, open(t, env, tuitest.Pharmacist, form, mode, 120, 40))
				if form == rx.FormTelephone {
					m = tickAll(t, m)
				}
				m = tuitest.Confirm(t, m)
				v := m.View()
				if m.State() != Editing || !strings.Contains(v, "Not recorded: PHARMACY IDENTITY MISSING") || !strings.Contains(v, "pharmacy.oid") {
					t.Fatalf("state %d, other %v\n%s", m.State(), m.Other(), v)
				}
				if recs := records(t, env); len(recs) != 0 {
					t.Fatalf("%d records made without the pharmacy's identity", len(recs))
				}
			})
		}
	}
}

func TestGoldenIdentityMissing(t *testing.T) {
	for _, sz := range tuitest.Sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.W, sz.H), func(t *testing.T) {
			env := tuitest.New(t)
			env.Fault(t)
			env.NoPharmacy()
			m := tuitest.Confirm(t, fill(t, open(t, env, tuitest.Pharmacist, rx.FormPaper, rx.ModeFault, sz.W, sz.H)))
			tuitest.Golden(t, m.View())
		})
	}
}
