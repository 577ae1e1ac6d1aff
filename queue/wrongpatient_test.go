package queue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/queue"
)

// TestRereadAboutAnotherPatient (issue 22, criterion (d)): a dispensing is
// refused (locked by another pharmacy; dispensed elsewhere), and the
// re-read that would explain it answers about another patient, on the
// simulator's wrong-patient lever. Nothing of that answer may be judged
// on: the record is held for a pharmacist's review with the refusal's own
// kind and a note saying so, never uploaded, never retried on it, and the
// note names no identity code.
func TestRereadAboutAnotherPatient(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, id string
		kind     queue.ConflictKind
	}{
		{"locked", "EPC-LOCK", queue.Locked},
		{"dispensed elsewhere", "EPC-DONE", queue.DispensedElsewhere},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			rec := e.dispense(matti, tt.id, 30)
			if err := e.sim.SetFault(centresim.Fault{Kind: centresim.FaultWrongPatient}); err != nil {
				t.Fatal(err)
			}
			w := e.worker(e.client("", 0), fastConfig())
			s := drain(t, w, 20*time.Second)
			o := e.wantState(rec, journal.OutboxConflict, tt.kind)
			c, _ := queue.EntryConflict(o)
			if !strings.Contains(c.Detail, "answered about another patient") || !strings.Contains(c.Detail, "nothing of that answer is used") {
				t.Errorf("the conflict does not say the re-read was about another patient: %q", c.Detail)
			}
			// The prescription's state now comes only from a re-read
			// that is the record's patient's.
			if strings.Contains(c.Detail, "(now ") {
				t.Errorf("the conflict shows the state of an answer about another patient: %q", c.Detail)
			}
			if masked := hetu.MaskText(c.Detail); masked != c.Detail {
				t.Errorf("the conflict names an identity code: %q", c.Detail)
			}
			if s.Uploaded != 0 || s.Conflicts != 1 {
				t.Errorf("summary %+v, want no upload and one conflict", s)
			}
			if n := e.upstream(rec); n != 0 {
				t.Fatalf("%d resources upstream for a record held for review", n)
			}
		})
	}
}
