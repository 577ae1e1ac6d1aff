package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tiski-rx/tiski/queue/herd"
)

// measureHerd runs the reconnect storm of DESIGN §10 (queue/herd: real
// queue.Workers over real journals against one simulator with a capacity,
// on a simulated clock) with the client as shipped, full jitter: the peak
// offered load against the capacity (≤ 1.5×), the drain against the least
// time the capacity allows for every record (≤ 300 simulated s), and
// nothing lost or recorded twice.
func measureHerd(ctx context.Context, cfg config) []Row {
	scale := fmt.Sprintf("%d×%d at %g/s", cfg.herdClients, cfg.herdRecords, cfg.herdCapacity)
	if cfg.herdClients != 830 || cfg.herdRecords != 40 || cfg.herdCapacity != 300 {
		scale += ", not the design's 830×40 at 300/s"
	}
	peakCheck, drainCheck, lostCheck := ratioAtMost(1.5), valueAtMost(300), valueAtMost(0)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	r, err := herd.Run(rctx, herd.Config{
		Clients: cfg.herdClients, Records: cfg.herdRecords, Capacity: cfg.herdCapacity, Jitter: herd.JitterFull,
		Limit: 30 * time.Minute, Seed: 7,
	})
	if err != nil {
		return []Row{failed("herd: "+scale, "×", peakCheck, err)}
	}
	fmt.Fprintf(os.Stderr, "tiskibench: herd %s: peak %d/s at second %d, %d requests, %d throttled, drained %v in %.1f s, lost %d, duplicates %d, pending %d; %.1f s wall\n",
		scale, r.PeakRPS, r.PeakSecond, r.Requests, r.Throttled, r.Drained, r.DrainSeconds, r.Lost, r.Duplicates, r.Pending, r.WallSeconds)
	drain := row("herd: drain, simulated ("+scale+")", r.DrainSeconds, "s",
		float64(cfg.herdClients*cfg.herdRecords)/cfg.herdCapacity, "every record at the capacity, no request wasted", drainCheck)
	if !r.Drained {
		drain.Pass = false
		drain.Name += " — not drained"
	}
	return []Row{
		row("herd: peak offered load, full jitter ("+scale+")", float64(r.PeakRPS), "requests/s", r.CapacityRPS,
			"the simulator's capacity", peakCheck),
		drain,
		row("herd: records lost or recorded twice ("+scale+")", float64(r.Lost+r.Duplicates+r.Pending), "records", nan(), "", lostCheck),
	}
}
