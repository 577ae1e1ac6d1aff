package common

import (
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
)

func TestAge(t *testing.T) {
	c := New(i18n.EN, nil, Counter{}, nil)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0 s"},
		{45 * time.Second, "45 s"},
		{12*time.Minute + 59*time.Second, "12 min"},
		{3*time.Hour + 5*time.Minute, "3 h 5 min"},
		{52 * time.Hour, "2 d 4 h"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := c.Age(tt.d); got != tt.want {
				t.Errorf("Age(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c := New(i18n.FI, nil, Counter{}, nil)
	if c.Counter.LockAfter != DefaultLockAfter || c.Counter.CallTimeout != DefaultCallTimeout || c.Now == nil {
		t.Errorf("defaults not applied: %+v", c.Counter)
	}
}

// TestNamesInEveryLanguage: the counter and the CLI name every kind of
// record, upload state and kind of conflict in Finnish and Swedish; the
// CLI's own copy of these names once missed the configuration rejection
// (issue 18), so there is one copy now and this lists every value.
func TestNamesInEveryLanguage(t *testing.T) {
	kinds := []journal.Kind{journal.KindDispensing, journal.KindPaperPrescription, journal.KindTelephonePrescription, journal.KindVoid, journal.KindResolution, journal.KindRenewal}
	states := []journal.OutboxState{journal.OutboxPending, journal.OutboxSending, journal.OutboxDone, journal.OutboxRetry, journal.OutboxConflict, journal.OutboxRejected, journal.OutboxParked, journal.OutboxVoided}
	conflicts := []queue.ConflictKind{queue.DispensedElsewhere, queue.OverDispensed, queue.Cancelled, queue.Locked, queue.Expired, queue.UnknownPatient, queue.PossibleDuplicate, queue.Rejected, queue.Configuration, queue.RenewalRefused}
	for _, l := range []i18n.Lang{i18n.FI, i18n.SV} {
		var seen map[string]string // within a list: a state and a conflict may share a word
		named := func(code, got string) {
			t.Helper()
			if got == "" || got == code {
				t.Errorf("%s: %q has no name (got %q)", l, code, got)
			}
			if other, dup := seen[got]; dup {
				t.Errorf("%s: %q and %q are both named %q", l, other, code, got)
			}
			seen[got] = code
		}
		seen = map[string]string{}
		for _, k := range kinds {
			named(string(k), KindName(l, k))
		}
		seen = map[string]string{}
		for _, s := range states {
			named(string(s), StateName(l, s))
		}
		seen = map[string]string{}
		for _, c := range conflicts {
			named(string(c), ConflictName(l, c))
		}
	}
	if got := ConflictName(i18n.FI, "from-a-newer-tiski"); got != "from-a-newer-tiski" {
		t.Errorf("an unknown kind of conflict shows as %q, want it as it is", got)
	}
}
