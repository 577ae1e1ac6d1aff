package journal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openFiles counts this process's descriptors open on files whose names
// start with prefix.
func openFiles(t *testing.T, prefix string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, prefix) {
			n++
		}
	}
	return n
}

// TestReleaseIdleHoldsNoDescriptor: a journal opened with ReleaseIdle holds
// no descriptor between calls (the herd's 8,300 journals in one process
// need that), and still appends, reads and leases; without it, the same
// journal keeps its connections, and their files, open.
func TestReleaseIdleHoldsNoDescriptor(t *testing.T) {
	ctx := context.Background()
	for _, release := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "journal.db")
		j, err := Open(ctx, path, Options{Terminal: "herd-0001", ReleaseIdle: release})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			mustAppend(t, j, dispensing(i))
		}
		recs, err := j.List(ctx, Filter{})
		if err != nil || len(recs) != 5 {
			t.Fatalf("ReleaseIdle %v: list %d records, %v; want 5", release, len(recs), err)
		}
		if got, err := j.Lease(ctx, "herd", 5, time.Minute); err != nil || len(got) != 5 {
			t.Fatalf("ReleaseIdle %v: lease %d, %v; want 5", release, len(got), err)
		}
		n := openFiles(t, path)
		switch {
		case release && n != 0:
			t.Errorf("ReleaseIdle: %d descriptors open on the idle journal, want none", n)
		case !release && n == 0:
			t.Errorf("without ReleaseIdle no descriptor is open on the journal: the check counts nothing")
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
