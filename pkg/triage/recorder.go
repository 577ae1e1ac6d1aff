package triage

import (
	"context"
	"sync"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
)

// Defaults of a Recorder.
const (
	recorderBuffer = 4096            // calls waiting for a flush; past it a call is dropped, never waited for
	recorderBatch  = 512             // calls written in one transaction at most
	recorderEvery  = 2 * time.Second // how long a call waits for its batch
)

// Recorder is the fault log's writer: an observer of centre.Client
// (centre.Config.Observer) that hands each call to a goroutine of its own,
// which writes them to the journal in batches. The caller of a
// Prescription Centre call only does a channel send that never blocks: a
// full buffer drops the call (and counts it), so the log can never slow a
// dispensing. A batch is one short write transaction every few seconds at
// most, never one per call.
type Recorder struct {
	j       *journal.Journal
	calls   chan centre.Call
	every   time.Duration
	done    chan struct{}
	stop    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	dropped int
}

// NewRecorder starts a Recorder writing to j. Close it to flush.
func NewRecorder(j *journal.Journal) *Recorder {
	return newRecorder(j, recorderEvery)
}

func newRecorder(j *journal.Journal, every time.Duration) *Recorder {
	r := &Recorder{j: j, calls: make(chan centre.Call, recorderBuffer), every: every,
		done: make(chan struct{}), stop: make(chan struct{})}
	go r.run()
	return r
}

// Observe notes a call; it is a centre.Observer.
func (r *Recorder) Observe(c centre.Call) {
	select {
	case r.calls <- c:
	default:
		r.mu.Lock()
		r.dropped++
		r.mu.Unlock()
	}
}

// Dropped is how many calls were not logged because the buffer was full.
func (r *Recorder) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Close writes what is buffered and stops the Recorder. It waits for the
// last batch as long as ctx allows.
func (r *Recorder) Close(ctx context.Context) {
	r.once.Do(func() { close(r.stop) })
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	batch := make([]journal.FaultCall, 0, recorderBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// A failed write loses only these log lines: the fault log is
		// evidence for triage, and must never stop the counter.
		_ = r.j.LogCalls(ctx, batch)
		cancel()
		batch = batch[:0]
	}
	take := func(c centre.Call) {
		batch = append(batch, journal.FaultCall{At: c.Time, Op: c.Op, Outcome: c.Outcome, Status: c.Status, Latency: c.Latency})
		if len(batch) >= recorderBatch {
			flush()
		}
	}
	for {
		select {
		case c := <-r.calls:
			take(c)
		case <-tick.C:
			flush()
		case <-r.stop:
			for {
				select {
				case c := <-r.calls:
					take(c)
				default:
					flush()
					return
				}
			}
		}
	}
}
