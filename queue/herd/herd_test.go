package herd_test

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/queue/herd"
)

// TestReconnectStorm runs the drill at a reduced scale in both modes and
// checks DESIGN §10's properties as issue 20 sharpened them: with full
// jitter the peak offered load stays within 1.5× capacity and the backlog
// drains at what the capacity allows, not at a schedule's pace (within 6×
// the minimum here, 12× without the hint; the client before issue 20 spread its backlog over a
// fixed 4 minutes, 22× the minimum of tiskibench's quick storm); without the simulator's rate-limit hint the
// client still drains, paced by 429s alone; without jitter the storm shows
// (a peak of at least twice the capacity, all at the moment of recovery);
// nothing is lost or recorded twice, counted at the simulator by record
// UUID. Everything runs on the simulated clock, so the outcome does not
// depend on the machine's speed.
//
// The scale keeps the ratios of the real drill where they matter: as many
// pharmacies as 2.5 seconds of capacity (830 against 300/s is 2.8), so
// that reconnecting together is a storm. The clock's tick is 50 ms, so
// that the test is quick under the race detector too.
func TestReconnectStorm(t *testing.T) {
	const capacity = 16
	base := herd.Config{Clients: 40, Records: 4, Capacity: capacity, Tick: 50 * time.Millisecond,
		Stall: 20 * time.Second}
	run := func(j herd.Jitter, limit time.Duration) herd.Result {
		t.Helper()
		cfg := base
		cfg.Jitter, cfg.Limit = j, limit
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		r, err := herd.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: peak %d/s at %d s, %d requests, %d throttled, drained %v in %.1f s, lost %d, duplicates %d, pending %d; %.1f s real",
			j, r.PeakRPS, r.PeakSecond, r.Requests, r.Throttled, r.Drained, r.DrainSeconds, r.Lost, r.Duplicates, r.Pending, r.WallSeconds)
		if r.Lost != 0 || r.Duplicates != 0 {
			t.Errorf("%s: %d records lost, %d recorded twice", j, r.Lost, r.Duplicates)
		}
		if r.CapacityRPS != capacity {
			t.Errorf("%s: capacity %v", j, r.CapacityRPS)
		}
		return r
	}
	// The drain of one run is a draw with a long tail: the last records
	// of a client that 429s cut near the lowest rate wait out its long
	// token (the drain's tail, queue/pace.go). 18 runs here drained in
	// 23–46 simulated s, one in CI in 60.5 s. So the client as shipped
	// runs three times, and the middle drain is held to the bound.
	fulls := []herd.Result{run(herd.JitterFull, 10*time.Minute), run(herd.JitterFull, 10*time.Minute), run(herd.JitterFull, 10*time.Minute)}
	sort.Slice(fulls, func(i, j int) bool { return fulls[i].DrainSeconds < fulls[j].DrainSeconds })
	full := fulls[1]
	for _, r := range fulls {
		if !r.Drained {
			t.Errorf("full jitter: a run did not drain in 10 simulated minutes")
		}
		if float64(r.PeakRPS) > 1.5*capacity {
			t.Errorf("full jitter: a run's peak offered load %d requests/s, want at most %.0f (1.5× capacity)", r.PeakRPS, 1.5*capacity)
		}
	}
	// The naive clients need not drain: their storm shows at once.
	none := run(herd.JitterNone, 10*time.Second)
	base.NoHint = true
	blind := run(herd.JitterFull, 10*time.Minute)

	minimum := float64(base.Clients*base.Records) / capacity
	for _, r := range []struct {
		name  string
		r     herd.Result
		peak  float64 // times the capacity
		drain float64 // times the minimum
	}{{"full jitter (the middle drain of three runs)", full, 1.5, 6}, {"full jitter, no hint", blind, 2, 12}} {
		if limit := r.peak * capacity; float64(r.r.PeakRPS) > limit {
			t.Errorf("%s: peak offered load %d requests/s, want at most %.0f (%g× capacity)", r.name, r.r.PeakRPS, limit, r.peak)
		}
		if !r.r.Drained || r.r.DrainSeconds > r.drain*minimum {
			t.Errorf("%s: drained %v in %.1f simulated s, want within %.0f (%g× the %.0f s the capacity needs)", r.name, r.r.Drained, r.r.DrainSeconds, r.drain*minimum, r.drain, minimum)
		}
		if r.r.Pending != 0 {
			t.Errorf("%s: %d records still in the journals", r.name, r.r.Pending)
		}
	}
	if none.PeakRPS < 2*capacity || 2*none.PeakRPS < 3*full.PeakRPS {
		t.Errorf("no jitter: peak %d requests/s, want a storm: at least twice the capacity (%d) and half again full jitter's (%d)",
			none.PeakRPS, capacity, full.PeakRPS)
	}
	if none.PeakSecond != 0 {
		t.Errorf("no jitter: the peak came at second %d, want the moment of recovery", none.PeakSecond)
	}
	if none.Throttled <= full.Throttled {
		t.Errorf("no jitter: %d throttled, full jitter %d; want more without", none.Throttled, full.Throttled)
	}
	if len(full.Load) == 0 || len(none.Load) == 0 {
		t.Fatal("no load series")
	}
}

