package journal

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// rawSQLite makes an SQLite file at path with the statements, through a
// plain connection in rollback-journal mode, so it leaves no WAL behind.
func rawSQLite(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// tiskiJournal makes a closed journal with records at path.
func tiskiJournal(t *testing.T, path string, records int) {
	t.Helper()
	j, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range records {
		mustAppend(t, j, dispensing(i))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, path string)
		code    string
		message string
	}{
		{"text file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("pharmacy,notes\nnot a database\n"), 0o600)
		}, rx.EINVALID, "not an SQLite database"},
		{"empty file", func(t *testing.T, path string) {
			os.WriteFile(path, nil, 0o600)
		}, rx.EINVALID, "empty file"},
		{"short file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("SQLite format 3\x00"), 0o600)
		}, rx.EINVALID, "not an SQLite database"},
		{"another application's database", func(t *testing.T, path string) {
			rawSQLite(t, path, `CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)`, `INSERT INTO notes (text) VALUES ('hello')`)
		}, rx.EINVALID, "another application"},
		{"another application id", func(t *testing.T, path string) {
			rawSQLite(t, path, `PRAGMA application_id = 1234`, `CREATE TABLE notes (id INTEGER PRIMARY KEY)`)
		}, rx.EINVALID, "another application"},
		{"newer tiski", func(t *testing.T, path string) {
			tiskiJournal(t, path, 3)
			rawSQLite(t, path, `PRAGMA journal_mode = DELETE`, `PRAGMA user_version = `+strconv.Itoa(schemaVersion+1))
		}, rx.EINVALID, "newer tiski"},
		{"fails integrity_check", func(t *testing.T, path string) {
			tiskiJournal(t, path, 120)
			rawSQLite(t, path, `PRAGMA journal_mode = DELETE`)
			scribble(t, path)
		}, rx.ECORRUPT, "integrity check"},
		{"fails integrity_check in WAL mode", func(t *testing.T, path string) {
			tiskiJournal(t, path, 120)
			scribble(t, path)
		}, rx.ECORRUPT, "integrity check"},
	}
	for _, tt := range tests {
		for _, skip := range []bool{false, true} {
			name := tt.name
			if skip {
				if tt.code == rx.ECORRUPT {
					continue // that is what skipping skips
				}
				name += " without integrity check"
			}
			t.Run(name, func(t *testing.T) { refused(t, tt.make, Options{SkipIntegrityCheck: skip}, tt.code, tt.message) })
		}
	}
}

// refused checks that Open refuses the file make makes, with the code and a
// message saying why, and leaves it as it was.
func refused(t *testing.T, makeFile func(t *testing.T, path string), opts Options, code, message string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.db")
	makeFile(t, path)
	// An old mtime shows any write, however quick.
	old := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := Open(context.Background(), path, opts)
	if err == nil {
		j.Close()
		t.Fatal("Open succeeded")
	}
	wantCode(t, err, code)
	if msg := rx.ErrorMessage(err); !strings.Contains(msg, message) || !strings.Contains(msg, "not changed") {
		t.Errorf("message %q, want it to say %q and that the file was not changed", msg, message)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the file's bytes changed")
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("mtime %v, want %v (%v)", fi.ModTime(), old, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "journal.db" {
			t.Errorf("Open left %s behind", e.Name())
		}
	}
}

func TestSkipIntegrityCheckLeavesItToVerify(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	tiskiJournal(t, path, 120)
	scribble(t, path)
	j, err := Open(ctx, path, Options{SkipIntegrityCheck: true})
	if err != nil {
		t.Fatalf("Open without integrity check: %v", err)
	}
	defer j.Close()
	rep, err := j.Verify(ctx)
	if err == nil && rep.OK {
		t.Fatalf("Verify passed a damaged journal: %+v", rep)
	}
	if err != nil {
		wantCode(t, err, rx.ECORRUPT)
	}
}

func TestOpenRecoversCrashedJournal(t *testing.T) {
	// A journal whose WAL was left behind is ours: Open replays it and
	// checks integrity afterwards.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 10 {
		ids = append(ids, mustAppend(t, j, dispensing(i)).ID)
	}
	// Copy the files as a crash would leave them, while j is open.
	crashed := filepath.Join(t.TempDir(), "journal.db")
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	c, err := Open(ctx, crashed, Options{})
	if err != nil {
		t.Fatalf("Open crashed journal: %v", err)
	}
	defer c.Close()
	for _, id := range ids {
		if _, err := c.Get(ctx, id); err != nil {
			t.Errorf("record %s lost: %v", id, err)
		}
	}
}

// scribble overwrites the file's last page, leaving the header. The last
// page holds the newest records or their outbox entries, so it is in use;
// a page in the middle may be an empty table's leaf (users), whose unused
// bytes integrity_check rightly ignores.
func scribble(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := 4096
	mid := (len(data)/page - 1) * page
	for i := mid + 8; i < mid+page; i++ {
		data[i] = 0xA5
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
