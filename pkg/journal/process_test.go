package journal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Tests that need more than one process re-run this test binary with
// helperEnv set; TestHelperProcess then becomes the child and never returns.
const helperEnv = "TISKI_JOURNAL_HELPER"

// TestHelperProcess is not a test: it is the child process of the crash,
// disk-full and two-process tests. The action and its arguments come from
// the environment. It prints "ready" once the journal is open, and a line
// per confirmed result.
func TestHelperProcess(t *testing.T) {
	action := os.Getenv(helperEnv)
	if action == "" {
		t.Skip("helper process for the multi-process tests")
	}
	err := runHelper(action, os.Getenv("TISKI_JOURNAL"), os.Getenv("TISKI_JOURNAL_ARG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}

func runHelper(action, path, arg string) error {
	ctx := context.Background()
	j, err := Open(ctx, path, Options{Terminal: "helper-" + strconv.Itoa(os.Getpid())})
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush() // a line is out before the next record is attempted
	}
	if action == "diskfull" {
		if err := limitFileSize(path); err != nil {
			return err
		}
	}
	say("ready")
	switch action {
	case "append", "diskfull":
		// arg: how many records; 0: until killed or failed.
		n, _ := strconv.Atoi(arg)
		body := strings.Repeat("x", 200)
		if action == "diskfull" {
			body = strings.Repeat("y", 2000)
		}
		for i := 1; n == 0 || i <= n; i++ {
			if action == "append" && i%10 == 0 {
				to := rx.ModeFault
				if i%20 == 0 {
					to = rx.ModeOnline
				}
				// Another helper may change the mode between the read and
				// the change; the journal then refuses it, which is fine here.
				cur, err := j.Mode(ctx)
				if err != nil {
					return err
				}
				if _, _, err := j.ChangeMode(ctx, rx.ModeChange{From: cur.Mode, To: to, Cause: "helper " + strconv.Itoa(os.Getpid())}); err != nil {
					return err
				}
			}
			nr := dispensing(i)
			nr.Body = []byte(fmt.Sprintf(`{"i":%d,"pad":%q}`, i, body))
			rec, err := j.Append(ctx, nr)
			if err != nil {
				say("fail %s\t%s", rx.ErrorCode(err), rx.ErrorMessage(err))
				_, err = j.Append(ctx, nr)
				say("again %s", rx.ErrorCode(err))
				return nil // no Close: the process just ends, as a crashed counter would
			}
			say("ok %s", rec.ID)
		}
	case "hammer":
		// Append back to back until killed, as a sync run settling a
		// backlog writes: no pause between transactions.
		for i := 1; ; i++ {
			if _, err := j.Append(ctx, dispensing(i)); err != nil {
				return err
			}
		}
	case "lease":
		// Lease and complete until nothing is left; arg is the owner.
		for {
			es, err := j.Lease(ctx, arg, 7, time.Minute)
			if err != nil {
				return err
			}
			if len(es) == 0 {
				break
			}
			for _, e := range es {
				if err := j.Complete(ctx, e.RecordID, arg, "up-"+e.RecordID); err != nil {
					return err
				}
				say("leased %s", e.RecordID)
			}
		}
	default:
		return fmt.Errorf("unknown helper action %q", action)
	}
	return j.Close()
}

// child is a running helper process.
type child struct {
	cmd   *exec.Cmd
	lines chan string // stdout, line by line; closed at EOF
}

func startHelper(t *testing.T, action, path, arg string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+action, "TISKI_JOURNAL="+path, "TISKI_JOURNAL_ARG="+arg)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		defer close(c.lines)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				// A line cut short by a kill was never confirmed.
				io.Copy(io.Discard, r)
				return
			}
			c.lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	return c
}

// waitReady waits for the child's "ready" line.
func (c *child) waitReady(t *testing.T) {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok || line != "ready" {
			c.cmd.Process.Kill()
			c.cmd.Wait()
			t.Fatalf("helper did not start: %q", line)
		}
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		t.Fatal("helper did not become ready")
	}
}

// finish collects the rest of the output and waits for the process.
func (c *child) finish() ([]string, error) {
	var lines []string
	for l := range c.lines {
		lines = append(lines, l)
	}
	return lines, c.cmd.Wait()
}

