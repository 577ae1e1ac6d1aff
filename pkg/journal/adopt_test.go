package journal

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestAdopt: a counter adopts another's records marked for upload, once,
// with their dependencies; a record voided before its upload is adopted
// voided, one whose void goes upstream is adopted as attempted; the lane
// leases a dispensing only after its prescription is done.
func TestAdopt(t *testing.T) {
	ctx := context.Background()
	a, b := openCounter(t, "kassa-1"), openCounter(t, "kassa-2")
	app := func(nr NewRecord) Record {
		t.Helper()
		if nr.Pharmacist == "" {
			nr.Pharmacist = "aino"
		}
		r, err := a.Append(ctx, nr)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p := app(NewRecord{Kind: KindPaperPrescription, Patient: "140348-901W", Body: []byte(`{"quantity":100}`), Upload: true})
	d := app(NewRecord{Kind: KindDispensing, Patient: "140348-901W", Body: []byte(`{"quantity":30}`), Upload: true, DependsOn: p.ID})
	q := app(NewRecord{Kind: KindPaperPrescription, Patient: "131052-902Y", Body: []byte(`{"quantity":10}`), Upload: true})
	if _, err := a.Resolve(ctx, NewRecord{Kind: KindVoid, Pharmacist: "aino", RefersTo: q.ID, Body: []byte(`{"reason":"entered in error"}`)}, OutboxVoided); err != nil {
		t.Fatal(err)
	}
	// A record uploaded, then voided: the void goes upstream.
	u := app(NewRecord{Kind: KindPaperPrescription, Patient: "210731Y903A", Body: []byte(`{"quantity":20}`), Upload: true})
	v := app(NewRecord{Kind: KindVoid, RefersTo: u.ID, Body: []byte(`{"reason":"wrong patient"}`), Upload: true})
	app(NewRecord{Kind: KindResolution, RefersTo: p.ID, Body: []byte(`{"action":"resubmit"}`)}) // not uploaded: not adopted
	passOn(t, a, b)

	if _, err := b.Adopt(ctx, "kassa-2", "it@host", 0); rx.ErrorCode(err) != rx.EINVALID {
		t.Fatalf("adopting oneself: %v, want EINVALID", err)
	}
	if _, err := b.Adopt(ctx, "kassa-9", "it@host", 0); rx.ErrorCode(err) != rx.ENOTFOUND || !strings.Contains(err.Error(), "kassa-1") {
		t.Fatalf("adopting an unknown counter: %v, want ENOTFOUND naming kassa-1", err)
	}
	lane := b.AdoptLane()
	if got, err := lane.OutboxList(ctx); err != nil || len(got) != 0 {
		t.Fatalf("lane before any adoption: %v, %v", got, err)
	}

	got, err := b.Adopt(ctx, "kassa-1", "it@host", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]OutboxState{p.ID: OutboxPending, d.ID: OutboxPending, q.ID: OutboxVoided, u.ID: OutboxVoided, v.ID: OutboxPending}
	if len(got.Adopted) != len(want) || got.Already != 0 || got.Pending() != 3 {
		t.Fatalf("adopted %+v, want %d records, 3 pending", got, len(want))
	}
	for i, r := range got.Adopted {
		if want[r.ID] != r.State {
			t.Errorf("adopted %s (%s) %s, want %s", r.ID, r.Kind, r.State, want[r.ID])
		}
		if i > 0 && r.Seq <= got.Adopted[i-1].Seq {
			t.Errorf("adopted out of the counter's order: %+v", got.Adopted)
		}
	}
	for id, attempts := range map[string]int{q.ID: 0, u.ID: 1} {
		e, err := lane.Outbox(ctx, id)
		if err != nil || e.Attempts != attempts {
			t.Errorf("voided %s: %+v, %v; want %d attempts", id, e, err, attempts)
		}
	}
	again, err := b.Adopt(ctx, "kassa-1", "it@host", 0)
	if err != nil || len(again.Adopted) != 0 || again.Already != len(want) {
		t.Fatalf("second adoption: %+v, %v; want nothing new, %d already", again, err, len(want))
	}

	// The dispensing waits for its prescription.
	leased, err := lane.Lease(ctx, "w1", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range leased {
		ids[e.RecordID] = true
	}
	if len(leased) != 2 || !ids[p.ID] || !ids[v.ID] {
		t.Fatalf("leased %+v, want the prescription and the void", leased)
	}
	deps, err := lane.LeaseDependents(ctx, "w1", p.ID, time.Minute)
	if err != nil || len(deps) != 1 || deps[0].RecordID != d.ID {
		t.Fatalf("dependents %+v, %v; want the dispensing", deps, err)
	}
	if err := lane.Complete(ctx, p.ID, "w2", "mr-1"); rx.ErrorCode(err) != rx.ECONFLICT {
		t.Fatalf("complete by another sender: %v, want ECONFLICT", err)
	}
	if err := lane.CompleteAll(ctx, "w1", []Completion{{ID: p.ID, UpstreamID: "mr-1"}, {ID: d.ID, UpstreamID: "md-1"}}); err != nil {
		t.Fatal(err)
	}
	if err := lane.Conflict(ctx, v.ID, "w1", "locked: x"); err != nil {
		t.Fatal(err)
	}
	c, err := lane.Counts(ctx)
	if err != nil || c.Done != 2 || c.Conflict != 1 || c.Voided != 2 || c.Unsent() != 0 {
		t.Fatalf("counts %+v, %v", c, err)
	}
	if err := lane.Requeue(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if e, _ := lane.Outbox(ctx, v.ID); e.State != OutboxPending || e.Conflict != "" {
		t.Fatalf("requeued: %+v", e)
	}
	// The adopted records are peer records: read through the lane.
	if r, err := lane.Get(ctx, d.ID); err != nil || !r.Peer || r.Terminal != "kassa-1" {
		t.Fatalf("get %s: %+v, %v", d.ID, r, err)
	}
	if res, err := lane.List(ctx, Filter{RefersTo: p.ID, Kinds: []Kind{KindResolution}}); err != nil || len(res) != 1 {
		t.Fatalf("resolutions of %s: %+v, %v", p.ID, res, err)
	}
	// A record voided at its counter after it was adopted, before it was
	// sent: a new adoption voids it in the lane too.
	late := app(NewRecord{Kind: KindPaperPrescription, Patient: "140348-901W", Body: []byte(`{"quantity":5}`), Upload: true})
	passOn(t, a, b)
	if got, err := b.Adopt(ctx, "kassa-1", "it@host", 0); err != nil || len(got.Adopted) != 1 || got.Adopted[0].State != OutboxPending {
		t.Fatalf("adopting the late record: %+v, %v", got, err)
	}
	if _, err := a.Resolve(ctx, NewRecord{Kind: KindVoid, Pharmacist: "aino", RefersTo: late.ID, Body: []byte(`{"reason":"entered in error"}`)}, OutboxVoided); err != nil {
		t.Fatal(err)
	}
	passOn(t, a, b)
	if _, err := b.Adopt(ctx, "kassa-1", "it@host", 0); err != nil {
		t.Fatal(err)
	}
	if e, _ := lane.Outbox(ctx, late.ID); e.State != OutboxVoided {
		t.Fatalf("late record voided at its counter is %s in the lane, want voided", e.State)
	}
	// The counter's own outbox is untouched.
	if oc, err := b.Counts(ctx); err != nil || oc.Pending+oc.Done+oc.Voided != 0 {
		t.Fatalf("b's own outbox: %+v, %v", oc, err)
	}
}

// TestUploadedThrough: the place up to which every record to upload is done
// or voided; records not to upload do not hold it back, an open entry
// does.
func TestUploadedThrough(t *testing.T) {
	ctx := context.Background()
	j := openCounter(t, "kassa-1")
	through := func(want int64) {
		t.Helper()
		if got, err := j.UploadedThrough(ctx); err != nil || got != want {
			t.Fatalf("uploaded through %d, %v; want %d", got, err, want)
		}
	}
	through(0)
	var ids []string
	for i := range 4 {
		r, err := j.Append(ctx, NewRecord{Kind: KindPaperPrescription, Pharmacist: "aino", Body: fmt.Appendf(nil, `{"n":%d}`, i), Upload: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	through(0) // all in the tail
	leased, err := j.Lease(ctx, "w", 2, time.Minute)
	if err != nil || len(leased) != 2 {
		t.Fatalf("lease %v, %v", leased, err)
	}
	through(0)
	if err := j.CompleteAll(ctx, "w", []Completion{{ID: ids[0], UpstreamID: "a"}, {ID: ids[1], UpstreamID: "b"}}); err != nil {
		t.Fatal(err)
	}
	through(2)
	if _, err := j.Resolve(ctx, NewRecord{Kind: KindVoid, Pharmacist: "aino", RefersTo: ids[2], Body: []byte(`{}`)}, OutboxVoided); err != nil {
		t.Fatal(err)
	}
	through(3) // the void is not uploaded; the fourth still waits
	if _, err := j.Append(ctx, NewRecord{Kind: KindSignIn, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	through(3)
	leased, _ = j.Lease(ctx, "w", 5, time.Minute)
	if len(leased) != 1 {
		t.Fatalf("leased %+v", leased)
	}
	if err := j.Conflict(ctx, ids[3], "w", "locked: x"); err != nil {
		t.Fatal(err)
	}
	through(3) // in conflict: not done
}

// TestAdoptWhatItsCounterUploaded: records up to what the counter said it
// had uploaded join the lane done; a void of one of them, made after, is
// sent and finds its target uploaded.
func TestAdoptWhatItsCounterUploaded(t *testing.T) {
	ctx := context.Background()
	a, b := openCounter(t, "kassa-1"), openCounter(t, "kassa-2")
	var recs []Record
	for i := range 3 {
		r, err := a.Append(ctx, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Body: fmt.Appendf(nil, `{"n":%d}`, i), Upload: true})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	v, err := a.Append(ctx, NewRecord{Kind: KindVoid, Pharmacist: "aino", RefersTo: recs[0].ID, Body: []byte(`{}`), Upload: true})
	if err != nil {
		t.Fatal(err)
	}
	passOn(t, a, b)
	got, err := b.Adopt(ctx, "kassa-1", "it@host", recs[1].Seq)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]OutboxState{recs[0].ID: OutboxVoided, recs[1].ID: OutboxDone, recs[2].ID: OutboxPending, v.ID: OutboxPending}
	if got.DoneThere != 1 || got.Pending() != 2 || got.UploadedThrough != recs[1].Seq {
		t.Fatalf("adoption %+v", got)
	}
	for _, r := range got.Adopted {
		if r.State != want[r.ID] {
			t.Errorf("adopted %s %s, want %s", r.ID, r.State, want[r.ID])
		}
	}
	e, err := b.AdoptLane().Outbox(ctx, recs[0].ID)
	if err != nil || e.Attempts != 1 {
		t.Fatalf("voided target %+v, %v: want attempted, so that its void is sent", e, err)
	}
}
