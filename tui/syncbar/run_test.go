package syncbar

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tiski-rx/tiski/tui/i18n"
)

// lockedBuffer is a bytes.Buffer safe for the program's writes and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBar runs the bar as sync run does, with counts and a conflict's line
// sent from other goroutines: Stop returns once the last bar is written,
// with the line above it, and a line printed after Stop is handed back to
// the caller rather than lost.
func TestBar(t *testing.T) {
	var out lockedBuffer
	b := Start(&out, i18n.EN, Counts{Total: 20, At: t0})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 5 {
				b.Show(Counts{Total: 20, Uploaded: int64(i*5 + k), At: t0.Add(time.Duration(i*5+k) * 100 * time.Millisecond)})
			}
		}()
	}
	if !b.Print("conflict dispensing 0193a1b2: dispensed-elsewhere") {
		t.Error("Print refused while the bar runs")
	}
	wg.Wait()
	if err := b.Stop(Counts{Total: 20, Uploaded: 19, Conflicts: 1, At: t0.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	got := ansi.Strip(out.String())
	line, last := strings.Index(got, "dispensed-elsewhere"), strings.LastIndex(got, "19/20 uploaded · 1 in conflict")
	if line < 0 || last < line {
		t.Errorf("want the conflict's line, then the last bar:\n%q", got)
	}
	if b.Print("rejected dispensing 0193a1b3: too late") {
		t.Error("Print after Stop says it printed")
	}
}

// TestPrintBeforeStopIsNeverLost: every line printed above the bar before
// Stop is on the terminal when Stop returns, however soon Stop follows.
// Each print used to go through a command of its own, which the Finish of
// Stop could overtake: the program then quit with the line unprinted.
func TestPrintBeforeStopIsNeverLost(t *testing.T) {
	for run := range 20 {
		out := &lockedBuffer{}
		start := Counts{At: time.Now(), Total: 10}
		b := Start(out, i18n.EN, start)
		const n = 30
		for i := range n {
			if !b.Print(fmt.Sprintf("conflict line %02d", i)) {
				t.Fatal("the bar ended before its Stop")
			}
		}
		if err := b.Stop(Counts{At: time.Now(), Total: 10, Uploaded: 10}); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		for i := range n {
			if want := fmt.Sprintf("conflict line %02d", i); !strings.Contains(got, want) {
				t.Fatalf("run %d: %q is not on the terminal after Stop:\n%s", run, want, got)
			}
		}
	}
}
