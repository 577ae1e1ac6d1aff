package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/prescriptions"
)

// measureCounter measures the counter (DESIGN §10): the first frame, a
// frame of a patient with 200 prescriptions, and sync status and the
// counter's first frame on a journal of a million records.
func measureCounter(ctx context.Context, cfg config) []Row {
	// Setup, not measured: the tiski binary and the journal of the sync
	// status rows are built side by side (about 5 s each on a fresh 2-core
	// machine, issue 20); the rows then find the journal built.
	var (
		bin string
		err error
		wg  sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		bin, err = tiskiBinary(ctx, cfg)
	}()
	records, _ := statusJournalSize(cfg)
	_, statusErr := statusJournal(ctx, cfg, records)
	wg.Wait()
	if err != nil {
		return []Row{failed("counter: build tiski", "ms", valueAtMost(200), err)}
	}
	if statusErr != nil {
		fmt.Fprintf(os.Stderr, "tiskibench: %v\n", statusErr) // the rows that need it say so again
	}
	var rows []Row
	rows = append(rows, firstFrameRow(ctx, cfg, bin))
	rows = append(rows, viewRow(ctx, cfg))
	rows = append(rows, syncStatusRow(ctx, cfg, bin))
	rows = append(rows, bigFirstFrameRow(ctx, cfg, bin))
	return rows
}

// tiskiBinary builds cmd/tiski once for the run, as the release build
// does (.goreleaser.yaml: -trimpath, -s -w; without -X, so it says it is
// "dev"), into the cache folder. go build leaves a binary there that is
// already up to date with the sources (its build ID says so) and does not
// link it again: 2-6 s saved on a 2-core machine for every run after the
// first on the same sources.
func tiskiBinary(ctx context.Context, cfg config) (string, error) {
	if cfg.tiski != "" {
		return cfg.tiski, nil
	}
	dir := filepath.Join(cacheRoot(cfg), "bin")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	name := "tiski"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(dir, name)
	// -trimpath: the build cache then serves any clone of the repository,
	// wherever it is.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/tiski-rx/tiski/cmd/tiski")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/tiski: %v: %s", err, out)
	}
	return bin, nil
}

