package queue_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/queue"
)

// The committer writes completions in groups, after the uploads have
// moved on (upload.go). These tests hold it to what that must not cost:
// an outcome is reported only once it is on disk, a stopped Worker writes
// every completion it was handed before it returns, and a process killed
// with completions not yet written loses none of its records.

// essentials records n essential dispensings.
func (e *env) essentials(n int) []journal.Record {
	e.t.Helper()
	patients := []string{matti, aino, eino}
	recs := make([]journal.Record, n)
	for i := range recs {
		recs[i] = e.essential(patients[i%len(patients)])
	}
	return recs
}

// checkDoneOnce drains what is left with a fresh Worker and checks that
// every record is done, with exactly one resource upstream.
func (e *env) checkDoneOnce(recs []journal.Record) {
	e.t.Helper()
	drain(e.t, e.worker(e.client("", 0), fastConfig()), 30*time.Second)
	for _, r := range recs {
		if o := e.entry(r.ID); o.State != journal.OutboxDone {
			e.t.Errorf("record %s is %s: %s", r.ID, o.State, o.LastError)
		}
		if n := e.upstream(r); n != 1 {
			e.t.Errorf("record %s: %d resources upstream, want exactly 1", r.ID, n)
		}
	}
}

// TestStopWritesEveryCompletion stops a Drain in the middle: when it
// returns, every completion handed to the committer is written, and its
// summary and its outcomes count exactly the records the journal has done.
func TestStopWritesEveryCompletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs := e.essentials(150)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var outcomes atomic.Int64
	cfg := fastConfig()
	cfg.Concurrency = 8
	cfg.LeaseTTL = time.Second // the leases the stop leaves behind run out soon
	cfg.OnOutcome = func(o queue.Outcome) {
		if o.State == journal.OutboxDone && outcomes.Add(1) == 40 {
			cancel()
		}
	}
	s, err := e.worker(e.client("", 0), cfg).Drain(ctx, false)
	if err == nil {
		t.Fatalf("drain was stopped, yet returned no error (summary %+v)", s)
	}
	c, err := e.j.Counts(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(s.Uploaded) != c.Done || outcomes.Load() != c.Done {
		t.Fatalf("stopped drain: summary %d uploaded, %d done outcomes, but the journal has %d done", s.Uploaded, outcomes.Load(), c.Done)
	}
	if c.Done >= int64(len(recs)) {
		t.Fatalf("the stop came after all %d records were done: it tested nothing", c.Done)
	}
	t.Logf("stopped with %d of %d done", c.Done, len(recs))
	time.Sleep(cfg.LeaseTTL)
	e.checkDoneOnce(recs)
}

// TestKilledWorkerLosesNoCompletion kills a process draining the journal
// with SIGKILL, while its uploads run and their completions wait for the
// committer. Every record the child reported done is done in the journal
// (an outcome is reported only once durable), and after a fresh Worker has
// drained the rest, every record is done with exactly one resource
// upstream: an upload whose completion died with the process is sent again,
// and the conditional create finds it.
func TestKilledWorkerLosesNoCompletion(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	t.Parallel()
	e := newEnv(t)
	recs := e.essentials(300)
	if err := e.j.Close(); err != nil { // the child is the only writer
		t.Fatal(err)
	}
	reported := map[string]bool{}
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDrainHelperProcess$")
		cmd.Env = append(os.Environ(), "TISKI_DRAIN_HELPER=1", "TISKI_JOURNAL="+e.j.Path(), "TISKI_CENTRE="+e.sim.URL())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random share of the records of this round: the
		// child is then in the middle of uploads and groups.
		killAfter := 20 + int(time.Now().UnixNano()%40)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(out)
			n := 0
			for sc.Scan() {
				id, ok := strings.CutPrefix(sc.Text(), "done ")
				if !ok {
					continue
				}
				reported[id] = true
				if n++; n == killAfter {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}()
		wg.Wait()
		cmd.Wait()
	}
	j, err := journal.Open(e.ctx, e.j.Path(), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	e.j = j
	for id := range reported {
		if o := e.entry(id); o.State != journal.OutboxDone {
			t.Errorf("record %s was reported done by the killed process, but the journal has it %s", id, o.State)
		}
	}
	if len(reported) == 0 || len(reported) >= len(recs) {
		t.Fatalf("the killed processes reported %d of %d records done: the kills tested nothing", len(reported), len(recs))
	}
	t.Logf("%d of %d records reported done before the kills", len(reported), len(recs))
	time.Sleep(time.Second) // the killed processes' leases run out
	e.checkDoneOnce(recs)
}

// TestDrainHelperProcess is not a test: it is the child process of
// TestKilledWorkerLosesNoCompletion. It drains the journal to the
// simulator and prints a line for each outcome reported done.
func TestDrainHelperProcess(t *testing.T) {
	if os.Getenv("TISKI_DRAIN_HELPER") == "" {
		t.Skip("helper process for TestKilledWorkerLosesNoCompletion")
	}
	ctx := context.Background()
	j, err := journal.Open(ctx, os.Getenv("TISKI_JOURNAL"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	e := &env{t: t, ctx: ctx, j: j}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	cfg := fastConfig()
	cfg.Concurrency = 8
	cfg.LeaseTTL = time.Second
	cfg.OnOutcome = func(o queue.Outcome) {
		if o.State == journal.OutboxDone {
			mu.Lock()
			fmt.Fprintf(out, "done %s\n", o.RecordID)
			out.Flush()
			mu.Unlock()
		}
	}
	if _, err := queue.New(j, e.client(os.Getenv("TISKI_CENTRE"), 0), nil, cfg).Drain(ctx, false); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}