// confirmedIDs returns the ids of the "ok" lines.
func confirmedIDs(lines []string, prefix string) []string {
	var ids []string
	for _, l := range lines {
		if id, ok := strings.CutPrefix(l, prefix+" "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// checkJournal opens the journal and checks that every id is there, the
// sequence is gapless, the chain verifies and integrity_check passes. It
// returns the number of records.
func checkJournal(t *testing.T, path string, ids map[string]bool) int {
	t.Helper()
	ctx := context.Background()
	j, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer j.Close()
	rep, err := j.Verify(ctx)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.OK {
		t.Fatalf("Verify: %s (first bad %+v; integrity %v)", rep.Problem, rep.FirstBad, rep.Integrity)
	}
	recs, err := j.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	have := make(map[string]bool, len(recs))
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d: the sequence has a gap", i+1, r.Seq)
		}
		if have[r.ID] {
			t.Fatalf("record id %s twice", r.ID)
		}
		have[r.ID] = true
	}
	for id := range ids {
		if !have[id] {
			t.Errorf("confirmed record %s is missing", id)
		}
	}
	return len(recs)
}

func newJournalFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCrashKeepsConfirmedRecords kills a writing child with SIGKILL at random
// moments, 50 times, and checks after each restart that every record it
// reported confirmed is there and the journal is sound.
func TestCrashKeepsConfirmedRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 50 processes")
	}
	if runtime.GOOS == "windows" {
		t.Skip("Process.Kill is not SIGKILL on Windows")
	}
	t.Parallel() // the children mostly wait on fsync
	path := newJournalFile(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TISKI_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set TISKI_CRASH_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	confirmed := map[string]bool{}
	const kills = 50
	for i := range kills {
		c := startHelper(t, "append", path, "0")
		c.waitReady(t)
		// The delay only picks the moment of the kill; nothing is
		// observed by sleeping.
		time.Sleep(time.Duration(5+rng.IntN(76)) * time.Millisecond)
		if err := c.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		lines, _ := c.finish()
		for _, id := range confirmedIDs(lines, "ok") {
			confirmed[id] = true
		}
		n := checkJournal(t, path, confirmed)
		if t.Failed() {
			t.Fatalf("after kill %d", i+1)
		}
		if i == kills-1 {
			t.Logf("%d kills, %d records confirmed, %d in the journal", kills, len(confirmed), n)
		}
	}
	if len(confirmed) < kills {
		t.Errorf("only %d records confirmed in %d runs: the children hardly wrote", len(confirmed), kills)
	}
}

// TestTwoProcesses has two children append to one journal at once, with mode
// changes between, and then two children lease and complete every entry at
// once.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	t.Parallel()
	path := newJournalFile(t)
	const each = 300
	a := startHelper(t, "append", path, strconv.Itoa(each))
	b := startHelper(t, "append", path, strconv.Itoa(each))
	ids := map[string]bool{}
	for _, c := range []*child{a, b} {
		lines, err := c.finish()
		if err != nil {
			t.Fatalf("writer: %v", err)
		}
		got := confirmedIDs(lines, "ok")
		if len(got) != each {
			t.Fatalf("a writer confirmed %d records, want %d", len(got), each)
		}
		for _, id := range got {
			ids[id] = true
		}
	}
	if len(ids) != 2*each {
		t.Fatalf("%d distinct ids, want %d", len(ids), 2*each)
	}
	n := checkJournal(t, path, ids)
	t.Logf("%d records (%d of them mode changes); the writers took turns %d times", n, n-2*each, turns(t, path))

	x := startHelper(t, "lease", path, "owner-x")
	y := startHelper(t, "lease", path, "owner-y")
	leased := map[string]string{}
	for _, c := range []*child{x, y} {
		owner := c.cmd.Env[len(c.cmd.Env)-1]
		lines, err := c.finish()
		if err != nil {
			t.Fatalf("leaser: %v", err)
		}
		for _, id := range confirmedIDs(lines, "leased") {
			if other, ok := leased[id]; ok {
				t.Errorf("entry %s leased by %s and %s", id, other, owner)
			}
			leased[id] = owner
		}
	}
	if len(leased) != 2*each {
		t.Errorf("%d entries leased, want %d", len(leased), 2*each)
	}
	j, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cnt, err := j.Counts(context.Background())
	if err != nil || cnt.Done != 2*each || cnt.Unsent() != 0 {
		t.Errorf("Counts = %+v, %v", cnt, err)
	}
}

// turns counts how often consecutive records come from different terminals:
// how much the two writers overlapped.
func turns(t *testing.T, path string) int {
	j, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recs, err := j.List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 1; i < len(recs); i++ {
		if recs[i].Terminal != recs[i-1].Terminal {
			n++
		}
	}
	return n
}
