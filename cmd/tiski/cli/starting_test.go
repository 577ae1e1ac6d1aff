package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
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

// firstFrameCounter prepares a training counter's folder, against a
// Prescription Centre where nothing listens (the counter never waits for
// it), and returns its factory and where its output goes.
func firstFrameCounter(t *testing.T) (*Factory, *lockedBuffer) {
	t.Helper()
	out := &lockedBuffer{}
	f := &Factory{Build: Build{Started: time.Now()}, IO: IO{In: strings.NewReader(""), Out: out, ErrOut: io.Discard},
		Getenv: func(string) string { return "" }, configFlags: map[string]string{}}
	t.Cleanup(f.close)
	if err := trainingConfig(f, "http://127.0.0.1:9", t.TempDir(), demoConfig("kassa-1", "")); err != nil {
		t.Fatal(err)
	}
	return f, out
}

// TestCounterFirstFrameBeforeOpening: the counter draws its first frame
// while what opens beside it is still held (issue 20), here in Prepare,
// after the journal has opened. The command ends only once the opening is
// let go, and what the opening did is then in the journal: the demo's
// pharmacist, whom the demo adds there.
func TestCounterFirstFrameBeforeOpening(t *testing.T) {
	f, out := firstFrameCounter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	entered, release := make(chan struct{}), make(chan struct{})
	prepare := func(ctx context.Context, j *journal.Journal) error {
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		return trainingUser(ctx, j, demoPharmacist)
	}
	who := demoPharmacist
	done := make(chan error, 1)
	go func() {
		done <- counterRun(ctx, &CounterOptions{Factory: f, Training: true, SignedIn: &who, FirstFrame: true, Prepare: prepare})
	}()
	select {
	case <-entered:
	case err := <-done:
		t.Fatalf("the counter ended before its opening reached Prepare: %v", err)
	case <-ctx.Done():
		t.Fatal("the opening never reached Prepare")
	}
	for !strings.Contains(out.String(), "first-frame ") {
		select {
		case err := <-done:
			t.Fatalf("the counter ended (%v) without its first frame, its opening held", err)
		case <-ctx.Done():
			t.Fatalf("no first frame while the opening was held; output %q", out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the counter ended (%v) while its opening was still held", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("counter: %v", err)
	}
	j, err := f.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.User(ctx, demoUserID); err != nil {
		t.Errorf("the opening's work is not in the journal: %v", err)
	}
}

// TestCounterOpeningFails: an opening that fails beside the first frame
// ends the counter with its error, in the user's terms as it came.
func TestCounterOpeningFails(t *testing.T) {
	f, _ := firstFrameCounter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	refused := rx.Errorf(rx.EINVALID, "The training journal refused its pharmacist.")
	prepare := func(context.Context, *journal.Journal) error { return refused }
	err := counterRun(ctx, &CounterOptions{Factory: f, Training: true, FirstFrame: true, Prepare: prepare})
	if !errors.Is(err, refused) {
		t.Fatalf("counter: %v, want the opening's error %v", err, refused)
	}
}

// TestStartingServicesSayOpening: a call whose context ends while the
// counter is still opening says so, and is no timeout (which the search
// would take for the Prescription Centre's); once open, calls go through.
func TestStartingServicesSayOpening(t *testing.T) {
	op := &counterOpening{done: make(chan struct{})}
	svc := &startingServices{op: op}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := svc.FindPatient(ended, "140348-901W")
	if rx.ErrorCode(err) != rx.EUNAVAILABLE || errors.Is(err, context.Canceled) || !strings.Contains(rx.ErrorMessage(err), "still opening") {
		t.Errorf("a call while opening: %v", err)
	}
	op.err = rx.Errorf(rx.ECORRUPT, "The journal is damaged.")
	close(op.done)
	if _, err := svc.Counts(ended); !errors.Is(err, op.err) {
		t.Errorf("a call after a failed opening: %v, want %v", err, op.err)
	}
}
