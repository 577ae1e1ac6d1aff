package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tiski-rx/tiski/queue/herd"
)

// storm is one reconnect storm to measure.
type storm struct {
	clients, records int
	capacity         float64
	// probeWindow is the window in which the pharmacies' probes see the
	// service back; 0 is the counter's (10 s).
	probeWindow time.Duration
	// drainAtMost is the drain's target in simulated seconds; 0 is the
	// ratio target, 1.3× the minimum.
	drainAtMost float64
	why         string // how the storm differs from the design's, for its rows' names
}

// storms are the reconnect storms of a run: the quick run's is a tenth of
// the pharmacies against the full capacity, judged on an absolute drain
// (issue 20: ≤ 30 simulated s); the full run's are DESIGN §10's 830 × 40
// and a larger fleet with fewer records each, the same 33,200 in all.
//
// Issue 20 asks for ten times the pharmacies (8,300 × 4). That storm
// cannot run on the machines here: every pharmacy is a real SQLite journal
// and a real HTTP connection, held open together, with the journal's
// connections (each the file, its WAL and shared memory) and both ends of
// the HTTP connection about seven open files each, and a process may hold
// 20,000 (ulimit -Hn; the soft limit cannot be raised past it). 3,320
// pharmacies ran out of them (2026-12-07). The full run measures twice the
// pharmacies (1,660 × 20), and its rows say so.
//
// The larger storm probes as many times less often as it has pharmacies
// more (20 s, not 10 s). A counter in FAULT probes every
// probe.fault_interval, and every probe is a request to the Prescription
// Centre: 830 pharmacies probing every 10 s are 83 requests a second, a
// quarter of the capacity, and 8,300 would be 830 a second, more than the
// capacity, before any record is sent. Each pharmacy's first upload
// follows its probe within a second (DESIGN §10), so no client, however it
// paces itself, could then keep the peak within 1.2×. A fleet n times
// larger needs a probe interval n times longer to leave the server what
// 830 pharmacies leave it, and that is the storm measured.
func storms(cfg config) []storm {
	if cfg.quick {
		return []storm{{clients: cfg.herdClients, records: cfg.herdRecords, capacity: cfg.herdCapacity, drainAtMost: 30,
			why: "a tenth of the design's 830×40"}}
	}
	const n = 2
	return []storm{
		{clients: cfg.herdClients, records: cfg.herdRecords, capacity: cfg.herdCapacity},
		{clients: n * cfg.herdClients, records: max(1, cfg.herdRecords/n), capacity: cfg.herdCapacity,
			probeWindow: n * herd.DefaultProbeWindow,
			why:         fmt.Sprintf("%d× the pharmacies, probing every %s; 10× needs more open files than a process may hold here", n, n*herd.DefaultProbeWindow)},
	}
}

// measureHerd runs the reconnect storms (queue/herd: real queue.Workers
// over real journals against one simulator with a capacity, on a
// simulated clock) with the client as shipped, full jitter and adaptive
// pacing: the peak offered load against the capacity (≤ 1.2×), the drain
// against the least time the capacity allows for every record (≤ 1.3×, or
// the quick storm's ≤ 30 s), and nothing lost or recorded twice.
func measureHerd(ctx context.Context, cfg config) []Row {
	var rows []Row
	for _, s := range storms(cfg) {
		rows = append(rows, measureStorm(ctx, s)...)
	}
	return rows
}

func measureStorm(ctx context.Context, s storm) []Row {
	scale := fmt.Sprintf("%d×%d at %g/s", s.clients, s.records, s.capacity)
	if s.why != "" {
		scale += ", " + s.why
	}
	// The peak's target is issue 20's: the client as shipped holds it
	// (1.03–1.09× at 830 × 40 since its waits are spread; 1.3–1.4× before,
	// when this row had DESIGN §10's 1.5× as a gate).
	peakCheck, drainCheck, lostCheck := ratioAtMost(1.2), ratioAtMost(1.3), valueAtMost(0)
	if s.drainAtMost > 0 {
		drainCheck = valueAtMost(s.drainAtMost)
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	r, err := herd.Run(rctx, herd.Config{
		Clients: s.clients, Records: s.records, Capacity: s.capacity, Jitter: herd.JitterFull,
		ProbeWindow: s.probeWindow, Limit: 30 * time.Minute, Seed: 7,
	})
	if err != nil {
		return []Row{failed("herd: "+scale, "×", peakCheck, err)}
	}
	fmt.Fprintf(os.Stderr, "tiskibench: herd %s: peak %d/s at second %d, %d requests, %d throttled, drained %v in %.1f s, lost %d, duplicates %d, pending %d; %.1f s wall (setup %.1f s)\n",
		scale, r.PeakRPS, r.PeakSecond, r.Requests, r.Throttled, r.Drained, r.DrainSeconds, r.Lost, r.Duplicates, r.Pending, r.WallSeconds, r.SetupWallSeconds)
	minimum := float64(s.clients*s.records) / s.capacity
	drain := row("herd: drain, simulated ("+scale+")", r.DrainSeconds, "s",
		minimum, "every record at the capacity, no request wasted", drainCheck)
	if !r.Drained {
		drain.Pass = false
		drain.Name += " — not drained"
	}
	return []Row{
		row("herd: peak offered load ("+scale+")", float64(r.PeakRPS), "requests/s", r.CapacityRPS,
			"the simulator's capacity", peakCheck),
		drain,
		row("herd: records lost or recorded twice ("+scale+")", float64(r.Lost+r.Duplicates+r.Pending), "records", nan(), "", lostCheck),
	}
}
