package journal

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestAppendAndGet(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	back := c.Now().Add(-3 * time.Hour)
	id := uuid.NewString()
	rec := mustAppend(t, j, NewRecord{
		ID: strings.ToUpper(id), Kind: KindPaperPrescription, Pharmacist: "anna", Patient: "131052-308T",
		Rules: []string{"paper.prescriber", "validity.24m"}, Time: back,
		Body: json.RawMessage(`{ "z": 1, "a": {"y": "<b>", "x": 1.50} }`),
	})
	if rec.ID != id {
		t.Errorf("id %q, want the canonical form %q", rec.ID, id)
	}
	if rec.Seq != 1 || rec.PrevHash != genesisHash || rec.Hash == "" || rec.Hash != rec.computeHash() {
		t.Errorf("chain fields: %+v", rec)
	}
	if !rec.Time.Equal(back) || !rec.CreatedAt.Equal(c.Now()) {
		t.Errorf("time %v created %v; want %v and %v", rec.Time, rec.CreatedAt, back, c.Now())
	}
	if got, want := string(rec.Body), `{"a":{"x":1.50,"y":"<b>"},"z":1}`; got != want {
		t.Errorf("body %s, want canonical %s", got, want)
	}
	if rec.Terminal != "tiski-test-1" || rec.Mode != rx.ModeOnline {
		t.Errorf("terminal %q mode %q", rec.Terminal, rec.Mode)
	}
	got, err := j.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	rj, _ := json.Marshal(rec)
	if string(gj) != string(rj) {
		t.Errorf("Get = %s\nAppend = %s", gj, rj)
	}
	if _, err := j.Outbox(ctx, id); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Errorf("a record without Upload has an outbox entry: %v", err)
	}
	second := mustAppend(t, j, dispensing(2))
	if second.Seq != 2 || second.PrevHash != rec.Hash {
		t.Errorf("second record does not chain: %+v", second)
	}
	if _, err := uuid.Parse(second.ID); err != nil {
		t.Errorf("generated id %q: %v", second.ID, err)
	}
	_, err = j.Get(ctx, uuid.NewString())
	wantCode(t, err, rx.ENOTFOUND)
}

func TestAppendRefused(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	existing := mustAppend(t, j, dispensing(1))
	notUploaded := mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna"})
	tests := []struct {
		name string
		nr   NewRecord
		code string
	}{
		{"unknown kind", NewRecord{Kind: "prescription", Pharmacist: "anna"}, rx.EINVALID},
		{"no pharmacist", NewRecord{Kind: KindDispensing}, rx.EINVALID},
		{"bad id", NewRecord{ID: "not-a-uuid", Kind: KindDispensing, Pharmacist: "anna"}, rx.EINVALID},
		{"bad body", NewRecord{Kind: KindDispensing, Pharmacist: "anna", Body: json.RawMessage(`{"a":`)}, rx.EINVALID},
		{"two bodies", NewRecord{Kind: KindDispensing, Pharmacist: "anna", Body: json.RawMessage(`{} {}`)}, rx.EINVALID},
		{"void without target", NewRecord{Kind: KindVoid, Pharmacist: "anna"}, rx.EINVALID},
		{"void of unknown record", NewRecord{Kind: KindVoid, Pharmacist: "anna", RefersTo: uuid.NewString()}, rx.ENOTFOUND},
		{"duplicate id", NewRecord{ID: existing.ID, Kind: KindDispensing, Pharmacist: "anna"}, rx.ECONFLICT},
		{"depends without upload", NewRecord{Kind: KindDispensing, Pharmacist: "anna", DependsOn: existing.ID}, rx.EINVALID},
		{"depends on a record not in the outbox", NewRecord{Kind: KindDispensing, Pharmacist: "anna", Upload: true, DependsOn: notUploaded.ID}, rx.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := j.Append(ctx, tt.nr)
			wantCode(t, err, tt.code)
		})
	}
	recs, err := j.List(ctx, Filter{})
	if err != nil || len(recs) != 2 {
		t.Errorf("refused appends left %d records (%v), want 2", len(recs), err)
	}
	void := mustAppend(t, j, NewRecord{Kind: KindVoid, Pharmacist: "anna", RefersTo: existing.ID, Body: json.RawMessage(`{"reason":"wrong patient"}`)})
	if void.RefersTo != existing.ID || void.Seq != 3 {
		t.Errorf("void %+v", void)
	}
}

func TestRecordsAreImmutable(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	rec := mustAppend(t, j, dispensing(1))
	for name, q := range map[string]string{
		"update": `UPDATE records SET body = '{}' WHERE seq = 1`,
		"delete": `DELETE FROM records WHERE seq = 1`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := j.w.ExecContext(ctx, q)
			if err == nil || !strings.Contains(err.Error(), "immutable") {
				t.Fatalf("%s: err = %v, want the trigger's refusal", name, err)
			}
		})
	}
	got, err := j.Get(ctx, rec.ID)
	if err != nil || string(got.Body) != string(rec.Body) {
		t.Errorf("record changed: %s, %v", got.Body, err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	var ids []string
	for i := range 6 {
		c.Add(time.Minute)
		nr := dispensing(i)
		if i%2 == 1 {
			nr.Kind, nr.Patient = KindPaperPrescription, "010101A900X"
		}
		ids = append(ids, mustAppend(t, j, nr).ID)
	}
	start := newClock().Now()
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, ids},
		{"kinds", Filter{Kinds: []Kind{KindPaperPrescription}}, []string{ids[1], ids[3], ids[5]}},
		{"two kinds", Filter{Kinds: []Kind{KindPaperPrescription, KindDispensing}}, ids},
		{"patient", Filter{Patient: "131052-308T"}, []string{ids[0], ids[2], ids[4]}},
		{"since", Filter{Since: start.Add(4 * time.Minute)}, ids[3:]},
		{"after seq and limit", Filter{AfterSeq: 2, Limit: 2}, ids[2:4]},
		{"none", Filter{Patient: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := j.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCanonicalJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `{}`},
		{`  `, `{}`},
		{`{"b":2,"a":1}`, `{"a":1,"b":2}`},
		{"{\n \"a\" : [ 3, 2, {\"d\":1,\"c\":2} ] }", `{"a":[3,2,{"c":2,"d":1}]}`},
		{`{"n":1e3,"m":0.10}`, `{"m":0.10,"n":1e3}`},
		{`"ä & <x>"`, `"ä & <x>"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := canonicalJSON(json.RawMessage(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("canonicalJSON(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestAppendAllIsAtomic(t *testing.T) {
	ctx := context.Background()
	j, err := Open(ctx, filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	first := NewRecord{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Kind: KindPaperPrescription, Pharmacist: "aino", Body: json.RawMessage(`{}`), Upload: true}
	second := NewRecord{Kind: KindDispensing, Pharmacist: "aino", Body: json.RawMessage(`{}`), Upload: true, DependsOn: first.ID}

	broken := second
	broken.Kind = "meltdown"
	if _, err := j.AppendAll(ctx, first, broken); err == nil {
		t.Fatal("appended a batch with an invalid record")
	}
	if recs, _ := j.List(ctx, Filter{}); len(recs) != 0 {
		t.Fatalf("a failed batch left %d records", len(recs))
	}
	recs, err := j.AppendAll(ctx, first, second)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].PrevHash != recs[0].Hash || recs[1].Seq != recs[0].Seq+1 {
		t.Fatalf("records %+v", recs)
	}
	if rep, err := j.Verify(ctx); err != nil || !rep.OK {
		t.Fatalf("verify %+v %v", rep, err)
	}
}
