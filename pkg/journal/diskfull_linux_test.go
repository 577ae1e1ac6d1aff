//go:build linux

package journal

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// limitFileSize lets the journal's files grow by a little more than half a
// megabyte: a full disk, as far as this process can tell. A write past the
// limit fails with EFBIG instead of killing the process with SIGXFSZ.
func limitFileSize(path string) error {
	signal.Ignore(syscall.SIGXFSZ)
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(path + suffix); err == nil {
			size = max(size, fi.Size())
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return err
	}
	lim.Cur = uint64(size + 600<<10)
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
}

// TestDiskFull fills the journal in a child process whose files may not grow
// (RLIMIT_FSIZE): the append that does not fit fails with EDISKFULL and the
// paper-fallback message, and the journal stays sound with every confirmed
// record intact.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newJournalFile(t)
	j, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	confirmed := map[string]bool{}
	for i := range 20 {
		confirmed[mustAppend(t, j, dispensing(i)).ID] = true
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	c := startHelper(t, "diskfull", path, "0")
	lines, err := c.finish()
	if err != nil {
		t.Fatalf("helper: %v (output %q)", err, lines)
	}
	ok := confirmedIDs(lines, "ok")
	for _, id := range ok {
		confirmed[id] = true
	}
	fail := confirmedIDs(lines, "fail")
	again := confirmedIDs(lines, "again")
	if len(ok) < 10 || len(fail) != 1 || len(again) != 1 {
		t.Fatalf("helper output: %d confirmed, fail %q, again %q", len(ok), fail, again)
	}
	code, msg, _ := strings.Cut(fail[0], "\t")
	if code != rx.EDISKFULL || !strings.Contains(msg, "paper fallback") {
		t.Errorf("the failed append said %s %q; want %s and the paper fallback", code, msg, rx.EDISKFULL)
	}
	if again[0] != rx.EDISKFULL {
		t.Errorf("the next append said %s, want %s", again[0], rx.EDISKFULL)
	}
	n := checkJournal(t, path, confirmed)
	if n != len(confirmed) {
		t.Errorf("%d records in the journal, %d confirmed: a failed append left a record", n, len(confirmed))
	}
	t.Logf("%d records confirmed before the disk was full", len(ok))
	// With room again, the journal takes records.
	j, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	mustAppend(t, j, dispensing(99))
}
