package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/tiski-rx/tiski/pkg/journal"
)

// damageJournal appends n records to the journal at path and overwrites
// its last page (the newest records), leaving the header: a file that
// opens but fails PRAGMA integrity_check.
func damageJournal(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	j, err := journal.Open(ctx, path, journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		body, _ := json.Marshal(map[string]any{"n": i, "note": strings.Repeat("x", 200)})
		if _, err := j.Append(ctx, journal.NewRecord{Kind: journal.KindDispensing, Pharmacist: "aino", Body: body, Upload: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA journal_mode = DELETE`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := (len(data)/4096 - 1) * 4096
	for i := last + 8; i < last+4096; i++ {
		data[i] = 0xA5
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCounterOnDamagedJournal: the counter opens on a journal that fails
// its integrity check without waiting for the check, says on its status
// line that the journal is damaged and what to do, and adds nothing to it
// (queue list shows the records it had). Other commands still refuse the
// file outright.
func TestCounterOnDamagedJournal(t *testing.T) {
	r := counterData(t)
	path := filepath.Join(r.data, "journal.db")
	damageJournal(t, path, 120)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The first frame does not wait for the check.
	if out := r.ok("", "counter", "--first-frame"); !strings.HasPrefix(out, "first-frame ") {
		t.Fatalf("counter --first-frame on a damaged journal: %q", out)
	}

	s := newTmux(t, 120, 40, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, tiskiBin+" counter --data "+r.data)
	s.waitFor("Sign in")
	s.keys("aino", "Enter")
	s.keys("4711", "Enter")
	s.waitFor("JOURNAL DAMAGED")
	s.waitFor("paper fallback")
	s.keys("C-c")

	r.fails(1, "integrity check", "", "queue", "list")
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the damaged journal grew from %d to %d bytes", len(before), len(after))
	}
}
