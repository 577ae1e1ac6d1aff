package journal

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Two dispensings of one e-prescription: the second waits for the first only
// for its turn. Voiding the first before upload lets the second go; voiding a
// paper prescription with a dispensing waiting is still refused.
func TestVoidedDependencyReleasesItsDependent(t *testing.T) {
	ctx := context.Background()
	j, err := Open(ctx, filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	body := json.RawMessage(`{}`)
	first, err := j.Append(ctx, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Body: body, Upload: true})
	if err != nil {
		t.Fatal(err)
	}
	second, err := j.Append(ctx, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Body: body, Upload: true, DependsOn: first.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Resolve(ctx, NewRecord{Kind: KindVoid, Pharmacist: "aino", RefersTo: first.ID, Body: json.RawMessage(`{"reason":"entered in error"}`)}, OutboxVoided); err != nil {
		t.Fatalf("void the first dispensing: %v", err)
	}
	leased, err := j.Lease(ctx, "w1", 10, time.Minute)
	if err != nil || len(leased) != 1 || leased[0].RecordID != second.ID {
		t.Fatalf("leased %+v %v; want the second dispensing", leased, err)
	}

	paper, _ := j.Append(ctx, NewRecord{Kind: KindPaperPrescription, Pharmacist: "aino", Body: body, Upload: true})
	if _, err := j.Append(ctx, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Body: body, Upload: true, DependsOn: paper.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = j.Resolve(ctx, NewRecord{Kind: KindVoid, Pharmacist: "aino", RefersTo: paper.ID, Body: json.RawMessage(`{"reason":"x"}`)}, OutboxVoided)
	if rx.ErrorCode(err) != rx.ECONFLICT {
		t.Fatalf("voiding a prescription with a dispensing waiting: %v", err)
	}
}

// A second Open of a journal this process has open does not inspect the file
// directly (which would drop SQLite's locks), and both handles work.
func TestOpenTwiceInOneProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	a, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	openInProcess.Lock()
	n := openInProcess.n[abs]
	openInProcess.Unlock()
	if n != 2 {
		t.Fatalf("%d handles counted, want 2", n)
	}
	for _, j := range []*Journal{a, b} {
		if _, err := j.Append(ctx, NewRecord{Kind: KindDispensing, Pharmacist: "aino", Body: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	a.Close() // a second Close does not count twice
	if rep, err := b.Verify(ctx); err != nil || !rep.OK || rep.Records != 2 {
		t.Fatalf("verify %+v %v", rep, err)
	}
	b.Close()
	openInProcess.Lock()
	defer openInProcess.Unlock()
	if _, ok := openInProcess.n[abs]; ok {
		t.Fatal("the path is still counted after both handles closed")
	}
}
