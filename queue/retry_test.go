package queue_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/queue"
)

// requestsFor returns the simulator's log of the requests about a record,
// in arrival order.
func requestsFor(sim *centresim.Server, id string) []centresim.LoggedRequest {
	var out []centresim.LoggedRequest
	for _, r := range sim.Requests() {
		if slices.Contains(r.Records, "urn:uuid:"+id) {
			out = append(out, r)
		}
	}
	return out
}

// everyRecordRefused reports whether the simulator has answered status to
// at least one request about each record.
func everyRecordRefused(sim *centresim.Server, recs []journal.Record, status int) bool {
	for _, r := range recs {
		if !slices.ContainsFunc(requestsFor(sim, r.ID), func(l centresim.LoggedRequest) bool { return l.Status == status }) {
			return false
		}
	}
	return true
}

// TestRetryAfterIsAFloor throttles (429) and fails (503) every request with
// a Retry-After, and checks in the simulator's request log, which stamps
// each request at its arrival, that no request for a record arrives before
// the time its previous answer stated. The backoff alone would retry within
// milliseconds.
func TestRetryAfterIsAFloor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      centresim.Fault
		status     int
		retryAfter time.Duration
	}{
		{"429 throttled", centresim.Fault{Kind: centresim.FaultThrottle, Seconds: 2}, 429, 2 * time.Second},
		{"503 unavailable", centresim.Fault{Kind: centresim.FaultFlaky, Ratio: 1}, 503, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			recs := []journal.Record{e.essential(matti), e.essential(aino), e.essential(eino)}
			if err := e.sim.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			w := e.worker(e.client("", 0), fastConfig())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := w.Drain(ctx, false)
				done <- err
			}()
			// Lift the fault once every record has been refused at least
			// once. A throttled client holds all its records for the
			// Retry-After plus jitter, so on a slow machine a record's
			// first request may come seconds after the first refusal.
			deadline := time.Now().Add(20 * time.Second)
			for !everyRecordRefused(e.sim, recs, tt.status) {
				if time.Now().After(deadline) {
					t.Fatal("not every record was refused within 20 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := e.sim.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			refused := 0
			for _, r := range recs {
				e.wantState(r, journal.OutboxDone, "")
				log := requestsFor(e.sim, r.ID)
				if len(log) < 2 {
					t.Fatalf("record %s: %d requests logged, want a refusal and a success", r.ID, len(log))
				}
				for i := 1; i < len(log); i++ {
					prev := log[i-1]
					if prev.Status != tt.status {
						continue
					}
					refused++
					if gap := log[i].Time.Sub(prev.Time); gap < tt.retryAfter {
						t.Errorf("record %s: request %d came %s after a %d with Retry-After %s", r.ID, i+1, gap, prev.Status, tt.retryAfter)
					}
				}
				if last := log[len(log)-1]; last.Status >= 300 {
					t.Errorf("record %s: last request answered %d", r.ID, last.Status)
				}
			}
			if refused < len(recs) {
				t.Fatalf("only %d refusals logged", refused)
			}
		})
	}
}

// TestWakeOnRecovery: records whose backoff grew long while the
// Prescription Centre was down are sent within 2 s of the first successful
// probe (DESIGN §10), not when their backoff ends.
func TestWakeOnRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.essential(matti)
	if err := e.sim.SetFault(centresim.Fault{Kind: centresim.FaultDown}); err != nil {
		t.Fatal(err)
	}
	client := e.client("", time.Second)
	m := mode.New(e.j, client, mode.Config{Interval: 200 * time.Millisecond, Timeout: 500 * time.Millisecond})
	cfg := fastConfig()
	cfg.InitialInterval, cfg.MaxInterval = time.Hour, time.Hour // without a wake: an hour
	w := queue.New(e.j, client, m, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	states, unsubscribe := m.Subscribe()
	defer unsubscribe()
	go m.Run(ctx)
	go w.FollowMode(ctx, states)
	go w.Run(ctx)

	deadline := time.Now().Add(10 * time.Second)
	for e.entry(rec.ID).State != journal.OutboxRetry {
		if time.Now().After(deadline) {
			t.Fatalf("the record never failed: %+v", e.entry(rec.ID))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if next := e.entry(rec.ID).NextAttempt; time.Until(next) < time.Minute {
		// Full jitter may draw a short wait; the test needs a long one.
		t.Skipf("the backoff drew %s; nothing to wake", time.Until(next))
	}
	time.Sleep(500 * time.Millisecond)
	upAt := time.Now()
	if err := e.sim.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		t.Fatal(err)
	}
	for e.entry(rec.ID).State != journal.OutboxDone {
		if time.Since(upAt) > 10*time.Second {
			t.Fatalf("not sent within 10 s of recovery: %+v", e.entry(rec.ID))
		}
		time.Sleep(20 * time.Millisecond)
	}
	var probe, upload time.Time
	for _, r := range e.sim.Requests() {
		if r.Time.Before(upAt) {
			continue
		}
		if probe.IsZero() && r.Path == "/metadata" && r.Status == 200 {
			probe = r.Time
		}
		if upload.IsZero() && r.Method == "POST" {
			upload = r.Time
		}
	}
	if probe.IsZero() || upload.IsZero() {
		t.Fatalf("no successful probe (%v) or no upload (%v) in the log", probe, upload)
	}
	if gap := upload.Sub(probe); gap > 2*time.Second {
		t.Fatalf("first upload %s after the first successful probe, want at most 2 s", gap)
	}
	t.Logf("first upload %s after the first successful probe", upload.Sub(probe))
}

// TestTwoWorkersOneJournal runs two Workers on one journal file, each with
// its own connection as the counter and `tiski sync run` would have: every
// record is sent by exactly one of them, once.
func TestTwoWorkersOneJournal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs, want := e.mixed()
	other, err := journal.Open(e.ctx, e.j.Path(), journal.Options{Terminal: "kassa-2"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sums := make(chan queue.Summary, 2)
	for _, store := range []queue.Store{e.j, other} {
		w := queue.New(store, e.client("", 0), nil, fastConfig())
		go func() {
			s, err := w.Drain(ctx, false)
			if err != nil {
				t.Error(err)
			}
			sums <- s
		}()
	}
	a, b := <-sums, <-sums
	if a.Uploaded == 0 || b.Uploaded == 0 || a.Uploaded+b.Uploaded != len(recs)-2 {
		t.Fatalf("uploads split %d + %d, want both working and %d in all", a.Uploaded, b.Uploaded, len(recs)-2)
	}
	e.check(recs, want)
	posts := map[string]int{}
	for _, r := range e.sim.Requests() {
		if r.Method == "POST" {
			for _, id := range r.Records {
				posts[id]++
			}
		}
	}
	for _, r := range recs {
		if n := posts["urn:uuid:"+r.ID]; n != 1 {
			t.Errorf("record %s (%s) was sent %d times", r.ID, r.Kind, n)
		}
	}
	t.Logf("uploads: %d by one worker, %d by the other", a.Uploaded, b.Uploaded)
}
