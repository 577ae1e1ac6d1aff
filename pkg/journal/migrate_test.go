package journal

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// schema1Journal makes a closed journal of schema 1 at path, as tiski wrote
// it before migration 0002, with entries in every outbox state schema 1
// knows, a prescription with dependents, and a record not uploaded.
func schema1Journal(t *testing.T, path string, c *clock) {
	t.Helper()
	ctx := context.Background()
	if err := createPrivate(path); err != nil {
		t.Fatal(err)
	}
	j, err := connect(path, Options{Now: c.Now, Terminal: "schema-1", BusyTimeout: 10 * time.Second}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.migrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	paper := appendV1(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna", Patient: "131052-308T", Upload: true})
	for i := range 2 {
		d := dispensing(100 + i)
		d.DependsOn = paper.ID
		appendV1(t, j, d)
	}
	var ids []string
	for i := range 7 {
		c.Add(time.Second)
		ids = append(ids, appendV1(t, j, dispensing(i)).ID)
	}
	appendV1(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna"}) // kept locally
	leased, err := j.Lease(ctx, "w", 7, time.Hour)                             // the prescription and ids[0..5]
	must(err)
	if len(leased) != 7 {
		t.Fatalf("leased %d", len(leased))
	}
	must(j.Complete(ctx, paper.ID, "w", "MedicationRequest/1"))
	must(j.Complete(ctx, ids[0], "w", "MedicationDispense/1"))
	must(j.Retry(ctx, ids[1], "w", c.Now().Add(time.Minute), "503"))
	must(j.Conflict(ctx, ids[2], "w", "dispensed elsewhere"))
	must(j.Reject(ctx, ids[3], "w", "422 expired"))
	must(j.Reject(ctx, ids[4], "w", "422 unknown patient"))
	must(j.Park(ctx, ids[4], "waiting for Kela"))
	// ids[5] stays sending, ids[6] pending; the dependents are pending and
	// now due.
	must(j.Close())
}

// appendV1 appends as tiski did before migration 0004 made an append one
// statement: an INSERT into records and one into outbox, in a transaction.
func appendV1(t *testing.T, j *Journal, nr NewRecord) Record {
	t.Helper()
	ctx := context.Background()
	var rec Record
	err := j.writeRecords(ctx, "append record (schema 1)", func(tx *tx) error {
		h, err := readHead(ctx, tx)
		if err != nil {
			return err
		}
		var args []any
		if rec, args, err = j.newRecord(nr, h, tx.now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO records (seq, id, kind, time, created_at, pharmacist, terminal, mode, rules, refers_to, patient, body, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args[:14]...); err != nil {
			return err
		}
		if !nr.Upload {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO outbox (record_seq, record_id, kind, state, next_attempt, depends_on, created_at, updated_at)
			VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)`, rec.Seq, rec.ID, string(rec.Kind), ts(tx.now), nullable(nr.DependsOn), ts(tx.now), ts(tx.now))
		return err
	})
	if err != nil {
		t.Fatalf("append %s: %v", nr.Kind, err)
	}
	return rec
}

// dump returns the rows of a query, each formatted as one string.
func dump(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%v", vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fileState is what migration must keep: every row, the counts, the hashes,
// and the definitions of the outbox's indexes and triggers.
type fileState struct {
	version                int
	outbox, records, count []string
	indexes, triggers      []string
	foreignKeys            []string
}

func readState(t *testing.T, path string) fileState {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s fileState
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&s.version); err != nil {
		t.Fatal(err)
	}
	s.outbox = dump(t, db, `SELECT * FROM outbox ORDER BY record_seq`)
	s.records = dump(t, db, `SELECT seq, id, kind, time, created_at, pharmacist, terminal, mode, rules, refers_to, patient, body, prev_hash, hash
		FROM records ORDER BY seq`)
	s.count = dump(t, db, `SELECT state, n FROM outbox_counts WHERE state <> 'voided' ORDER BY state`)
	s.indexes = dump(t, db, `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'outbox' AND sql IS NOT NULL ORDER BY name`)
	s.triggers = dump(t, db, `SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'outbox' ORDER BY name`)
	s.foreignKeys = dump(t, db, `SELECT "from", "table", "to" FROM pragma_foreign_key_list('outbox') ORDER BY "from"`)
	return s
}

func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	path := filepath.Join(t.TempDir(), "journal.db")
	schema1Journal(t, path, c)
	before := readState(t, path)
	if before.version != 1 || len(before.outbox) != 10 || len(before.records) != 11 {
		t.Fatalf("schema 1 journal: version %d, %d entries, %d records", before.version, len(before.outbox), len(before.records))
	}

	j, err := Open(ctx, path, Options{Now: c.Now})
	if err != nil {
		t.Fatalf("Open migrates: %v", err)
	}
	defer j.Close()
	after := readState(t, path)
	if after.version != schemaVersion {
		t.Errorf("user_version %d, want %d", after.version, schemaVersion)
	}
	for _, f := range []struct {
		name          string
		before, after []string
	}{
		{"outbox rows", before.outbox, after.outbox},
		{"records", before.records, after.records},
		{"counts", before.count, after.count},
		{"outbox triggers", before.triggers, after.triggers},
		{"outbox foreign keys", before.foreignKeys, after.foreignKeys},
	} {
		if !slices.Equal(f.before, f.after) {
			t.Errorf("%s changed:\nbefore %q\nafter  %q", f.name, f.before, f.after)
		}
	}
	// Migration 3 made outbox_unsent and outbox_state one index.
	wantIndexes := []string{
		"[outbox_depends_on CREATE INDEX outbox_depends_on ON outbox (depends_on) WHERE depends_on IS NOT NULL]",
		"[outbox_open CREATE INDEX outbox_open ON outbox (record_seq) WHERE state NOT IN ('done', 'voided')]",
	}
	if !slices.Equal(after.indexes, wantIndexes) {
		t.Errorf("outbox indexes after migration:\n%q\nwant\n%q", after.indexes, wantIndexes)
	}
	if len(after.triggers) != 3 || len(after.foreignKeys) != 3 {
		t.Errorf("outbox has %d triggers, %d foreign keys; want 3 each", len(after.triggers), len(after.foreignKeys))
	}
	var leftover int
	if err := j.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name LIKE '%outbox_new%'`).Scan(&leftover); err != nil || leftover != 0 {
		t.Errorf("%d objects named outbox_new left, %v", leftover, err)
	}
	var fkOn int
	if err := j.w.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fkOn); err != nil || fkOn != 1 {
		t.Errorf("foreign_keys = %d after migration, %v; want 1", fkOn, err)
	}
	// Migration 5: the records before it have their outbox entries, so
	// the intake starts after them.
	var through, marked int
	if err := j.r.QueryRowContext(ctx, `SELECT (SELECT through FROM outbox_intake), (SELECT count(*) FROM records WHERE upload = 1 OR depends_on IS NOT NULL)`).
		Scan(&through, &marked); err != nil || through != 11 || marked != 0 {
		t.Errorf("after migration 5: intake through %d, %d records marked, %v; want 11 and 0", through, marked, err)
	}
	rep, err := j.Verify(ctx)
	if err != nil || !rep.OK || rep.Records != 11 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	checkCounts(t, j)

	// The new state works on the migrated file, and the migrated triggers
	// count it.
	pending, err := j.OutboxList(ctx, OutboxPending)
	if err != nil {
		t.Fatal(err)
	}
	var last OutboxEntry
	for _, e := range pending {
		if e.DependsOn == "" {
			last = e
		}
	}
	if _, err := j.Resolve(ctx, voidOf(last.RecordID), OutboxVoided); err != nil {
		t.Fatal(err)
	}
	cnt, err := j.Counts(ctx)
	if err != nil || cnt.Voided != 1 || cnt.Pending != 2 || cnt.Done != 2 || cnt.Retry != 1 || cnt.Conflict != 1 ||
		cnt.Rejected != 1 || cnt.Parked != 1 || cnt.Sending != 1 {
		t.Errorf("Counts after a void = %+v, %v", cnt, err)
	}
	checkCounts(t, j)
	// A foreign key still holds: a dependent must name an outbox entry.
	if _, err := j.w.ExecContext(ctx, `UPDATE outbox SET depends_on = 'no-such-record' WHERE record_id = ?`, last.RecordID); err == nil ||
		!strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("a dangling depends_on was accepted: %v", err)
	}
}

// checkCounts checks that the counts kept by triggers equal the rows.
func checkCounts(t *testing.T, j *Journal) {
	t.Helper()
	var bad int
	err := j.r.QueryRow(`SELECT count(*) FROM outbox_counts c
		WHERE c.n <> (SELECT count(*) FROM outbox o WHERE o.state = c.state)`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d outbox counts differ from the rows, %v", bad, err)
	}
	var states int
	if err := j.r.QueryRow(`SELECT count(*) FROM outbox_counts`).Scan(&states); err != nil || states != 8 {
		t.Errorf("outbox_counts has %d states, %v; want 8", states, err)
	}
}

func voidOf(id string) NewRecord {
	return NewRecord{Kind: KindVoid, Pharmacist: "anna", RefersTo: id, Body: []byte(`{"reason":"entered in error"}`)}
}
