package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tiny is a configuration that measures a little of everything quickly.
// It asserts nothing about speed: the figures of so small a run mean
// nothing, and speed is the command's to report, not a test's to judge.
func tiny(t *testing.T) config {
	return config{
		appends:      20,
		drainRecords: 40, drainWorkers: 4,
		detectRounds: 1, probe: 50 * time.Millisecond, probeTimeout: 100 * time.Millisecond, slowWatch: 2 * time.Second,
		shares:   10,
		cacheDir: t.TempDir(),
	}
}

func TestMeasureJSON(t *testing.T) {
	var out, errs bytes.Buffer
	code := measure(context.Background(), tiny(t), regexp.MustCompile("^(journal|drain|detect)$"), true, false, &out, &errs)
	if code == 2 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var names []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for key, kind := range map[string]string{"name": "string", "value": "number", "unit": "string", "target": "string", "pass": "bool"} {
			if got := jsonKind(obj[key]); got != kind {
				t.Errorf("%s: %s is %s, want %s", obj["name"], key, got, kind)
			}
		}
		for _, key := range []string{"floor", "ratio"} {
			if v, ok := obj[key]; !ok || (v != nil && jsonKind(v) != "number") {
				t.Errorf("%s: %s is %v, want a number or null", obj["name"], key, v)
			}
		}
		name, _ := obj["name"].(string)
		if strings.Contains(name, "error:") {
			t.Errorf("a row could not be measured: %s", name)
		}
		names = append(names, name)
	}
	for _, want := range []string{"durable append p50", "durable append p99", "SQLite's own commit", "drain: 40 records", "connection refused", "black hole", "first upload"} {
		found := false
		for _, n := range names {
			found = found || strings.Contains(n, want)
		}
		if !found {
			t.Errorf("no row %q in %q", want, names)
		}
	}
	if code != 0 && code != 1 {
		t.Errorf("exit %d", code)
	}
}

// TestMeasureHub: the hub group measures the share latency between two
// counters and the append with the share lane, and every row is measured
// (a row that could not be, because no record reached counter 2 or the
// lane was not shared, says "error:" and fails).
func TestMeasureHub(t *testing.T) {
	var out, errs bytes.Buffer
	code := measure(context.Background(), tiny(t), regexp.MustCompile("^hub$"), true, false, &out, &errs)
	if code == 2 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var names []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if strings.Contains(r.Name, "error:") {
			t.Errorf("a row could not be measured: %s", r.Name)
		}
		if r.Value <= 0 {
			t.Errorf("%s: value %v", r.Name, r.Value)
		}
		names = append(names, r.Name)
	}
	want := []string{"share latency, counter 1 → hub → counter 2 (10) p50", "share latency, counter 1 → hub → counter 2 (10) p99",
		"durable append with the share lane p50 (20)", "durable append with the share lane p99 (20)"}
	if len(names) != len(want) {
		t.Fatalf("rows %q, want %d", names, len(want))
	}
	for i, w := range want {
		if !strings.Contains(names[i], w) {
			t.Errorf("row %d is %q, want %q", i+1, names[i], w)
		}
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "other"
}

func TestFailingRowExitsNonZero(t *testing.T) {
	cfg := tiny(t)
	cfg.extra = []group{
		{"passing", func(context.Context, config) []Row {
			return []Row{row("passing", 1, "ms", 1, "itself", ratioAtMost(2))}
		}},
		{"failing", func(context.Context, config) []Row {
			return []Row{row("failing", 3, "ms", 1, "itself", ratioAtMost(2))}
		}},
		// A raised target missed, its earlier one held.
		{"gate-held", func(context.Context, config) []Row {
			return []Row{row("gate-held", 1.5, "ms", 1, "itself", ratioAtMost(1.3).gated(ratioAtMost(2)))}
		}},
		{"gate-missed", func(context.Context, config) []Row {
			return []Row{row("gate-missed", 2.5, "ms", 1, "itself", ratioAtMost(1.3).gated(ratioAtMost(2)))}
		}},
	}
	tests := []struct {
		name  string
		match string
		json  bool
		gated bool
		code  int
	}{
		{"all pass", "^passing$", false, false, 0},
		{"one fails", "^(passing|failing)$", false, false, 1},
		{"one fails, JSON", "^(passing|failing)$", true, false, 1},
		{"no rows", "^nothing$", false, false, 1},
		{"a raised target missed", "^(passing|gate-held)$", false, false, 1},
		{"a raised target missed, its gate held, --gated", "^(passing|gate-held)$", false, true, 0},
		{"a gate missed, --gated", "^(passing|gate-missed)$", true, true, 1},
		{"a row without a gate fails, --gated", "^(gate-held|failing)$", false, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := measure(context.Background(), cfg, regexp.MustCompile(tt.match), tt.json, tt.gated, &out, &errs); code != tt.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tt.code, out.String())
			}
			if tt.code == 1 && tt.match != "^nothing$" && !strings.Contains(out.String(), map[bool]string{false: "FAIL", true: `"pass":false`}[tt.json]) {
				t.Errorf("the failing row is not marked:\n%s", out.String())
			}
		})
	}
}

func TestRow(t *testing.T) {
	tests := []struct {
		name  string
		r     Row
		pass  bool
		ratio float64
	}{
		{"ratio within", row("a", 3, "ms", 2, "f", ratioAtMost(2)), true, 1.5},
		{"ratio over", row("a", 5, "ms", 2, "f", ratioAtMost(2)), false, 2.5},
		{"ratio at least", row("a", 1, "/s", 2, "f", ratioAtLeast(0.5)), true, 0.5},
		{"ratio under", row("a", 0.9, "/s", 2, "f", ratioAtLeast(0.5)), false, 0.45},
		{"value within, no floor", row("a", 2.9, "s", nan(), "", valueAtMost(3)), true, 0},
		{"value over", row("a", 3.1, "s", 2, "f", valueAtMost(3)), false, 1.55},
		{"error", failed("a", "s", valueAtMost(3), context.DeadlineExceeded), false, 0},
		{"report only", row("a", 3, "ms", 1, "f", reportOnly("why")), true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.r.Pass != tt.pass {
				t.Errorf("pass %v, want %v: %+v", tt.r.Pass, tt.pass, tt.r)
			}
			if tt.ratio != 0 && (tt.r.Ratio == nil || *tt.r.Ratio != tt.ratio) {
				t.Errorf("ratio %v, want %v", tt.r.Ratio, tt.ratio)
			}
			if tt.ratio == 0 && tt.r.Floor == nil && tt.r.Ratio != nil {
				t.Errorf("a ratio without a floor")
			}
		})
	}
}

func TestParseFirstFrame(t *testing.T) {
	d, err := parseFirstFrame([]byte("TRAINING\nfirst-frame 152.5ms\n"))
	if err != nil || d != 152500*time.Microsecond {
		t.Errorf("got %v, %v", d, err)
	}
	if _, err := parseFirstFrame([]byte("nothing\n")); err == nil {
		t.Error("no line parsed")
	}
}
