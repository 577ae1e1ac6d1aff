// Package herd simulates a reconnect storm (DESIGN §9, tiski drill herd):
// every pharmacy recorded its dispensings in its own journal during an
// outage of the Prescription Centre, the service comes back, and all of
// them reconnect at once against a simulator with a set capacity, beyond
// which it answers 429 with Retry-After. It reports the peak offered load,
// the throttled requests, the time to drain, and what was lost or
// duplicated.
//
// What is real and what is simulated: each pharmacy is a real queue.Worker
// (Run, Wake, backoff, Retry-After, its adaptive pacing) over a real SQLite journal
// of its own, talking HTTP over loopback to a real centresim with a real
// conditional create. Time is simulated (Clock): the simulator's clock and
// token bucket, every journal's clock and every Worker's Now and After run
// on one discrete-event clock, which stands still while anything is on
// the wire or on disk and jumps to the next timer when every client waits.
// A request therefore takes no simulated time, and a 5-minute drain takes
// as long in real time as its requests and journal writes do.
//
// The outage itself is not replayed request by request (5 hours of
// refusals from 830 clients): its end state is written into each journal
// through the journal's own API, once, and copied for each run (RunAll).
// Each record is leased and failed as many
// times as the outage takes to grow its backoff to the ceiling, and waits
// out a full-jitter retry drawn below its own ceiling, as a Worker leaves
// it. The clients then start and find nothing due. With full jitter each
// one's Wake runs when its own probe sees the service back: a counter in
// FAULT probes about every probe.fault_interval (mode.Config
// FaultInterval, 10 s), so that moment falls anywhere within the interval
// after the recovery, drawn uniformly. Without jitter (the naive client)
// every counter probes in step and all wake at the recovery itself.
//
// Simplifications, each for the clock's sake or the run's length: there
// is no mode machine (Wake is called where FollowMode would call it on
// RECOVERING, at the probe moment drawn above), nor are the probes
// themselves requests at the simulator; each Worker uploads one record at
// a time (Concurrency 1), so that one goroutine of it at a time waits on
// the clock, and since requests take no simulated time its pacing (at most
// 20 a second), not its concurrency, bounds what it offers; the clock
// moves in ticks of 10 ms;
// the outage's failed attempts are replayed only until the backoff
// ceiling stops growing.
package herd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

// Jitter names how the clients spread their retries.
type Jitter string

// The jitter modes.
const (
	// JitterFull is the client as shipped: full-jitter backoff, and
	// after Wake a slow start paced by the server's answers (its 429s
	// and, when it gives one, its RateLimit hint; queue/pace.go).
	JitterFull Jitter = "full"
	// JitterNone is the naive client (queue.Config NoJitter): every
	// retry waits its whole ceiling, and every client sends its whole
	// backlog at its full rate the moment the service is back.
	JitterNone Jitter = "none"
)

// Defaults for the zero values of Config (DESIGN §10: 830 pharmacies × 40
// records against 300 requests a second, after a 5-hour outage).
const (
	DefaultClients     = 830
	DefaultRecords     = 40
	DefaultCapacity    = 300.0
	DefaultOutage      = 5 * time.Hour
	DefaultProbeWindow = 10 * time.Second // the counter's probe.fault_interval
	DefaultTick        = 10 * time.Millisecond
	DefaultLimit       = time.Hour
	DefaultStall       = 2 * time.Minute
)

