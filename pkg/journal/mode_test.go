package journal

import (
	"context"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestChangeMode(t *testing.T) {
	ctx := context.Background()
	type step struct {
		change  rx.ModeChange
		want    rx.Mode
		over    bool
		changed bool
	}
	auto := func(to rx.Mode, cause string) rx.ModeChange { return rx.ModeChange{To: to, Cause: cause} }
	manual := func(to rx.Mode, override bool) rx.ModeChange {
		return rx.ModeChange{To: to, Cause: "manual", Manual: true, Override: override, By: "it-1"}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"probe failure enters fault", []step{
			{auto(rx.ModeFault, "probe: connection refused"), rx.ModeFault, false, true},
		}},
		{"no-op writes nothing", []step{
			{auto(rx.ModeOnline, "probe: ok"), rx.ModeOnline, false, false},
			{auto(rx.ModeFault, "probe: timeout"), rx.ModeFault, false, true},
			{auto(rx.ModeFault, "probe: timeout again"), rx.ModeFault, false, false},
		}},
		{"automatic recovery path", []step{
			{auto(rx.ModeFault, "probe: refused"), rx.ModeFault, false, true},
			{auto(rx.ModeRecovering, "probe: ok"), rx.ModeRecovering, false, true},
			{auto(rx.ModeOnline, "backlog drained"), rx.ModeOnline, false, true},
		}},
		{"override holds against automatic changes", []step{
			{manual(rx.ModeFault, true), rx.ModeFault, true, true},
			{auto(rx.ModeOnline, "probe: ok"), rx.ModeFault, true, false},
			{auto(rx.ModeRecovering, "probe: ok"), rx.ModeFault, true, false},
		}},
		{"manual auto clears the override", []step{
			{manual(rx.ModeFault, true), rx.ModeFault, true, true},
			{manual(rx.ModeFault, false), rx.ModeFault, false, true},
			{auto(rx.ModeRecovering, "probe: ok"), rx.ModeRecovering, false, true},
		}},
		{"a change decided on another mode is refused", []step{
			{auto(rx.ModeFault, "probe: refused"), rx.ModeFault, false, true},
			// Decided on ONLINE, which is no longer in force: nothing is written.
			{rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "stale probe"}, rx.ModeFault, false, false},
			{rx.ModeChange{From: rx.ModeRecovering, To: rx.ModeOnline, Cause: "stale probe"}, rx.ModeFault, false, false},
			{rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "stale", Manual: true, Override: true, By: "it-1"}, rx.ModeFault, false, false},
			{auto(rx.ModeRecovering, "probe: ok"), rx.ModeRecovering, false, true},
		}},
		{"a stale change cannot undo a released override", []step{
			{manual(rx.ModeFault, true), rx.ModeFault, true, true},
			{manual(rx.ModeFault, false), rx.ModeFault, false, true},
			{rx.ModeChange{From: rx.ModeRecovering, To: rx.ModeOnline, Cause: "probe decided before the override"}, rx.ModeFault, false, false},
		}},
		{"automatic change cannot set an override", []step{
			{rx.ModeChange{To: rx.ModeFault, Cause: "probe", Override: true}, rx.ModeFault, false, true},
			{auto(rx.ModeOnline, "probe: ok"), rx.ModeOnline, false, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			j := openTest(t, c)
			st, err := j.Mode(ctx)
			if err != nil || st.Mode != rx.ModeOnline || st.Seq != 0 || st.Override {
				t.Fatalf("initial Mode = %+v, %v; want ONLINE, seq 0", st, err)
			}
			records := 0
			for i, s := range tt.steps {
				c.Add(time.Minute)
				// A step without From expects to leave the mode in force.
				ch := s.change
				if ch.From == "" {
					cur, err := j.Mode(ctx)
					if err != nil {
						t.Fatal(err)
					}
					ch.From = cur.Mode
				}
				st, changed, err := j.ChangeMode(ctx, ch)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if st.Mode != s.want || st.Override != s.over || changed != s.changed {
					t.Errorf("step %d: got %s override=%v changed=%v; want %s %v %v", i, st.Mode, st.Override, changed, s.want, s.over, s.changed)
				}
				if changed {
					records++
					if st.Cause != s.change.Cause || !st.Since.Equal(c.Now()) {
						t.Errorf("step %d: cause %q since %v", i, st.Cause, st.Since)
					}
				}
				got, err := j.Mode(ctx)
				if err != nil || got != st {
					t.Errorf("step %d: Mode = %+v, %v; ChangeMode said %+v", i, got, err, st)
				}
			}
			recs, err := j.List(ctx, Filter{Kinds: []Kind{KindModeChange}})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != records {
				t.Errorf("%d mode_change records, want %d", len(recs), records)
			}
		})
	}
}

