package queue

import (
	"math"
	"sync"
	"time"
)

// Pacing after a recovery (DESIGN §6, §10; issue 20).
//
// A Worker's requests go through a token bucket. Outside a storm it is a
// plain rate limit (Config.Rate, bursts of Config.Burst). It becomes
// adaptive, the shape of the AWS SDKs' "adaptive" retry mode, when it
// wakes after an outage or the service throttles it:
//
//   - Slow start. Wake (the mode went RECOVERING) sets the rate to
//     Config.WakeRate (a request every 4 s), the first request going at
//     once (within WakeJitter). 830 counters coming back together then
//     offer a fraction of the capacity, not 830 times their full rate.
//   - Multiplicative decrease. A 429 cuts the rate to β (0.7) of what
//     the client was sending, once a hold, and holds every request until
//     Retry-After (the server's floor) plus a jitter of up to as much
//     again, so clients throttled in the same second do not come back in
//     step.
//   - Growth only while limited. The rate grows only on answers to a
//     client that has more to send than its rate lets through: a counter
//     that has sent little says nothing about what the server would take.
//   - Back to plain. At Config.Rate the bucket is a plain limit again,
//     until the next wake or 429.
//
// How the rate grows depends on what the server says.
//
// With a hint. A server may say how much of its capacity is left, in the
// RateLimit header fields of draft-ietf-httpapi-ratelimit-headers (the
// simulator does: the capacity less the requests of the trailing second;
// centre.Client.Room). The client then steers toward leaving it some
// room (paceTarget, 10 %): each second's worth of answers multiplies the
// rate by ((1 − paceTarget)/(1 − room))^paceGain, between paceMinStep and
// paceMaxStep. The full power would be the step that, taken by every
// client, brings the server to the target in one second; every client
// sees the same room, so the fleet moves together. Half of it (in
// proportion, paceGain) is taken because the fleet hears of its own steps
// late: a client paced at a third of a request a second reads the room
// once in three seconds, from a window a second long, and a loop that
// corrects a delayed error in full overshoots and swings. With a gain of
// 1.5 on the room (this package's first form) the fleet swung with a
// period of 4–7 s, each swing's top second 1.25–1.4× the capacity. The
// first answer after a wake starts a client at up to paceBoost times the
// wake rate when the server is idle: a lone counter, or the first of a
// storm.
//
// Spread. While adaptive, each wait for a token is ½ to 1½ of its due
// (drawn evenly; Config.NoJitter, the naive client, does not spread).
// The waits' errors cancel from one request to the next, so the rate
// holds and a client stays within one interval of its schedule; what goes
// is the phase. Clients throttled in the same second, or woken together,
// at the same rate, otherwise keep sending in the same fraction of a
// second, every interval: a storm at 0.25 requests a second showed a spike
// every 4 s, each over 1.3× the capacity, and the 429s that spike brought
// kept the clients in step. Spread, 830 independent clients are as even
// as chance makes them.
//
// Without a hint, the client has only the 429s. It grows by half an answer
// until its first 429 (slow start), then creeps, faster the longer no 429
// has come (convex in the time since the last cut, like CUBIC): a fleet
// near the capacity is throttled now and then and backs off, and a client
// cut low while the server has room again speeds up within tens of
// seconds. It drains, and nothing is lost, but later than with the hint
// (tiski drill herd --no-hint shows how much); that is the behaviour
// against a server that gives no hint, Kanta's included until it does.
//
// Measured with tiski drill herd (830 × 40 against 300/s, full jitter,
// issue 20): the peak second at 1.03–1.09× the capacity and the drain
// 128–131 s, 1.16–1.18× the 111 s minimum, with 15–22 requests throttled
// in 33,200; 1,660 × 20 peaked at 1.56× (it offers 415 requests a second
// at the wake rate before any answer can slow it) and drained in 144 s.
// Before the spread and the damped step: peak 1.26–1.39× (1.73× at 1,660),
// 450–800 throttled.
//
// Waits follow the rate. A Worker sends several uploads at once, each
// waiting for its token; a wait reckoned once, at the rate of the moment,
// stood while the rate grew: at a wake, a counter's fourth upload waited
// 12 s (up to 18 s spread) at the wake rate though the first answers had
// taken the rate up since, and the july-2015 drill reconciled 11.7–15.8 s
// after the fault (once past its 15 s review wait, in CI). A waiting
// request now holds a ticket (take): when the rate or the hold changes,
// what is left of its token's time is scaled by the old rate over the new
// (follow), and no turn comes before a hold; time spent in a hold is not
// a token's and is never scaled (scaled, a wake just before a 429's hold
// ended made 0.3 s into 17 s). The same drill then reconciled 8–12.7 s
// after the fault; 830 × 40 peaked at 1.04× and drained in 129 s, as
// before; 1,660 × 20 peaked at 1.9× (2.1× with the follow switched off
// in the same hour, on a machine loaded by other work: the figure is
// noisy there) and drained in 146–163 s.
//
// What is left. A wake rate of a request every 10 s, a first answer's
// boost in proportion to the room (up to 10×) and an answer's step
// standing for up to 10 s took the 1,660 × 20 storm to 1.11–1.13×; with
// the waits following the rate that may now hold, but a lone counter
// against a server with no hint (Kanta today) grows only on its own
// answers, from the wake rate, and a lower one would slow its drain: the
// slow start without a hint needs growth in time, not in answers, first.
// And a client paced slowly hears the server only on its own answers, so
// at the end of a storm the last clients wait out tokens reserved at the
// rate of its busiest seconds (the drain's tail); the probe's answers
// carry the same hint and could re-steer them between uploads.
const (
	paceBeta    = 0.7   // the cut on a 429
	paceMinRate = 0.02  // the lowest rate after repeated cuts: one request in 50 s
	paceSlow    = 0.5   // slow start without a hint: growth an answer
	paceGrow    = 0.005 // creep without a hint, an answer, just after a cut
	paceStreak  = 10.0  // seconds after a cut at which the creep has doubled (then 5× at 20 s)
	paceRoomy   = 0.3   // a first answer after a wake hinting this much room boosts the start
	paceBoost   = 4.0   // the start from an idle server: this times the wake rate
	paceTarget  = 0.1   // the room a hint-steered client aims to leave the server
	paceGain    = 0.5   // the share (as a power) of the step to the target taken in a second
	paceMaxStep = 1.5   // the most a second's step grows the rate
	paceMinStep = 0.5   // the most a second's step shrinks it: a guard, as a room of 0 gives 0.95
)

