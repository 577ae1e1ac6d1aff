package dispense

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// TestIdentityMissingRecordsNothing: with the pharmacy's identity missing
// from the configuration, a dispensing is refused on F10 in the
// counter's words and the journal stays empty (issue 18).
func TestIdentityMissingRecordsNothing(t *testing.T) {
	for _, lang := range []struct {
		l    i18n.Lang
		want string
	}{{i18n.EN, "PHARMACY IDENTITY MISSING"}, {i18n.FI, "APTEEKIN TUNNISTE PUUTTUU"}} {
		t.Run(fmt.Sprint(lang.l), func(t *testing.T) {
			env := tuitest.New(t)
			patient, p := load(t, env, tuitest.Matti, metforem)
			env.NoPharmacy()
			m := tuitest.Confirm(t, New(env.Common(lang.l, 120, 40), patient, p, tuitest.Pharmacist, rx.ModeOnline))
			if m.State() != Editing || !strings.Contains(m.View(), lang.want) {
				t.Fatalf("state %d, problem %q\n%s", m.State(), m.Problem(), m.View())
			}
			recs, err := env.Journal.List(t.Context(), journal.Filter{Kinds: []journal.Kind{journal.KindDispensing}})
			if err != nil || len(recs) != 0 {
				t.Fatalf("%d dispensings recorded without the pharmacy's identity (%v)", len(recs), err)
			}
		})
	}
}
