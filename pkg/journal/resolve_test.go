package journal

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// entryIn appends a dispensing to upload and brings its outbox entry to the
// state; "sending-expired" is a lease whose holder stopped. The journal
// holds nothing else due, so each lease takes this entry.
func entryIn(t *testing.T, j *Journal, c *clock, state string) Record {
	t.Helper()
	ctx := context.Background()
	rec := mustAppend(t, j, dispensing(1))
	lease := func(ttl time.Duration) {
		t.Helper()
		sameIDs(t, "lease "+state, leaseIDs(t, j, "w", 1, ttl), rec.ID)
	}
	var err error
	switch state {
	case "pending":
	case "retry":
		lease(time.Minute)
		err = j.Retry(ctx, rec.ID, "w", c.Now().Add(time.Hour), "503 Service Unavailable")
	case "sending":
		lease(time.Hour)
	case "sending-expired":
		lease(time.Second)
		c.Add(2 * time.Second)
	case "done":
		lease(time.Minute)
		err = j.Complete(ctx, rec.ID, "w", "MedicationDispense/1")
	case "conflict":
		lease(time.Minute)
		err = j.Conflict(ctx, rec.ID, "w", "dispensed elsewhere")
	case "rejected":
		lease(time.Minute)
		err = j.Reject(ctx, rec.ID, "w", "422 expired")
	case "parked":
		err = j.Park(ctx, rec.ID, "waiting for Kela")
	case "voided":
		_, err = j.Resolve(ctx, voidOf(rec.ID), OutboxVoided)
	default:
		t.Fatalf("unknown state %q", state)
	}
	if err != nil {
		t.Fatalf("bring entry to %s: %v", state, err)
	}
	return rec
}

func resolutionOf(id string) NewRecord {
	return NewRecord{Kind: KindResolution, Pharmacist: "anna", RefersTo: id, Body: []byte(`{"override":"prescriber consulted"}`)}
}

func TestResolveTransitions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		from    string
		kind    Kind
		to      OutboxState
		code    string // "" when allowed
		message string // in the refusal
		after   OutboxState
	}{
		// Send again.
		{"conflict", KindResolution, OutboxPending, "", "", OutboxPending},
		{"rejected", KindResolution, OutboxPending, "", "", OutboxPending},
		{"parked", KindResolution, OutboxPending, "", "", OutboxPending},
		{"pending", KindResolution, OutboxPending, rx.ECONFLICT, "already waiting", ""},
		{"retry", KindResolution, OutboxPending, rx.ECONFLICT, "already waiting", ""},
		{"sending", KindResolution, OutboxPending, rx.ECONFLICT, "right now; try again in a moment", ""},
		{"sending-expired", KindResolution, OutboxPending, rx.ECONFLICT, "sender stopped", ""},
		{"done", KindResolution, OutboxPending, rx.ECONFLICT, "already in the Prescription Centre", ""},
		{"voided", KindResolution, OutboxPending, rx.ECONFLICT, "is voided", ""},
		{"conflict", KindVoid, OutboxPending, rx.EINVALID, "cannot send the record it voids again", ""},
		// Void before upload.
		{"pending", KindVoid, OutboxVoided, "", "", OutboxVoided},
		{"retry", KindVoid, OutboxVoided, "", "", OutboxVoided},
		{"conflict", KindVoid, OutboxVoided, "", "", OutboxVoided},
		{"rejected", KindVoid, OutboxVoided, "", "", OutboxVoided},
		{"parked", KindVoid, OutboxVoided, "", "", OutboxVoided},
		{"conflict", KindResolution, OutboxVoided, "", "", OutboxVoided}, // e.g. linked to an e-prescription
		{"sending", KindVoid, OutboxVoided, rx.ECONFLICT, "right now; try again in a moment", ""},
		{"sending-expired", KindVoid, OutboxVoided, rx.ECONFLICT, "sender stopped", ""},
		{"done", KindVoid, OutboxVoided, rx.ECONFLICT, "record a void that is itself uploaded", ""},
		{"voided", KindVoid, OutboxVoided, rx.ECONFLICT, "already voided", ""},
		{"voided", KindResolution, OutboxVoided, rx.ECONFLICT, "already voided", ""},
		// Leave the target as it is.
		{"done", KindVoid, "", "", "", OutboxDone},
		{"pending", KindVoid, "", "", "", OutboxPending},
		{"sending", KindVoid, "", "", "", OutboxSending},
		{"conflict", KindResolution, "", "", "", OutboxConflict},
		{"voided", KindVoid, "", rx.ECONFLICT, "already voided", ""},
		// Not a move a resolution makes.
		{"conflict", KindResolution, OutboxDone, rx.EINVALID, "not make it done", ""},
		{"conflict", KindResolution, OutboxRetry, rx.EINVALID, "not make it retry", ""},
		{"conflict", KindResolution, "bogus", rx.EINVALID, "not make it bogus", ""},
		{"conflict", KindDispensing, OutboxPending, rx.EINVALID, "not as a dispensing", ""},
	}
	for _, tt := range tests {
		to := string(tt.to)
		if to == "" {
			to = "as-is"
		}
		t.Run(string(tt.kind)+"/"+tt.from+"->"+to, func(t *testing.T) {
			c := newClock()
			j := openTest(t, c)
			target := entryIn(t, j, c, tt.from)
			c.Add(time.Minute)
			before, err := j.Outbox(ctx, target.ID)
			if err != nil {
				t.Fatal(err)
			}
			nr := resolutionOf(target.ID)
			nr.Kind = tt.kind
			nr.Upload = tt.kind == KindVoid
			rec, err := j.Resolve(ctx, nr, tt.to)
			after, _ := j.Outbox(ctx, target.ID)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				if msg := rx.ErrorMessage(err); !strings.Contains(msg, tt.message) {
					t.Errorf("message %q, want it to say %q", msg, tt.message)
				}
				unchanged(t, j, target.ID, before)
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			got, err := j.Get(ctx, rec.ID)
			if err != nil || got.Kind != tt.kind || got.RefersTo != target.ID || got.Hash != rec.Hash {
				t.Fatalf("appended %+v, %v", got, err)
			}
			if nr.Upload {
				e, err := j.Outbox(ctx, rec.ID)
				if err != nil || e.State != OutboxPending {
					t.Errorf("the void's own entry %+v, %v", e, err)
				}
			}
			if after.State != tt.after {
				t.Errorf("target is %s, want %s", after.State, tt.after)
			}
			switch tt.to {
			case OutboxPending:
				if after.Conflict != "" || after.LastError != "" || !after.NextAttempt.Equal(c.Now()) || after.Attempts != before.Attempts {
					t.Errorf("requeued entry %+v", after)
				}
				sameIDs(t, "lease after the resolution", leaseIDs(t, j, "w2", 10, time.Minute), target.ID)
			case OutboxVoided:
				if after.LeaseOwner != "" || !after.NextAttempt.IsZero() || after.Attempts != before.Attempts {
					t.Errorf("voided entry %+v", after)
				}
				if slices.Contains(leaseIDs(t, j, "w2", 10, time.Minute), target.ID) {
					t.Error("a voided entry was leased")
				}
				wantCode(t, j.Requeue(ctx, target.ID), rx.ECONFLICT)
				wantCode(t, j.Park(ctx, target.ID, "x"), rx.ECONFLICT)
			case "":
				if after != before {
					t.Errorf("target changed:\n%+v\nwant\n%+v", after, before)
				}
			}
			checkCounts(t, j)
		})
	}
}