// Config configures one run.
type Config struct {
	Clients  int           // pharmacies, each with its journal and Worker; default 830
	Records  int           // dispensings each recorded during the outage; default 40
	Capacity float64       // the simulator's requests a second; default 300
	Jitter   Jitter        // JitterFull (default) or JitterNone
	Outage   time.Duration // how long the service was down; default 5 h
	// ProbeWindow is, with full jitter, the window after the recovery in
	// which each pharmacy's probe sees the service back: the counter's
	// probe.fault_interval, default 10 s. Without jitter all see it at once.
	ProbeWindow time.Duration
	// WakeJitter and WakeRate are the Workers' (queue.Config) under
	// full jitter; zero is the counter's, queue.DefaultWakeJitter (1 s)
	// and queue.DefaultWakeRate (1 a second).
	WakeJitter time.Duration
	WakeRate   float64
	// Tick is the clock's step: timers due within one tick fire together.
	// Default 10 ms.
	Tick time.Duration
	// Limit is the simulated time after the recovery at which the run
	// stops, drained or not. Default 1 h.
	Limit time.Duration
	// NoHint runs the simulator without its RateLimit hint, as a server
	// that gives none: the clients pace themselves by its 429s alone.
	NoHint bool
	// NaiveLimit, when set, is Limit for the naive run (JitterNone),
	// which drains far later than the client as shipped, if at all: it
	// bounds the real time of a comparison of the two.
	NaiveLimit time.Duration
	// Stall is the real time the clock may stand still before the run
	// fails rather than hang. Default 2 min.
	Stall time.Duration
	// Dir holds the outage's journals (outage/), and each run's copies
	// of them and its simulator's database (full/, none/); it must be
	// empty. "" is a temporary folder, memory-backed where the system has
	// one, removed at the end.
	Dir string
	// Seed seeds the simulator.
	Seed int64
	// Progress, when set, is told what the run is doing (setting up,
	// draining), for a person waiting on a long run.
	Progress func(string)
	// Logger gets the simulator's and the Workers' logs. Default: discard.
	Logger *slog.Logger
	// Pipes runs the pharmacies over in-memory pipes with journals that
	// release idle connections (pipe.go). A run that would need more file
	// descriptors than the process may open does so on its own; Pipes
	// forces it, for a test.
	Pipes bool
}

// Second is the load of one simulated second at the simulator.
type Second struct {
	Requests  int `json:"requests"`  // requests that arrived, throttled ones included
	Throttled int `json:"throttled"` // of them, answered 429
}

// Result is what one run measured. Times are simulated unless named wall.
type Result struct {
	Jitter      Jitter  `json:"jitter"`
	Clients     int     `json:"clients"`
	Records     int     `json:"records"` // per client
	CapacityRPS float64 `json:"capacity_rps"`
	// PeakRPS is the most requests that arrived at the simulator in one
	// simulated second, throttled ones included (the offered load), and
	// PeakSecond that second, counted from the recovery.
	PeakRPS    int `json:"peak_rps"`
	PeakSecond int `json:"peak_second"`
	Requests   int `json:"requests"`  // requests after the recovery
	Throttled  int `json:"throttled"` // of them, answered 429
	// DrainSeconds is the time from the recovery until the last record
	// was recorded upstream (or Limit, when Drained is false).
	DrainSeconds float64 `json:"drain_seconds"`
	Drained      bool    `json:"drained"`
	// Lost counts records the simulator does not hold at the end and
	// that no journal still has to send, Duplicates records the simulator
	// holds more than once, by record UUID, and Pending records still
	// waiting in their journal when the run stopped undrained.
	Lost       int `json:"lost"`
	Duplicates int `json:"duplicates"`
	Pending    int `json:"pending"`
	// Load is the offered load of each simulated second from the
	// recovery to the end of the drain.
	Load []Second `json:"load"`
	// WallSeconds is the real time of the whole run, setup included;
	// SetupWallSeconds of the setup alone.
	WallSeconds      float64 `json:"wall_seconds"`
	SetupWallSeconds float64 `json:"setup_wall_seconds"`
	// Pipes says the run went over in-memory pipes, its journals
	// releasing idle connections (Config.Pipes).
	Pipes bool `json:"pipes,omitempty"`
}

