package mode

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// testClock is a clock a test moves by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock { c := &testClock{}; c.set(t); return c }
func (c *testClock) set(t time.Time)      { c.ns.Store(t.UnixNano()) }
func (c *testClock) now() time.Time       { return time.Unix(0, c.ns.Load()) }

// A maintenance notice (issue 22) puts the counter in FAULT at its start on
// the machine's clock, while the simulator answers every probe, with the
// notice as the cause; another process on the journal sees it; at its end
// the probes decide again and bring the counter back through RECOVERING to
// ONLINE, in automatic mode.
func TestPlannedBreakGivesFaultAtItsStartAndProbesDecideAtItsEnd(t *testing.T) {
	e := newEnv(t)
	from := time.Date(2026, 12, 8, 22, 0, 0, 0, time.Local)
	to := from.Add(4 * time.Hour)
	clock := newTestClock(from.Add(-time.Minute))
	n, err := e.journal.AddNotice(t.Context(), journal.NewNotice{Kind: rx.NoticeMaintenance, From: from, To: to,
		Text: "Kanta maintenance: prescription service down", By: "it"})
	if err != nil {
		t.Fatal(err)
	}
	m := e.machine(t, e.journal, Config{Now: clock.now})
	// Before the break: the probes answer and the counter stays ONLINE.
	waitFor(t, time.Now(), 2*time.Second, "probes answered", func() bool { return e.probes() >= 3 })
	if st := m.State(); st.Mode != rx.ModeOnline {
		t.Fatalf("a minute before the break: %+v, want ONLINE", st)
	}
	clock.set(from)
	st, _ := waitMode(t, m, time.Now(), 2*time.Second, rx.ModeFault)
	if !IsBreak(st) || !strings.Contains(st.Cause, n.Text) || st.Override {
		t.Fatalf("at the break's start: %+v, want FAULT in automatic mode with the notice as its cause", st)
	}
	// Another process reads the same.
	if other, err := e.open(t).Mode(t.Context()); err != nil || other.Mode != rx.ModeFault || other.Cause != st.Cause {
		t.Fatalf("another process reads %+v, %v", other, err)
	}
	// During the break every probe answers, yet the counter stays in FAULT.
	before := e.probes()
	clock.set(from.Add(2 * time.Hour))
	waitFor(t, time.Now(), 3*time.Second, "more probes answered", func() bool { return e.probes() >= before+4 })
	if st := m.State(); st.Mode != rx.ModeFault {
		t.Fatalf("in the break with the service answering: %+v, want FAULT", st)
	}
	// At its end the probes decide: the service answers, so it recovers.
	clock.set(to)
	waitMode(t, m, time.Now(), 5*time.Second, rx.ModeOnline)
	cs := changes(t, e.journal)
	want := []rx.Mode{rx.ModeFault, rx.ModeRecovering, rx.ModeOnline}
	if len(cs) != len(want) {
		t.Fatalf("mode changes %+v, want to %v", cs, want)
	}
	for i, c := range cs {
		if c.To != want[i] || c.Manual || c.Override {
			t.Fatalf("mode change %d: %+v, want an automatic change to %s", i, c, want[i])
		}
	}
}

// A break ended by hand (tiski notice end) lets the probes decide at once;
// a fault notice is no planned break; a person's hold stays a hold.
func TestEndedBreakAndFaultNoticeAndHold(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	if _, err := e.journal.AddNotice(t.Context(), journal.NewNotice{Kind: rx.NoticeFault, From: now.Add(-time.Hour),
		Text: "Prescription Centre fault", By: "it"}); err != nil {
		t.Fatal(err)
	}
	st, _, ok, err := ApplyBreak(t.Context(), e.journal, now)
	if err != nil || ok || st.Mode != rx.ModeOnline {
		t.Fatalf("a fault notice: %+v in break %v (%v); want ONLINE, no break", st, ok, err)
	}
	b, err := e.journal.AddNotice(t.Context(), journal.NewNotice{Kind: rx.NoticeMaintenance, From: now.Add(-time.Minute),
		To: now.Add(time.Hour), Text: "Kanta maintenance", By: "it"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Force(t.Context(), e.journal, "Kela's phone call", "it"); err != nil {
		t.Fatal(err)
	}
	if st, _, ok, err := ApplyBreak(t.Context(), e.journal, now); err != nil || !ok || !st.Override || IsBreak(st) {
		t.Fatalf("a break over a hold: %+v in break %v (%v); want the hold as it was", st, ok, err)
	}
	if _, err := Auto(t.Context(), e.journal, "it"); err != nil {
		t.Fatal(err)
	}
	// Released, the counter is in FAULT (as the hold left it) and the break
	// keeps it there while the service answers.
	m := e.machine(t, e.journal, Config{})
	before := e.probes()
	waitFor(t, time.Now(), 3*time.Second, "probes answered", func() bool { return e.probes() >= before+4 })
	if st := m.State(); st.Mode != rx.ModeFault {
		t.Fatalf("in the break after the release: %+v, want FAULT", st)
	}
	if _, err := e.journal.EndNotice(t.Context(), journal.ShortID(b.ID), "it"); err != nil {
		t.Fatal(err)
	}
	waitMode(t, m, time.Now(), 5*time.Second, rx.ModeOnline)
}
