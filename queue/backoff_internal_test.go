package queue

import (
	"math"
	"math/rand/v2"
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

// TestPacing follows the adaptive token bucket (pace.go) on a clock of its
// own: a slow start after a wake, growth only while the client has more to
// send, the plain limit again at the configured rate, the cut and hold of
// a 429, the creep after it without a hint and the server's hint (room)
// deciding the growth when it gives one.
func TestPacing(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	b := newTokenBucket(20, 4, clock)
	near := func(what string, got, want float64) {
		t.Helper()
		if got < want*0.999 || got > want*1.001 {
			t.Fatalf("%s: rate %.3f a second, want %.3f", what, got, want)
		}
	}
	// send sends one request at the rate and answers it.
	send := func(room float64, hinted bool) {
		if d := b.reserve(); d > 0 {
			now = now.Add(d)
		}
		b.answered(room, hinted)
	}

	b.restart(1)
	if d := b.reserve(); d != 0 {
		t.Fatalf("the first request after a wake waits %s, want none", d)
	}
	if d := b.reserve(); d != time.Second {
		t.Fatalf("the second request after a wake waits %s, want 1s (the wake rate)", d)
	}
	now = now.Add(time.Second)
	b.answered(0, false)
	near("after an answer at the rate", b.current(), 1+paceSlow)

	// Idle: not limited by the rate, so it does not grow.
	now = now.Add(10 * time.Second)
	b.answered(0, false)
	near("after an idle spell", b.current(), 1+paceSlow)

	// Sending at the rate: the slow start grows it answer by answer, up to
	// the limit, where the bucket is a plain limit again.
	for i := 0; b.adaptive; i++ {
		if i > 20 {
			t.Fatalf("after %d answers the slow start is at %.2f a second, not at the limit", i, b.current())
		}
		send(0, false)
	}
	near("after the slow start", b.current(), 20)

	// A 429 cuts to β of the rate and holds until its Retry-After.
	hold := now.Add(1500 * time.Millisecond)
	b.throttled(hold)
	near("after a 429", b.current(), paceBeta*20)
	if d := b.reserve(); d != 1500*time.Millisecond {
		t.Fatalf("the request after a 429 waits %s, want the hold, 1.5s", d)
	}
	if d := b.reserve(); (d - 1500*time.Millisecond - time.Second/14).Abs() > time.Microsecond {
		t.Fatalf("the second request after a 429 waits %s, want the hold and a token at 14 a second", d)
	}
	// A second 429, to a request sent before the cut, cuts no further.
	b.throttled(now.Add(time.Second))
	near("after a second 429 within the hold", b.current(), paceBeta*20)
	now = hold.Add(time.Second / 14)

	// Without a hint the rate creeps after a cut, and speeds up the longer
	// no 429 comes.
	r0 := b.current()
	send(0, false)
	early := b.current()/r0 - 1
	if early <= 0 || early >= paceSlow/10 {
		t.Fatalf("just after the cut an answer grows the rate by %.4f, want a creep (above 0, below %.3f)", early, paceSlow/10)
	}
	now = now.Add(30 * time.Second)
	r1 := b.current()
	for b.reserve() == 0 { // more to send than the rate lets through
	}
	send(0, false)
	if late := b.current()/r1 - 1; late <= 2*early {
		t.Fatalf("30 s after the cut an answer grows the rate by %.4f, want more than twice the %.4f of just after it", late, early)
	}

	// With a hint, the client steers toward leaving the server a little
	// room (paceTarget), a second's step at a time: at the target it
	// keeps its rate, with more room it grows, with none it shrinks, even
	// when it is not sending at its rate.
	for range 3 {
		b.throttled(now)
	}
	r2 := b.current()
	step := func(room float64) float64 {
		if room >= 1 {
			return paceMaxStep
		}
		return min(paceMaxStep, max(paceMinStep, math.Pow((1-paceTarget)/(1-room), paceGain)))
	}
	// The step is damped: it grows, short of the step that would take
	// the server to the target room in one go (0.9/0.6 = 1.5 from a room
	// of 0.4).
	if s := step(0.4); s <= 1 || s >= (1-paceTarget)/0.6 {
		t.Fatalf("the step from a room of 0.4 is %.3f, want above 1 and below %.3f", s, (1-paceTarget)/0.6)
	}
	for b.reserve() == 0 {
	}
	now = now.Add(time.Second)
	b.answered(paceTarget, true)
	near("a second's answer at the target room", b.current(), r2)
	for b.reserve() == 0 {
	}
	now = now.Add(time.Second)
	b.answered(1, true)
	near("a second's answer from an idle server", b.current(), r2*step(1))
	r3 := b.current()
	now = now.Add(time.Second)
	b.answered(0, true)
	near("a second's answer from a full server", b.current(), r3*step(0))
	if step(0) >= 1 || step(1) < 1.5 {
		t.Fatalf("steps %.3f (full) and %.3f (idle): want a cut and at least half again", step(0), step(1))
	}

	// After a wake, the first answer says how busy the server is: an
	// idle one lets the client start at paceBoost times the wake rate, a
	// busy one keeps it at the wake rate.
	b.restart(0.25)
	b.reserve()
	b.answered(1, true)
	near("the first answer after a wake, from an idle server", b.current(), 0.25*paceBoost)
	b.restart(0.25)
	b.reserve()
	b.answered(0, true)
	near("the first answer after a wake, from a busy server", b.current(), 0.25)

	// Repeated 429s do not take the rate below the floor.
	for range 50 {
		b.throttled(now)
	}
	near("after 50 cuts", b.current(), paceMinRate)

	// An unlimited client (Rate negative) is never paced: a 429 holds it,
	// and nothing else.
	u := newTokenBucket(0, 1, clock)
	u.restart(1)
	u.throttled(now.Add(time.Second))
	if r := u.current(); r != 0 {
		t.Fatalf("an unlimited client paced at %.2f a second", r)
	}
	if d := u.reserve(); d != time.Second {
		t.Fatalf("an unlimited client after a 429 waits %s, want the hold", d)
	}
}

// TestPacingSpread: while adaptive, the waits for a token are spread (½ to
// 1½ of their due, pace.go), so clients at the same rate do not stay in
// step; the errors cancel, so the rate holds, and a client is never more
// than an interval or two off its schedule. Without a spread the waits are
// exactly the interval.
func TestPacingSpread(t *testing.T) {
	const rate, n = 2.0, 1000
	interval := time.Duration(float64(time.Second) / rate)
	gaps := func(spread func() float64) []time.Duration {
		now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		b := newTokenBucket(20, 4, func() time.Time { return now })
		b.spread = spread
		b.restart(rate)
		b.reserve() // the first goes at once
		var out []time.Duration
		for range n {
			d := b.reserve()
			now = now.Add(d)
			out = append(out, d)
		}
		return out
	}
	for _, d := range gaps(nil) {
		if d != interval {
			t.Fatalf("unspread wait %s, want %s", d, interval)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	got := gaps(r.Float64)
	var total time.Duration
	var short, long int
	for _, d := range got {
		total += d
		if d < interval*3/4 {
			short++
		}
		if d > interval*5/4 {
			long++
		}
		if d < 0 || d > 3*interval {
			t.Fatalf("spread wait %s, want between 0 and three intervals (%s)", d, 3*interval)
		}
	}
	if off := total - n*interval; off.Abs() > 2*interval {
		t.Errorf("%d spread waits took %s, want %s within two intervals: the rate must hold", n, total, n*interval)
	}
	if short < n/10 || long < n/10 {
		t.Errorf("of %d spread waits, %d under ¾ and %d over 1¼ of the interval: want the waits spread", n, short, long)
	}
}

// TestWaitsFollowTheRate: a request that took its turn at a slow start's
// rate waits less when the rate grows before its turn comes, more when a
// 429 cuts it, and never goes within a hold. Reckoned once at the wake
// rate, the turns of a counter's several uploads at once stood for as long
// as a dozen seconds while the rate grew (issue 20).
func TestWaitsFollowTheRate(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	b := newTokenBucket(20, 4, func() time.Time { return now })
	b.restart(0.25)
	var turns []ticket
	for range 4 {
		tk, _ := b.take()
		turns = append(turns, tk)
	}
	for i, want := range []time.Duration{0, 4 * time.Second, 8 * time.Second, 12 * time.Second} {
		if got := turns[i].at.Sub(now); got != want {
			t.Fatalf("turn %d at the wake rate: in %s, want %s", i+1, got, want)
		}
	}
	_, changed := b.take()
	select {
	case <-changed:
		t.Fatal("the change channel closed with nothing changed")
	default:
	}

	// An answer a second later grows the slow start by half: what is left
	// of each wait shrinks to two thirds.
	now = now.Add(time.Second)
	b.answered(0, false)
	select {
	case <-changed:
	default:
		t.Fatal("the rate grew and no waiter heard of it")
	}
	for i, want := range []time.Duration{2 * time.Second, 14 * time.Second / 3, 22 * time.Second / 3} {
		tk := &turns[i+1]
		b.follow(tk)
		if got := tk.at.Sub(now); (got - want).Abs() > time.Microsecond {
			t.Errorf("turn %d after the rate grew to %.3f/s: in %s, want %s", i+2, b.current(), got, want)
		}
	}

	// A 429 cuts the rate and holds the client: no turn before the hold,
	// and the later ones stretch.
	hold := now.Add(3 * time.Second)
	before := turns[3].at.Sub(now)
	b.throttled(hold)
	for i := 1; i < 4; i++ {
		b.follow(&turns[i])
		if turns[i].at.Before(hold) {
			t.Errorf("turn %d after a 429: at %s, before the hold ends at %s", i+1, turns[i].at.Sub(now), hold.Sub(now))
		}
	}
	if after := turns[3].at.Sub(now); after <= before {
		t.Errorf("the last turn after a cut: in %s, was %s; want later", after, before)
	}
}

// TestHoldIsNotStretched: a request waiting out a 429's hold, with its
// token already earned, goes when the hold ends even if a wake slows the
// rate meanwhile; only a token's time follows the rate. The first form of
// follow scaled the whole wait: 0.3 s of hold became 17 s at the wake
// rate, and the throttle-storm drill did not reconcile.
func TestHoldIsNotStretched(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	b := newTokenBucket(20, 4, func() time.Time { return now })
	hold := now.Add(2 * time.Second)
	b.throttled(hold)
	tk, _ := b.take()
	if !tk.at.Equal(hold) {
		t.Fatalf("the request after a 429: at %s, want the hold's end, 2s", tk.at.Sub(now))
	}
	now = now.Add(1700 * time.Millisecond)
	b.restart(0.25)
	b.follow(&tk)
	if !tk.at.Equal(hold) {
		t.Errorf("after a wake 0.3 s before the hold ends: at %s, want the hold's end, 2s", tk.at.Sub(now.Add(-1700*time.Millisecond)))
	}
}
