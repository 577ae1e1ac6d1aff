package journal

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestWriterFairness has a child process append back to back, never
// pausing, while this process appends now and then, as the counter does
// while a sync run settles a backlog. Each of this process's appends must
// get its turn quickly: SQLite's own busy handler sleeps up to 100 ms
// between tries and can lose every race for the lock until its busy
// timeout.
func TestWriterFairness(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	t.Parallel()
	path := newJournalFile(t)
	ctx := context.Background()
	j, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	h := startHelper(t, "hammer", path, "")
	h.waitReady(t)
	defer func() {
		h.cmd.Process.Kill()
		h.finish()
	}()
	time.Sleep(100 * time.Millisecond) // let the hammering start
	before, err := j.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	var waits []time.Duration
	for i := range n {
		start := time.Now()
		if _, err := j.Append(ctx, dispensing(i)); err != nil {
			t.Fatalf("append %d while another process hammers: %v (after %v)", i, err, time.Since(start))
		}
		waits = append(waits, time.Since(start))
		time.Sleep(10 * time.Millisecond)
	}
	after, err := j.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hammered := after.Pending - before.Pending - n
	slices.Sort(waits)
	worst := waits[len(waits)-1]
	t.Logf("%d appends beside %d appended by the other process: median wait %v, p90 %v, worst %v",
		n, hammered, waits[len(waits)/2], waits[len(waits)*9/10], worst)
	if hammered < 100 {
		t.Errorf("the other process appended only %d records meanwhile: it was not hammering", hammered)
	}
	if worst > 2*time.Second {
		t.Errorf("worst wait %v, want well under 2 s", worst)
	}
}