func TestChangeModeInvalid(t *testing.T) {
	j := openTest(t, nil)
	for name, c := range map[string]rx.ModeChange{
		"unknown mode": {From: rx.ModeOnline, To: "PANIC", Cause: "x"},
		"no cause":     {From: rx.ModeOnline, To: rx.ModeFault},
		"no from":      {To: rx.ModeFault, Cause: "x"},
		"unknown from": {From: "PANIC", To: rx.ModeFault, Cause: "x"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := j.ChangeMode(context.Background(), c)
			wantCode(t, err, rx.EINVALID)
		})
	}
}

func TestRecordCarriesMode(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	if r := mustAppend(t, j, dispensing(1)); r.Mode != rx.ModeOnline {
		t.Errorf("mode %s, want ONLINE", r.Mode)
	}
	if _, _, err := j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe"}); err != nil {
		t.Fatal(err)
	}
	if r := mustAppend(t, j, dispensing(2)); r.Mode != rx.ModeFault {
		t.Errorf("mode %s, want FAULT", r.Mode)
	}
}

func TestFaultPeriods(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	t0 := c.Now()
	change := func(after time.Duration, m rx.Mode, cause string) {
		t.Helper()
		c.Add(after)
		cur, err := j.Mode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := j.ChangeMode(ctx, rx.ModeChange{From: cur.Mode, To: m, Cause: cause}); err != nil {
			t.Fatal(err)
		}
	}
	change(time.Hour, rx.ModeFault, "outage 1")       // t0+1h
	change(time.Hour, rx.ModeRecovering, "probe ok")  // t0+2h
	change(time.Hour, rx.ModeOnline, "drained")       // t0+3h
	change(time.Hour, rx.ModeFault, "outage 2")       // t0+4h
	change(30*time.Minute, rx.ModeOnline, "probe ok") // t0+4h30
	change(time.Hour, rx.ModeFault, "outage 3")       // t0+5h30, ongoing
	h := func(x float64) time.Time { return t0.Add(time.Duration(x * float64(time.Hour))) }
	tests := []struct {
		name  string
		since time.Time
		want  []FaultPeriod
	}{
		{"all", time.Time{}, []FaultPeriod{{Start: h(1), End: h(2), Cause: "outage 1"}, {Start: h(4), End: h(4.5), Cause: "outage 2"}, {Start: h(5.5), Cause: "outage 3"}}},
		{"inside the first", h(1.5), []FaultPeriod{{Start: h(1), End: h(2), Cause: "outage 1"}, {Start: h(4), End: h(4.5), Cause: "outage 2"}, {Start: h(5.5), Cause: "outage 3"}}},
		{"after the first", h(2.5), []FaultPeriod{{Start: h(4), End: h(4.5), Cause: "outage 2"}, {Start: h(5.5), Cause: "outage 3"}}},
		{"only the ongoing", h(5), []FaultPeriod{{Start: h(5.5), Cause: "outage 3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := j.FaultPeriods(ctx, tt.since)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || g.Cause != w.Cause || g.Seq == 0 {
					t.Errorf("period %d = %+v, want %+v", i, g, w)
				}
			}
			if !got[len(got)-1].Contains(h(6)) || got[0].Contains(t0) {
				t.Errorf("Contains is wrong")
			}
		})
	}
}