// tokenBucket limits the requests one Worker makes: rate a second, with
// bursts of burst. See the package's pacing notes.
type tokenBucket struct {
	mu     sync.Mutex
	now    func() time.Time
	max    float64 // Config.Rate; 0: unlimited, never paced
	burst  float64
	rate   float64 // the rate now; 0: unlimited
	tokens float64
	last   time.Time
	hold   time.Time // no request before this

	adaptive bool      // paced: the rate moves with the server's answers
	slow     bool      // slow start: no 429 since the last restart
	fresh    bool      // no answer yet since the last restart
	limited  bool      // a request waited for a token since the last growth
	grown    time.Time // the last growth
	cut      time.Time // when the last cut's hold ends

	// spread draws from [0, 1) to spread the waits while adaptive;
	// nil: waits exactly as due.
	spread func() float64

	// changed closes when the rate or the hold changes (changedNow).
	changed chan struct{}
}

func newTokenBucket(rate float64, burst int, now func() time.Time) *tokenBucket {
	if burst < 1 {
		burst = 1
	}
	t := now()
	return &tokenBucket{now: now, max: rate, rate: rate, burst: float64(burst), tokens: float64(burst), last: t, grown: t,
		changed: make(chan struct{})}
}

// refill adds the tokens earned since the last call. The caller holds mu.
func (b *tokenBucket) refill(now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		if b.rate > 0 {
			b.tokens = min(b.burstNow(), b.tokens+el*b.rate)
		}
		b.last = now
	}
}

