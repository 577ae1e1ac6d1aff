package centre

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestWrongPatientRefused plays the simulator's wrong-patient fault (issue
// 22, criterion (d)): a search by the patient's identity code answers about
// another patient. The client must return nothing of it, with an error that
// says so and names no identity code, and the fault log must count it.
func TestWrongPatientRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := mtlsDir(t, centresim.CertOptions{})
	srv := startSim(t, dir)
	var o observed
	c := newClient(t, Config{BaseURL: srv.URL(), TLS: tlsFiles(dir), Observer: o.observe, Timeout: 5 * time.Second})

	// The normal answer is accepted, and is the asked patient's.
	p, err := c.FindPatient(ctx, testHETU)
	if err != nil || p.HETU != testHETU {
		t.Fatalf("FindPatient before the fault: %+v, %v", p, err)
	}
	ps, err := c.Prescriptions(ctx, testHETU)
	if err != nil || len(ps) == 0 {
		t.Fatalf("Prescriptions before the fault: %d, %v", len(ps), err)
	}
	for _, rx := range ps {
		if rx.Patient != testHETU {
			t.Fatalf("prescription %s is for another patient", rx.ID)
		}
	}
	if _, err := c.Prescription(ctx, "EP26000101", testHETU); err != nil {
		t.Fatalf("Prescription before the fault: %v", err)
	}
	if n := count(o.take(), OutcomeWrongPatient); n != 0 {
		t.Fatalf("%d wrong-patient calls noted for normal answers", n)
	}
	// A read by id must name the patient it is expected to be about: one
	// without is not sent at all.
	before := len(srv.Requests())
	if _, err := c.Prescription(ctx, "EP26000101", ""); !errors.Is(err, ErrNotSent) {
		t.Fatalf("Prescription with no patient expected: %v, want ErrNotSent", err)
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Fatalf("a read with no patient expected was sent (%d requests)", n)
	}
	o.take()

	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultWrongPatient}); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, what string, got int, err error) {
		t.Helper()
		if got != 0 {
			t.Errorf("%s: %d results returned with the error", what, got)
		}
		if !errors.Is(err, ErrWrongPatient) {
			t.Fatalf("%s: err = %v, want ErrWrongPatient", what, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "another patient") || !strings.Contains(msg, "nothing of it is shown") {
			t.Errorf("%s: the error does not say what happened: %q", what, msg)
		}
		if hetu.MaskText(msg) != msg {
			t.Errorf("%s: the error names an identity code: %q", what, msg)
		}
		if code := rx.ErrorCode(err); code == "" {
			t.Errorf("%s: the error has no code", what)
		}
	}
	p, err = c.FindPatient(ctx, testHETU)
	n := 0
	if p.HETU != "" {
		n = 1
	}
	check(t, "FindPatient", n, err)
	ps, err = c.Prescriptions(ctx, testHETU)
	check(t, "Prescriptions", len(ps), err)
	one, err := c.Prescription(ctx, "EP26000101", testHETU)
	n = 0
	if one.ID != "" {
		n = 1
	}
	check(t, "Prescription", n, err)

	// Each refused call is one entry of the fault log, wrong-patient, with
	// the exchange's own status and latency: no ok beside it.
	calls := o.take()
	if len(calls) != 3 || count(calls, OutcomeWrongPatient) != 3 {
		t.Fatalf("observed %+v, want 3 calls, each wrong-patient", calls)
	}
	for i, op := range []string{OpSearch, OpSearch, OpRead} {
		if c := calls[i]; c.Op != op || c.Status != 200 || c.Latency <= 0 || c.Time.IsZero() {
			t.Errorf("call %d: %+v, want %s answered 200 with its latency", i+1, c, op)
		}
	}

	// The fault log, a real journal, counts them, with nothing of the
	// patient in it.
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	var batch []journal.FaultCall
	for _, c := range calls {
		batch = append(batch, journal.FaultCall{At: c.Time, Op: c.Op, Outcome: c.Outcome, Status: c.Status, Latency: c.Latency})
	}
	if err := j.LogCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}
	logged, err := j.FaultCalls(ctx, time.Now().Add(-time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for _, l := range logged {
		if l.Outcome == OutcomeWrongPatient {
			wrong++
			if l.Op != OpSearch && l.Op != OpRead || l.Status != 200 || l.Latency <= 0 {
				t.Errorf("logged %+v, want a search or read answered 200, with its latency", l)
			}
		}
	}
	if wrong != 3 || len(logged) != 3 {
		t.Fatalf("the fault log has %d wrong-patient calls of %d, want 3 of 3: %+v", wrong, len(logged), logged)
	}

	// Back to normal, the same client is fine again.
	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Prescriptions(ctx, testHETU); err != nil {
		t.Fatalf("Prescriptions after the fault: %v", err)
	}
	if _, err := c.Prescription(ctx, "EP26000101", testHETU); err != nil {
		t.Fatalf("Prescription after the fault: %v", err)
	}
}

// TestPrescriptionOfAnotherPatient: with no fault at all, a read by id of
// a prescription that is not the expected patient's (a record pointing at
// the wrong prescription, a mistyped id) is refused the same way, counted
// once, and the right patient gets it.
func TestPrescriptionOfAnotherPatient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startSim(t, "")
	var o observed
	c := newClient(t, Config{BaseURL: srv.URL(), Observer: o.observe})
	p, err := c.Prescription(ctx, "EP26000201", testHETU)
	if !errors.Is(err, ErrWrongPatient) || p.ID != "" || p.Patient != "" {
		t.Fatalf("EP26000201 read for %s: %+v, %v; want ErrWrongPatient and nothing", testHETU, p, err)
	}
	if msg := err.Error(); hetu.MaskText(msg) != msg {
		t.Errorf("the error names an identity code: %q", msg)
	}
	if calls := o.take(); len(calls) != 1 || calls[0].Outcome != OutcomeWrongPatient || calls[0].Op != OpRead {
		t.Fatalf("observed %+v, want one wrong-patient read", calls)
	}
	p, err = c.Prescription(ctx, "EP26000201", otherTestHETU)
	if err != nil || p.Patient != otherTestHETU {
		t.Fatalf("EP26000201 read for its own patient: %+v, %v", p, err)
	}
	if calls := o.take(); len(calls) != 1 || calls[0].Outcome != OutcomeOK {
		t.Fatalf("observed %+v, want one ok read", calls)
	}
}

