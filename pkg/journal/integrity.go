package journal

import (
	"context"
	"sync"
)

// A counter opening a large journal would wait for PRAGMA integrity_check
// before its first frame: about 12 s at 1,000,000 records. With
// Options.CheckInBackground the check runs after Open instead, on a reader
// connection, while the counter reads (search, the queue, the status line);
// every write waits for it, and once it has failed every write is refused
// with the check's problems, so nothing is added to a damaged file.
type integrity struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	err error // the check's verdict: a corrupt journal, or the check's own failure
}

// checkInBackground starts the integrity check.
func (j *Journal) checkInBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	c := &integrity{cancel: cancel, done: make(chan struct{})}
	j.integrity = c
	go func() {
		defer close(c.done)
		problems, err := integrityCheck(ctx, j.r)
		if err == nil && len(problems) > 0 {
			err = damaged(problems, "Nothing more is written to it.")
		}
		if ctx.Err() != nil {
			return // closed before it finished: no verdict
		}
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
	}()
}

// awaitIntegrity waits for a background integrity check, and returns its
// failure; nil without one.
func (j *Journal) awaitIntegrity(ctx context.Context) error {
	c := j.integrity
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// IntegrityErr returns the failure of the background integrity check
// (Options.CheckInBackground) once it has failed: the journal is damaged
// and refuses writes. It is nil while the check runs, after it passed, and
// without one. It never waits.
func (j *Journal) IntegrityErr() error {
	c := j.integrity
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// stopIntegrity ends a background check that is still running.
func (j *Journal) stopIntegrity() {
	if c := j.integrity; c != nil {
		c.cancel()
		<-c.done
	}
}
