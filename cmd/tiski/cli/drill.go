package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/drill"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// defaultDrillDir is where a drill keeps its data when --data is not
// given: a folder of its own in the working directory, never the
// pharmacy's data folder, so training data never mixes with real data.
const defaultDrillDir = "tiski-drill"

// The drill's trainee at the counter. The training PIN, trainingPIN,
// unlocks the counter after inactivity.
const drillUserID = "trainee"

// NewCmdDrill builds `tiski drill`.
func NewCmdDrill(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Fault drills for trainers: play a scenario, follow it, score it",
		Long: `Fault drills train pharmacists for a Prescription Centre outage. A scenario
file is a timeline of faults of a simulated Prescription Centre, the
trainees' tasks, and the expected outcomes. Six ship with tiski ('tiski
drill list'; run one by its name); testdata/drills/ in the source holds them
and describes the format for writing more.

  tiski drill list                        the shipped scenarios
  tiski drill run SCENARIO --data DIR     play one, by name or file (the counter opens on a terminal)
  tiski drill status --data DIR           how far it has got, what was recorded
  tiski drill report --data DIR           the scorecard; exit 1 when it fails
  tiski drill herd                        every pharmacy reconnecting at once

Every drill has its own data folder: a simulator, a training journal, and
the drill's events. Nothing touches a real Prescription Centre or journal.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(NewCmdDrillList(f), NewCmdDrillRun(f, nil), NewCmdDrillStatus(f, nil), NewCmdDrillReport(f, nil), NewCmdDrillHerd(f))
	return cmd
}

// NewCmdDrillList builds `tiski drill list`.
func NewCmdDrillList(f *Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [FOLDER]",
		Short: "List the drill scenarios shipped with tiski, or those in a folder",
		Long: `Lists each scenario's name, title, length, steps and tasks: without a
folder the scenarios shipped with tiski (run one by its name, e.g.
'tiski drill run july-2015'), with one every .toml file in it. A scenario
with a mistake is listed with the mistake.`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			type row struct {
				File     string `json:"file"`
				Shipped  bool   `json:"shipped,omitempty"`
				Name     string `json:"name,omitempty"`
				Title    string `json:"title,omitempty"`
				Duration string `json:"duration,omitempty"`
				Steps    int    `json:"steps"`
				Tasks    int    `json:"tasks"`
				Error    string `json:"error,omitempty"`
			}
			var files []string
			shipped := len(args) == 0
			if shipped {
				names, err := drill.Bundled()
				if err != nil {
					return err
				}
				files = names
			} else {
				var err error
				if files, err = filepath.Glob(filepath.Join(args[0], "*.toml")); err != nil {
					return err
				}
				if len(files) == 0 {
					return fmt.Errorf("no scenarios (*.toml) in %s: give the folder that holds them, or no folder for the shipped ones", args[0])
				}
			}
			var rows []row
			for _, file := range files {
				s, err := drill.Find(file)
				if err != nil {
					rows = append(rows, row{File: file, Shipped: shipped, Error: err.Error()})
					continue
				}
				rows = append(rows, row{File: file, Shipped: shipped, Name: s.Name, Title: s.Title, Duration: s.Duration.String(), Steps: len(s.Steps), Tasks: len(s.Tasks)})
			}
			if asJSON {
				return writeJSONTo(f.IO, rows)
			}
			for _, r := range rows {
				if r.Error != "" {
					fmt.Fprintf(f.IO.Out, "%-40s INVALID: %s\n", r.File, r.Error)
					continue
				}
				if r.Shipped { // the name is what runs it
					fmt.Fprintf(f.IO.Out, "%-18s %8s  %d steps, %d tasks  %s\n", r.File, r.Duration, r.Steps, r.Tasks, r.Title)
					continue
				}
				fmt.Fprintf(f.IO.Out, "%-40s %-18s %8s  %d steps, %d tasks  %s\n", r.File, r.Name, r.Duration, r.Steps, r.Tasks, r.Title)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// DrillRunOptions are the options of `tiski drill run`.
type DrillRunOptions struct {
	Factory  *Factory
	IO       IO
	Scenario string
	DataDir  string
	Speed    float64
	Headless bool
	Seed     int64
	Settle   time.Duration
}

// NewCmdDrillRun builds `tiski drill run`.
func NewCmdDrillRun(f *Factory, runF func(context.Context, *DrillRunOptions) error) *cobra.Command {
	opts := &DrillRunOptions{Factory: f, IO: f.IO}
	cmd := &cobra.Command{
		Use:   "run SCENARIO",
		Short: "Play a drill scenario against a simulated Prescription Centre",
		Long: `Starts the Prescription Centre simulator and a training counter with its own
journal in the data folder, and plays the scenario's timeline: each step
puts a fault in force on the simulator at its offset. SCENARIO is a
scenario file, or the name of one shipped with tiski (tiski drill list).

On a terminal the counter opens with the TRAINING banner, signed in as a
trainee, and the trainees do the tasks by hand while the timeline plays in
the background; the drill ends when they close the counter. With
--headless, or without a terminal, a script does each task at its offset
through the same recording code the counter uses, and the drill ends once
everything has reconciled (or --settle has passed).

--speed compresses the timeline: 60 plays an hour of scenario in a minute.
The counter's own probes, timeouts and retries stay in real time, so the
report gives the time to detect a fault and to reconcile in real seconds.

Follow it with 'tiski drill status --data DIR'; score it with
'tiski drill report --data DIR'.`,
		Example: `  tiski drill run july-2015 --speed 60 --data drill-july
  tiski drill run blackhole --speed 600 --headless --data /tmp/bh
  tiski drill run my-scenarios/night-shift.toml --data drill-night`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Scenario = args[0]
			if opts.Speed <= 0 {
				return usageError{fmt.Errorf("--speed %g: give a speed above 0, e.g. 1 for real time or 60 for an hour a minute", opts.Speed)}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return drillRunRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data", defaultDrillDir, "the drill's own data folder; it must not hold a drill already")
	cmd.Flags().Float64Var(&opts.Speed, "speed", 1, "compress the timeline: 60 plays an hour in a minute")
	cmd.Flags().BoolVar(&opts.Headless, "headless", false, "no counter: a script does the trainees' tasks (the default without a terminal)")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "seed for the simulator's random choices (flaky and drop-after-commit faults)")
	cmd.Flags().DurationVar(&opts.Settle, "settle", drill.DefaultSettle, "headless: how long, in real time, to wait for everything to reconcile after the timeline")
	return cmd
}

func drillRunRun(ctx context.Context, opts *DrillRunOptions) error {
	f := opts.Factory
	s, err := drill.Find(opts.Scenario)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, drill.EventsFile)); err == nil {
		return fmt.Errorf("%s already holds a drill: give another folder with --data, or remove this one", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make drill folder: %w", err)
	}
	headless := opts.Headless || !isTerminal(opts.IO)
	// The counter needs about a second and a half of real time to notice a
	// fault or its end (drill.CounterTimings); a phase compressed below
	// that may pass unnoticed, and the report will say so.
	if p := s.ShortestPhase(); p > 0 && time.Duration(float64(p)/opts.Speed) < 1500*time.Millisecond {
		fmt.Fprintf(opts.IO.ErrOut, "tiski: warning: at speed %g the shortest phase of %s (%s) lasts %s of real time; the counter needs about 1.5 s to notice a change. A speed up to %.0f leaves it that time.\n",
			opts.Speed, s.Name, p, time.Duration(float64(p)/opts.Speed).Round(time.Millisecond), float64(p)/float64(1500*time.Millisecond))
	}

	srv, err := centresim.Start(ctx, centresim.Config{
		Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "centre"),
		Seed: opts.Seed, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return fmt.Errorf("start the Prescription Centre simulator: %w", err)
	}
	defer srv.Close()
	hubURL, stopHub, err := drillHub(ctx, s, dir)
	if err != nil {
		return err
	}
	defer stopHub()
	j, who, err := drillCounter(ctx, f, srv, filepath.Join(dir, "counter"), "drill-1", hubURL)
	if err != nil {
		return err
	}
	c, err := f.Config()
	if err != nil {
		return err
	}
	pol, err := f.Policy()
	if err != nil {
		return err
	}
	others, stopOthers, err := drillOtherCounters(ctx, f, s, srv, dir, hubURL, pol)
	if err != nil {
		return err
	}
	defer stopOthers()
	cfg := drill.Config{
		Scenario: s, Dir: dir, Centre: srv, Journal: j, Counters: others, Policy: pol, Speed: opts.Speed, Settle: opts.Settle, Logger: f.Logger(),
		State: drill.State{Centre: srv.URL(), Admin: srv.AdminURL(), Journal: j.Path()},
	}
	if !headless {
		// The trainees do the tasks at the counter; the timeline plays in
		// the background until they close it.
		cfg.Follow = true
		refusals := make(chan error, 16)
		cfg.Refusals = refusals
		lang, _ := i18n.Parse(c.Language)
		task := &drillTask{lang: string(lang)}
		cfg.OnTask = task.give
		bg, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- drill.Run(bg, cfg) }()
		err := counterRun(ctx, &CounterOptions{Factory: f, Training: true, SignedIn: &who, Task: task.current, Refused: func(err error) {
			select {
			case refusals <- err: // the policy's refusals count as violations caught
			default:
			}
		}})
		cancel()
		if derr := <-done; err == nil {
			err = derr
		}
		fmt.Fprintf(opts.IO.Out, "Drill %s ended. Score it: tiski drill report --data %s\n", s.Name, dir)
		return err
	}

	client, err := f.Centre()
	if err != nil {
		return err
	}
	defer client.Close()
	wcfg, err := workerConfig(f)
	if err != nil {
		return err
	}
	m, w, err := uploader(f, j, client, wcfg)
	if err != nil {
		return err
	}
	defer runBeside(ctx, m, w, func(ctx context.Context) { w.Run(ctx) })()
	// With a hub, the counter shares as it would on screen (counterRun).
	stopSharing, err := f.startSharing(ctx, j)
	if err != nil {
		return err
	}
	defer stopSharing()
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		return fmt.Errorf("load fixtures: %w", err)
	}
	cfg.Trainee = &drill.Trainee{Record: &record.Service{Journal: j, Policy: pol, Pharmacy: c.Pharmacy}, Who: who, Fixtures: fx, Kick: f.kickSharing(w),
		Resolve: func(ctx context.Context, who rx.Pharmacist, id, action, reason string) (journal.Record, error) {
			return queue.Resolve(ctx, j, who, id, queue.Resolution{Action: action, Reason: reason})
		}}

	out := opts.IO.Out
	wall := time.Duration(float64(s.Duration) / opts.Speed).Round(time.Second)
	fmt.Fprintf(out, "TRAINING drill %s — %s\n", s.Name, s.Title)
	fmt.Fprintf(out, "Speed %g: %s of scenario in about %s, tasks done by a script.\n", opts.Speed, s.Duration, wall)
	fmt.Fprintf(out, "Data %s\nSimulator %s (admin %s)\n", dir, srv.URL(), srv.AdminURL())
	if hubURL != "" {
		fmt.Fprintf(out, "Hub %s: %d counters share their records; counters 2 and on are a scripted colleague's\n", hubURL, s.Counters)
	}
	fmt.Fprintf(out, "Follow it: tiski drill status --data %s\n", dir)
	if err := drill.Run(ctx, cfg); err != nil {
		return err
	}
	if ctx.Err() != nil {
		fmt.Fprintf(out, "Drill stopped. The report covers what happened until now: tiski drill report --data %s\n", dir)
		return ctx.Err()
	}
	fmt.Fprintf(out, "Drill %s played to its end. Score it: tiski drill report --data %s\n", s.Name, dir)
	return nil
}

// drillTask is the task the timeline gave the trainees last, for the
// counter to show.
type drillTask struct {
	lang string // the counter's: the task is told in it when the scenario has it
	mu   sync.Mutex
	n    int
	text string
}

// give takes a task as the timeline gives it: what the trainees are told,
// and the patient's identity code to search by (a test code).
func (d *drillTask) give(n int, t drill.Task) {
	text := t.Told(d.lang)
	if text == "" {
		text = string(t.Do)
	}
	if t.Patient != "" {
		text += " (" + t.Patient + ")"
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n, d.text = n, text
}

func (d *drillTask) current() (int, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n, d.text
}

// drillCounter prepares the training counter terminal in dir: its
// configuration against the simulator (and the drill's hub, when
// hubURL), with the drill's timings, its journal and the trainee's
// sign-in. The factory then works on it, as the demo does.
func drillCounter(ctx context.Context, f *Factory, srv *centresim.Server, dir, terminal, hubURL string) (*journal.Journal, rx.Pharmacist, error) {
	who := rx.Pharmacist{ID: drillUserID, Name: "Trainee Pharmacist", Registration: "10100099902", Role: rx.RolePharmacist}
	t := drill.CounterTimings()
	conf := fmt.Sprintf("terminal = %q\n[pharmacy]\nname = \"Tiski Training Pharmacy\"\noid = \"1.2.246.10.99999999.10.0\"\n"+
		"[probe]\ninterval = %q\nfault_interval = %q\ntimeout = %q\nrecover_after = %d\n[sync]\ninitial_interval = %q\nmax_interval = %q\n",
		terminal, t.ProbeInterval, t.ProbeInterval, t.ProbeTimeout, t.RecoverAfter, t.RetryInitial, t.RetryMax)
	if hubURL != "" {
		conf += fmt.Sprintf("[hub]\nurl = %q\n", hubURL)
	}
	j, err := trainingCounter(ctx, f, srv.URL(), dir, conf, who)
	if err != nil {
		return nil, who, err
	}
	// Training records are shared with the drill's own hub or none.
	return j, who, demoHubIs(f, hubURL)
}

// DrillReadOptions are the options of `tiski drill status` and `tiski
// drill report`.
type DrillReadOptions struct {
	Factory *Factory
	IO      IO
	DataDir string
	JSON    bool
	// HTML, for the report, is a file to write the printable page to.
	HTML string
	Now  func() time.Time
}

// NewCmdDrillStatus builds `tiski drill status`.
func NewCmdDrillStatus(f *Factory, runF func(context.Context, *DrillReadOptions) error) *cobra.Command {
	opts := &DrillReadOptions{Factory: f, IO: f.IO, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "How far a drill's timeline has got, and what the trainees have recorded",
		Long: `Reads the drill's data folder, while it runs or after: the timeline's
progress, the fault in force, the counter's mode and upload queue, and each
record the trainees made (identity codes masked).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return drillStatusRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data", defaultDrillDir, "the drill's data folder, as given to 'tiski drill run'")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func drillStatusRun(opts *DrillReadOptions) error {
	d, err := drill.Open(opts.DataDir)
	if err != nil {
		return drillOpenError(err)
	}
	st := d.Status(opts.Now())
	if opts.JSON {
		return writeJSONTo(opts.IO, st)
	}
	st.WriteText(opts.IO.Out)
	return nil
}

// NewCmdDrillReport builds `tiski drill report`.
func NewCmdDrillReport(f *Factory, runF func(context.Context, *DrillReadOptions) error) *cobra.Command {
	opts := &DrillReadOptions{Factory: f, IO: f.IO, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "The drill's scorecard, pass or fail against each expectation",
		Long: `Scores the drill in the data folder: records by kind, policy violations
caught and recorded, the time to detect each fault and to reconcile,
conflicts raised and resolved, pass or fail against each of the scenario's
expectations, and a plain-text chart of the mode and the upload queue over
time.

The time to detect and to reconcile are the counter's, in real seconds:
--speed compresses the timeline, not the counter. On the timeline they are
added uncompressed to the offset of the step they follow.

--html FILE writes the scorecard as one printable page instead (A4, in the
language of --lang, identity codes masked, nothing fetched from the
network): the mode and the upload queue over time as a chart, each fault
step marked, and pass or fail for each expectation at a glance. Open it in
a browser, print it, or hand it out.

Exit status: 0 when the drill passes every expectation, 1 when it fails
one (the report says which), and 1 with a message when there is no drill.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return drillReportRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data", defaultDrillDir, "the drill's data folder, as given to 'tiski drill run'")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&opts.HTML, "html", "", "write the report as a printable HTML page to `FILE` instead of printing it")
	return cmd
}

func drillReportRun(opts *DrillReadOptions) error {
	d, err := drill.Open(opts.DataDir)
	if err != nil {
		return drillOpenError(err)
	}
	rep := drill.Score(d)
	if opts.HTML != "" {
		if err := checkPageFile(opts.HTML); err != nil {
			return err
		}
		if err := writePageFile(opts.HTML, drillPage(opts.Factory.Lang(), d, rep)); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "Drill report written to %s\n", opts.HTML)
	}
	if opts.JSON {
		if err := writeJSONTo(opts.IO, rep); err != nil {
			return err
		}
	} else if opts.HTML == "" {
		rep.WriteText(opts.IO.Out)
	}
	if !rep.Pass {
		return &ExitError{Code: ExitFailed} // the report has said why
	}
	return nil
}

// drillOpenError keeps the message of a missing drill short.
func drillOpenError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%v: is this the folder given to 'tiski drill run --data'?", err)
	}
	return err
}

func writeJSONTo(streams IO, v any) error {
	enc := json.NewEncoder(streams.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
