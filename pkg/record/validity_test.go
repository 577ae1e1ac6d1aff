package record_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestRecordedValidityFollowsThePolicy: a paper prescription recorded under
// a policy file with other months is stamped with the last day of its
// validity as that policy says, and the record names the rule; the
// built-in policy stamps what tiski computed before.
func TestRecordedValidityFollowsThePolicy(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(`{"version": "it-2027-1", "validity": {"months": 36, "narcotic_pkv_months": 6}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		pol      *policy.Set
		medicine string
		rule     string
		until    time.Time // issued the day before now, 21.11.2026
	}{
		{"built-in", policy.Default(), "metforem-500mg-tabl", policy.RuleValidity, time.Date(2028, 11, 21, 0, 0, 0, 0, time.UTC)},
		{"policy file", file, "metforem-500mg-tabl", policy.RuleValidity, time.Date(2029, 11, 21, 0, 0, 0, 0, time.UTC)},
		{"policy file, PKV", file, "diapam-5mg-tabl", policy.RuleValidityNarcoticPKV, time.Date(2027, 5, 21, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			f.svc.Policy = tt.pol
			rc, err := f.svc.Paper(ctx, pharmacist, f.paper(t, tt.medicine), nil)
			if err != nil {
				t.Fatal(err)
			}
			var p rx.Prescription
			if err := json.Unmarshal(rc.Record.Body, &p); err != nil {
				t.Fatal(err)
			}
			if !p.ValidThrough.Equal(tt.until) {
				t.Errorf("stamped valid through %s, want %s", p.ValidThrough.Format(time.DateOnly), tt.until.Format(time.DateOnly))
			}
			// Later, another policy does not rewrite what was recorded.
			if got := p.ValidUntil(policy.Default().Validity()); !got.Equal(tt.until) {
				t.Errorf("read back under the built-in policy: valid until %s, want %s", got.Format(time.DateOnly), tt.until.Format(time.DateOnly))
			}
			if !slices.Contains(rc.Record.Rules, tt.rule) {
				t.Errorf("record's rules %v lack %s", rc.Record.Rules, tt.rule)
			}
		})
	}
}
