package drill_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/drill"
	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

var (
	trainee  = rx.Pharmacist{ID: "trainee", Name: "Tiina Trainee", Registration: "10100099902", Role: rx.RolePharmacist}
	pharmacy = rx.Pharmacy{Name: "Tiski Training Pharmacy", OID: "1.2.246.10.99999999.10.0"}
)

// play runs a scenario headless, as `tiski drill run --headless` does:
// the real simulator on loopback, a real journal in dir, and the counter's
// mode machine and upload queue with the drill's timings, run beside it.
// It returns the drill's report.
func play(ctx context.Context, dir, file string, speed float64, skip ...int) (*drill.Report, error) {
	return playShared(ctx, dir, file, speed, true, skip...)
}

// playShared is play; with share false, the counters of a drill of
// several run no sharer: a pharmacy whose counters are islands, which
// never settles, so the drill waits for it less (5 s; a trainee 3 s).
func playShared(ctx context.Context, dir, file string, speed float64, share bool, skip ...int) (*drill.Report, error) {
	settle, wait := 20*time.Second, time.Duration(0)
	if !share {
		settle, wait = 5*time.Second, 3*time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 50*time.Second)
	defer cancel()
	s, err := drill.Load(file)
	if err != nil {
		return nil, err
	}
	srv, err := centresim.Start(ctx, centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "centre"), Seed: 1})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		return nil, err
	}
	// A drill of several counters shares their records through a hub of
	// its own, each counter running the sharer as the counter does.
	hubURL := ""
	if s.Counters > 1 {
		h, err := hub.Start(ctx, hub.Options{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "hub")})
		if err != nil {
			return nil, err
		}
		defer h.Close()
		hubURL = h.URL()
	}
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	counters := make([]drill.Counter, s.Counters)
	for i := range counters {
		name := fmt.Sprintf("drill-%d", i+1)
		j, err := journal.Open(ctx, filepath.Join(dir, name+".db"), journal.Options{Terminal: name})
		if err != nil {
			return nil, err
		}
		defer j.Close()
		client, err := centre.New(centre.Config{BaseURL: srv.URL(), Timeout: 3 * time.Second, ConnectTimeout: time.Second, Pharmacy: pharmacy})
		if err != nil {
			return nil, err
		}
		defer client.Close()
		set := drill.CounterTimings()
		m := mode.New(j, client, mode.Config{Interval: set.ProbeInterval, Timeout: set.ProbeTimeout, RecoverAfter: set.RecoverAfter})
		w := queue.New(j, client, m, queue.Config{InitialInterval: set.RetryInitial, MaxInterval: set.RetryMax})
		states, unsubscribe := m.Subscribe()
		defer unsubscribe()
		loops := []func(){func() { m.Run(bg) }, func() { w.FollowMode(bg, states) }, func() { w.Run(bg) }}
		kick := w.Kick
		if hubURL != "" && share {
			c, err := hub.Connect(ctx, hub.ClientOptions{URL: hubURL, Counter: name})
			if err != nil {
				return nil, err
			}
			defer c.Close()
			sh := hub.NewSharer(c, j)
			loops = append(loops, func() { sh.Run(bg) })
			kick = func() { w.Kick(); sh.Kick() }
		}
		for _, loop := range loops {
			wg.Add(1)
			go func() { defer wg.Done(); loop() }()
		}
		counters[i] = drill.Counter{Journal: j, Trainee: &drill.Trainee{Record: &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: pharmacy},
			Who: trainee, Fixtures: fx, Kick: kick, Skip: skip, Wait: wait,
			Resolve: func(ctx context.Context, who rx.Pharmacist, id, action, reason string) (journal.Record, error) {
				return queue.Resolve(ctx, j, who, id, queue.Resolution{Action: action, Reason: reason})
			}}}
	}
	err = drill.Run(ctx, drill.Config{
		Scenario: s, Dir: filepath.Join(dir, "drill"), Centre: srv, Journal: counters[0].Journal, Speed: speed, Settle: settle,
		Trainee: counters[0].Trainee, Counters: counters[1:],
	})
	if err != nil {
		return nil, err
	}
	d, err := drill.Open(filepath.Join(dir, "drill"))
	if err != nil {
		return nil, err
	}
	return drill.Score(d), nil
}

// speedFor plays a scenario in about target of real time, but never so
// fast that a fault, or a gap between faults, lasts under 1.5 s: the counter
// needs real time to see a fault and to see it end. The quiet start before
// the first fault needs no such time.
func speedFor(s *drill.Scenario, target time.Duration) float64 {
	speed := float64(s.Duration) / float64(target)
	if p := s.ShortestPhase(); p > 0 {
		speed = min(speed, float64(p)/float64(1500*time.Millisecond))
	}
	return max(speed, 1)
}

