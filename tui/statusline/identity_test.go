package statusline

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// TestIdentityMissing: a counter whose configuration lacks the pharmacy's
// identity says so on the status line from the start, in every mode and
// language; a complete identity shows no such line (issue 18).
func TestIdentityMissing(t *testing.T) {
	words := map[i18n.Lang]string{i18n.EN: "PHARMACY IDENTITY MISSING", i18n.FI: "APTEEKIN TUNNISTE PUUTTUU", i18n.SV: "APOTEKETS IDENTITET SAKNAS"}
	for _, md := range tuitest.Modes {
		for lang, want := range words {
			t.Run(fmt.Sprintf("%s_%s", md, lang), func(t *testing.T) {
				env := tuitest.New(t)
				if md == rx.ModeFault {
					env.Fault(t)
				}
				if v := fed(t, env, lang, 80, 24).View(); strings.Contains(v, want) {
					t.Fatalf("the warning with the identity set:\n%s", v)
				}
				env.NoPharmacy()
				v := fed(t, env, lang, 80, 24).View()
				if !strings.Contains(v, want) || !strings.Contains(v, "pharmacy.oid") || !strings.Contains(v, "pharmacy.name") {
					t.Fatalf("no warning naming pharmacy.oid and pharmacy.name:\n%s", v)
				}
				if md == rx.ModeFault && !strings.Contains(v, "FAULT") {
					t.Errorf("the warning hides the mode:\n%s", v)
				}
			})
		}
	}
}

func TestGoldenIdentityMissing(t *testing.T) {
	for _, md := range tuitest.Modes {
		for _, sz := range tuitest.Sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", md, sz.W, sz.H), func(t *testing.T) {
				env := tuitest.New(t)
				if md == rx.ModeFault {
					env.Fault(t)
				}
				env.NoPharmacy()
				tuitest.Golden(t, fed(t, env, i18n.FI, sz.W, sz.H).View())
			})
		}
	}
}
