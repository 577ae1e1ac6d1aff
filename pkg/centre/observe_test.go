package centre

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
)

// observed collects what an Observer is told.
type observed struct {
	mu    sync.Mutex
	calls []Call
}

func (o *observed) observe(c Call) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, c)
}

// take returns the calls since the last take.
func (o *observed) take() []Call {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.calls
	o.calls = nil
	return c
}

// TestObserverClassifies makes real calls to the simulator under its
// faults and checks the operation and outcome classes the fault log gets.
func TestObserverClassifies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := mtlsDir(t, centresim.CertOptions{})
	srv := startSim(t, dir)
	var o observed
	c := newClient(t, Config{BaseURL: srv.URL(), TLS: tlsFiles(dir), Observer: o.observe,
		ConnectTimeout: 500 * time.Millisecond, ProbeConnectTimeout: 200 * time.Millisecond, Timeout: 2 * time.Second})
	one := func(t *testing.T, op, outcome string, status int) {
		t.Helper()
		got := o.take()
		if len(got) != 1 {
			t.Fatalf("observed %d calls, want 1: %+v", len(got), got)
		}
		if g := got[0]; g.Op != op || g.Outcome != outcome || g.Status != status || g.Time.IsZero() || g.Latency <= 0 {
			t.Fatalf("observed %+v, want op %s, outcome %s, status %d", g, op, outcome, status)
		}
	}
	fault := func(t *testing.T, f centresim.Fault) {
		t.Helper()
		if err := srv.SetFault(f); err != nil {
			t.Fatal(err)
		}
	}

	_ = c.Probe(ctx)
	one(t, OpProbe, OutcomeOK, 200)
	_, _ = c.FindPatient(ctx, testHETU)
	one(t, OpSearch, OutcomeOK, 200)
	_, _ = c.Prescription(ctx, "EP26000701", patientOf(t, "EP26000701"))
	one(t, OpRead, OutcomeOK, 200)
	_, _ = c.RecordDispensing(ctx, dispensingOf(t, "EP26000101", 200))
	one(t, OpWrite, OutcomeOK, 201)
	_, _ = c.FindPatient(ctx, unknownHETU)
	one(t, OpSearch, OutcomeOK, 200) // no such patient is an answer

	fault(t, centresim.Fault{Kind: centresim.FaultThrottle, Seconds: 3})
	_, _ = c.FindPatient(ctx, testHETU)
	one(t, OpSearch, OutcomeThrottled, 429)
	fault(t, centresim.Fault{Kind: centresim.FaultError})
	_, _ = c.Prescription(ctx, "EP26000701", patientOf(t, "EP26000701"))
	one(t, OpRead, Outcome5xx, 500)
	fault(t, centresim.Fault{Kind: centresim.FaultDown})
	_ = c.Probe(ctx)
	one(t, OpProbe, OutcomeRefused, 0)
	fault(t, centresim.Fault{Kind: centresim.FaultBlackhole})
	_ = c.Probe(ctx)
	one(t, OpProbe, OutcomeSilent, 0)
	fault(t, centresim.Fault{Kind: centresim.FaultUp})

	other := mtlsDir(t, centresim.CertOptions{})
	stranger := newClient(t, Config{BaseURL: srv.URL(), TLS: tlsFiles(other), Observer: o.observe})
	_ = stranger.Probe(ctx)
	one(t, OpProbe, OutcomeTLS, 0)
	nowhere := newClient(t, Config{BaseURL: "http://kanta-prescription-centre.invalid:8080", Observer: o.observe})
	_, _ = nowhere.FindPatient(ctx, testHETU)
	one(t, OpSearch, OutcomeDNS, 0)
}
