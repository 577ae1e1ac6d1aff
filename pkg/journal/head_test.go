package journal

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestAppendOnHeadAcrossWriters: two journals on one file stand for two
// processes (a counter and `tiski sync`). Each appends on the head it last
// wrote; when the other has appended since, the append still follows the
// true head, so sequence numbers stay gapless and the chain verifies, and a
// mode the other changed is the mode the record carries.
func TestAppendOnHeadAcrossWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	open := func(terminal string) *Journal {
		j, err := Open(ctx, path, Options{Terminal: terminal})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		return j
	}
	a, b := open("kassa-1"), open("kassa-2")

	var recs []Record
	for _, step := range []struct {
		j    *Journal
		mode rx.Mode
	}{{a, rx.ModeOnline}, {a, rx.ModeOnline}, {b, rx.ModeOnline}, {a, rx.ModeOnline}, {b, ""}, {a, rx.ModeFault}, {a, rx.ModeFault}, {b, rx.ModeFault}} {
		if step.mode == "" { // b changes the mode behind a's back
			if _, _, err := step.j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe"}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		rec := mustAppend(t, step.j, dispensing(len(recs)))
		if rec.Mode != step.mode {
			t.Errorf("record %d (%s): mode %s, want %s", rec.Seq, rec.Terminal, rec.Mode, step.mode)
		}
		recs = append(recs, rec)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq <= recs[i-1].Seq {
			t.Errorf("record %d follows %d", recs[i].Seq, recs[i-1].Seq)
		}
	}
	for _, j := range []*Journal{a, b} {
		rep, err := j.Verify(ctx)
		if err != nil || !rep.OK || rep.Records != int64(len(recs)+1) {
			t.Fatalf("Verify: %+v, %v; want %d records, sound", rep, err, len(recs)+1)
		}
	}
	// Each record in the outbox once, whichever way it was appended.
	entries, err := a.OutboxList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(recs) {
		t.Errorf("%d outbox entries for %d records", len(entries), len(recs))
	}
	if a.head == nil || a.head.seq != recs[len(recs)-2].Seq {
		t.Errorf("a's head after its last append: %+v, want seq %d", a.head, recs[len(recs)-2].Seq)
	}
}

// TestAppendOnHeadRefusals: an append on the known head that a constraint
// refuses is refused in words, as in a transaction, and leaves nothing.
func TestAppendOnHeadRefusals(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	first := mustAppend(t, j, dispensing(1))
	if j.head == nil {
		t.Fatal("no head known after an append")
	}
	dup := dispensing(2)
	dup.ID = first.ID
	_, err := j.Append(ctx, dup)
	wantCode(t, err, rx.ECONFLICT)
	void := NewRecord{Kind: KindVoid, Pharmacist: "aino", RefersTo: "0f8fad5b-d9cb-469f-a165-70867728950e", Body: json.RawMessage(`{}`)}
	_, err = j.Append(ctx, void)
	wantCode(t, err, rx.ENOTFOUND)
	after := dispensing(3)
	after.DependsOn = "0f8fad5b-d9cb-469f-a165-70867728950e"
	_, err = j.Append(ctx, after)
	wantCode(t, err, rx.ENOTFOUND)
	next := mustAppend(t, j, dispensing(4))
	if next.Seq != first.Seq+1 || next.PrevHash != first.Hash {
		t.Errorf("the next record: seq %d prev %s, want %d after %s", next.Seq, next.PrevHash, first.Seq+1, first.Hash)
	}
	if rep, err := j.Verify(ctx); err != nil || !rep.OK {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
}

// TestWriteWithEndedContext: a write whose caller has given up stores
// nothing and says so, by either way of appending.
func TestWriteWithEndedContext(t *testing.T) {
	j := openTest(t, nil)
	mustAppend(t, j, dispensing(1)) // the head is known: Append takes the one-statement way
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Append(ctx, dispensing(2)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append: %v, want context.Canceled", err)
	}
	if _, err := j.AppendAll(ctx, dispensing(3), dispensing(4)); !errors.Is(err, context.Canceled) {
		t.Errorf("AppendAll: %v, want context.Canceled", err)
	}
	rep, err := j.Verify(context.Background())
	if err != nil || rep.Records != 1 {
		t.Fatalf("Verify: %+v, %v; want the one record", rep, err)
	}
}
