package queue

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// backoffCap is the ceiling of the wait before attempt n+1 of a record that
// has failed n times (n counts from 1): InitialInterval × Multiplier^(n-1),
// at most MaxInterval. cenkalti/backoff computes it without its own jitter;
// full jitter is applied on top (jitter).
func (c *Config) backoffCap(attempts int) time.Duration {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     c.InitialInterval,
		RandomizationFactor: 0,
		Multiplier:          c.Multiplier,
		MaxInterval:         c.MaxInterval,
		MaxElapsedTime:      0, // never give up on a transient failure
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	d := b.NextBackOff()
	for i := 1; i < attempts && d < c.MaxInterval; i++ {
		d = b.NextBackOff()
	}
	return d
}

// jitter is the wait before a retry whose backoff ceiling is ceiling: full
// jitter, or the whole ceiling with NoJitter.
func (w *Worker) jitter(ceiling time.Duration) time.Duration {
	if w.cfg.NoJitter {
		return ceiling
	}
	return jitter(ceiling)
}

// jitter is "full jitter": a uniform wait in (0, ceiling]. Spread over the
// whole interval, 830 pharmacies coming back at once do not retry in step.
func jitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling))) + 1
}

// tokenBucket limits the requests one Worker makes: Rate a second, with
// bursts of Burst. A server's 429 with Retry-After holds it (hold), so the
// whole client slows down, not only the throttled record.
type tokenBucket struct {
	mu     sync.Mutex
	now    func() time.Time
	rate   float64 // tokens a second; 0: unlimited
	burst  float64
	tokens float64
	last   time.Time
	hold   time.Time // no request before this
}

func newTokenBucket(rate float64, burst int, now func() time.Time) *tokenBucket {
	if burst < 1 {
		burst = 1
	}
	return &tokenBucket{now: now, rate: rate, burst: float64(burst), tokens: float64(burst), last: now()}
}

// reserve takes a token and returns how long to wait before using it. A
// token may be taken ahead (the balance goes negative), so waiters queue in
// the order they asked.
func (b *tokenBucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var wait time.Duration
	if b.hold.After(now) {
		wait = b.hold.Sub(now)
	}
	if b.rate <= 0 {
		return wait
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	b.tokens--
	if b.tokens < 0 {
		wait = max(wait, time.Duration(-b.tokens/b.rate*float64(time.Second)))
	}
	return wait
}

// holdUntil stops every request until t.
func (b *tokenBucket) holdUntil(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.After(b.hold) {
		b.hold = t
	}
}

// wait blocks until the next request may go, or ctx ends.
func (w *Worker) wait(ctx context.Context) error {
	d := w.bucket.reserve()
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-w.cfg.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
