package queue_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/queue"
)

// manualClock is a Worker clock that moves only when told.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// backlog records n essential dispensings and leaves them waiting out an
// hour's backoff after attempts failed tries, as an outage leaves them.
func (e *env) backlog(n, attempts int) []journal.Record {
	e.t.Helper()
	var recs []journal.Record
	var ids []string
	for i := range n {
		r := e.essential([]string{matti, aino, eino}[i%3])
		recs = append(recs, r)
		ids = append(ids, r.ID)
	}
	for i := range attempts {
		got, err := e.j.Lease(e.ctx, "outage", n, time.Minute)
		if err != nil || len(got) != n {
			e.t.Fatalf("lease %d: %v", len(got), err)
		}
		next := time.Now()
		if i == attempts-1 {
			next = next.Add(time.Hour)
		}
		if err := e.j.RetryAll(e.ctx, "outage", ids, next, "connection refused"); err != nil {
			e.t.Fatal(err)
		}
	}
	return recs
}

func (e *env) countState(recs []journal.Record, state journal.OutboxState) int {
	n := 0
	for _, r := range recs {
		if e.entry(r.ID).State == state {
			n++
		}
	}
	return n
}

// TestWakeSpreadsTheBacklog: under full jitter, Wake makes the oldest
// waiting record due within WakeJitter and spreads the others over
// WakeSpread, instead of sending the whole backlog at once; with NoJitter
// every retry is due at once.
func TestWakeSpreadsTheBacklog(t *testing.T) {
	t.Parallel()
	const n = 20
	t.Run("full jitter", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		recs := e.backlog(n, 3)
		clock := &manualClock{now: time.Now()}
		cfg := fastConfig()
		cfg.Now = clock.Now
		cfg.InitialInterval, cfg.MaxInterval = time.Hour, time.Hour
		cfg.WakeJitter, cfg.WakeSpread = time.Millisecond, 50*time.Minute
		w := e.worker(e.client("", 0), cfg)
		if err := w.Wake(e.ctx); err != nil {
			t.Fatal(err)
		}
		// Before any wake time nothing is due.
		if s, err := w.Drain(e.ctx, true); err != nil || s.Uploaded != 0 {
			t.Fatalf("drain before the first wake time: %+v %v", s, err)
		}
		clock.advance(time.Millisecond)
		if s, err := w.Drain(e.ctx, true); err != nil || s.Uploaded != 1 {
			t.Fatalf("drain within WakeJitter: %+v %v, want the oldest record alone", s, err)
		}
		e.wantState(recs[0], journal.OutboxDone, "")
		// Halfway through the spread, about half of the rest; the chance
		// that none or all of 19 fall in one half is 2 in 2^19.
		clock.advance(25 * time.Minute)
		s, err := w.Drain(e.ctx, true)
		if err != nil || s.Uploaded == 0 || s.Uploaded == n-1 {
			t.Fatalf("drain halfway through the spread: %+v %v, want some of the rest and not all", s, err)
		}
		clock.advance(25 * time.Minute)
		if _, err := w.Drain(e.ctx, true); err != nil {
			t.Fatal(err)
		}
		if done := e.countState(recs, journal.OutboxDone); done != n {
			t.Fatalf("%d of %d done after the spread (the backoff alone would wait an hour)", done, n)
		}
	})
	t.Run("no jitter", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		recs := e.backlog(n, 3)
		cfg := fastConfig()
		cfg.NoJitter = true
		cfg.InitialInterval, cfg.MaxInterval = time.Hour, time.Hour
		w := e.worker(e.client("", 0), cfg)
		if err := w.Wake(e.ctx); err != nil {
			t.Fatal(err)
		}
		if s, err := w.Drain(e.ctx, true); err != nil || s.Uploaded != n {
			t.Fatalf("drain after the wake: %+v %v, want all %d at once", s, err, n)
		}
		e.check(recs, map[string]queue.ConflictKind{})
	})
}

// TestWakeRestartsTheBackoff: a record that failed twenty times during an
// outage and is throttled right after the recovery waits the Retry-After
// and a jitter below its first ceiling, not below the ceiling its outage
// attempts grew (here over an hour).
func TestWakeRestartsTheBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs := e.backlog(1, 20)
	if err := e.sim.SetFault(centresim.Fault{Kind: centresim.FaultThrottle, Seconds: 1}); err != nil {
		t.Fatal(err)
	}
	clock := &manualClock{now: time.Now()}
	cfg := fastConfig()
	cfg.Now = clock.Now
	cfg.InitialInterval, cfg.Multiplier, cfg.MaxInterval = 10*time.Millisecond, 2, 2*time.Hour
	cfg.WakeJitter = time.Millisecond
	w := e.worker(e.client("", 0), cfg)
	if err := w.Wake(e.ctx); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Millisecond)
	if s, err := w.Drain(e.ctx, true); err != nil || s.Retries != 1 {
		t.Fatalf("drain against a throttle: %+v %v, want one retry", s, err)
	}
	o := e.wantState(recs[0], journal.OutboxRetry, "")
	if wait := o.NextAttempt.Sub(clock.Now()); wait < time.Second || wait > time.Second+10*time.Millisecond+time.Millisecond {
		t.Fatalf("the throttled record waits %s, want the Retry-After (1 s) and at most its first ceiling (10 ms)", wait)
	}
}
