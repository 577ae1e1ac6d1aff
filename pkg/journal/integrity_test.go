package journal

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestCheckInBackgroundRefusesWritesToADamagedJournal: with the check in
// the background a damaged journal opens, is readable, and refuses every
// write with the check's words; IntegrityErr says so for the status line.
func TestCheckInBackgroundRefusesWritesToADamagedJournal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	tiskiJournal(t, path, 120)
	rawSQLite(t, path, `PRAGMA journal_mode = DELETE`)
	scribble(t, path)

	j, err := Open(ctx, path, Options{CheckInBackground: true})
	if err != nil {
		t.Fatalf("Open with the check in the background: %v", err)
	}
	defer j.Close()
	_, err = j.Append(ctx, dispensing(1000))
	wantCode(t, err, rx.ECORRUPT)
	if msg := rx.ErrorMessage(err); !strings.Contains(msg, "integrity check") || !strings.Contains(msg, "paper fallback") {
		t.Errorf("Append: %q", msg)
	}
	_, _, err = j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe"})
	wantCode(t, err, rx.ECORRUPT)
	wantCode(t, j.IntegrityErr(), rx.ECORRUPT)
	if _, err := j.Mode(ctx); err != nil {
		t.Errorf("reading a damaged journal's mode: %v", err)
	}
}

// TestCheckInBackgroundLetsASoundJournalWrite: a sound journal opens at
// once, its writes go through once the check has passed, and IntegrityErr
// stays nil.
func TestCheckInBackgroundLetsASoundJournalWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	tiskiJournal(t, path, 50)
	j, err := Open(ctx, path, Options{CheckInBackground: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.integrity == nil {
		t.Fatal("no check started for an existing journal")
	}
	rec := mustAppend(t, j, dispensing(50))
	if rec.Seq != 51 {
		t.Errorf("seq %d, want 51", rec.Seq)
	}
	select {
	case <-j.integrity.done:
	default:
		t.Error("a write went ahead of the check")
	}
	if err := j.IntegrityErr(); err != nil {
		t.Errorf("IntegrityErr: %v", err)
	}
	j2, err := Open(ctx, filepath.Join(t.TempDir(), "new.db"), Options{CheckInBackground: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if j2.integrity != nil {
		t.Error("a journal just created was checked again")
	}
	// Closing, however soon, ends the check.
	other := filepath.Join(t.TempDir(), "other.db")
	tiskiJournal(t, other, 50)
	j3, err := Open(ctx, other, Options{CheckInBackground: true})
	if err != nil {
		t.Fatal(err)
	}
	if j3.integrity == nil {
		t.Fatal("no check started")
	}
	done := make(chan error, 1)
	go func() { done <- j3.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for ever")
	}
}
