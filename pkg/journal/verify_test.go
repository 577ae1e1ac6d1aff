package journal

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestVerifySound(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	rep, err := j.Verify(ctx)
	if err != nil || !rep.OK || rep.Records != 0 {
		t.Fatalf("empty journal: %+v, %v", rep, err)
	}
	for i := range 20 {
		mustAppend(t, j, dispensing(i))
	}
	rep, err = j.Verify(ctx)
	if err != nil || !rep.OK || rep.Records != 20 || rep.FirstBad != nil || len(rep.Integrity) != 0 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

// sqlite3CLI returns the sqlite3 command-line shell, skipping the test when
// it is not installed.
func sqlite3CLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("the sqlite3 command-line shell is not installed (apt-get install sqlite3); CI installs it")
	}
	return p
}

func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	cli := sqlite3CLI(t)
	tests := []struct {
		name      string
		sql       string
		badSeq    int64 // 0: no record named
		records   int64
		inProblem string
	}{
		{"body changed", `DROP TRIGGER records_no_update; UPDATE records SET body = '{"n":99}' WHERE seq = 3;`, 3, 5, "changed after it was written"},
		{"patient changed", `DROP TRIGGER records_no_update; UPDATE records SET patient = '010101A900X' WHERE seq = 4;`, 4, 5, "changed after it was written"},
		{"record removed from the middle", `PRAGMA foreign_keys = OFF; DROP TRIGGER records_no_delete; DELETE FROM records WHERE seq = 3;`, 4, 4, "missing"},
		{"last record removed", `PRAGMA foreign_keys = OFF; DROP TRIGGER records_no_delete; DELETE FROM records WHERE seq = 5;`, 0, 4, "the last records are missing"},
		{"hash recomputed but chain broken", `DROP TRIGGER records_no_update; UPDATE records SET hash = 'ab' WHERE seq = 2;`, 2, 5, "changed after it was written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.db")
			j, err := Open(ctx, path, Options{Terminal: "t1"})
			if err != nil {
				t.Fatal(err)
			}
			var recs []Record
			for i := range 5 {
				recs = append(recs, mustAppend(t, j, dispensing(i)))
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(cli, path, tt.sql).CombinedOutput(); err != nil {
				t.Fatalf("sqlite3: %v: %s", err, out)
			}
			j, err = Open(ctx, path, Options{})
			if err != nil {
				t.Fatalf("Open after tampering: %v", err)
			}
			defer j.Close()
			rep, err := j.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.Records != tt.records || !strings.Contains(rep.Problem, tt.inProblem) {
				t.Fatalf("Verify = %+v", rep)
			}
			if tt.badSeq == 0 {
				if rep.FirstBad != nil {
					t.Errorf("FirstBad = %+v, want none", rep.FirstBad)
				}
				return
			}
			want := recs[tt.badSeq-1]
			if rep.FirstBad == nil || rep.FirstBad.Seq != want.Seq || rep.FirstBad.ID != want.ID {
				t.Fatalf("FirstBad = %+v, want seq %d id %s", rep.FirstBad, want.Seq, want.ID)
			}
			if !strings.Contains(rep.Problem, want.ID) {
				t.Errorf("problem %q does not name the record", rep.Problem)
			}
		})
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	for i := range 50 {
		mustAppend(t, j, dispensing(i))
	}
	// Back up while another goroutine keeps appending.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := j.Append(ctx, dispensing(100+i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	to := filepath.Join(t.TempDir(), "backup.db")
	err := j.Backup(ctx, to)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(to)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup: %v, mode %v", err, fi.Mode())
	}
	before, _ := os.ReadFile(to)
	wantCode(t, j.Backup(ctx, to), rx.ECONFLICT)
	after, _ := os.ReadFile(to)
	if string(before) != string(after) {
		t.Error("a refused backup changed the existing file")
	}
	b, err := Open(ctx, to, Options{})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer b.Close()
	rep, err := b.Verify(ctx)
	if err != nil || !rep.OK || rep.Records < 50 {
		t.Errorf("backup Verify = %+v, %v", rep, err)
	}
	err = j.Backup(ctx, filepath.Join(t.TempDir(), "no", "such", "dir.db"))
	if err == nil || errors.Is(err, os.ErrExist) {
		t.Errorf("backup into a missing directory: %v", err)
	}
}
