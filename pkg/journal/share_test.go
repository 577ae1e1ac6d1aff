package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// openCounter opens a journal of its own for the named counter.
func openCounter(t *testing.T, name string) *Journal {
	t.Helper()
	j, err := Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"), Options{Terminal: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// passOn gives every record of from's share lane to to, as the hub would,
// and marks them shared at from.
func passOn(t *testing.T, from, to *Journal) (added int) {
	t.Helper()
	ctx := context.Background()
	tail, err := from.ShareTail(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range tail {
		// Through JSON, as on the wire.
		b, _ := json.Marshal(sr)
		var got SharedRecord
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		ok, err := to.AddPeer(ctx, got)
		if err != nil {
			t.Fatalf("AddPeer %s: %v", sr.ID, err)
		}
		if ok {
			added++
		}
	}
	if len(tail) > 0 {
		if err := from.MarkShared(ctx, tail[len(tail)-1].Seq); err != nil {
			t.Fatal(err)
		}
	}
	return added
}

// TestShareLane: every committed record is in the share lane until it is
// marked shared, and the mark never goes back.
func TestShareLane(t *testing.T) {
	ctx := context.Background()
	j := openCounter(t, "kassa-1")
	for i := range 3 {
		mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "aino", Patient: "131052-902Y", Body: fmt.Appendf(nil, `{"n":%d}`, i), Upload: true})
	}
	s, err := j.Share(ctx)
	if err != nil || s.Unshared != 3 || s.Through != 0 || s.Oldest.IsZero() {
		t.Fatalf("Share = %+v, %v; want 3 unshared", s, err)
	}
	tail, err := j.ShareTail(ctx, 2)
	if err != nil || len(tail) != 2 || tail[0].Seq != 1 || !tail[0].Upload || tail[0].Terminal != "kassa-1" {
		t.Fatalf("ShareTail = %+v, %v", tail, err)
	}
	if err := j.MarkShared(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := j.MarkShared(ctx, 1); err != nil { // a late, stale mark
		t.Fatal(err)
	}
	if s, _ := j.Share(ctx); s.Unshared != 1 || s.Through != 2 {
		t.Fatalf("after marking 2 shared: %+v", s)
	}
	if tail, _ := j.ShareTail(ctx, 10); len(tail) != 1 || tail[0].Seq != 3 {
		t.Fatalf("tail after the mark: %+v", tail)
	}
}

// TestAddPeer: another counter's records are kept once, read-only, and
// count in List with Peers; a changed record, a record that contradicts
// one kept, and this counter's own records are not kept.
func TestAddPeer(t *testing.T) {
	ctx := context.Background()
	a, b := openCounter(t, "kassa-1"), openCounter(t, "kassa-2")
	const patient = "131052-902Y"
	p := mustAppend(t, a, NewRecord{Kind: KindPaperPrescription, Pharmacist: "aino", Patient: patient, Body: json.RawMessage(`{"quantity":100}`), Upload: true})
	mustAppend(t, a, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Patient: patient, Body: fmt.Appendf(nil, `{"prescription_record":%q,"quantity":60}`, p.ID), Upload: true, DependsOn: p.ID, Draws: p.ID})
	mine := mustAppend(t, b, NewRecord{Kind: KindPaperPrescription, Pharmacist: "olli", Patient: patient, Body: json.RawMessage(`{"quantity":5}`), Upload: true})

	if n := passOn(t, a, b); n != 2 {
		t.Fatalf("kept %d of counter 1's records, want 2", n)
	}
	// Redelivered: nothing new.
	tail, _ := a.List(ctx, Filter{})
	for _, r := range tail {
		if ok, err := b.AddPeer(ctx, SharedRecord{Record: r}); ok || err != nil {
			t.Fatalf("redelivery of %s: added %v, %v", r.ID, ok, err)
		}
	}
	// Its own record, back from the hub: not a peer record.
	if ok, err := b.AddPeer(ctx, SharedRecord{Record: mine}); ok || err != nil {
		t.Fatalf("own record: added %v, %v", ok, err)
	}

	all, err := b.List(ctx, Filter{Patient: patient, Peers: true})
	if err != nil || len(all) != 3 {
		t.Fatalf("List with peers: %d records, %v", len(all), err)
	}
	if !all[0].Peer || all[0].Terminal != "kassa-1" || all[2].Peer || all[2].ID != mine.ID {
		t.Errorf("records with peers: %+v", all)
	}
	if own, _ := b.List(ctx, Filter{Patient: patient}); len(own) != 1 {
		t.Errorf("List without peers: %d records, want this counter's 1", len(own))
	}
	if _, err := b.List(ctx, Filter{Peers: true, AfterSeq: 1}); err == nil {
		t.Error("paging by sequence number with peers was taken")
	}
	if got, err := b.GetAny(ctx, p.ID); err != nil || !got.Peer || got.Hash != p.Hash {
		t.Errorf("GetAny(peer) = %+v, %v", got, err)
	}
	if _, err := b.Get(ctx, p.ID); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Errorf("Get of a peer record: %v, want not found (it is not this counter's)", err)
	}

	// Changed on the way: refused, not kept.
	forged := mustAppend(t, a, NewRecord{Kind: KindPaperPrescription, Pharmacist: "aino", Patient: patient, Body: json.RawMessage(`{"quantity":1}`)})
	forged.Body = json.RawMessage(`{"quantity":1000}`)
	if ok, err := b.AddPeer(ctx, SharedRecord{Record: forged}); ok || rx.ErrorCode(err) != rx.EINVALID || !strings.Contains(err.Error(), "does not match its hash") {
		t.Fatalf("a changed record: added %v, %v", ok, err)
	}
	// A record whose hash holds but that claims another's place in the
	// chain: refused.
	other := openCounter(t, "kassa-1") // a second journal calling itself kassa-1
	mustAppend(t, other, NewRecord{Kind: KindPaperPrescription, Pharmacist: "x", Patient: patient, Body: json.RawMessage(`{"quantity":2}`)})
	imp, _ := other.List(ctx, Filter{})
	if ok, err := b.AddPeer(ctx, SharedRecord{Record: imp[0]}); ok || rx.ErrorCode(err) != rx.EINVALID {
		t.Fatalf("a second record 1 of kassa-1: added %v, %v", ok, err)
	}
	if _, err := b.w.ExecContext(ctx, `UPDATE peer_records SET body = '{}'`); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("peer records changed: %v", err)
	}
	if pcs, err := b.PeerCounters(ctx); err != nil || len(pcs) != 1 || pcs[0].Counter != "kassa-1" || pcs[0].Records != 2 || pcs[0].LastSeq != 2 {
		t.Fatalf("PeerCounters = %+v, %v", pcs, err)
	}
}

