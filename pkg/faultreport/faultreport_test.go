package faultreport_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/triage"
)

// t0 is when each fault below begins.
var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

// outage is a real journal on a test clock: ONLINE calls before t0, then
// FAULT at t0 with calls ending in class for 40 minutes.
type outage struct {
	j   *journal.Journal
	now time.Time
}

func newOutage(t *testing.T, class string, status int) *outage {
	t.Helper()
	o := &outage{now: t0.Add(-30 * time.Minute)}
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"),
		journal.Options{Terminal: "kassa-1", Now: func() time.Time { return o.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	o.j = j
	var calls []journal.FaultCall
	for i := range 20 {
		calls = append(calls, journal.FaultCall{At: t0.Add(-20*time.Minute + time.Duration(i)*time.Minute/2), Op: "search", Outcome: "ok", Status: 200, Latency: 40 * time.Millisecond})
	}
	for i := range 40 {
		calls = append(calls, journal.FaultCall{At: t0.Add(time.Duration(i) * time.Minute), Op: []string{"read", "search", "write", "probe"}[i%4], Outcome: class, Status: status, Latency: 5 * time.Millisecond})
	}
	if err := j.LogCalls(context.Background(), calls); err != nil {
		t.Fatal(err)
	}
	o.now = t0
	if _, ok, err := j.ChangeMode(context.Background(), rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: " + class}); err != nil || !ok {
		t.Fatalf("FAULT: %v %v", ok, err)
	}
	o.now = t0.Add(40 * time.Minute)
	return o
}

func (o *outage) build(t *testing.T, tri triage.Result) faultreport.Report {
	t.Helper()
	tri.At = o.now
	r, err := faultreport.Build(context.Background(), faultreport.Input{Journal: o.j, Triage: tri, Counter: "kassa-1",
		Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"},
		Kela:     faultreport.Contact{Email: "tekninentuki@kanta.fi", Phone: "020 634 7787"}, Now: o.now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// met lists the criteria met, e.g. "abc".
func met(r faultreport.Report) string {
	var b strings.Builder
	for _, c := range r.Criteria {
		if c.Met {
			b.WriteString(c.ID)
		}
	}
	return b.String()
}

// has reports whether criterion id carries evidence of code.
func has(r faultreport.Report, id, code string) bool {
	for _, c := range r.Criteria {
		if c.ID == id {
			for _, e := range c.Evidence {
				if e.Code == code {
					return true
				}
			}
		}
	}
	return false
}

// TestVerdicts: each kind of fault gets its criteria and its verdict,
// from a real journal's mode history and fault log.
func TestVerdicts(t *testing.T) {
	t.Run("kanta answers 500", func(t *testing.T) {
		o := newOutage(t, "5xx", 500)
		r := o.build(t, triage.Result{Verdict: triage.Kanta, Evidence: []string{"metadata: /metadata answered 500 in 3ms"}})
		if got := met(r); got != "ab" {
			t.Errorf("criteria met %q, want ab", got)
		}
		if r.Verdict != faultreport.Kela || !has(r, "b", faultreport.EvAnswered) || !has(r, "a", faultreport.EvFaultMode) {
			t.Errorf("verdict %s, criteria %+v", r.Verdict, r.Criteria)
		}
		if !r.Fault.Found || !r.Fault.Began.Equal(t0) || r.Fault.Minutes != 40 || !r.Fault.Ended.IsZero() {
			t.Errorf("fault %+v", r.Fault)
		}
		// The services during the fault, not the calls before it.
		for _, s := range r.Services {
			if s.Calls != 10 || s.Failed != 10 || s.Outcomes["5xx"] != 10 || s.Statuses[500] != 10 {
				t.Errorf("service %+v: want 10 calls, all 5xx", s)
			}
		}
		if len(r.Services) != 4 {
			t.Errorf("services %+v", r.Services)
		}
	})

	t.Run("long at Kanta is critical", func(t *testing.T) {
		o := newOutage(t, "5xx", 503)
		o.now = t0.Add(90 * time.Minute)
		r := o.build(t, triage.Result{Verdict: triage.Kanta})
		if r.Verdict != faultreport.Critical || !whyHas(r, faultreport.EvLong) {
			t.Errorf("after 90 min: verdict %s, why %+v", r.Verdict, r.Why)
		}
	})

	t.Run("refused everywhere", func(t *testing.T) {
		o := newOutage(t, "refused", 0)
		r := o.build(t, triage.Result{Verdict: triage.Unknown, Peers: []triage.Peer{{Counter: "kassa-2", Fault: true, Since: t0}}})
		if got := met(r); got != "ae" {
			t.Errorf("criteria met %q, want ae", got)
		}
		if r.Verdict != faultreport.Critical || !whyHas(r, faultreport.EvWide) || !has(r, "e", faultreport.EvCountersFault) {
			t.Errorf("every counter in FAULT, place unproven: verdict %s, why %+v", r.Verdict, r.Why)
		}
		if len(r.Scope.Counters) != 2 || !r.Scope.Counters[0].This || !r.Scope.Counters[1].Fault {
			t.Errorf("scope %+v", r.Scope)
		}
	})

	t.Run("this PC", func(t *testing.T) {
		o := newOutage(t, "tls", 0)
		r := o.build(t, triage.Result{Verdict: triage.ThisPC})
		if r.Verdict != faultreport.Helpdesk || r.Why[0].Code != faultreport.EvThisPC {
			t.Errorf("an expired certificate: verdict %s, why %+v", r.Verdict, r.Why)
		}
	})

	t.Run("the pharmacy's network", func(t *testing.T) {
		o := newOutage(t, "dns", 0)
		r := o.build(t, triage.Result{Verdict: triage.PharmacyNetwork, Steps: []triage.Step{{Layer: triage.LayerWay, Name: "dns", Status: triage.Fail}}})
		if got := met(r); got != "af" {
			t.Errorf("criteria met %q, want af", got)
		}
		if r.Verdict != faultreport.Kela || r.Criteria[5].Evidence[0].Detail != "dns" {
			t.Errorf("verdict %s, f %+v", r.Verdict, r.Criteria[5])
		}
	})

	t.Run("answers about another patient", func(t *testing.T) {
		o := newOutage(t, "wrong-patient", 200)
		r := o.build(t, triage.Result{Verdict: triage.Kanta})
		if !r.Criteria[3].Met || r.Criteria[3].Evidence[0].N != 40 || r.Verdict != faultreport.Critical || !whyHas(r, faultreport.EvPrivacy) {
			t.Errorf("privacy: d %+v, verdict %s, why %+v", r.Criteria[3], r.Verdict, r.Why)
		}
	})

	t.Run("announced by Kela", func(t *testing.T) {
		o := newOutage(t, "refused", 0)
		if _, err := o.j.AddNotice(context.Background(), journal.NewNotice{Kind: rx.NoticeMaintenance, From: t0, To: t0.Add(4 * time.Hour),
			Text: "Kanta-palveluiden huoltokatko", Ref: "HUOLTO-7", By: "it"}); err != nil {
			t.Fatal(err)
		}
		r := o.build(t, triage.Result{Verdict: triage.Unknown})
		if r.Verdict != faultreport.Announced || r.Notice == nil || r.Notice.Ref != "HUOLTO-7" {
			t.Errorf("a planned break: verdict %s, notice %+v", r.Verdict, r.Notice)
		}
	})

	t.Run("the fault ended and the service is sound", func(t *testing.T) {
		o := newOutage(t, "5xx", 502)
		if _, ok, err := o.j.ChangeMode(context.Background(), rx.ModeChange{From: rx.ModeFault, To: rx.ModeRecovering, Cause: "probe: ok"}); err != nil || !ok {
			t.Fatal(err)
		}
		o.now = t0.Add(50 * time.Minute)
		r := o.build(t, triage.Result{Verdict: triage.None})
		// The triage sees nothing now; the fault log places it.
		if got := met(r); got != "ab" || r.Fault.Ended.IsZero() || r.Fault.Minutes != 40 {
			t.Errorf("after the fault: criteria %q, fault %+v", got, r.Fault)
		}
		if !has(r, "a", faultreport.EvFaultEnded) {
			t.Errorf("a %+v", r.Criteria[0])
		}
	})

	t.Run("no fault", func(t *testing.T) {
		o := &outage{now: t0}
		j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: "kassa-1", Now: func() time.Time { return o.now }})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		o.j = j
		r := o.build(t, triage.Result{Verdict: triage.None})
		if r.Verdict != faultreport.NoFault || met(r) != "" || r.Fault.Found {
			t.Errorf("verdict %s, met %q, fault %+v", r.Verdict, met(r), r.Fault)
		}
	})
}

func whyHas(r faultreport.Report, code string) bool {
	for _, e := range r.Why {
		if e.Code == code {
			return true
		}
	}
	return false
}
