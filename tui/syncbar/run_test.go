package syncbar

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/tui/i18n"
)

// lockedBuffer is a bytes.Buffer the bar's renderer may write while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
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