// burstNow is the burst at the current rate: while adaptive, at most a
// second's worth, so a slow client does not save up a burst.
func (b *tokenBucket) burstNow() float64 {
	if !b.adaptive {
		return b.burst
	}
	return max(1, min(b.burst, b.rate))
}

// reserve takes a token and returns how long to wait before using it. A
// token may be taken ahead (the balance goes negative), so waiters queue in
// the order they asked.
func (b *tokenBucket) reserve() time.Duration {
	t, _ := b.take()
	return max(0, t.at.Sub(b.now()))
}

// ticket is one reserved request's turn: when it may go, and what it is
// waiting for: a hold, and owed, the time its token takes to accrue at
// rate, counted from base (a hold puts base in the future: no token
// accrues in a hold).
type ticket struct {
	at   time.Time
	base time.Time
	owed time.Duration
	rate float64
}

// take reserves a token as reserve does, and returns the ticket with the
// channel that closes at the bucket's next change of rate or hold: a
// waiter then asks follow for its new turn.
func (b *tokenBucket) take() (ticket, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	t := ticket{at: now, base: now, rate: b.rate}
	if b.hold.After(now) {
		t.at = b.hold
	}
	if b.rate <= 0 {
		return t, b.changed
	}
	b.refill(now)
	b.tokens--
	if b.tokens < 0 {
		owed := -b.tokens / b.rate
		if b.adaptive && b.spread != nil {
			owed *= 0.5 + b.spread()
		}
		// Tokens accrue from last, which a hold puts in the future.
		t.base, t.owed = b.last, time.Duration(owed*float64(time.Second))
		if at := t.base.Add(t.owed); at.After(t.at) {
			t.at = at
		}
		b.limited = true
	}
	return t, b.changed
}

// follow moves a waiting ticket's turn after a change (see the package's
// notes, "Waits follow the rate"): what is left of its token's time is
// scaled by the old rate over the new, no token accrues in a hold, and no
// turn comes before one. Time spent waiting for a hold is not a token's,
// and is never scaled. It returns the channel of the next change.
func (b *tokenBucket) follow(t *ticket) <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if t.owed > 0 {
		if now.After(t.base) {
			t.owed = max(0, t.owed-now.Sub(t.base))
			t.base = now
		}
		if t.rate > 0 && b.rate > 0 && t.rate != b.rate {
			t.owed = time.Duration(float64(t.owed) * t.rate / b.rate)
		}
		if b.hold.After(t.base) {
			t.base = b.hold
		}
		t.at = t.base.Add(t.owed)
	}
	t.rate = b.rate
	if b.hold.After(t.at) {
		t.at = b.hold
	}
	return b.changed
}

// notify tells the waiters if the rate or the hold is no longer rate and
// hold. The caller holds mu.
func (b *tokenBucket) notify(rate float64, hold time.Time) {
	if b.rate != rate || !b.hold.Equal(hold) {
		close(b.changed)
		b.changed = make(chan struct{})
	}
}

// holdTokens makes a hold until t stop the bucket filling, too: the first
// request after it goes at t, the next one a token later. The caller holds
// mu and has refilled.
func (b *tokenBucket) holdTokens(t time.Time) {
	if b.rate > 0 && t.After(b.last) {
		b.tokens = min(b.tokens+1, 1)
		b.last = t
	}
}

// holdUntil stops every request until t.
func (b *tokenBucket) holdUntil(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.notify(b.rate, b.hold)
	if t.After(b.hold) {
		b.hold = t
	}
	b.refill(b.now())
	b.holdTokens(t)
}

