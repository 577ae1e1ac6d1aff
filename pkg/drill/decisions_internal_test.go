package drill

import (
	"reflect"
	"testing"
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