func (c *Config) defaults() error {
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Records == 0 {
		c.Records = DefaultRecords
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.Jitter == "" {
		c.Jitter = JitterFull
	}
	if c.Outage == 0 {
		c.Outage = DefaultOutage
	}
	if c.ProbeWindow == 0 {
		c.ProbeWindow = DefaultProbeWindow
	}
	if c.WakeJitter == 0 {
		c.WakeJitter = queue.DefaultWakeJitter
	}
	if c.WakeRate == 0 {
		c.WakeRate = queue.DefaultWakeRate
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	if c.Limit == 0 {
		c.Limit = DefaultLimit
	}
	if c.Stall == 0 {
		c.Stall = DefaultStall
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Clients < 0 || c.Records < 0:
		return fmt.Errorf("clients and records must be positive (%d, %d)", c.Clients, c.Records)
	case c.Capacity < 0:
		return fmt.Errorf("capacity %v is negative", c.Capacity)
	case c.Jitter != JitterFull && c.Jitter != JitterNone:
		return fmt.Errorf("jitter %q: want %q or %q", c.Jitter, JitterFull, JitterNone)
	case c.Outage < 0 || c.NaiveLimit < 0 || c.ProbeWindow < 0 || c.WakeJitter < 0 || c.WakeRate < 0 || c.Tick < 0 || c.Limit < 0 || c.Stall < 0:
		return errors.New("durations must not be negative")
	}
	return nil
}

// client is one simulated pharmacy.
type client struct {
	j       *journal.Journal
	c       *centre.Client
	w       *queue.Worker
	a       *Actor
	records []string
}

// Run runs one reconnect storm and measures it. Its error is for a run
// that could not be made (a journal that would not open, a clock that
// stalled); a run that did not drain within Limit is a Result with Drained
// false.
func Run(ctx context.Context, cfg Config) (Result, error) {
	rs, err := RunAll(ctx, cfg, cfg.Jitter)
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// RunAll runs the same storm once for each of modes (cfg.Jitter is
// ignored), from one setup: the outage's journals are made once and copied
// for each run, closed SQLite files copied whole, so a comparison of the
// client as shipped with the naive one costs one setup. Each run has its
// own copies and its own simulator, in a folder named after its mode.
func RunAll(ctx context.Context, cfg Config, modes ...Jitter) ([]Result, error) {
	start := time.Now()
	if len(modes) == 0 {
		return nil, errors.New("herd: no mode to run")
	}
	for _, m := range modes {
		c := cfg
		c.Jitter = m
		if err := c.defaults(); err != nil {
			return nil, fmt.Errorf("herd: %w", err)
		}
	}
	cfg.Jitter = modes[0]
	_ = cfg.defaults()
	progress := func(format string, args ...any) {
		if cfg.Progress != nil {
			cfg.Progress(fmt.Sprintf(format, args...))
		}
	}
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp(memoryDir(), "tiski-herd-*")
		if err != nil {
			return nil, fmt.Errorf("herd: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		// Another run's journals would add their records to this one's.
		return nil, fmt.Errorf("herd: %s holds an earlier run's journals; give an empty folder", dir)
	}
	outage := filepath.Join(dir, "outage")
	if err := os.MkdirAll(outage, 0o700); err != nil {
		return nil, fmt.Errorf("herd: %w", err)
	}

	// The recovery falls on a whole second, so simulated seconds line up
	// with the simulator's Load. Every run starts from it.
	recovery := time.Now().UTC().Truncate(time.Second)
	fx, err := rx.LoadFixtures(tiski.Fixtures(), recovery)
	if err != nil {
		return nil, fmt.Errorf("herd: %w", err)
	}
	progress("recording %d × %d dispensings during a %s outage", cfg.Clients, cfg.Records, cfg.Outage)
	records := make([][]string, cfg.Clients)
	setupClock := NewClock(recovery, cfg.Tick) // read, never run: the journals' clock while the outage is written
	if err := parallel(ctx, cfg.Clients, func(i int) error {
		ids, err := setup(ctx, cfg, outage, i, setupClock, fx)
		records[i] = ids
		return err
	}); err != nil {
		return nil, fmt.Errorf("herd: %w", err)
	}
	prepared := time.Since(start)

	var results []Result
	for _, m := range modes {
		runStart := time.Now()
		c := cfg
		c.Jitter = m
		if m == JitterNone && cfg.NaiveLimit > 0 {
			c.Limit = cfg.NaiveLimit
		}
		runDir := filepath.Join(dir, string(m))
		if err := copyJournals(outage, filepath.Join(runDir, "journals")); err != nil {
			return results, fmt.Errorf("herd: %w", err)
		}
		r, err := runOnce(ctx, c, runDir, recovery, records, runStart)
		if err != nil {
			return results, err
		}
		r.SetupWallSeconds += prepared.Seconds()
		r.WallSeconds += prepared.Seconds()
		results = append(results, r)
	}
	return results, nil
}

// copyJournals copies the closed journals in from into to, a folder it
// makes.
func copyJournals(from, to string) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// runOnce runs the storm over copies of the outage's journals in
// dir/journals, against a simulator of its own in dir/centre. start is
// when its setup began, for WallSeconds.
func runOnce(ctx context.Context, cfg Config, dir string, recovery time.Time, records [][]string, start time.Time) (Result, error) {
	progress := func(format string, args ...any) {
		if cfg.Progress != nil {
			cfg.Progress(fmt.Sprintf(format, args...))
		}
	}
	clock := NewClock(recovery, cfg.Tick)
	sim, err := centresim.Start(ctx, centresim.Config{
		Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "centre"),
		Seed: cfg.Seed, Now: clock.Now, Logger: cfg.Logger, Capacity: cfg.Capacity, NoHint: cfg.NoHint,
	})
	if err != nil {
		return Result{}, fmt.Errorf("herd: %w", err)
	}
	defer sim.Close()
	url, pipes := sim.URL(), cfg.Pipes || needsPipes(cfg.Clients, fdLimit())
	var dial func(context.Context, string, string) (net.Conn, error)
	if pipes {
		ln := newPipeListener()
		srv := &http.Server{Handler: sim.FHIRHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		dial = ln.DialContext
	}
	clients := make([]*client, cfg.Clients)
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				if cl.c != nil {
					cl.c.Close()
				}
				cl.j.Close()
			}
		}
	}()
	if err := parallel(ctx, cfg.Clients, func(i int) error {
		cl, err := open(ctx, dir, i, clock, url, dial)
		if cl != nil {
			cl.records = records[i]
		}
		clients[i] = cl
		return err
	}); err != nil {
		return Result{}, fmt.Errorf("herd: %w", err)
	}
	setupWall := time.Since(start)

	// The Workers, started on the clock before the recovery.
	total := int64(cfg.Clients * cfg.Records)
	var done, refused atomic.Int64
	drained := make(chan struct{})
	var drainedAt time.Time
	var once sync.Once
	settled := func() {
		if done.Load()+refused.Load() == total {
			once.Do(func() {
				drainedAt = clock.Now()
				close(drained)
			})
		}
	}
	controller := clock.NewActor()
	runCtx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	var workers sync.WaitGroup
	for i, cl := range clients {
		cl.a = clock.NewActor()
		cl.w = queue.New(cl.j, cl.c, nil, queue.Config{
			Owner: fmt.Sprintf("herd-%04d", i),
			// One upload at a time: the clock needs each Worker to wait
			// on it from one goroutine at a time (see Clock). With
			// requests taking no simulated time, the rate limit, not
			// the concurrency, bounds what a client offers.
			Concurrency: 1,
			NoJitter:    cfg.Jitter == JitterNone,
			WakeJitter:  cfg.WakeJitter,
			WakeRate:    cfg.WakeRate,
			Now:         clock.Now,
			After:       cl.a.After,
			Logger:      cfg.Logger,
			OnOutcome: func(o queue.Outcome) {
				switch o.State {
				case journal.OutboxDone:
					done.Add(1)
				case journal.OutboxConflict, journal.OutboxRejected:
					refused.Add(1)
				default:
					return
				}
				settled()
			},
		})
		workers.Add(1)
		go func() {
			defer workers.Done()
			_ = cl.w.Run(runCtx)
		}()
	}
	clockCtx, stopClock := context.WithCancel(context.Background())
	clockErr := make(chan error, 1)
	go func() { clockErr <- clock.Run(clockCtx, cfg.Stall) }()
	stop := func() {
		stopWorkers()
		workers.Wait()
		stopClock()
	}

	// Every Worker has looked at its journal, found nothing due and waits
	// for its next poll: the service comes back.
	select {
	case <-controller.After(0):
	case err := <-clockErr:
		stop()
		return Result{}, fmt.Errorf("herd: before the recovery: %w", err)
	}
	progress("recovery: %d clients reconnect (%s jitter)", cfg.Clients, cfg.Jitter)
	wakeErr := make(chan error, len(clients))
	for _, cl := range clients {
		var seen time.Duration // when this pharmacy's probe sees the service back
		if cfg.Jitter == JitterFull {
			seen = rand.N(cfg.ProbeWindow)
		}
		if seen == 0 {
			cl.a.Busy() // its poll timer is dropped; Wake kicks it
			if err := cl.w.Wake(ctx); err != nil {
				stop()
				return Result{}, fmt.Errorf("herd: wake: %w", err)
			}
			continue
		}
		prober := clock.NewActor()
		workers.Add(1)
		go func() {
			defer workers.Done()
			defer prober.Leave()
			select {
			case <-prober.After(seen):
				// No cl.a.Busy() here, unlike at the recovery itself: by
				// now the Worker may be uploading a record whose retry
				// came due, waiting on the clock for its rate limit, and
				// Busy would drop that timer for good. Wake's kick then
				// runs the Worker while the clock counts it idle, so its
				// next request may fall a tick later in simulated time.
				if err := cl.w.Wake(ctx); err != nil {
					wakeErr <- err
				}
			case <-runCtx.Done():
			}
		}()
	}
	if cfg.Progress != nil {
		// A simulated minute at a time, how far the drain has got.
		reporter := clock.NewActor()
		workers.Add(1)
		go func() {
			defer workers.Done()
			defer reporter.Leave()
			for {
				select {
				case now := <-reporter.After(time.Minute):
					progress("+%s simulated: %d of %d records uploaded", now.Sub(recovery).Round(time.Second), done.Load(), total)
				case <-runCtx.Done():
					return
				}
			}
		}()
	}
	var runErr error
	select {
	case <-drained:
	case <-controller.After(cfg.Limit):
	case runErr = <-clockErr:
	case err := <-wakeErr:
		runErr = fmt.Errorf("wake: %w", err)
	case <-ctx.Done():
		runErr = ctx.Err()
	}
	end := clock.Now()
	stop()
	if runErr != nil {
		return Result{}, fmt.Errorf("herd: %w", runErr)
	}

	res := Result{Jitter: cfg.Jitter, Pipes: pipes, Clients: cfg.Clients, Records: cfg.Records, CapacityRPS: cfg.Capacity,
		SetupWallSeconds: setupWall.Seconds()}
	select {
	case <-drained:
		res.Drained = refused.Load() == 0
		end = drainedAt
	default:
	}
	res.DrainSeconds = end.Sub(recovery).Seconds()
	res.Load = loadSeries(sim.Load(), recovery, end)
	for i, s := range res.Load {
		res.Requests += s.Requests
		res.Throttled += s.Throttled
		if s.Requests > res.PeakRPS {
			res.PeakRPS, res.PeakSecond = s.Requests, i
		}
	}
	for _, cl := range clients {
		unsent, err := cl.j.OutboxList(ctx, journal.OutboxPending, journal.OutboxRetry, journal.OutboxSending)
		if err != nil {
			return Result{}, fmt.Errorf("herd: read the outbox: %w", err)
		}
		waiting := map[string]bool{}
		for _, e := range unsent {
			waiting[e.RecordID] = true
		}
		for _, id := range cl.records {
			n, err := sim.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+id)
			if err != nil {
				return Result{}, fmt.Errorf("herd: count upstream: %w", err)
			}
			switch {
			case n == 0 && waiting[id]:
				res.Pending++
			case n == 0:
				res.Lost++
			case n > 1:
				res.Duplicates++
			}
		}
	}
	res.WallSeconds = time.Since(start).Seconds()
	return res, nil
}