// unchanged checks that a refused resolution appended nothing and left the
// target's entry as it was.
func unchanged(t *testing.T, j *Journal, id string, before OutboxEntry) {
	t.Helper()
	ctx := context.Background()
	after, err := j.Outbox(ctx, id)
	if err != nil || after != before {
		t.Errorf("target changed:\n%+v\nwant\n%+v (%v)", after, before, err)
	}
	refs, err := j.List(ctx, Filter{RefersTo: id, Kinds: []Kind{KindResolution}})
	if err != nil || len(refs) != 0 {
		t.Errorf("a refused resolution appended %d records, %v", len(refs), err)
	}
	if before.State != OutboxVoided {
		if voids, err := j.List(ctx, Filter{RefersTo: id}); err != nil || len(voids) != 0 {
			t.Errorf("a refused resolution appended %d records, %v", len(voids), err)
		}
	}
	checkCounts(t, j)
}

func TestResolveRefusesWrongTargets(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	local := mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna"}) // not uploaded
	if _, _, err := j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "test"}); err != nil {
		t.Fatal(err)
	}
	modeRec, err := j.List(ctx, Filter{Kinds: []Kind{KindModeChange}})
	if err != nil || len(modeRec) != 1 {
		t.Fatal(modeRec, err)
	}
	conflict := entryIn(t, j, c, "conflict")
	voidRec, err := j.Resolve(ctx, NewRecord{Kind: KindVoid, Pharmacist: "anna", RefersTo: mustAppend(t, j, dispensing(9)).ID, Upload: true}, OutboxVoided)
	if err != nil {
		t.Fatal(err)
	}
	records, _ := j.List(ctx, Filter{})
	tests := []struct {
		name    string
		nr      NewRecord
		to      OutboxState
		code    string
		message string
	}{
		{"no target", NewRecord{Kind: KindVoid, Pharmacist: "anna"}, OutboxVoided, rx.EINVALID, "must name the record"},
		{"missing target", voidOf("0190f0f0-0000-7000-8000-000000000000"), OutboxVoided, rx.ENOTFOUND, "no record"},
		{"a mode change", voidOf(modeRec[0].ID), "", rx.EINVALID, "mode_change record cannot be the target"},
		{"a void voided", voidOf(voidRec.ID), "", rx.EINVALID, "void record cannot be the target of a void"},
		{"not uploaded, sent again", resolutionOf(local.ID), OutboxPending, rx.EINVALID, "never to be uploaded"},
		{"not uploaded, voided", voidOf(local.ID), OutboxVoided, rx.EINVALID, "never to be uploaded"},
		{"waits for what it voids", func() NewRecord {
			nr := voidOf(conflict.ID)
			nr.Upload, nr.DependsOn = true, conflict.ID
			return nr
		}(), OutboxVoided, rx.EINVALID, "will never be sent"},
		{"no pharmacist", NewRecord{Kind: KindResolution, RefersTo: conflict.ID}, OutboxPending, rx.EINVALID, "pharmacist"},
		{"id taken", func() NewRecord {
			nr := resolutionOf(conflict.ID)
			nr.ID = conflict.ID // fails in the append, after the checks
			return nr
		}(), OutboxPending, rx.ECONFLICT, "already in the journal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := j.Outbox(ctx, conflict.ID)
			_, err := j.Resolve(ctx, tt.nr, tt.to)
			wantCode(t, err, tt.code)
			if msg := rx.ErrorMessage(err); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q, want it to say %q", msg, tt.message)
			}
			if now, _ := j.List(ctx, Filter{}); len(now) != len(records) {
				t.Errorf("%d records after a refused resolution, want %d", len(now), len(records))
			}
			if after, _ := j.Outbox(ctx, conflict.ID); after != before {
				t.Errorf("target changed: %+v", after)
			}
		})
	}
	// A resolution may settle an uploaded void that upstream refused.
	if _, err := j.Resolve(ctx, resolutionOf(voidRec.ID), ""); err != nil {
		t.Errorf("resolution of a void: %v", err)
	}
	refs, err := j.List(ctx, Filter{RefersTo: voidRec.ID})
	if err != nil || len(refs) != 1 || refs[0].Kind != KindResolution {
		t.Errorf("List(RefersTo) = %+v, %v", refs, err)
	}
}

