package main

import (
	"time"
)

// config sizes a run. The full run measures DESIGN §10 as written; the
// quick one takes fewer samples, and says so in a row's name wherever it
// measures something smaller than the design names.
type config struct {
	quick bool

	appends int // durable appends sampled, and as many floor writes

	drainRecords   int  // records drained, and creates in the floor loop
	drainWorkers   int  // the Worker's concurrency, and the floor loop's
	drainFloorOnce bool // measure the floor before the drain only, not also after

	detectRounds int           // rounds of each fault
	probe        time.Duration // the probe interval; 0: tiski's default
	probeTimeout time.Duration // the probe timeout; 0: tiski's default
	slowWatch    time.Duration // how long false FAULTs are counted against a slow service

	herdClients, herdRecords int
	herdCapacity             float64

	shares int // records shared from counter 1 to counter 2, one at a time

	frames        int // first-frame runs (median)
	viewFrames    int // View() calls
	statusRecords int // records in the sync status journal
	statusRuns    int // sync status runs (median)

	// cacheDir holds the journal of statusRecords records between runs;
	// "" is os.UserCacheDir()/tiski-bench.
	cacheDir string
	// tiski is a built tiski binary to use; "" builds one.
	tiski string

	// extra groups, for tests.
	extra []group
}

func fullConfig() config {
	return config{
		appends:      20000,
		drainRecords: 10000, drainWorkers: 16,
		detectRounds: 5, slowWatch: time.Minute,
		herdClients: 830, herdRecords: 40, herdCapacity: 300,
		shares: 5000,
		frames: 9, viewFrames: 2000, statusRecords: 1_000_000, statusRuns: 9,
	}
}

func quickConfig() config {
	c := fullConfig()
	c.quick = true
	c.appends = 10000 // a 99th percentile of 1,000 was its 10th-largest sample, and swung by a fifth between runs; 10,000 take 5 s
	c.detectRounds = 1
	c.slowWatch = 8 * time.Second // --quick stays near a minute; a 500 ms probe timeout showed 4 false FAULTs in 5 s
	c.drainRecords = 5000         // the row names the count; the ratio to the floor, measured the same way, is what is judged
	c.shares = 1000               // a 99th percentile of 200 was the second-largest sample, and swung from 14 to 23 ms between runs on a loaded machine; 1,000 take about 5 s
	c.frames, c.viewFrames, c.statusRuns = 5, 300, 5
	// A tenth of the pharmacies against the full capacity, so a far
	// smaller storm; the rows say so. A storm scaled down whole (83
	// against 30/s) is no quicker to judge: its peak second is noisier
	// (√n), and over 1.5× capacity by chance alone.
	c.herdClients = 83
	c.drainFloorOnce = true
	return c
}
