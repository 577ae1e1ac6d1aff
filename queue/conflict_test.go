package queue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

func TestParseConflict(t *testing.T) {
	for _, k := range queue.ConflictKinds() {
		c := queue.Conflict{Kind: k, Detail: "Resepti on lukittu: x / Prescription is locked: y"}
		if got := queue.ParseConflict(c.String()); got != c {
			t.Errorf("%s: round trip gave %+v", k, got)
		}
	}
	if got := queue.ParseConflict("something else: entirely"); got.Kind != queue.Rejected || got.Detail != "something else: entirely" {
		t.Errorf("unknown text: %+v", got)
	}
}

// TestConflicts makes every kind of conflict against the real simulator,
// checks that it is named and explained, resolves it as a pharmacist would,
// and checks the end: done or voided, with exactly one resource upstream
// for a record that reached it and none for one that never did.
func TestConflicts(t *testing.T) {
	t.Parallel()
	type resolution struct {
		r         queue.Resolution
		before    func(e *env) // a change upstream before the resolution
		wantState journal.OutboxState
		wantUp    int
	}
	nobodyHETU := "020202A950" + string(hetu.CheckChar("020202", 950))
	tests := []struct {
		name    string
		kind    queue.ConflictKind
		make    func(e *env) journal.Record
		resolve resolution
	}{
		{"dispensed elsewhere, resubmitted with an override", queue.DispensedElsewhere,
			func(e *env) journal.Record { return e.dispense(matti, "EPC-DONE", 30) },
			resolution{r: queue.Resolution{Action: queue.ActionResubmit, Reason: "prescriber consulted: the patient lost the medicine"}, wantState: journal.OutboxDone, wantUp: 1}},
		{"over-dispensed, resubmitted with an override", queue.OverDispensed,
			func(e *env) journal.Record { return e.dispense(matti, "EPC-OVER", 100) },
			resolution{r: queue.Resolution{Action: queue.ActionResubmit, Reason: "prescriber consulted by phone"}, wantState: journal.OutboxDone, wantUp: 1}},
		{"cancelled, linked to the new prescription", queue.Cancelled,
			func(e *env) journal.Record { return e.dispense(matti, "EPC-CANC", 30) },
			resolution{r: queue.Resolution{Action: queue.ActionLink, PrescriptionID: "EPC-ALT"}, wantState: journal.OutboxDone, wantUp: 1}},
		{"locked, resubmitted once the lock was released", queue.Locked,
			func(e *env) journal.Record { return e.dispense(matti, "EPC-LOCK", 30) },
			resolution{r: queue.Resolution{Action: queue.ActionResubmit, Reason: "Apteekki Muu released the lock"},
				before: func(e *env) {
					if err := e.sim.UnlockPrescription("EPC-LOCK"); err != nil {
						e.t.Fatal(err)
					}
				}, wantState: journal.OutboxDone, wantUp: 1}},
		{"expired, voided", queue.Expired,
			func(e *env) journal.Record { return e.dispense(matti, "EPC-EXP", 30) },
			resolution{r: queue.Resolution{Action: queue.ActionVoid, Reason: "entered in error: the patient did not take it"}, wantState: journal.OutboxVoided, wantUp: 0}},
		{"unknown patient, voided", queue.UnknownPatient,
			func(e *env) journal.Record { return e.essential(nobodyHETU) },
			resolution{r: queue.Resolution{Action: queue.ActionVoid, Reason: "entered in error: wrong identity code"}, wantState: journal.OutboxVoided, wantUp: 0}},
		{"rejected (another patient's prescription), linked", queue.Rejected,
			func(e *env) journal.Record { return e.dispense(matti, "EPC-DUP", 30) },
			resolution{r: queue.Resolution{Action: queue.ActionLink, PrescriptionID: "EPC-ALT"}, wantState: journal.OutboxDone, wantUp: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			rec := tt.make(e)
			ok := e.essential(matti) // an independent record is never stalled
			w := e.worker(e.client("", 0), fastConfig())
			s := drain(t, w, 20*time.Second)
			e.wantState(ok, journal.OutboxDone, "")
			want := journal.OutboxConflict
			if tt.kind == queue.Rejected {
				want = journal.OutboxRejected
			}
			o := e.wantState(rec, want, tt.kind)
			t.Logf("%s: %s", o.State, firstNonEmpty(o.Conflict, o.LastError))
			if s.Uploaded != 1 || s.Conflicts+s.Rejected != 1 {
				t.Errorf("summary %+v", s)
			}
			if n := e.upstream(rec); n != 0 {
				t.Fatalf("%d resources upstream for a refused record", n)
			}

			if _, err := queue.Resolve(e.ctx, e.j, student, rec.ID, tt.resolve.r); rx.ErrorCode(err) != rx.EFORBIDDEN {
				t.Fatalf("a student resolved it: %v", err)
			}
			if tt.resolve.before != nil {
				tt.resolve.before(e)
			}
			audit, err := queue.Resolve(e.ctx, e.j, pharmacist, rec.ID, tt.resolve.r)
			if err != nil {
				t.Fatal(err)
			}
			if audit.RefersTo != rec.ID || audit.Pharmacist != pharmacist.ID || !strings.Contains(string(audit.Body), string(tt.kind)) {
				t.Fatalf("audit record %+v", audit)
			}
			drain(t, w, 20*time.Second)
			o = e.wantState(rec, tt.resolve.wantState, "")
			if n := e.upstream(rec); n != tt.resolve.wantUp {
				t.Fatalf("%d resources upstream, want %d", n, tt.resolve.wantUp)
			}
			if tt.resolve.r.Action == queue.ActionLink && !strings.HasPrefix(o.UpstreamID, "md-") {
				t.Fatalf("upstream id %q", o.UpstreamID)
			}
		})
	}
}

