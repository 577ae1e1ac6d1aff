package drill

import (
	"reflect"
	"testing"
	"time"
)

// TestDecisions counts the policy's decisions by rule: the rules a record
// names allowed it, those of a refusal or a violation denied.
func TestDecisions(t *testing.T) {
	evs := []Event{
		{Type: EvRecord, Kind: "dispensing", Rule: "FM-ESS-QTY"},
		{Type: EvRecord, Kind: "paper_prescription", Rule: "FM-PRESCRIBER,RX-VALID"},
		{Type: EvRecord, Kind: "dispensing"}, // online: no rule
		{Type: EvRecord, Kind: "dispensing", Rule: "FM-ESS-QTY", Counter: 2},
		{Type: EvRefused, Task: 3, Rule: "FM-NO-NARCOTIC"},
		{Type: EvRefused, Task: 4}, // refused, but not by the policy
		{Type: EvViolation, Rule: "FM-ESS-QTY"},
		{Type: EvMode, Mode: "FAULT"},
	}
	want := []Decision{
		{Rule: "FM-ESS-QTY", Allowed: 2, Violations: 1},
		{Rule: "FM-NO-NARCOTIC", Refused: 1},
		{Rule: "FM-PRESCRIBER", Allowed: 1},
		{Rule: "RX-VALID", Allowed: 1},
	}
	if got := decisions(evs); !reflect.DeepEqual(got, want) {
		t.Errorf("decisions:\n got %+v\nwant %+v", got, want)
	}
	if got := decisions(nil); len(got) != 0 {
		t.Errorf("no events: %+v", got)
	}
}

// TestConflicts lists each record that went to review once, with its kind
// (from its record event when the conflict does not say) and resolution.
func TestConflicts(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	clock := func(tm time.Time) Duration { return Duration(tm.Sub(t0) * 60) } // speed 60
	evs := []Event{
		{Time: sec(1), Type: EvRecord, Kind: "dispensing", Record: "r1"},
		{Time: sec(2), Type: EvRecord, Kind: "paper_prescription", Record: "r2"},
		{Time: sec(10), Type: EvConflict, Kind: "dispensing", Record: "r1", Detail: "conflict: dispensed elsewhere"},
		{Time: sec(11), Type: EvConflict, Record: "r2", Detail: "rejected"},
		{Time: sec(12), Type: EvConflict, Kind: "dispensing", Record: "r1", Detail: "conflict: again"}, // seen once
		{Time: sec(20), Type: EvResolved, Kind: "resolution", Record: "r1"},
		{Time: sec(21), Type: EvResolved, Kind: "void", Record: "r1"},       // resolved once
		{Time: sec(22), Type: EvResolved, Kind: "resolution", Record: "r9"}, // no such conflict
	}
	at := func(n int) *Duration { d := Duration(time.Duration(n) * time.Minute); return &d }
	want := []ConflictResult{
		{Record: "r1", Kind: "dispensing", At: *at(10), Detail: "conflict: dispensed elsewhere", Resolved: true, ResolvedBy: "resolution", ResolvedAt: at(20)},
		{Record: "r2", Kind: "paper_prescription", At: *at(11), Detail: "rejected"},
	}
	if got := conflicts(evs, clock); !reflect.DeepEqual(got, want) {
		t.Errorf("conflicts:\n got %+v\nwant %+v", got, want)
	}
}