func TestResolveVoidsDispensingsFirst(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	paper := mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna", Upload: true})
	var deps []Record
	for i := range 2 {
		d := dispensing(i)
		d.DependsOn = paper.ID
		deps = append(deps, mustAppend(t, j, d))
	}
	sameIDs(t, "lease", leaseIDs(t, j, "w", 10, time.Minute), paper.ID)
	if err := j.Conflict(ctx, paper.ID, "w", "possible-duplicate"); err != nil {
		t.Fatal(err)
	}
	got, err := j.Dependents(ctx, paper.ID)
	if err != nil || len(got) != 2 || got[0].RecordID != deps[0].ID || got[1].RecordID != deps[1].ID {
		t.Fatalf("Dependents = %+v, %v", got, err)
	}
	before, _ := j.Outbox(ctx, paper.ID)
	for _, to := range []OutboxState{OutboxVoided, ""} {
		_, err = j.Resolve(ctx, voidOf(paper.ID), to)
		wantCode(t, err, rx.ECONFLICT)
		msg := rx.ErrorMessage(err)
		if !strings.Contains(msg, "Void its dispensings first") || !strings.Contains(msg, deps[0].ID) || !strings.Contains(msg, deps[1].ID) {
			t.Errorf("message %q does not name the dispensings", msg)
		}
		unchanged(t, j, paper.ID, before)
	}
	if _, err := j.Resolve(ctx, voidOf(deps[0].ID), OutboxVoided); err != nil {
		t.Fatal(err)
	}
	_, err = j.Resolve(ctx, voidOf(paper.ID), OutboxVoided)
	wantCode(t, err, rx.ECONFLICT)
	if msg := rx.ErrorMessage(err); strings.Contains(msg, deps[0].ID) || !strings.Contains(msg, deps[1].ID) {
		t.Errorf("message %q should name only the dispensing not voided", msg)
	}
	if _, err := j.Resolve(ctx, voidOf(deps[1].ID), OutboxVoided); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Resolve(ctx, voidOf(paper.ID), OutboxVoided); err != nil {
		t.Fatalf("void after its dispensings: %v", err)
	}
	cnt, err := j.Counts(ctx)
	if err != nil || cnt.Voided != 3 || cnt.Unsent() != 0 || cnt.NeedsReview() != 0 {
		t.Errorf("Counts = %+v, %v", cnt, err)
	}
	checkCounts(t, j)
}
