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

// jumpingClock is a Worker clock whose After moves it at once: the
// Worker's waits take no real time, and its uploads none of the clock's.
// For one goroutine waiting at a time (Concurrency 1).
type jumpingClock struct{ manualClock }

func (c *jumpingClock) After(d time.Duration) <-chan time.Time {
	c.advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

// TestWakePacesTheBacklog: under full jitter, Wake makes the whole backlog
// due but sends it in a slow start (pace.go): the first record within
// WakeJitter, the second a second later (WakeRate 1), then faster, so a
// backlog is neither sent in one burst nor left to a long schedule. With
// NoJitter every record goes at once.
func TestWakePacesTheBacklog(t *testing.T) {
	t.Parallel()
	const n = 20
	drain := func(t *testing.T, e *env, cfg queue.Config) []time.Duration {
		clock := &jumpingClock{manualClock{now: time.Now()}}
		start := clock.Now()
		var mu sync.Mutex
		var at []time.Duration
		cfg.Concurrency, cfg.Now, cfg.After = 1, clock.Now, clock.After
		cfg.OnOutcome = func(o queue.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			if o.State == journal.OutboxDone {
				at = append(at, clock.Now().Sub(start))
			}
		}
		cfg.InitialInterval, cfg.MaxInterval = time.Hour, time.Hour
		w := e.worker(e.client("", 0), cfg)
		if err := w.Wake(e.ctx); err != nil {
			t.Fatal(err)
		}
		if s, err := w.Drain(e.ctx, false); err != nil || s.Uploaded != n {
			t.Fatalf("drain after the wake: %+v %v, want all %d", s, err, n)
		}
		mu.Lock()
		defer mu.Unlock()
		return at
	}
	t.Run("full jitter", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		recs := e.backlog(n, 3)
		cfg := fastConfig()
		cfg.Rate, cfg.Burst, cfg.WakeRate, cfg.WakeJitter = 100, 10, 1, 500*time.Millisecond
		at := drain(t, e, cfg)
		e.check(recs, map[string]queue.ConflictKind{})
		if at[0] > 500*time.Millisecond {
			t.Errorf("the first record went %s after the wake, want within WakeJitter (500ms)", at[0])
		}
		if gap := at[1] - at[0]; gap < 900*time.Millisecond {
			t.Errorf("the second record went %s after the first, want about a second (WakeRate 1)", gap)
		}
		inFirst := 0
		for _, d := range at {
			if d < at[0]+time.Second {
				inFirst++
			}
		}
		if inFirst > 1 {
			t.Errorf("%d records in the first second after the wake, want a slow start", inFirst)
		}
		// Doubling every second: 1, 2, 4, 8, 16 a second sends 20 within
		// about 5 seconds; the backoff alone would wait an hour.
		if last := at[len(at)-1]; last > 8*time.Second {
			t.Errorf("the backlog took %s to send after the wake, want the slow start to reach speed within seconds", last)
		}
		t.Logf("sent at %v", at)
	})
	t.Run("no jitter", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		recs := e.backlog(n, 3)
		cfg := fastConfig()
		cfg.NoJitter = true
		at := drain(t, e, cfg)
		e.check(recs, map[string]queue.ConflictKind{})
		if last := at[len(at)-1]; last != 0 {
			t.Errorf("the naive client's last record went %s after the wake, want all at once", last)
		}
	})
}

// TestWakeRestartsTheBackoff: a record that failed twenty times during an
// outage and fails again right after the recovery (503, Retry-After 1)
// waits the Retry-After and a jitter below its first ceiling, not below
// the ceiling its outage attempts grew (here over an hour).
func TestWakeRestartsTheBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs := e.backlog(1, 20)
	if err := e.sim.SetFault(centresim.Fault{Kind: centresim.FaultFlaky, Ratio: 1}); err != nil {
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
		t.Fatalf("drain against a failing service: %+v %v, want one retry", s, err)
	}
	o := e.wantState(recs[0], journal.OutboxRetry, "")
	if wait := o.NextAttempt.Sub(clock.Now()); wait < time.Second || wait > time.Second+10*time.Millisecond+time.Millisecond {
		t.Fatalf("the failed record waits %s, want the Retry-After (1 s) and at most its first ceiling (10 ms)", wait)
	}
}
