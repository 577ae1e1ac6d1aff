package herd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fired reports whether ch has a value, and which.
func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-ch:
		return t, true
	default:
		return time.Time{}, false
	}
}

// TestClockStep drives the clock one step at a time (no goroutines, no
// real time) and checks when it moves and which timers fire.
func TestClockStep(t *testing.T) {
	t.Run("stands still while an actor is busy", func(t *testing.T) {
		c := NewClock(epoch, 0)
		a, b := c.NewActor(), c.NewActor()
		ch := b.After(time.Second)
		if err := c.step(); err != nil {
			t.Fatal(err)
		}
		if _, ok := fired(ch); ok || !c.Now().Equal(epoch) {
			t.Fatalf("moved to %s with an actor busy", c.Now())
		}
		tb := a.After(2 * time.Second)
		if err := c.step(); err != nil {
			t.Fatal(err)
		}
		if got, ok := fired(ch); !ok || !got.Equal(epoch.Add(time.Second)) {
			t.Fatalf("b's timer: fired %v at %s", ok, got)
		}
		if _, ok := fired(tb); ok {
			t.Fatal("a's later timer fired too")
		}
		// b works again (its timer fired): the clock waits for it.
		if err := c.step(); err != nil {
			t.Fatal(err)
		}
		if _, ok := fired(tb); ok {
			t.Fatal("a's timer fired while b was busy")
		}
	})
	t.Run("a tick fires the timers within it together", func(t *testing.T) {
		c := NewClock(epoch, 10*time.Millisecond)
		a, b, d := c.NewActor(), c.NewActor(), c.NewActor()
		ta, tb, td := a.After(3*time.Millisecond), b.After(7*time.Millisecond), d.After(12*time.Millisecond)
		if err := c.step(); err != nil {
			t.Fatal(err)
		}
		want := epoch.Add(10 * time.Millisecond)
		for name, ch := range map[string]<-chan time.Time{"3 ms": ta, "7 ms": tb} {
			if got, ok := fired(ch); !ok || !got.Equal(want) {
				t.Errorf("%s timer: fired %v at %s, want at the tick's end %s", name, ok, got, want)
			}
		}
		if _, ok := fired(td); ok {
			t.Error("the 12 ms timer fired in the first tick")
		}
	})
	t.Run("a second After replaces the first", func(t *testing.T) {
		c := NewClock(epoch, 0)
		a := c.NewActor()
		first := a.After(time.Second)
		second := a.After(time.Minute)
		if err := c.step(); err != nil {
			t.Fatal(err)
		}
		if _, ok := fired(first); ok {
			t.Fatal("the replaced timer fired")
		}
		if got, ok := fired(second); !ok || !got.Equal(epoch.Add(time.Minute)) {
			t.Fatalf("the second timer: fired %v at %s", ok, got)
		}
	})
	t.Run("Busy drops the timer and holds the clock", func(t *testing.T) {
		c := NewClock(epoch, 0)
		a, b := c.NewActor(), c.NewActor()
		ta := a.After(time.Second)
		b.Leave()
		a.Busy()
		if err := c.step(); err != nil {
			t.Fatal(err)
		}
		if _, ok := fired(ta); ok || !c.Now().Equal(epoch) {
			t.Fatal("moved after Busy")
		}
		a.Leave()
		if err := c.step(); !errors.Is(err, ErrStalled) {
			t.Fatalf("step with everyone gone: %v, want ErrStalled", err)
		}
	})
	t.Run("After(0) is a barrier at the present time", func(t *testing.T) {
		c := NewClock(epoch, 10*time.Millisecond)
		a, b := c.NewActor(), c.NewActor()
		barrier := a.After(0)
		if err := c.step(); err != nil {
			t.Fatal(err)
		}
		if _, ok := fired(barrier); ok {
			t.Fatal("the barrier passed while b was busy")
		}
		b.After(time.Second)
		if err := c.step(); err != nil {
			t.Fatal(err)
		}
		if got, ok := fired(barrier); !ok || !got.Equal(epoch) {
			t.Fatalf("barrier: fired %v at %s, want at %s", ok, got, epoch)
		}
	})
}

// TestClockRunReportsAStall: an actor that never comes back to the clock
// ends Run with an error instead of a hang.
func TestClockRunReportsAStall(t *testing.T) {
	c := NewClock(epoch, 0)
	c.NewActor() // busy for ever
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Run(ctx, 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "1 actors busy") {
		t.Fatalf("Run: %v, want a stall naming one busy actor", err)
	}
}

// TestClockRun: goroutines sleeping on the clock wake in simulated order,
// whatever the real scheduling.
func TestClockRun(t *testing.T) {
	c := NewClock(epoch, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx, 0) //nolint:errcheck // ends with ctx
	woke := make(chan time.Duration, 3)
	// Every actor exists before any waits: the clock would otherwise move
	// as soon as the first one waits alone.
	sleeps := []time.Duration{3 * time.Second, time.Second, 2 * time.Second}
	actors := make([]*Actor, len(sleeps))
	for i := range actors {
		actors[i] = c.NewActor()
	}
	for i, d := range sleeps {
		a := actors[i]
		go func() {
			at := <-a.After(d)
			woke <- at.Sub(epoch)
			a.Leave()
		}()
	}
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		if got := <-woke; got != want {
			t.Fatalf("woke at +%s, want +%s", got, want)
		}
	}
}
