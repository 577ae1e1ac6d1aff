package hub

import (
	"context"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// startCutProxy puts an in-process toxiproxy between a counter and the hub.
func startCutProxy(t *testing.T, upstream string) *toxiproxy.Proxy {
	t.Helper()
	zerolog.SetGlobalLevel(zerolog.Disabled) // toxics log a line per interrupted write
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(api, "hub", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// waitCut polls cond every 20 ms for at most d.
func waitCut(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCounterCutOffThroughTheOutage: a counter whose way to the hub is cut
// (toxiproxy stops, so its connection drops and reconnects are refused)
// records locally through the whole cut, keeps its records in the share
// lane, and shares every one when the way is back; the other counter's
// records made meanwhile reach it too. Each record arrives exactly once.
func TestCounterCutOffThroughTheOutage(t *testing.T) {
	s := startHub(t, t.TempDir())
	p := startCutProxy(t, strings.TrimPrefix(s.URL(), "nats://"))
	a := newCounter(t, "nats://"+p.Listen, "kassa-1")
	b := newCounter(t, s.URL(), "kassa-2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sa, sb := NewSharer(a.c, a.j), NewSharer(b.c, b.j)
	sa.Poll, sb.Poll = 20*time.Millisecond, 20*time.Millisecond
	done := make(chan struct{}, 2)
	go func() { sa.Run(ctx); done <- struct{}{} }()
	go func() { sb.Run(ctx); done <- struct{}{} }()

	a.record(t, "131052-902Y", 1)
	sa.Kick()
	waitCut(t, 10*time.Second, "the first record shared", func() bool { return len(b.peers(t)["kassa-1"]) == 1 })

	// The cut.
	p.Stop()
	waitCut(t, 10*time.Second, "counter 1 notices the cut", func() bool { return !a.c.Connected() })
	const during = 25
	for i := range during {
		a.record(t, "131052-902Y", 100+i)
		sa.Kick()
		b.record(t, "010101-123N", 100+i)
		sb.Kick()
	}
	// While cut: nothing of it reaches counter 2; counter 1 keeps its
	// records in the lane and says so.
	time.Sleep(300 * time.Millisecond)
	if n := len(b.peers(t)["kassa-1"]); n != 1 {
		t.Fatalf("counter 2 holds %d of counter 1's records during the cut, want the 1 from before", n)
	}
	if st, err := a.j.Share(ctx); err != nil || st.Unshared != during {
		t.Fatalf("counter 1's lane during the cut: %+v, %v; want %d unshared", st, err, during)
	}
	waitCut(t, 5*time.Second, "counter 1's sharer reports the cut", func() bool {
		st := sa.Status()
		return !st.Connected && st.Unshared == during
	})

	// The way back.
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	waitCut(t, 30*time.Second, "everything shared after the cut", func() bool {
		return len(b.peers(t)["kassa-1"]) == 1+during && len(a.peers(t)["kassa-2"]) == during
	})
	cancel()
	<-done
	<-done
	for _, k := range []*counter{a, b} {
		for name, recs := range k.peers(t) {
			seen := map[string]bool{}
			for _, r := range recs {
				if seen[r.ID] {
					t.Errorf("%s holds %s's record %s twice", k.name, name, r.ID)
				}
				seen[r.ID] = true
			}
		}
	}
	if st, _ := a.j.Share(context.Background()); st.Unshared != 0 {
		t.Errorf("counter 1 still has %d records unshared", st.Unshared)
	}
}
