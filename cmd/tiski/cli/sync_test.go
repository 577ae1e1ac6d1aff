package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestSyncStatusEmpty(t *testing.T) {
	data := t.TempDir()
	out, errOut, code := run(t, "sync", "status", "--json", "--data", data)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s SyncStatus
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Mode.Mode != rx.ModeOnline || s.Unsent() != 0 {
		t.Fatalf("status %q: %+v %v", out, s, err)
	}
}

// TestSyncRun records a dispensing that uploads and one that conflicts,
// then: status says pending (3); run --once against a Prescription Centre
// that is down leaves them pending (3); run against it up uploads one and
// holds the other for review (4); status says so, as JSON too.
// syncFixture starts a simulator and writes a journal of two records for
// it: an essential-medication dispensing that uploads, and a dispensing of
// EP26000104, completed upstream, that goes to conflict.
func syncFixture(t *testing.T) (*centresim.Server, string) {
	t.Helper()
	for k, v := range map[string]string{"TISKI_SYNC_INITIAL_INTERVAL": "10ms", "TISKI_SYNC_MAX_INTERVAL": "100ms",
		"TISKI_CENTRE_TIMEOUT": "1s", "TISKI_CENTRE_CONNECT_TIMEOUT": "500ms", "TISKI_PROBE_INTERVAL": "100ms", "TISKI_LANG": "en"} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	data := t.TempDir()
	j, err := journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	panadol, _ := fx.Medicine("panadol-500mg-tabl")
	simvastatin, _ := fx.Medicine("simvastatin-actavis-20mg-tabl")
	who := rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	svc := &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}}
	if _, err := svc.Dispense(ctx, who, rx.Dispensing{Patient: "140348-901W", Medicine: panadol, VNR: "990011", Quantity: 30,
		Essential: true, Basis: rx.BasisPreviousLabel}, record.DispenseOptions{UnitsPerDay: 3, FaultReference: "Kela's notice"}); err != nil {
		t.Fatal(err)
	}
	// EP26000104 is completed: dispensed elsewhere.
	if _, err := svc.Dispense(ctx, who, rx.Dispensing{PrescriptionID: "EP26000104", Patient: "140348-901W", Medicine: simvastatin,
		VNR: "990472", Quantity: 100}, record.DispenseOptions{}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	return sim, data
}

func TestSyncRun(t *testing.T) {
	sim, data := syncFixture(t)

	t.Run("status pending", func(t *testing.T) {
		out, _, code := run(t, "sync", "status", "--data", data)
		if code != ExitPending || !strings.Contains(out, "Pending:         2") || !strings.Contains(out, "Oldest pending:") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("run --once while down", func(t *testing.T) {
		if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultDown}); err != nil {
			t.Fatal(err)
		}
		defer sim.SetFault(centresim.Fault{Kind: centresim.FaultUp})
		out, errOut, code := run(t, "sync", "run", "--once", "--centre", sim.URL(), "--data", data)
		if code != ExitPending || !strings.Contains(out, "Uploaded 0") {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("run", func(t *testing.T) {
		out, errOut, code := run(t, "sync", "run", "--centre", sim.URL(), "--data", data)
		if code != ExitConflicts || !strings.Contains(out, "conflict dispensing") || !strings.Contains(out, "dispensed-elsewhere") ||
			!strings.Contains(out, "Uploaded 1; 1 in conflict") || strings.Contains(out, "\r") {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("status after", func(t *testing.T) {
		out, _, code := run(t, "sync", "status", "--json", "--data", data)
		var s SyncStatus
		if code != ExitConflicts || json.Unmarshal([]byte(out), &s) != nil || s.Done != 1 || s.Conflict != 1 || s.Unsent() != 0 || s.LastDone.IsZero() {
			t.Fatalf("exit %d: %s", code, out)
		}
		text, _, _ := run(t, "sync", "status", "--data", data)
		if !strings.Contains(text, "need a pharmacist's review") {
			t.Fatalf("status:\n%s", text)
		}
	})
	t.Run("watch", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		var out, errOut bytes.Buffer
		code := Main(ctx, Build{Version: "1.2.3"}, []string{"sync", "watch", "--interval", "100ms", "--data", data},
			IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		// Ctrl-C ends watch: a normal exit. One line, as nothing changed.
		if code != ExitOK || strings.Count(out.String(), "\n") != 1 || !strings.Contains(out.String(), "conflict 1") {
			t.Fatalf("exit %d:\n%s\n%s", code, out.String(), errOut.String())
		}
	})
}

// TestSyncRunJSON: with --json, sync run prints JSON lines, the same keys
// in every language: the record in conflict as a "review" line, and a
// "summary" last; no bar and no text.
func TestSyncRunJSON(t *testing.T) {
	sim, data := syncFixture(t)
	for _, lang := range []string{"en", "fi"} {
		t.Run(lang, func(t *testing.T) {
			out, errOut, code := run(t, "sync", "run", "--json", "--lang", lang, "--centre", sim.URL(), "--data", data)
			if code != ExitConflicts {
				t.Fatalf("exit %d, want %d (a conflict):\n%s\n%s", code, ExitConflicts, out, errOut)
			}
			var events []SyncRunEvent
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var ev SyncRunEvent
				if err := json.Unmarshal([]byte(line), &ev); err != nil {
					t.Fatalf("line %q is not JSON: %v\n%s", line, err, out)
				}
				events = append(events, ev)
			}
			last := events[len(events)-1]
			if last.Event != "summary" || last.NeedsReview != 1 || last.Left != 0 {
				t.Fatalf("last line %+v, want the summary with 1 to review and none left", last)
			}
			if lang == "en" {
				// The first run sends both records: one done, one in conflict.
				if last.Uploaded != 1 || last.Conflicts != 1 {
					t.Fatalf("summary %+v, want 1 uploaded and 1 conflict", last)
				}
				var review []SyncRunEvent
				for _, ev := range events {
					if ev.Event == "review" {
						review = append(review, ev)
					}
				}
				if len(review) != 1 || review[0].State != "conflict" || review[0].Kind != "dispensing" || review[0].RecordID == "" ||
					!strings.Contains(review[0].Detail, "dispensed-elsewhere") {
					t.Fatalf("review lines %+v, want the conflict of the dispensing of EP26000104", review)
				}
			} else if last.Uploaded != 0 {
				// The second run finds nothing to send; the keys are the same in Finnish.
				t.Fatalf("second run summary %+v, want nothing uploaded", last)
			}
			if strings.Contains(out, "140348-901W") {
				t.Fatalf("an identity code in the JSON lines:\n%s", out)
			}
		})
	}
}
