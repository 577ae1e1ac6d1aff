package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestMeasureCatalogue: the catalogue group measures its three rows (issue
// 24), each against its absolute target, and none says "error:".
func TestMeasureCatalogue(t *testing.T) {
	var out, errs bytes.Buffer
	cfg := tiny(t)
	cfg.quick = true
	code := measure(context.Background(), cfg, regexp.MustCompile("^catalogue$"), true, false, &out, &errs)
	if code == 2 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var rows []Row
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	want := []struct{ name, target string }{
		{"catalogue: import of Fimea's file, 15,000 packages", "≤ 2000 ms"},
		{"catalogue: lookup by VNR (500) p99", "≤ 1 ms"},
		{"catalogue: name prefix, first 20 hits (500) p99", "≤ 5 ms"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	for i, w := range want {
		r := rows[i]
		if !strings.HasPrefix(r.Name, w.name) || r.Target != w.target || r.Value <= 0 || strings.Contains(r.Name, "error:") {
			t.Errorf("row %d = %+v, want %q with target %q and a value", i, r, w.name, w.target)
		}
	}
}
