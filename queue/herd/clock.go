package herd

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Clock is simulated time shared by the simulator and every client of a
// herd run: a discrete-event clock. Each goroutine of the simulation that
// waits on it is an Actor. Time stands still while any actor is busy (a
// request on the wire, a journal write) and moves, straight to the next
// timer, only when every actor waits on the clock. So real work takes no
// simulated time, and waits (backoff, Retry-After, the rate limit, polls)
// take no real time.
//
// With a tick, the clock moves in whole ticks: every timer due within the
// next tick fires together, at its end. That lets the clients due in the
// same few milliseconds work in parallel instead of one after another, at
// the price of a tick's precision.
//
// An actor is idle exactly while it has a timer set; the goroutine that set
// it must be waiting for it. A second After by the same actor replaces its
// timer. This holds for a queue.Worker with Concurrency 1, whose loop, rate
// limit and poll never wait on the clock at the same time (see Run).
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	tick   time.Duration
	timers timerHeap
	seq    uint64
	busy   int           // actors not waiting on the clock
	idle   chan struct{} // a token when busy has dropped to zero
	moves  uint64        // times the clock moved (or fired timers)
}

// NewClock returns a clock reading start, moving in ticks of tick (0: to
// each timer exactly).
func NewClock(start time.Time, tick time.Duration) *Clock {
	return &Clock{now: start, tick: max(tick, 0), idle: make(chan struct{}, 1)}
}

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Actor is one goroutine (or one worker whose goroutines take turns) that
// waits on the clock.
type Actor struct {
	c    *Clock
	live *timer // the timer it waits for, when idle
	busy bool
}

// NewActor returns a busy actor: the clock waits for it until it first
// waits on the clock or leaves. Make every actor before any of them waits,
// or while another one is busy: when the last busy actor waits, the clock
// moves.
func (c *Clock) NewActor() *Actor {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy++
	return &Actor{c: c, busy: true}
}

// After is time.After on the simulated clock. The actor is idle until the
// timer fires; a zero or negative d fires once every actor is idle at the
// present time (a barrier).
func (a *Actor) After(d time.Duration) <-chan time.Time {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.live != nil {
		heap.Remove(&c.timers, a.live.index)
	}
	c.seq++
	t := &timer{at: c.now.Add(max(d, 0)), seq: c.seq, ch: make(chan time.Time, 1), a: a}
	heap.Push(&c.timers, t)
	a.live = t
	c.setIdle(a)
	return t.ch
}

// Busy tells the clock that the actor works without a timer: its timer,
// if any, is dropped. Call it before waking an idle actor by other means
// than its timer.
func (a *Actor) Busy() {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.live != nil {
		heap.Remove(&c.timers, a.live.index)
		a.live = nil
	}
	if !a.busy {
		a.busy = true
		c.busy++
	}
}

// Leave takes the actor out for good: the clock no longer waits for it,
// and its timer, if any, is dropped. It must not use the clock again.
func (a *Actor) Leave() {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.live != nil {
		heap.Remove(&c.timers, a.live.index)
		a.live = nil
	}
	c.setIdle(a)
}

// setIdle marks a idle; c.mu is held.
func (c *Clock) setIdle(a *Actor) {
	if !a.busy {
		return
	}
	a.busy = false
	c.busy--
	if c.busy == 0 {
		select {
		case c.idle <- struct{}{}:
		default:
		}
	}
}

// ErrStalled is returned by Run when every actor is idle and no timer is
// set: nothing can ever happen again.
var ErrStalled = errors.New("simulated clock stalled: every actor idle and no timer set")

// Run moves the clock until ctx ends (a normal exit, nil). stall bounds the
// real time the clock may stand still while an actor is busy; past it Run
// fails, naming how many actors are busy, rather than hang (0: no bound).
func (c *Clock) Run(ctx context.Context, stall time.Duration) error {
	var watchdog <-chan time.Time
	var tk *time.Ticker
	if stall > 0 {
		tk = time.NewTicker(stall)
		defer tk.Stop()
		watchdog = tk.C
	}
	lastMoves := uint64(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-watchdog:
			c.mu.Lock()
			moves, busy, now := c.moves, c.busy, c.now
			c.mu.Unlock()
			if moves == lastMoves && busy > 0 {
				return fmt.Errorf("simulated clock stuck at %s for %s of real time: %d actors busy", now.Format(time.TimeOnly), stall, busy)
			}
			lastMoves = moves
			continue
		case <-c.idle:
		}
		if err := c.step(); err != nil {
			return err
		}
	}
}

// step fires the next timers if every actor is idle.
func (c *Clock) step() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy > 0 {
		return nil
	}
	if len(c.timers) == 0 {
		return ErrStalled
	}
	next := c.timers[0].at
	if c.tick > 0 {
		// The end of the tick the timer falls in, counted from the zero
		// time, so ticks line up with simulated seconds.
		if r := next.Sub(next.Truncate(c.tick)); r > 0 {
			next = next.Add(c.tick - r)
		}
	}
	if next.After(c.now) {
		c.now = next
	}
	for len(c.timers) > 0 && !c.timers[0].at.After(c.now) {
		t := heap.Pop(&c.timers).(*timer)
		t.a.live = nil
		if !t.a.busy {
			t.a.busy = true
			c.busy++
		}
		t.ch <- c.now
	}
	c.moves++
	return nil
}

type timer struct {
	at    time.Time
	seq   uint64
	ch    chan time.Time
	a     *Actor
	index int
}

// timerHeap orders timers by time, then by when they were set.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
