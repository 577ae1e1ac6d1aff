package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	tiskiconfig "github.com/tiski-rx/tiski/pkg/config"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

// probeConfig is the probe interval, timeout and connect bound the counter
// runs with: the configuration's defaults, unless the run sets its own
// (tests).
func probeConfig(cfg config) (interval, timeout, connect time.Duration, err error) {
	// The built-in defaults: no file (a folder that does not exist), no
	// environment, no flags.
	c, err := tiskiconfig.Load(filepath.Join(os.TempDir(), "tiskibench-defaults-only"), nil, func(string) string { return "" })
	if err != nil {
		return 0, 0, 0, err
	}
	interval, timeout, connect = c.Probe.Interval, c.Probe.Timeout, c.Probe.ConnectTimeout
	if cfg.probe > 0 {
		interval = cfg.probe
	}
	if cfg.probeTimeout > 0 {
		timeout = cfg.probeTimeout
	}
	return interval, timeout, connect, nil
}

// measureDetection measures fault detection (DESIGN §10, with issue 20's
// targets) with the mode machine against a real simulator on loopback and
// its fault injection: connection refused → FAULT in ≤ 1 s, a black hole →
// FAULT in ≤ 1.5 s, no false FAULT while the service answers every call in
// 1 s, and after recovery the first upload ≤ 2 s after the first
// successful probe. Each fault is set just after the machine reached
// ONLINE, that is just after a probe, the worst phase; the row is the
// worst of the rounds. The floor of a refused connection is one bare GET
// /metadata refused; of a black hole, one bare connect given up after the
// probe's connect bound (the client's ProbeConnectTimeout).
func measureDetection(ctx context.Context, cfg config) []Row {
	interval, timeout, connect, err := probeConfig(cfg)
	refusedCheck, blackholeCheck := valueAtMost(1), valueAtMost(1.5)
	recoveryCheck, slowCheck := valueAtMost(2), valueAtMost(0)
	if err != nil {
		return []Row{failed("detect", "s", refusedCheck, err)}
	}
	rounds := fmt.Sprintf("worst of %d, probe every %s, timeout %s, connect bound %s", cfg.detectRounds, interval, timeout, connect)
	var rows []Row
	refused, blackhole, err := detectFaults(ctx, cfg, interval, timeout, connect)
	if err != nil {
		rows = append(rows, failed("detect: refused → FAULT", "s", refusedCheck, err))
	} else {
		rows = append(rows,
			row("detect: connection refused → FAULT ("+rounds+")", refused.worst.Seconds(), "s", refused.floor.Seconds(),
				"a bare GET /metadata refused", refusedCheck),
			row("detect: black hole → FAULT ("+rounds+")", blackhole.worst.Seconds(), "s", blackhole.floor.Seconds(),
				"a bare connect to the black hole given up after the probe's connect bound", blackholeCheck))
	}
	slowName := fmt.Sprintf("detect: false FAULTs against a service answering every call in %s, over %s", slowDelay, shortDuration(cfg.slowWatch))
	if cfg.slowWatch < time.Minute {
		slowName += " (the full run watches 1m)"
	}
	if n, err := falseFaults(ctx, cfg, interval, timeout, connect); err != nil {
		rows = append(rows, failed(slowName, "FAULTs", slowCheck, err))
	} else {
		rows = append(rows, row(slowName, float64(n), "FAULTs", nan(), "", slowCheck))
	}
	gap, err := recoveryGap(ctx, cfg, interval, timeout)
	if err != nil {
		rows = append(rows, failed("detect: recovery → first upload", "s", recoveryCheck, err))
	} else {
		rows = append(rows, row(fmt.Sprintf("detect: successful probe → first upload (probe every %s)", interval),
			gap.Seconds(), "s", nan(), "", recoveryCheck))
	}
	return rows
}

type detection struct{ worst, floor time.Duration }