func report(r *drill.Report) string {
	var b bytes.Buffer
	r.WriteText(&b)
	return b.String()
}

// TestShippedScenarios plays every shipped scenario headless at high speed
// with the scripted trainee, and each report must pass its own
// expectations. The drills wait on their timelines far more than they
// compute, so they all play at once, whatever -parallel allows.
func TestShippedScenarios(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../testdata/drills/*.toml")
	if err != nil || len(files) < 7 {
		t.Fatalf("shipped scenarios: %v %v", files, err)
	}
	type result struct {
		s   *drill.Scenario
		rep *drill.Report
		err error
	}
	results := make([]result, len(files))
	var wg sync.WaitGroup
	for i, file := range files {
		dir := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			if r.s, r.err = drill.Load(file); r.err == nil {
				r.rep, r.err = play(t.Context(), dir, file, speedFor(r.s, 8*time.Second))
			}
		}()
	}
	wg.Wait()
	for i, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, rep, err := results[i].s, results[i].rep, results[i].err
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Pass {
				t.Errorf("the report fails its own expectations:\n%s", report(rep))
			}
			if testing.Verbose() {
				t.Logf("\n%s", report(rep))
			}
			for _, f := range rep.Faults {
				if f.DetectSec == nil && s.Expect.MaxDetect > 0 {
					t.Errorf("fault at step %d was never detected", f.Step)
				}
			}
			if rep.ReconcileSec == nil {
				t.Error("no reconcile time")
			}
			// Each fault was felt: the storm throttled, the drop cut.
			switch c := rep.Centre; {
			case c == nil:
				t.Error("no simulator figures in the report")
			case strings.Contains(file, "throttle") && c.Throttled == 0:
				t.Errorf("the throttling storm throttled nothing: %+v", c)
			case strings.Contains(file, "drop-after-commit") && c.Dropped == 0:
				t.Errorf("the drop after commit cut nothing: %+v", c)
			}
		})
	}
}

// TestBrokenRunFails skips one task, so one record is missing, and the
// report must fail on that record and that task, and on nothing else. The
// scenario has no expectation on the counter's timing, so nothing else can
// fail on a slow machine.
func TestBrokenRunFails(t *testing.T) {
	t.Parallel()
	file := "../../testdata/drills/drop-after-commit.toml"
	s, err := drill.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := play(t.Context(), t.TempDir(), file, speedFor(s, 6*time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pass {
		t.Fatalf("a run with a task skipped passes:\n%s", report(rep))
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.Pass {
			failed = append(failed, c.Name)
		}
	}
	if len(failed) != 2 || !slices.Contains(failed, "records: dispensing") {
		t.Errorf("failed checks %q, want the skipped task's record count and the task itself", failed)
	}
	if rep.Tasks[0].Outcome != drill.OutcomeMissing {
		t.Errorf("task 1 outcome %q, want %q", rep.Tasks[0].Outcome, drill.OutcomeMissing)
	}
}

// TestNextCounterWithoutSharing plays the two-counter scenario with
// counters that do not share: counter 2 cannot see the prescription made at
// counter 1, so the report fails on that task, on the quantity left it never
// saw, on its dispensing and on the records shared, and on nothing else.
// It runs before the parallel drills, not beside them: a third pharmacy of
// two counters and a hub on a shared machine slowed them past their
// deadlines.
func TestNextCounterWithoutSharing(t *testing.T) {
	file := "../../testdata/drills/next-counter.toml"
	s, err := drill.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := playShared(t.Context(), t.TempDir(), file, speedFor(s, 6*time.Second), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pass {
		t.Fatalf("two counters that do not share pass the drill:\n%s", report(rep))
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.Pass {
			failed = append(failed, c.Name)
		}
	}
	want := []string{"records: dispensing", "task 2 (journal, 170558V***6): dispensing",
		"task 2 (journal, 170558V***6) at counter 2: quantity left on task 1's prescription",
		"counter 1 holds counter 2's records", "counter 2 holds counter 1's records"}
	slices.Sort(failed)
	slices.Sort(want)
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks %q, want %q\n%s", failed, want, report(rep))
	}
	if rep.Tasks[1].Outcome != drill.OutcomeRefused || !strings.Contains(rep.Tasks[1].Detail, "did not see task 1's prescription") {
		t.Errorf("task 2: %+v", rep.Tasks[1])
	}
}