func count(calls []Call, outcome string) int {
	n := 0
	for _, c := range calls {
		if c.Outcome == outcome {
			n++
		}
	}
	return n
}

// TestWrongPatientOverPages: a listing of several pages answered about
// another patient is one wrong-patient entry, its last page's; the pages
// before it are exchanges that ended well, each told once as ok. Nothing
// is told twice, and nothing is lost.
func TestWrongPatientOverPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startSim(t, "")
	var o observed
	c := newClient(t, Config{BaseURL: srv.URL(), Observer: o.observe, PageSize: 5})
	ps, err := c.Prescriptions(ctx, testHETU) // Matti's 18: four pages
	if err != nil || len(ps) != 18 {
		t.Fatalf("before the fault: %d prescriptions, %v", len(ps), err)
	}
	if calls := o.take(); len(calls) != 4 || count(calls, OutcomeOK) != 4 {
		t.Fatalf("before the fault: observed %+v, want 4 ok pages", calls)
	}
	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultWrongPatient}); err != nil {
		t.Fatal(err)
	}
	ps, err = c.Prescriptions(ctx, testHETU)
	if !errors.Is(err, ErrWrongPatient) || len(ps) != 0 {
		t.Fatalf("under the fault: %d prescriptions, %v; want ErrWrongPatient and none", len(ps), err)
	}
	calls := o.take()
	if len(calls) == 0 || count(calls, OutcomeWrongPatient) != 1 || calls[len(calls)-1].Outcome != OutcomeWrongPatient ||
		count(calls, OutcomeOK) != len(calls)-1 {
		t.Fatalf("under the fault: observed %+v, want the pages before the last ok and the last wrong-patient", calls)
	}
	for _, c := range calls {
		if c.Op != OpSearch || c.Status != 200 || c.Latency <= 0 {
			t.Errorf("observed %+v, want a search answered 200 with its latency", c)
		}
	}
}