// execTimes runs bin with args n times and returns each run's time from
// exec to exit. okCodes are the exit codes that count as success.
func execTimes(ctx context.Context, n int, bin string, args []string, okCodes ...int) ([]time.Duration, error) {
	var times []time.Duration
	for range n {
		cmd := exec.CommandContext(ctx, bin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		var ee *exec.ExitError
		if errors.As(err, &ee) && contains(okCodes, ee.ExitCode()) {
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		times = append(times, took)
	}
	return times, nil
}

func contains(codes []int, c int) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

// firstFrameRow runs `tiski demo --first-frame`, which starts what `tiski
// demo` starts, renders the counter's first frame into a buffer and prints
// "first-frame <duration>": from its main package's initialisation (after
// the runtime's and the imported packages' own, a few milliseconds that
// the floor holds) to the write of the frame. The floor is the same
// binary's `tiski version`, exec to exit.
func firstFrameRow(ctx context.Context, cfg config, bin string) Row {
	name := fmt.Sprintf("counter: first frame (tiski demo, median of %d)", cfg.frames)
	// Issue 20: within 100 ms (DESIGN §10 said 200), the simulator, the
	// journal and the queue opening beside the frame.
	return frameRow(ctx, cfg, bin, name, valueAtMost(100), nil, "demo", "--first-frame")
}

// bigFirstFrameRow runs `tiski counter --first-frame` on the journal of
// statusRecords records (see syncStatusRow): the counter a pharmacy opens
// after years of dispensings. The Prescription Centre's address is one
// where nothing listens; the counter never waits for it (DESIGN §4).
func bigFirstFrameRow(ctx context.Context, cfg config, bin string) Row {
	records, note := statusJournalSize(cfg)
	name := fmt.Sprintf("counter: first frame, journal of %s records (tiski counter, median of %d%s)", thousands(records), cfg.frames, note)
	dir, err := statusJournal(ctx, cfg, records)
	if err != nil {
		return failed(name, "ms", valueAtMost(200), err)
	}
	env := []string{"TISKI_PHARMACY_NAME=Apteekki Tiski", "TISKI_CENTRE_URL=http://127.0.0.1:9"}
	return frameRow(ctx, cfg, bin, name, valueAtMost(200), env, "--data", dir, "counter", "--first-frame")
}

// frameRow runs bin with args (and env added to this process's), which
// prints "first-frame <duration>" (see firstFrameRow), cfg.frames times,
// and checks the median with c. The floor is the same binary's `tiski
// version`, exec to exit.
func frameRow(ctx context.Context, cfg config, bin, name string, c check, env []string, args ...string) Row {
	var frames []time.Duration
	for range cfg.frames {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			if strings.Contains(stderr.String(), "unknown flag") {
				err = errors.New("pending: tiski demo has no --first-frame yet")
			} else {
				err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
			}
			return failed(name, "ms", c, err)
		}
		d, err := parseFirstFrame(out)
		if err != nil {
			return failed(name, "ms", c, err)
		}
		frames = append(frames, d)
	}
	floor, err := execTimes(ctx, cfg.frames, bin, []string{"version"})
	if err != nil {
		return failed(name, "ms", c, err)
	}
	return row(name, ms(quantile(frames, 0.5)), "ms", ms(quantile(floor, 0.5)), "`tiski version`, exec to exit, median", c)
}

// parseFirstFrame reads the line "first-frame <Go duration>".
func parseFirstFrame(out []byte) (time.Duration, error) {
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "first-frame "); ok {
			return time.ParseDuration(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no first-frame line in %q", out)
}

// viewRow renders the prescriptions table of a patient with 200
// prescriptions at 120×40, as tui/screen/prescriptions'
// BenchmarkViewPrescriptions200 does: the bundled patient Matti's
// prescriptions from the simulator, repeated with new ids to 200. The floor is the same rows' cells joined into
// lines with no layout or styling. The colour profile is lipgloss's for this
// process's output (none when it is not a terminal, as in the benchmark).
func viewRow(ctx context.Context, cfg config) Row {
	c := valueAtMost(10)
	name := fmt.Sprintf("counter: View() of 200 prescriptions, 120×40 (median of %d)", cfg.viewFrames)
	patient, rxs, err := mattisPrescriptions(ctx)
	if err != nil {
		return failed(name, "ms", c, err)
	}
	all := make([]rx.Prescription, 0, 200)
	for i := 0; len(all) < 200; i++ {
		r := rxs[i%len(rxs)]
		r.ID = fmt.Sprintf("%s-%d", r.ID, i)
		all = append(all, r)
	}
	cm := common.New(i18n.FI, nil, common.Counter{Pharmacy: benchPharmacy, Terminal: "kassa-1", CallTimeout: 2 * time.Second}, nil)
	cm.Width, cm.Height = 120, 40
	// The benchmark also moves the cursor down a row first; that needs a
	// bubbletea key message, and cmd/ does not import bubbletea. Which
	// row is selected does not change what a frame costs.
	m := prescriptions.New(cm, patient, all, benchPharmacist)
	frames := make([]time.Duration, 0, cfg.viewFrames)
	plain := make([]time.Duration, 0, cfg.viewFrames)
	sink := 0
	for range cfg.viewFrames {
		start := time.Now()
		sink += len(m.View())
		frames = append(frames, time.Since(start))
		start = time.Now()
		sink += len(plainRows(patient, all))
		plain = append(plain, time.Since(start))
	}
	if sink == 0 {
		return failed(name, "ms", c, errors.New("nothing rendered"))
	}
	return row(name, ms(quantile(frames, 0.5)), "ms", ms(quantile(plain, 0.5)),
		"the same 200 rows' cells joined with spaces and newlines, no layout or style", c)
}

// plainRows is the floor of a frame: every cell of every row as text.
func plainRows(p rx.Patient, rxs []rx.Prescription) string {
	var b strings.Builder
	b.WriteString(p.Name() + "  " + p.HETU + "\n")
	rules := policy.Default().Validity() // as the counter's screen, on the built-in policy
	for _, r := range rxs {
		b.WriteString(strings.Join([]string{r.Medicine.DisplayName(), r.Dosage, fmt.Sprint(r.Remaining()),
			r.ValidUntil(rules).Format("2.1.2006"), string(r.Status), r.Prescriber.Name, r.ID}, " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// mattisPrescriptions loads the bundled patient Matti and his prescriptions
// from a simulator through the real client, as the counter does.
func mattisPrescriptions(ctx context.Context) (rx.Patient, []rx.Prescription, error) {
	dir, err := os.MkdirTemp("", "tiskibench-view-")
	if err != nil {
		return rx.Patient{}, nil, err
	}
	defer os.RemoveAll(dir)
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: dir, Seed: 7})
	if err != nil {
		return rx.Patient{}, nil, err
	}
	defer sim.Close()
	client, err := centre.New(centre.Config{BaseURL: sim.URL(), Pharmacy: benchPharmacy})
	if err != nil {
		return rx.Patient{}, nil, err
	}
	defer client.Close()
	p, err := client.FindPatient(ctx, patients[0])
	if err != nil {
		return rx.Patient{}, nil, err
	}
	rxs, err := client.Prescriptions(ctx, patients[0])
	if err != nil {
		return rx.Patient{}, nil, err
	}
	if len(rxs) == 0 {
		return rx.Patient{}, nil, errors.New("the fixture patient has no prescriptions")
	}
	return p, rxs, nil
}

// syncStatusRow runs `tiski sync status --json` on a journal of
// statusRecords records (built once and cached), exec to exit. The floor is
// `tiski version`, exec to exit: the process's own start and exit.
func syncStatusRow(ctx context.Context, cfg config, bin string) Row {
	c := valueAtMost(100)
	records, note := statusJournalSize(cfg)
	name := fmt.Sprintf("counter: sync status, journal of %s records (median of %d%s)", thousands(records), cfg.statusRuns, note)
	dir, err := statusJournal(ctx, cfg, records)
	if err != nil {
		return failed(name, "ms", c, err)
	}
	// 0: all uploaded; 3: records pending (ExitPending).
	times, err := execTimes(ctx, cfg.statusRuns, bin, []string{"--data", dir, "sync", "status", "--json"}, 3)
	if err != nil {
		return failed(name, "ms", c, err)
	}
	floor, err := execTimes(ctx, cfg.statusRuns, bin, []string{"version"})
	if err != nil {
		return failed(name, "ms", c, err)
	}
	return row(name, ms(quantile(times, 0.5)), "ms", ms(quantile(floor, 0.5)), "`tiski version`, exec to exit, median", c)
}

// statusJournalSize returns how many records the journal of the sync
// status and big first-frame rows holds, and a note for their names when
// that is not what the design names. Building a million records takes
// minutes; a quick run on a fresh machine says so and uses a smaller
// journal.
func statusJournalSize(cfg config) (records int, note string) {
	if cfg.quick && !statusCached(cfg, cfg.statusRecords) {
		return quickStatusRecords, fmt.Sprintf("; %s not built yet, run without --quick once", thousands(cfg.statusRecords))
	}
	return cfg.statusRecords, ""
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// statusVersion names how statusJournal builds its journal; a change to
// what it holds takes a new number, so an old cache is not reused.
const statusVersion = 1

// statusPending is how many records the status journal leaves pending: a
// long outage's worth at one counter (DESIGN §2: 20–40 in five hours).
const statusPending = 40

// statusJournal returns a data folder whose journal.db holds
// cfg.statusRecords dispensings, all uploaded but the last statusPending,
// as a counter's journal is after years. It builds it through pkg/journal,
// in large transactions, once: it keeps it under the user's cache folder,
// keyed by the record count, this builder's version and the journal
// schema.
func statusJournal(ctx context.Context, cfg config, records int) (string, error) {
	root, dir, err := statusDir(cfg, records)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "journal.db")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "building-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	if err := buildStatusJournal(ctx, filepath.Join(tmp, "journal.db"), records); err != nil {
		return "", fmt.Errorf("build the journal of %d records: %w", records, err)
	}
	fmt.Fprintf(os.Stderr, "tiskibench: built a journal of %d records in %s, cached in %s\n", records, time.Since(start).Round(time.Second), dir)
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	return dir, nil
}

// quickStatusRecords is the journal a quick run uses while the full one is
// not yet cached.
const quickStatusRecords = 20000

// statusDir returns the cache folder and the folder of the journal of n
// records in it.
func statusDir(cfg config, n int) (root, dir string, err error) {
	root = cacheRoot(cfg)
	return root, filepath.Join(root, fmt.Sprintf("status-v%d-schema%d-%d", statusVersion, journal.SchemaVersion(), n)), nil
}

// cacheRoot is the folder tiskibench keeps between runs: cfg.cacheDir, or
// tiski-bench under the user's cache folder.
func cacheRoot(cfg config) string {
	if cfg.cacheDir != "" {
		return cfg.cacheDir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		// No home folder (a bare CI container): a temporary folder,
		// kept between runs of the same machine.
		base = os.TempDir()
	}
	return filepath.Join(base, "tiski-bench")
}

// statusCached reports whether the journal of n records is built.
func statusCached(cfg config, n int) bool {
	_, dir, err := statusDir(cfg, n)
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "journal.db"))
	return err == nil
}

func buildStatusJournal(ctx context.Context, path string, n int) error {
	j, err := journal.Open(ctx, path, journal.Options{Terminal: "kassa-1"})
	if err != nil {
		return err
	}
	if err := fillStatusJournal(ctx, j, n); err != nil {
		j.Close()
		return err
	}
	return j.Close()
}

func fillStatusJournal(ctx context.Context, j *journal.Journal, n int) error {
	const batch = 10000
	for done := 0; done < n; done += batch {
		if err := fillJournal(ctx, j, min(batch, n-done), batch, true); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if (done+batch)%100000 == 0 {
			fmt.Fprintf(os.Stderr, "tiskibench: building the sync status journal: %d of %d records appended\n", done+batch, n)
		}
	}
	// Upload all but the last statusPending, through the outbox as the
	// queue does: lease in large batches and complete them.
	const owner = "tiskibench"
	for left := n - statusPending; left > 0; {
		leased, err := j.Lease(ctx, owner, min(batch, left), time.Hour)
		if err != nil {
			return err
		}
		if len(leased) == 0 {
			return errors.New("nothing left to lease")
		}
		cs := make([]journal.Completion, len(leased))
		for i, e := range leased {
			cs[i] = journal.Completion{ID: e.RecordID, UpstreamID: "MD-" + e.RecordID}
		}
		if err := j.CompleteAll(ctx, owner, cs); err != nil {
			return err
		}
		left -= len(leased)
	}
	return nil
}
