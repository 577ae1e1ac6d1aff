package journal

import (
	"context"
	"sync"
	"time"
)

// Checkpoints (copying the WAL into the main file).
//
// SQLite checkpoints automatically inside the commit that takes the WAL
// past wal_autocheckpoint pages, so that one durable append also writes
// and fsyncs the main file. At SQLite's default of 1,000 pages that was one
// append in ninety, and it was the 99th percentile (DESIGN §10: p99 within
// 2× the fsync floor).
//
// So a checkpointer copies the WAL when the journal is idle: after
// checkpointIdle without a write, once checkpointAfter records have been
// written. A counter appends a record every few seconds at most, so it
// checkpoints between appends and no append pays for it. It runs on the
// writer connection, which this process's writes queue for anyway: nothing
// in this process writes in between, so the checkpoint copies the whole
// WAL and the next write starts the WAL over from its beginning, overwriting
// it rather than growing the file (an fsync of a growing file also commits
// its new size and blocks, and costs about twice as much).
//
// Under a sustained stream of writes (a sync run settling a backlog, a bulk
// import, the benchmark) the journal is never idle; SQLite's own
// checkpoint remains as the backstop, at checkpointPages. An append writes
// four pages, so at 4,000 pages it fell on one append in 1,000, and the
// append after it (which starts the WAL over, and syncs its header: a
// second fsync) was slow too: 20 slow appends in 10,000 put the 99th
// percentile at the 99.2nd of the others, about 15% higher on this disk
// (tiskibench, issue 20). At 16,000 pages it is one append in 4,000. The
// checkpoint then copies more at once, but each page once however often it
// was written, and the WAL (64 MB at most) is copied whole when idle.
const (
	checkpointAfter = 64                     // records written before an idle checkpoint
	checkpointIdle  = 100 * time.Millisecond // no write for this long is idle
	checkpointPages = 16000                  // wal_autocheckpoint of the writer: about 64 MB of WAL
)

// checkpointer copies the WAL into the main file when the journal is idle.
type checkpointer struct {
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	written int       // records written since the last checkpoint began
	last    time.Time // the last write
}

// startCheckpointer starts j's checkpointer; Close stops it.
func (j *Journal) startCheckpointer() {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	j.ckpt = c
	go func() {
		defer close(c.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.kick:
			}
			if !c.waitIdle(ctx) {
				return
			}
			// A failure (another process is checkpointing, the disk is
			// full) leaves the WAL to the next checkpoint; the write that
			// follows reports a real problem.
			var busy, logged, copied int
			j.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied)
		}
	}()
}

// waitIdle waits until no write has happened for checkpointIdle; false
// when ctx ended first.
func (c *checkpointer) waitIdle(ctx context.Context) bool {
	for {
		c.mu.Lock()
		wait := checkpointIdle - time.Since(c.last)
		if wait <= 0 {
			c.written = 0
		}
		c.mu.Unlock()
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// wrote notes n records written; once checkpointAfter have been, it kicks
// the checkpointer. It never blocks.
func (c *checkpointer) wrote(n int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.written += n
	c.last = time.Now()
	full := c.written >= checkpointAfter
	c.mu.Unlock()
	if full {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// stop ends the checkpointer and waits for it.
func (c *checkpointer) stop() {
	if c == nil {
		return
	}
	c.cancel()
	<-c.done
}
