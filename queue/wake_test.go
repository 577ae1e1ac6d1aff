package queue_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
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

// sendTimes is a Centre that notes when each dispensing was sent.
type sendTimes struct {
	queue.Centre
	mu sync.Mutex
	at []time.Time
}

func (c *sendTimes) RecordDispensing(ctx context.Context, d rx.Dispensing, opts ...centre.Option) (centre.Receipt, error) {
	c.mu.Lock()
	c.at = append(c.at, time.Now())
	c.mu.Unlock()
	return c.Centre.RecordDispensing(ctx, d, opts...)
}

// TestWakePacesTheBacklog: under full jitter, Wake makes the whole backlog
// due but sends it in a slow start (pace.go): the first record within
// WakeJitter, the next ones paced from WakeRate, so a backlog is neither
// sent in one burst nor left to a long schedule. With NoJitter every
// record goes at once. The simulator here gives no rate-limit hint, so the
// slow start is the client's own.
func TestWakePacesTheBacklog(t *testing.T) {
	t.Parallel()
	const n = 20
	drain := func(t *testing.T, e *env, cfg queue.Config) []time.Duration {
		c := &sendTimes{Centre: e.client("", 0)}
		cfg.InitialInterval, cfg.MaxInterval = time.Hour, time.Hour
		w := e.worker(c, cfg)
		start := time.Now()
		if err := w.Wake(e.ctx); err != nil {
			t.Fatal(err)
		}
		if s, err := w.Drain(e.ctx, false); err != nil || s.Uploaded != n {
			t.Fatalf("drain after the wake: %+v %v, want all %d", s, err, n)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		var at []time.Duration
		for _, a := range c.at {
			at = append(at, a.Sub(start))
		}
		return at
	}
	t.Run("full jitter", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		recs := e.backlog(n, 3)
		cfg := fastConfig()
		cfg.Rate, cfg.Burst, cfg.WakeRate, cfg.WakeJitter = 100, 10, 4, 200*time.Millisecond
		at := drain(t, e, cfg)
		e.check(recs, map[string]queue.ConflictKind{})
		if len(at) != n {
			t.Fatalf("%d dispensings sent, want %d", len(at), n)
		}
		// A loaded machine makes gaps longer, never shorter: the lower
		// bounds hold anywhere; the upper ones are wide.
		if at[0] > 5*time.Second {
			t.Errorf("the first record went %s after the wake, want within WakeJitter (200ms) and some slack", at[0])
		}
		// The pace is spread (pace.go): each wait for a token is ½ to
		// 1½ of what it would be, and waits follow the rate, which grows
		// by half with each answer of the slow start (4, 6, 9, 13.5 a
		// second). So the second record goes at least ½ × 1/6 s ≈ 83 ms
		// after the first (the first answer comes in a few ms on
		// loopback), and the four after the first take at least
		// ½ × (1/6 + 1/9 + 1/13.5 + 1/20) ≈ 200 ms: far from the burst of
		// a few milliseconds that the no-jitter client sends. (Before
		// waits followed the rate, these bounds were 100 and 300 ms; CI
		// saw 250 ms once they did.)
		if gap := at[1] - at[0]; gap < 60*time.Millisecond {
			t.Errorf("the second record went %s after the first, want about a sixth of a second (WakeRate 4, grown by half), spread by half", gap)
		}
		if burst := at[4] - at[0]; burst < 150*time.Millisecond {
			t.Errorf("five records within %s of the wake's first, want a slow start", burst)
		}
		if last := at[len(at)-1]; last > 30*time.Second {
			t.Errorf("the backlog took %s to send after the wake, want the slow start to reach speed within seconds (the backoff alone would wait an hour)", last)
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
		if last := at[len(at)-1]; last > 5*time.Second {
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
