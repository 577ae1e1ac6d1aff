package queue

import (
	"testing"
	"time"
)

func TestBackoffCap(t *testing.T) {
	c := Config{InitialInterval: time.Second, MaxInterval: 10 * time.Second, Multiplier: 2}
	for _, tt := range []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {50, 10 * time.Second}} {
		if got := c.backoffCap(tt.attempts); got != tt.want {
			t.Errorf("attempt %d: ceiling %s, want %s", tt.attempts, got, tt.want)
		}
	}
}

func TestFullJitter(t *testing.T) {
	const ceiling = 100 * time.Millisecond
	low, high := false, false
	for range 1000 {
		d := jitter(ceiling)
		if d <= 0 || d > ceiling {
			t.Fatalf("jitter %s outside (0, %s]", d, ceiling)
		}
		low = low || d < ceiling/10
		high = high || d > ceiling*9/10
	}
	if !low || !high {
		t.Fatalf("1000 draws do not spread over the interval (low %v, high %v)", low, high)
	}
}

func TestTokenBucket(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	b := newTokenBucket(10, 2, func() time.Time { return now })
	t.Run("burst, then the rate", func(t *testing.T) {
		for i := range 2 {
			if d := b.reserve(); d != 0 {
				t.Fatalf("request %d of the burst waits %s", i+1, d)
			}
		}
		if d := b.reserve(); d != 100*time.Millisecond {
			t.Fatalf("third request waits %s, want 100ms", d)
		}
		if d := b.reserve(); d != 200*time.Millisecond {
			t.Fatalf("fourth request waits %s, want 200ms (queued behind the third)", d)
		}
		now = now.Add(time.Second) // refills to the burst, no more
		for i := range 2 {
			if d := b.reserve(); d != 0 {
				t.Fatalf("after a second, request %d waits %s", i+1, d)
			}
		}
	})
	t.Run("a 429 holds every request", func(t *testing.T) {
		now = now.Add(time.Minute)
		b.holdUntil(now.Add(3 * time.Second))
		if d := b.reserve(); d != 3*time.Second {
			t.Fatalf("held request waits %s, want 3s", d)
		}
		unlimited := newTokenBucket(0, 1, func() time.Time { return now })
		unlimited.holdUntil(now.Add(time.Second))
		if d := unlimited.reserve(); d != time.Second {
			t.Fatalf("an unlimited bucket ignores the hold: %s", d)
		}
	})
}