func detectFaults(ctx context.Context, cfg config, interval, timeout, connect time.Duration) (refused, blackhole detection, err error) {
	dir, err := os.MkdirTemp("", "tiskibench-detect-")
	if err != nil {
		return refused, blackhole, err
	}
	defer os.RemoveAll(dir)
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: filepath.Join(dir, "centre"), Seed: 7})
	if err != nil {
		return refused, blackhole, err
	}
	defer sim.Close()
	j, err := journal.Open(ctx, filepath.Join(dir, "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		return refused, blackhole, err
	}
	defer j.Close()
	client, err := centre.New(centre.Config{BaseURL: sim.URL(), ProbeConnectTimeout: connect, Pharmacy: benchPharmacy})
	if err != nil {
		return refused, blackhole, err
	}
	defer client.Close()
	m := mode.New(j, client, mode.Config{Interval: interval, Timeout: timeout})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	limit := 10*(interval+timeout) + 10*time.Second
	wait := func(start time.Time, want rx.Mode) (time.Duration, error) {
		for m.State().Mode != want {
			if time.Since(start) > limit {
				return 0, fmt.Errorf("no %s within %s", want, limit)
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(start), nil
	}
	set := func(kind string) (time.Time, error) {
		return time.Now(), sim.SetFault(centresim.Fault{Kind: kind})
	}
	bare := func(kind string) time.Duration {
		start := time.Now()
		if kind == centresim.FaultBlackhole {
			host := strings.TrimPrefix(sim.URL(), "http://")
			if c, err := net.DialTimeout("tcp", host, connect); err == nil {
				c.Close()
			}
			return time.Since(start)
		}
		hc := &http.Client{Timeout: timeout}
		resp, err := hc.Get(sim.URL() + "/metadata")
		if err == nil {
			resp.Body.Close()
		}
		return time.Since(start)
	}
	round := func(kind string, d *detection) error {
		at, err := set(centresim.FaultUp)
		if err != nil {
			return err
		}
		if _, err := wait(at, rx.ModeOnline); err != nil {
			return err
		}
		// The worst phase: just after a probe was answered, a whole
		// interval before the next.
		if err := afterProbe(ctx, sim, limit); err != nil {
			return err
		}
		if at, err = set(kind); err != nil {
			return err
		}
		took, err := wait(at, rx.ModeFault)
		if err != nil {
			return err
		}
		d.worst = max(d.worst, took)
		d.floor = max(d.floor, bare(kind))
		return nil
	}
	for range cfg.detectRounds {
		if err := round(centresim.FaultDown, &refused); err != nil {
			return refused, blackhole, fmt.Errorf("refused: %w", err)
		}
		if err := round(centresim.FaultBlackhole, &blackhole); err != nil {
			return refused, blackhole, fmt.Errorf("black hole: %w", err)
		}
	}
	_, err = set(centresim.FaultUp)
	return refused, blackhole, err
}

// shortDuration writes d as a person would: 1m rather than 1m0s.
func shortDuration(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// slowDelay is how long the slow service takes over every call (issue 20).
const slowDelay = time.Second

// slowPatient is a test patient of the simulator's fixtures, looked up
// while the service is slow.
const slowPatient = "140348-901W"

// falseFaults runs the counter's mode machine against a simulator that
// answers every call in slowDelay, for cfg.slowWatch, and counts the
// changes to FAULT: a slow service is not down, so the target is none.
// Real calls go on beside the probes, one at a time, as a counter's
// patient lookups would, each with the client's own timeouts and reported
// to the machine as the counter does.
func falseFaults(ctx context.Context, cfg config, interval, timeout, connect time.Duration) (int, error) {
	sim, j, cleanup, err := simAndJournal(ctx, "tiskibench-slow-")
	if err != nil {
		return 0, err
	}
	defer cleanup()
	client, err := centre.New(centre.Config{BaseURL: sim.URL(), ProbeConnectTimeout: connect, Pharmacy: benchPharmacy})
	if err != nil {
		return 0, err
	}
	defer client.Close()
	m := mode.New(j, client, mode.Config{Interval: interval, Timeout: timeout})
	states, unsubscribe := m.Subscribe()
	defer unsubscribe()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- m.Run(runCtx) }()
	go func() {
		for runCtx.Err() == nil {
			_, err := client.FindPatient(runCtx, slowPatient)
			if runCtx.Err() == nil {
				m.Report(err)
			}
		}
		done <- nil
	}()
	defer func() { cancel(); <-done; <-done }()

	deadline := time.Now().Add(10*(interval+timeout) + 10*time.Second)
	for m.State().Mode != rx.ModeOnline {
		if time.Now().After(deadline) {
			return 0, errors.New("not ONLINE before the slow service")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultSlow, Duration: slowDelay.String()}); err != nil {
		return 0, err
	}
	answered := func() int64 { return sim.Stats().ByStatus[http.StatusOK] }
	before := answered()
	faults := 0
	watch := time.NewTimer(cfg.slowWatch)
	defer watch.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case st := <-states:
			if st.Mode == rx.ModeFault {
				faults++
			}
		case <-watch.C:
			// A watch in which nothing was answered proves nothing.
			if n := answered() - before; n < int64(cfg.slowWatch/slowDelay)/2 {
				return 0, fmt.Errorf("only %d calls answered in %s", n, cfg.slowWatch)
			}
			return faults, sim.SetFault(centresim.Fault{Kind: centresim.FaultUp})
		}
	}
}