// TestDrawCountsEveryCounter: the quantity left of a journal prescription
// counts the dispensings of every counter whose records are here, and a
// counter may dispense against another counter's prescription.
func TestDrawCountsEveryCounter(t *testing.T) {
	ctx := context.Background()
	a, b := openCounter(t, "kassa-1"), openCounter(t, "kassa-2")
	const patient = "131052-902Y"
	body, _ := json.Marshal(rx.Prescription{Patient: patient, Quantity: 100, Form: rx.FormPaper})
	p := mustAppend(t, a, NewRecord{Kind: KindPaperPrescription, Pharmacist: "aino", Patient: patient, Body: body, Upload: true})
	draw := func(j *Journal, qty int) error {
		_, err := j.Append(ctx, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Patient: patient, Upload: true, Draws: p.ID,
			Body: fmt.Appendf(nil, `{"prescription_record":%q,"quantity":%d}`, p.ID, qty)})
		return err
	}
	if err := draw(a, 100); err != nil {
		t.Fatal(err)
	}
	passOn(t, a, b)
	err := draw(b, 1)
	if rx.ErrorCode(err) != rx.EINVALID || !strings.Contains(err.Error(), "(100 of 100 dispensed)") {
		t.Fatalf("counter 2 dispensing the last pack again: %v", err)
	}
}
