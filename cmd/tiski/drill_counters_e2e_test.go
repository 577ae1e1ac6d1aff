package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestDrillTwoCounters plays the shipped two-counter scenario, by its
// name, through the binary (issue 19): a hub in the drill's folder, a
// second counter beside the first, and the report, which checks that
// counter 2 saw counter 1's paper prescription with the quantity left,
// passes. Each counter's training folder points at the drill's hub.
func TestDrillTwoCounters(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "drill")
	r := tiskiRun{t: t, data: data}
	out := r.ok("", "drill", "run", "next-counter", "--speed", "600", "--headless")
	if !strings.Contains(out, "Hub nats://127.0.0.1:") || !strings.Contains(out, "2 counters share their records") {
		t.Errorf("drill run says:\n%s", out)
	}
	rep := readReport(t, r.ok("", "drill", "report", "--json"))
	if !rep.Pass {
		t.Fatalf("the two-counter drill fails: %+v", rep.Checks)
	}
	var full struct {
		Tasks []struct {
			Counter int  `json:"counter"`
			Left    *int `json:"left"`
		} `json:"tasks"`
		Shared []struct {
			Held, Of int
		} `json:"shared"`
	}
	if err := json.Unmarshal([]byte(r.ok("", "drill", "report", "--json")), &full); err != nil {
		t.Fatal(err)
	}
	if len(full.Tasks) != 2 || full.Tasks[1].Counter != 2 || full.Tasks[1].Left == nil || *full.Tasks[1].Left != 20 {
		t.Errorf("tasks %+v: want task 2 at counter 2 seeing 20 left", full.Tasks)
	}
	if len(full.Shared) != 2 {
		t.Errorf("shared %+v: want each counter's count of the other's records", full.Shared)
	}
	for _, dir := range []string{"counter", "counter-2"} {
		show := tiskiRun{t: t, data: filepath.Join(data, dir)}.ok("", "config", "show")
		if !strings.Contains(show, "nats://127.0.0.1:") {
			t.Errorf("%s's configuration has no hub:\n%s", dir, show)
		}
	}
}
