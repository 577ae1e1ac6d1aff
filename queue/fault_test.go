package queue_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/queue"
)

// mixed records 200 records of every kind the queue uploads: essential
// dispensings on a previous label (the bulk), dispensings against
// e-prescriptions (chained per prescription), paper prescriptions with a
// dispensing in the same transaction and one more after, and two that must
// conflict. It returns the records and the conflict kind expected of each
// ("" for none).
func (e *env) mixed() ([]journal.Record, map[string]queue.ConflictKind) {
	e.t.Helper()
	var recs []journal.Record
	want := map[string]queue.ConflictKind{}
	add := func(r journal.Record, k queue.ConflictKind) {
		recs = append(recs, r)
		want[r.ID] = k
	}
	yesterday := time.Now().AddDate(0, 0, -1)
	// Each paper prescription of another medicine: two alike would be
	// possible duplicates of each other, as they should.
	medicines := []string{"burana-400mg-tabl", "kavepenin-1milj-tabl", "amorion-500mg-tabl", "somac-40mg-tabl",
		"sertralin-actavis-50mg-tabl", "atorvastatin-orion-20mg-tabl", "primaspan-100mg-tabl", "emconcor-5mg-tabl"}
	for i, m := range medicines {
		p, d := e.paper(eino, m, yesterday, 1)
		add(p, "")
		add(*d, "")
		add(e.dispenseRecorded(eino, m, p.ID, 1), "")
		for range 3 {
			add(e.dispense(eino, fmt.Sprintf("EPB-%d", i+1), 30), "")
		}
	}
	add(e.dispense(matti, "EPC-DONE", 30), queue.DispensedElsewhere)
	add(e.dispense(matti, "EPC-CANC", 30), queue.Cancelled)
	patients := []string{matti, aino, eino}
	for i := 0; len(recs) < 200; i++ {
		add(e.essential(patients[i%len(patients)]), "")
	}
	return recs, want
}

// check asserts the end state: every record done or in its named conflict,
// and exactly one resource upstream per record that is done.
func (e *env) check(recs []journal.Record, want map[string]queue.ConflictKind) {
	e.t.Helper()
	for _, r := range recs {
		o := e.entry(r.ID)
		if k := want[r.ID]; k != "" {
			e.wantState(r, journal.OutboxConflict, k)
			if n := e.upstream(r); n != 0 {
				e.t.Errorf("record %s in conflict has %d resources upstream", r.ID, n)
			}
			continue
		}
		if o.State != journal.OutboxDone {
			e.t.Errorf("record %s (%s) is %s: %s %s", r.ID, r.Kind, o.State, o.Conflict, o.LastError)
			continue
		}
		if n := e.upstream(r); n != 1 {
			e.t.Errorf("record %s (%s): %d resources upstream, want exactly 1", r.ID, r.Kind, n)
		}
	}
}

// startProxy puts an in-process toxiproxy between the Worker and the
// simulator.
func startProxy(t testing.TB, upstream string) *toxiproxy.Proxy {
	t.Helper()
	// Some toxics log through zerolog's global logger at trace level, a line
	// per interrupted write; the test's output is for its own findings.
	zerolog.SetGlobalLevel(zerolog.Disabled)
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(api, "centre", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// TestFaultMatrix uploads 200 mixed records through toxiproxy while one
// toxic plays on the connection, removes it, and lets the Worker finish.
// Every record ends done or in its named conflict, the simulator holds
// exactly one resource per record, and no goroutine outlives the test.
func TestFaultMatrix(t *testing.T) {
	const toxicTime = 3 * time.Second
	toxics := []struct {
		name  string
		toxic string
	}{
		{"latency 2s", `{"type":"latency","stream":"downstream","attributes":{"latency":2000}}`},
		{"timeout (black hole)", `{"type":"timeout","stream":"downstream","attributes":{"timeout":0}}`},
		{"reset_peer", `{"type":"reset_peer","stream":"downstream","attributes":{"timeout":50}}`},
		{"slow_close", `{"type":"slow_close","stream":"downstream","attributes":{"delay":2000}}`},
		{"bandwidth 1KB/s", `{"type":"bandwidth","stream":"downstream","attributes":{"rate":1}}`},
		{"slicer", `{"type":"slicer","stream":"downstream","attributes":{"average_size":64,"size_variation":32,"delay":200}}`},
		{"limit_data (truncated answers)", `{"type":"limit_data","stream":"downstream","attributes":{"bytes":700}}`},
	}
	before := runtime.NumGoroutine()
	t.Run("toxics", func(t *testing.T) {
		for _, tt := range toxics {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				recs, want := e.mixed()
				p := startProxy(t, strings.TrimPrefix(e.sim.URL(), "http://"))
				toxic := strings.Replace(tt.toxic, "{", `{"name":"fault",`, 1)
				if _, err := p.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
					t.Fatal(err)
				}
				cfg := fastConfig()
				cfg.Concurrency = 8
				var during, after atomic.Int64
				removed := atomic.Bool{}
				cfg.OnOutcome = func(o queue.Outcome) {
					if o.State == journal.OutboxDone {
						if removed.Load() {
							after.Add(1)
						} else {
							during.Add(1)
						}
					}
				}
				w := e.worker(e.client("http://"+p.Listen, 2500*time.Millisecond), cfg)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				type result struct {
					s   queue.Summary
					err error
				}
				done := make(chan result, 1)
				go func() {
					s, err := w.Drain(ctx, false)
					done <- result{s, err}
				}()
				// The toxic plays for toxicTime, or until every record is
				// through (slicer and slow_close slow little).
				var r result
				select {
				case r = <-done:
				case <-time.After(toxicTime):
				}
				removed.Store(true)
				if err := p.Toxics.RemoveToxic(context.Background(), "fault"); err != nil {
					t.Fatal(err)
				}
				if r == (result{}) {
					r = <-done
				}
				if r.err != nil {
					t.Fatalf("drain: %v (%+v)", r.err, r.s)
				}
				t.Logf("%d uploaded under the toxic, %d after; %d transient failures retried", during.Load(), after.Load(), r.s.Retries)
				e.check(recs, want)
			})
		}
	})
	// Every parallel case has ended and cleaned up: the goroutines they
	// started (Workers, clients' connections, simulators) are gone.
	checkGoroutines(t, before)
}

// checkGoroutines fails when goroutines other than the test's own outlive
// the test, waiting up to 10 s for them to end: a leak check in the manner
// of goleak, written here. toxiproxy's own are left out: its toxic stubs
// (bandwidth, noop) can stay blocked on a channel send after the proxy
// stopped, in its code, holding none of ours.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	var leaked []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		leaked = leaked[:0]
		buf := make([]byte, 4<<20)
		stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
		for _, g := range stacks[1:] { // the first is this goroutine
			switch {
			case strings.Contains(g, "testing.(*T).Run("), strings.Contains(g, "testing.runTests"),
				// Other tests of the package, parked until this one ends.
				strings.Contains(g, "testing.(*T).Parallel("),
				strings.Contains(g, "testing.(*M)."), strings.Contains(g, "github.com/Shopify/toxiproxy/"),
				strings.Contains(g, "os/signal.signal_recv"), strings.Contains(g, "runtime.ensureSigM"):
				continue
			}
			leaked = append(leaked, g)
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(leaked) > 0 {
		t.Fatalf("%d goroutines leaked (%d running before the test):\n%s", len(leaked), before, strings.Join(leaked, "\n\n"))
	}
}