// TestRunRefusesAnUsedFolder: a second run in the same folder would count
// the first run's records as its own.
func TestRunRefusesAnUsedFolder(t *testing.T) {
	dir := t.TempDir()
	cfg := herd.Config{Clients: 2, Records: 1, Capacity: 10, Dir: dir}
	if _, err := herd.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := herd.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "earlier run") {
		t.Fatalf("second run in %s: %v, want a refusal", dir, err)
	}
}

// BenchmarkHerd830 is the full drill of DESIGN §10, once per mode: 830
// pharmacies × 40 records against 300 requests a second. Run it with
// -benchtime=1x (HERD_MODE=full or none for one mode); it prints the
// text report.
func BenchmarkHerd830(b *testing.B) {
	for range b.N {
		var rs []herd.Result
		for _, j := range []herd.Jitter{herd.JitterFull, herd.JitterNone} {
			if m := os.Getenv("HERD_MODE"); m != "" && m != string(j) {
				continue
			}
			r, err := herd.Run(context.Background(), herd.Config{Jitter: j, Limit: 30 * time.Minute,
				Progress: func(s string) { b.Log(s) }})
			if err != nil {
				b.Fatal(err)
			}
			rs = append(rs, r)
			b.Logf("%s: peak %d, throttled %d, drain %.1f s (drained %v), lost %d, dup %d, pending %d, wall %.1f s (setup %.1f s)",
				j, r.PeakRPS, r.Throttled, r.DrainSeconds, r.Drained, r.Lost, r.Duplicates, r.Pending, r.WallSeconds, r.SetupWallSeconds)
		}
		if err := herd.WriteText(os.Stdout, rs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStormOverPipes: the run that a storm too big for the descriptor limit
// takes (pipe.go: in-memory pipes, journals that release idle
// connections) drains the same backlog with nothing lost or recorded
// twice, and says it went over pipes.
func TestStormOverPipes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := herd.Run(ctx, herd.Config{Clients: 40, Records: 4, Capacity: 16, Tick: 50 * time.Millisecond,
		Stall: 20 * time.Second, Limit: 10 * time.Minute, Pipes: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak %d/s, %d requests, %d throttled, drained %v in %.1f s; %.1f s real", r.PeakRPS, r.Requests, r.Throttled, r.Drained, r.DrainSeconds, r.WallSeconds)
	if !r.Pipes {
		t.Error("the result does not say the run went over pipes")
	}
	if !r.Drained || r.Lost != 0 || r.Duplicates != 0 || r.Pending != 0 {
		t.Errorf("drained %v, lost %d, duplicates %d, pending %d; want drained, none lost, none twice", r.Drained, r.Lost, r.Duplicates, r.Pending)
	}
	if r.Requests < 160 {
		t.Errorf("%d requests for 160 records", r.Requests)
	}
}
