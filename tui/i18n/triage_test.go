package i18n

import (
	"testing"

	"github.com/tiski-rx/tiski/pkg/triage"
)

// TestTriageMessages: every finding the triage can make has its words in
// every language, the English the triage's own.
func TestTriageMessages(t *testing.T) {
	for id, en := range triage.Messages {
		k, ok := triageIDs[id]
		if !ok {
			t.Errorf("triage message %q has no key", id)
			continue
		}
		if got := EN.T(k); got != en {
			t.Errorf("triage message %q: English %q, the triage says %q", id, got, en)
		}
	}
	for id := range triageIDs {
		if _, ok := triage.Messages[id]; !ok {
			t.Errorf("key for triage message %q, which the triage does not make", id)
		}
	}
}