// memoryDir is a memory-backed folder for the run's files when the system
// has one (Linux's /dev/shm), else "" (the temporary folder). The journals
// and the simulator's database stay real SQLite files with their pragmas,
// but their fsyncs cost nothing there: they take no simulated time anyway,
// and on a disk they only make the run slower, one flush after another.
func memoryDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "tiski-herd-probe-*"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return ""
}

// loadSeries is the simulator's load, a second each from the recovery to
// end, with the quiet seconds in.
func loadSeries(load []centresim.SecondLoad, from, end time.Time) []Second {
	n := int(end.Sub(from)/time.Second) + 1
	out := make([]Second, n)
	for _, l := range load {
		i := int(l.Second.Sub(from) / time.Second)
		if i < 0 {
			continue
		}
		for i >= len(out) {
			out = append(out, Second{})
		}
		out[i] = Second{Requests: l.Requests, Throttled: l.Throttled}
	}
	return out
}

// parallel runs fn(0..n-1) on a few goroutines and returns the first
// error.
func parallel(ctx context.Context, n int, fn func(int) error) error {
	var next atomic.Int64
	var first error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(n, 2*runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// journalName is client i's journal file.
func journalName(i int) string { return fmt.Sprintf("pharmacy-%04d.db", i) }

// pharmacyOf is client i's pharmacy.
func pharmacyOf(i int) rx.Pharmacy {
	return rx.Pharmacy{Name: fmt.Sprintf("Apteekki %04d", i), OID: fmt.Sprintf("1.2.246.10.%08d.10.0", 10000000+i)}
}

// open opens client i's journal, copied into dir/journals, and makes its
// Prescription Centre client. With dial, the client reaches the simulator
// through it, and the journal releases its connections when idle
// (pipe.go).
func open(ctx context.Context, dir string, i int, clock *Clock, url string,
	dial func(context.Context, string, string) (net.Conn, error)) (*client, error) {
	j, err := journal.Open(ctx, filepath.Join(dir, "journals", journalName(i)),
		journal.Options{Terminal: fmt.Sprintf("herd-%04d", i), Now: clock.Now, ReleaseIdle: dial != nil})
	if err != nil {
		return nil, err
	}
	c, err := centre.New(centre.Config{BaseURL: url, Timeout: 30 * time.Second, ConnectTimeout: 5 * time.Second,
		Pharmacy: pharmacyOf(i), Now: clock.Now, UserAgent: "tiski-herd", DialContext: dial})
	if err != nil {
		return &client{j: j}, err
	}
	return &client{j: j, c: c}, nil
}

// setup writes client i's journal into dir: Records essential dispensings
// made during the outage, in the state the outage left them. It returns
// their record ids and closes the journal.
func setup(ctx context.Context, cfg Config, dir string, i int, clock *Clock, fx *rx.Fixtures) (ids []string, err error) {
	recovery := clock.Now()
	j, err := journal.Open(ctx, filepath.Join(dir, journalName(i)),
		journal.Options{Terminal: fmt.Sprintf("herd-%04d", i), Now: clock.Now})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := j.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	pharmacy := pharmacyOf(i)
	m, ok := fx.Medicine("panadol-500mg-tabl")
	if !ok || len(fx.Patients) == 0 {
		return nil, errors.New("the bundled fixtures lack panadol-500mg-tabl or patients")
	}
	pharmacist := rx.Pharmacist{ID: "herd", Name: "Herd Farmaseutti", Registration: "10100012345", Role: rx.RolePharmacist}
	nrs := make([]journal.NewRecord, cfg.Records)
	for k := range nrs {
		// Spread over the outage, oldest first.
		at := recovery.Add(-cfg.Outage + time.Duration((float64(k)+rand.Float64())/float64(cfg.Records)*float64(cfg.Outage))).Truncate(time.Second)
		d := rx.Dispensing{ID: uuid.NewString(), Patient: fx.Patients[(i+k)%len(fx.Patients)].HETU, Medicine: m, VNR: "990011",
			Quantity: 30, Time: at, Pharmacist: pharmacist, Pharmacy: pharmacy, Essential: true, Basis: rx.BasisPreviousLabel}
		body, err := json.Marshal(record.DispensingBody{Dispensing: d, UnitsPerDay: 3, FaultReference: "herd drill outage"})
		if err != nil {
			return nil, err
		}
		nrs[k] = journal.NewRecord{ID: d.ID, Kind: journal.KindDispensing, Pharmacist: pharmacist.ID, Patient: d.Patient,
			Body: body, Upload: true, Time: at}
		ids = append(ids, d.ID)
	}
	if _, err := j.AppendAll(ctx, nrs...); err != nil {
		return nil, fmt.Errorf("record the outage's dispensings: %w", err)
	}
	// The outage's failed attempts, up to where the backoff reaches its
	// ceiling (later ones change nothing), then the last failure of each
	// record with its next attempt drawn below its ceiling.
	attempts := outageAttempts(cfg.Outage)
	const owner = "outage"
	const refused = "connection refused: the Prescription Centre is down"
	for n := 1; n <= attempts; n++ {
		got, err := j.Lease(ctx, owner, cfg.Records, time.Minute)
		if err != nil {
			return nil, fmt.Errorf("replay the outage: %w", err)
		}
		if n < attempts {
			if err := j.RetryAll(ctx, owner, ids, recovery, refused); err != nil {
				return nil, fmt.Errorf("replay the outage: %w", err)
			}
			continue
		}
		// Each record's next attempt is drawn below the ceiling. Only the
		// ones that fall before its pharmacy can have seen the recovery
		// (its probe window and wake jitter) are written one by one: the
		// others are woken before they come due (Wake makes every retry
		// due), so their exact time changes nothing, and they go in one
		// write, which keeps the setup of 830 journals short.
		ceiling := backoffCap(attempts)
		horizon := recovery.Add(cfg.ProbeWindow + cfg.WakeJitter)
		var later []string
		latest := horizon
		for _, e := range got {
			next := recovery.Add(time.Duration(rand.Int64N(int64(ceiling))) + 1)
			if !next.Before(horizon) {
				later = append(later, e.RecordID)
				if next.After(latest) {
					latest = next
				}
				continue
			}
			if err := j.Retry(ctx, e.RecordID, owner, next, refused); err != nil {
				return nil, fmt.Errorf("replay the outage: %w", err)
			}
		}
		if len(later) > 0 {
			if err := j.RetryAll(ctx, owner, later, latest, refused); err != nil {
				return nil, fmt.Errorf("replay the outage: %w", err)
			}
		}
	}
	return nil, nil
}

// backoffCap is the Worker's default backoff ceiling after n failures.
func backoffCap(n int) time.Duration {
	d := queue.DefaultInitialInterval
	for i := 1; i < n && d < queue.DefaultMaxInterval; i++ {
		d = time.Duration(float64(d) * queue.DefaultMultiplier)
	}
	return min(d, queue.DefaultMaxInterval)
}

// outageAttempts is how many attempts a record made during an outage of
// d, each after the mean full-jitter wait (half the ceiling), counted only
// until the ceiling stops growing.
func outageAttempts(d time.Duration) int {
	n := 1
	for t := time.Duration(0); backoffCap(n) < queue.DefaultMaxInterval; n++ {
		t += backoffCap(n) / 2
		if t > d {
			break
		}
	}
	return n
}
