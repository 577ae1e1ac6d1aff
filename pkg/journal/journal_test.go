package journal

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openTest opens a fresh journal in a temporary directory.
func openTest(t testing.TB, c *clock) *Journal {
	t.Helper()
	opts := Options{Terminal: "tiski-test-1"}
	if c != nil {
		opts.Now = c.Now
	}
	j, err := Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := j.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return j
}

func mustAppend(t testing.TB, j *Journal, nr NewRecord) Record {
	t.Helper()
	rec, err := j.Append(context.Background(), nr)
	if err != nil {
		t.Fatalf("Append(%s): %v", nr.Kind, err)
	}
	return rec
}

func dispensing(n int) NewRecord {
	body, _ := json.Marshal(map[string]any{"n": n, "medicine": "panadol-500mg-tabl", "quantity": 30})
	return NewRecord{Kind: KindDispensing, Pharmacist: "anna", Patient: "131052-308T", Rules: []string{"essential.quantity"}, Body: body, Upload: true}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := rx.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	old := setUmask(0)
	defer setUmask(old)
	j := openTest(t, nil)
	mustAppend(t, j, dispensing(1))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(j.Path() + suffix)
		if err != nil {
			t.Fatalf("stat %s: %v", suffix, err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("journal%s mode = %o, want 600", suffix, perm)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(j.Path()))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case "journal.db", "journal.db-wal", "journal.db-shm":
		default:
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestMigrateFreshDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var appID, version, applied int
	if err := j.r.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		t.Fatal(err)
	}
	if err := j.r.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := j.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if appID != ApplicationID || version != schemaVersion || applied != schemaVersion {
		t.Errorf("application_id %x, user_version %d, migrations %d; want %x, %d, %d", appID, version, applied, ApplicationID, schemaVersion, schemaVersion)
	}
	var mode string
	if err := j.w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var sync int
	if err := j.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	// Every table is STRICT.
	rows, err := j.r.QueryContext(ctx, `SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var strict int
		if err := rows.Scan(&name, &strict); err != nil {
			t.Fatal(err)
		}
		if strict != 1 {
			t.Errorf("table %s is not STRICT", name)
		}
	}
	// Reopening applies nothing twice.
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer j2.Close()
	if err := j2.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil || applied != schemaVersion {
		t.Errorf("after reopen: %d migrations recorded, %v", applied, err)
	}
}