// restart begins a slow start at rate (Wake): the next request goes at
// once, the ones after it at rate, growing with the answers (answered)
// until a 429 or the most the client may send.
func (b *tokenBucket) restart(rate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.notify(b.rate, b.hold)
	if b.max <= 0 {
		return // unlimited (Config.Rate negative): no pacing at all
	}
	now := b.now()
	rate = min(rate, b.max)
	b.refill(now)
	b.adaptive, b.slow, b.limited, b.fresh = true, true, false, true
	b.rate, b.grown = rate, now
	b.tokens = min(b.tokens, 1)
}

// answered grows the rate after a request the server answered without
// throttling. room is the server's hint of the share of its capacity left
// (hinted false: it gave none).
func (b *tokenBucket) answered(room float64, hinted bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.notify(b.rate, b.hold)
	if !b.adaptive {
		return
	}
	now := b.now()
	if b.fresh {
		b.fresh = false
		if hinted && room >= paceRoomy {
			// The first answer after a wake says the server is idle:
			// the storm, if there is one, has not begun; start at the
			// rate a lone counter would.
			b.refill(now)
			b.rate, b.grown = min(b.max, b.rate*(1+(paceBoost-1)*room)), now
			return
		}
	}
	el := now.Sub(b.grown).Seconds()
	if el <= 0 {
		return // still held after a cut, or within the same instant
	}
	if hinted {
		// The server says how much room it has: steer toward leaving
		// it paceTarget, damped (see the package's notes): grow by up
		// to half again a second when it is idle, shrink by about a
		// twentieth a second when it is full, before anyone is
		// throttled. Growth needs a client sending at its rate; a cut
		// does not.
		// The step is a second's worth, whatever the client's rate, so
		// that clients answered often do not steer harder than the
		// others on a measure a second long.
		f := paceMaxStep
		if room < 1 {
			f = min(paceMaxStep, max(paceMinStep, math.Pow((1-paceTarget)/(1-room), paceGain)))
		}
		f = math.Pow(f, min(el, 2))
		if f > 1 && !b.limited {
			b.grown = now
			return
		}
		b.refill(now)
		// At the configured rate it stays steered: a client that went
		// plain there would ignore the server filling up until a 429.
		next := min(b.max, max(paceMinRate, b.rate*f))
		b.rate, b.grown, b.limited = next, now, false
		return
	}
	if !b.limited {
		// Not sending at the rate: nothing learnt about the server.
		b.grown = now
		return
	}
	b.refill(now)
	var next float64
	if b.slow {
		next = b.rate * (1 + paceSlow)
	} else {
		// Convex in the time since the last cut: a client throttled
		// recently creeps, one that has not been for a while (the
		// server has room again) speeds up.
		n := now.Sub(b.cut).Seconds() / paceStreak
		next = b.rate * (1 + paceGrow*(1+n*n))
	}
	if next >= b.max {
		// Back at the configured rate: a plain limit again, until the
		// next 429 or the next wake.
		next, b.adaptive = b.max, false
	}
	b.rate, b.grown, b.limited = next, now, false
}

// throttled cuts the rate after a 429 and holds every request until hold.
func (b *tokenBucket) throttled(hold time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.notify(b.rate, b.hold)
	if hold.After(b.hold) {
		b.hold = hold
	}
	if b.max <= 0 {
		return // unlimited (Config.Rate negative): the hold alone
	}
	now := b.now()
	b.refill(now)
	if b.adaptive && !b.slow && now.Before(b.cut) {
		// Another answer to requests sent before the last cut took
		// effect: one cut a hold, as TCP cuts once a round trip.
		b.holdTokens(b.hold)
		return
	}
	sending := b.rate
	b.adaptive, b.slow, b.limited = true, false, false
	// The creep after the cut counts from when the client may send
	// again, not from the 429: the hold is no time spent sending.
	start := now
	if b.hold.After(now) {
		start = b.hold
	}
	b.cut = start
	b.rate, b.grown = max(paceMinRate, paceBeta*sending), start
	b.tokens = min(b.tokens, 0)
	b.holdTokens(b.hold)
}

// current is the rate now (0: unlimited), for tests and the log.
func (b *tokenBucket) current() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate
}
