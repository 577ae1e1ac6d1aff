package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/queue/herd"
)

// DrillHerdOptions are the options of `tiski drill herd`.
type DrillHerdOptions struct {
	Factory  *Factory
	Clients  int
	Records  int
	Capacity float64
	Jitter   string // full, none or both
	Outage   time.Duration
	// ProbeWindow is the window in which each pharmacy's probe sees the
	// recovery, and WakeJitter the window of its first upload after that
	// (herd.Config).
	ProbeWindow time.Duration
	WakeJitter  time.Duration
	// Limit is the simulated time after which an undrained run stops,
	// and NaiveLimit the same for the naive client.
	Limit      time.Duration
	NaiveLimit time.Duration
	// NoHint runs the simulator without its RateLimit hint.
	NoHint bool
	Dir    string
	JSON   bool
	// HTML is a file to write the report to as a printable page.
	HTML string
}

// NewCmdDrillHerd builds `tiski drill herd`.
func NewCmdDrillHerd(f *Factory) *cobra.Command {
	return newCmdDrillHerd(f, nil)
}

func newCmdDrillHerd(f *Factory, runF func(context.Context, *DrillHerdOptions) error) *cobra.Command {
	opts := &DrillHerdOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "herd",
		Short: "Simulate every pharmacy reconnecting at once after an outage",
		Long: `Simulate a reconnect storm (DESIGN §9 and §10): every pharmacy recorded
dispensings in its own journal during an outage of the Prescription Centre;
the service comes back, and all of them reconnect at the same moment against
a simulator that serves --capacity requests a second and answers 429 with
Retry-After beyond it.

Each pharmacy is tiski's real upload queue over a real journal, talking HTTP
over loopback to the simulator. Time is simulated: waits (backoff,
Retry-After, polls) take no real time, and requests take no simulated time,
so a 5-minute drain takes as long as its requests and journal writes do.

--jitter full is the client as shipped: full-jitter backoff, and after the
recovery a slow start paced by the server's answers (its 429s and, when it
gives one, its RateLimit hint of the room it has left). --jitter none is the
naive client: whole backoff ceilings, and every backlog sent at the full rate
the moment the service is back. --jitter both (the default) runs one and
then the other from the same outage and shows them side by side, with a
chart of the load each offered over time. The client as shipped runs until
it has drained or --limit; the naive one, which does not drain in any
useful time, stops at --naive-limit (5 simulated minutes) and reports what
it had left. --no-hint takes away the simulator's hint, to see the client
against a server that gives none. At the full scale on two cores the two take about three
minutes of real time together.

The report gives, for each: the peak offered load (requests arriving in one
simulated second, throttled ones included), the throttled requests, the
simulated time to drain, and the records lost or recorded twice upstream,
counted at the simulator by record UUID. It exits 1 when a record was lost
or duplicated.

--html FILE writes the report as one printable page instead (A4, in the
language of --lang, nothing fetched from the network): the measures side by
side, and for each jitter mode its offered load over time against the
capacity, the throttled requests hatched and the drain marked.`,
		Example: `  tiski drill herd
  tiski drill herd --clients 100 --records 10 --capacity 30 --jitter full
  tiski drill herd --jitter both --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch opts.Jitter {
			case "full", "none", "both":
			default:
				return usageError{fmt.Errorf("--jitter %q: want full, none or both", opts.Jitter)}
			}
			if opts.Clients <= 0 || opts.Records <= 0 || opts.Capacity <= 0 {
				return usageError{fmt.Errorf("--clients, --records and --capacity must be positive")}
			}
			if opts.Outage < 0 || opts.ProbeWindow < 0 || opts.WakeJitter < 0 || opts.Limit < 0 || opts.NaiveLimit < 0 {
				return usageError{fmt.Errorf("--outage, --probe-window, --wake-jitter, --limit and --naive-limit must not be negative")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return drillHerdRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.Clients, "clients", herd.DefaultClients, "pharmacies reconnecting")
	fl.IntVar(&opts.Records, "records", herd.DefaultRecords, "records each pharmacy made during the outage")
	fl.Float64Var(&opts.Capacity, "capacity", herd.DefaultCapacity, "requests a second the simulator serves before answering 429")
	fl.StringVar(&opts.Jitter, "jitter", "both", "full, none, or both side by side")
	fl.DurationVar(&opts.Outage, "outage", herd.DefaultOutage, "how long the Prescription Centre was down")
	fl.DurationVar(&opts.ProbeWindow, "probe-window", herd.DefaultProbeWindow, "with full jitter, the window after the recovery in which each pharmacy's probe sees it (the counter's probe.fault_interval)")
	fl.DurationVar(&opts.WakeJitter, "wake-jitter", queue.DefaultWakeJitter, "with full jitter, the window of each pharmacy's first upload after its probe saw the recovery")
	fl.DurationVar(&opts.Limit, "limit", 30*time.Minute, "simulated time after the recovery at which an undrained run stops")
	fl.DurationVar(&opts.NaiveLimit, "naive-limit", 5*time.Minute, "the same for the naive client (--jitter none)")
	fl.BoolVar(&opts.NoHint, "no-hint", false, "the simulator gives no RateLimit hint, as a server that gives none: the clients pace themselves by its 429s alone")
	fl.StringVar(&opts.Dir, "dir", "", "keep the journals and the simulator's database here (default: a temporary folder, removed)")
	fl.BoolVar(&opts.JSON, "json", false, "print the results as JSON, one object per jitter mode")
	fl.StringVar(&opts.HTML, "html", "", "write the report as a printable HTML page to `FILE` instead of printing it")
	return cmd
}

func drillHerdRun(ctx context.Context, opts *DrillHerdOptions) error {
	streams := opts.Factory.IO
	modes := []herd.Jitter{herd.Jitter(opts.Jitter)}
	if opts.Jitter == "both" {
		modes = []herd.Jitter{herd.JitterFull, herd.JitterNone}
	}
	if opts.HTML != "" {
		// Before a run of minutes, not after it.
		if err := checkPageFile(opts.HTML); err != nil {
			return err
		}
	}
	results, err := herd.RunAll(ctx, herd.Config{
		Clients: opts.Clients, Records: opts.Records, Capacity: opts.Capacity,
		Outage: opts.Outage, ProbeWindow: opts.ProbeWindow, WakeJitter: opts.WakeJitter, Limit: opts.Limit, NaiveLimit: opts.NaiveLimit, NoHint: opts.NoHint, Dir: opts.Dir,
		Progress: func(s string) {
			fmt.Fprintln(streams.ErrOut, s)
		},
	}, modes...)
	if err != nil {
		return fmt.Errorf("drill herd: %w", err)
	}
	for _, r := range results {
		fmt.Fprintf(streams.ErrOut, "%s done: peak %d requests/s, drained %v in %.1f simulated s, %.1f s real\n",
			r.Jitter, r.PeakRPS, r.Drained, r.DrainSeconds, r.WallSeconds)
	}
	if opts.HTML != "" {
		if err := writePageFile(opts.HTML, herdPage(opts.Factory.Lang(), opts.Outage, results)); err != nil {
			// The run's results are not lost: the text report instead.
			if werr := herd.WriteText(streams.Out, results); werr != nil {
				return errors.Join(err, werr)
			}
			return err
		}
		fmt.Fprintf(streams.ErrOut, "Reconnect storm report written to %s\n", opts.HTML)
	}
	if opts.JSON {
		byMode := map[herd.Jitter]herd.Result{}
		for _, r := range results {
			byMode[r.Jitter] = r
		}
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(byMode); err != nil {
			return err
		}
	} else if opts.HTML == "" {
		if err := herd.WriteText(streams.Out, results); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.Lost > 0 || r.Duplicates > 0 {
			return &ExitError{Code: ExitFailed, Err: fmt.Errorf("drill herd: %s jitter lost %d records and recorded %d twice", r.Jitter, r.Lost, r.Duplicates)}
		}
	}
	return nil
}
