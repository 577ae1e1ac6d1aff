package queue

import (
	"context"
	"math/rand/v2"
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

// wait blocks until the next request may go, or ctx ends. Its turn
// follows the bucket's rate and hold while it waits (pace.go).
func (w *Worker) wait(ctx context.Context) error {
	t, changed := w.bucket.take()
	for {
		d := t.at.Sub(w.cfg.Now())
		if d <= 0 {
			return ctx.Err()
		}
		select {
		case <-w.cfg.After(d):
			return nil
		case <-changed:
			changed = w.bucket.follow(&t)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
