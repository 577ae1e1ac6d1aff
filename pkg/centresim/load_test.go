package centresim

import (
	"sync"
	"testing"
	"time"
)

// TestLoadOnConfigNow: the capacity's token bucket and the per-second load
// run on Config.Now, so a simulation on simulated time is throttled in
// simulated seconds and its offered load is counted in them.
func TestLoadOnConfigNow(t *testing.T) {
	var mu sync.Mutex
	now := fixedNow()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	s := startSim(t, Config{Capacity: 10, Now: clock})
	statuses := func(n int) (ok, throttled int) {
		for range n {
			switch a := call(t, nil, "GET", s.URL()+"/metadata", nil); a.status {
			case 200:
				ok++
			case 429:
				throttled++
			default:
				t.Fatalf("status %d", a.status)
			}
		}
		return ok, throttled
	}
	// The burst is one request (a tenth of a second's worth); the clock
	// stands still, so nothing refills however long the calls take.
	if ok, thr := statuses(5); ok != 1 || thr != 4 {
		t.Fatalf("first second: %d served, %d throttled; want 1 and 4", ok, thr)
	}
	advance(time.Second) // refills the burst, no more
	if ok, thr := statuses(3); ok != 1 || thr != 2 {
		t.Fatalf("second second: %d served, %d throttled; want 1 and 2", ok, thr)
	}
	load := s.Load()
	if len(load) != 2 {
		t.Fatalf("load %+v, want two seconds", load)
	}
	want := []SecondLoad{{Second: fixedNow().Truncate(time.Second).UTC(), Requests: 5, Throttled: 4},
		{Second: fixedNow().Truncate(time.Second).Add(time.Second).UTC(), Requests: 3, Throttled: 2}}
	for i := range want {
		if !load[i].Second.Equal(want[i].Second) || load[i].Requests != want[i].Requests || load[i].Throttled != want[i].Throttled {
			t.Errorf("second %d: %+v, want %+v", i, load[i], want[i])
		}
	}
}