// TestPossibleDuplicate records a paper prescription that an e-prescription
// of the same ATC code and prescriber, issued two days earlier, may
// duplicate. It is held with its dispensings; linking sends the dispensings
// against the e-prescription and creates no prescription, resubmitting
// creates it with its dispensings in one transaction.
func TestPossibleDuplicate(t *testing.T) {
	t.Parallel()
	for _, action := range []string{queue.ActionLink, queue.ActionResubmit} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			p, d1 := e.paper(aino, "cardace-5mg-tabl", time.Now().AddDate(0, 0, -1), 30)
			d2 := e.dispenseRecorded(aino, "cardace-5mg-tabl", p.ID, 30)
			far, _ := e.paper(aino, "cardace-5mg-tabl", time.Now().AddDate(0, 0, -12), 0) // outside the window
			w := e.worker(e.client("", 0), fastConfig())
			s := drain(t, w, 20*time.Second)
			o := e.wantState(p, journal.OutboxConflict, queue.PossibleDuplicate)
			if !strings.Contains(o.Conflict, "EPC-DUP") {
				t.Fatalf("conflict %q does not name EPC-DUP", o.Conflict)
			}
			e.wantState(far, journal.OutboxDone, "")
			e.wantState(*d1, journal.OutboxPending, "")
			e.wantState(d2, journal.OutboxPending, "")
			if s.Blocked != 2 || s.Left != 0 {
				t.Fatalf("summary %+v, want 2 blocked", s)
			}
			blocked, err := queue.Blocked(e.ctx, e.j)
			if err != nil || len(blocked) != 2 || blocked[0].WaitingFor.RecordID != p.ID || !strings.Contains(blocked[0].Why, "possible-duplicate") {
				t.Fatalf("blocked %+v, %v", blocked, err)
			}

			r := queue.Resolution{Action: action, PrescriptionID: "EPC-DUP", Reason: "prescriber consulted: a second course"}
			if action == queue.ActionLink {
				r.Reason = ""
			}
			if _, err := queue.Resolve(e.ctx, e.j, pharmacist, p.ID, r); err != nil {
				t.Fatal(err)
			}
			drain(t, w, 20*time.Second)
			po := e.wantState(p, journal.OutboxDone, "")
			for _, d := range []journal.Record{*d1, d2} {
				e.wantState(d, journal.OutboxDone, "")
				if n := e.upstream(d); n != 1 {
					t.Fatalf("dispensing %s: %d upstream", d.ID, n)
				}
			}
			if action == queue.ActionLink {
				if po.UpstreamID != "EPC-DUP" || e.upstream(p) != 0 {
					t.Fatalf("linked prescription: upstream id %q, %d created", po.UpstreamID, e.upstream(p))
				}
				ep, err := e.client("", 0).Prescription(e.ctx, "EPC-DUP", aino)
				if err != nil || ep.Dispensed != 60 {
					t.Fatalf("EPC-DUP after the linked dispensings: %+v, %v", ep, err)
				}
			} else if e.upstream(p) != 1 {
				t.Fatalf("resubmitted prescription: %d upstream", e.upstream(p))
			}
		})
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// TestVoidUpload: a void of an uploaded dispensing marks it entered in
// error upstream; a void of a record that never landed needs nothing there.
func TestVoidUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.worker(e.client("", 0), fastConfig())
	landed := e.dispense(matti, "EPC-ALT", 30)
	refused := e.dispense(matti, "EPC-CANC", 30)
	drain(t, w, 20*time.Second)
	e.wantState(landed, journal.OutboxDone, "")
	e.wantState(refused, journal.OutboxConflict, queue.Cancelled)
	var voids []journal.Record
	for _, r := range []journal.Record{landed, refused} {
		rc, err := e.svc.Void(e.ctx, pharmacist, r.ID, "entered in error: wrong patient")
		if err != nil {
			t.Fatal(err)
		}
		voids = append(voids, rc.Record)
	}
	drain(t, w, 20*time.Second)
	// The void of the uploaded one went upstream; the one never sent is
	// voided here and its void has nothing to upload.
	e.wantState(voids[0], journal.OutboxDone, "")
	e.wantState(refused, journal.OutboxVoided, "")
	if _, err := e.j.Outbox(e.ctx, voids[1].ID); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Fatalf("the void of a record never sent is to be uploaded: %v", err)
	}
	n, err := e.sim.CountActiveByIdentifier("MedicationDispense", "urn:ietf:rfc:3986", "urn:uuid:"+landed.ID)
	if err != nil || n != 0 || e.upstream(landed) != 1 {
		t.Fatalf("voided dispensing: %d active, %d in all, %v; want 0 and 1", n, e.upstream(landed), err)
	}
	ep, err := e.client("", 0).Prescription(e.ctx, "EPC-ALT", matti)
	if err != nil || ep.Dispensed != 0 {
		t.Fatalf("EPC-ALT after the void: dispensed %d, %v; want the quantity back", ep.Dispensed, err)
	}
}