// recoveryGap runs the counter's machine and upload worker while the
// simulator is down, until a few records wait out a backoff of up to an
// hour, then brings the simulator up: the gap is from the first successful
// probe to the first upload, both as the simulator logged them (DESIGN §10:
// ≤ 2 s).
func recoveryGap(ctx context.Context, cfg config, interval, timeout time.Duration) (time.Duration, error) {
	sim, j, cleanup, err := simAndJournal(ctx, "tiskibench-recover-")
	if err != nil {
		return 0, err
	}
	defer cleanup()
	client, err := centre.New(centre.Config{BaseURL: sim.URL(), Timeout: 10 * time.Second, ConnectTimeout: time.Second, Pharmacy: benchPharmacy})
	if err != nil {
		return 0, err
	}
	defer client.Close()
	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultDown}); err != nil {
		return 0, err
	}
	m := mode.New(j, client, mode.Config{Interval: interval, Timeout: timeout})
	// Backoffs of an hour: without the wake on recovery the records would
	// wait that long.
	w := queue.New(j, client, m, queue.Config{InitialInterval: time.Hour, MaxInterval: time.Hour})
	runCtx, cancel := context.WithCancel(ctx)
	states, unsubscribe := m.Subscribe()
	done := make(chan struct{}, 3)
	go func() { m.Run(runCtx); done <- struct{}{} }()
	go func() { w.FollowMode(runCtx, states); done <- struct{}{} }()
	go func() { w.Run(runCtx); done <- struct{}{} }()
	defer func() { cancel(); unsubscribe(); <-done; <-done; <-done }()

	const n = 3
	if err := fillJournal(ctx, j, n, n, true); err != nil {
		return 0, err
	}
	w.Kick()
	deadline := time.Now().Add(10*(interval+timeout) + 10*time.Second)
	waitFor := func(what string, ok func(journal.Counts) bool) error {
		for {
			c, err := j.Counts(ctx)
			if err != nil {
				return err
			}
			if ok(c) {
				return nil
			}
			if time.Now().After(deadline) {
				es, _ := j.OutboxList(ctx)
				var states []string
				for _, e := range es {
					states = append(states, fmt.Sprintf("%s next %s attempts %d", e.State, e.NextAttempt.Format(time.TimeOnly), e.Attempts))
				}
				return fmt.Errorf("%s: not within the deadline: %s", what, strings.Join(states, "; "))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := waitFor("records in backoff", func(c journal.Counts) bool { return c.Retry == n && m.State().Mode == rx.ModeFault }); err != nil {
		return 0, err
	}
	time.Sleep(interval / 2)
	upAt := time.Now()
	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		return 0, err
	}
	// Wake brings the oldest record forward at once and spreads the rest
	// over minutes (a herd of counters must not arrive together): the
	// target is the first upload.
	if err := waitFor("an upload after recovery", func(c journal.Counts) bool { return c.Done >= 1 }); err != nil {
		return 0, err
	}
	var probe, upload time.Time
	for _, r := range sim.Requests() {
		if r.Time.Before(upAt) {
			continue
		}
		if probe.IsZero() && r.Path == "/metadata" && r.Status == http.StatusOK {
			probe = r.Time
		}
		if upload.IsZero() && r.Method == http.MethodPost {
			upload = r.Time
		}
	}
	if probe.IsZero() || upload.IsZero() {
		return 0, errors.New("no successful probe or no upload in the simulator's log")
	}
	return upload.Sub(probe), nil
}

// afterProbe returns just after the simulator has answered a probe (GET
// /metadata) that arrived after the call.
func afterProbe(ctx context.Context, sim *centresim.Server, limit time.Duration) error {
	probes := func() int {
		n := 0
		for _, r := range sim.Requests() {
			if r.Path == "/metadata" {
				n++
			}
		}
		return n
	}
	before := probes()
	deadline := time.Now().Add(limit)
	for probes() == before {
		if time.Now().After(deadline) {
			return fmt.Errorf("no probe within %s", limit)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// simAndJournal starts a simulator and opens a journal in a temporary
// folder named after prefix; done closes both and removes the folder.
func simAndJournal(ctx context.Context, prefix string) (*centresim.Server, *journal.Journal, func(), error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, nil, nil, err
	}
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: filepath.Join(dir, "centre"), Seed: 7})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	j, err := journal.Open(ctx, filepath.Join(dir, "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		sim.Close()
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	return sim, j, func() {
		j.Close()
		sim.Close()
		os.RemoveAll(dir)
	}, nil
}
