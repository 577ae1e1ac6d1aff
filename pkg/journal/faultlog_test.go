package journal

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestFaultLogBounded writes more than FaultLogKeep calls in batches and
// checks that the log keeps exactly the newest ones, in order, and that a
// read by time and by count returns the right slice.
func TestFaultLogBounded(t *testing.T) {
	ctx := context.Background()
	j, err := Open(ctx, filepath.Join(t.TempDir(), "j.db"), Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	base := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	total := FaultLogKeep + 700
	for start := 0; start < total; start += 500 {
		var batch []FaultCall
		for i := start; i < min(start+500, total); i++ {
			batch = append(batch, FaultCall{At: base.Add(time.Duration(i) * time.Second), Op: "read", Outcome: "ok", Status: 200, Latency: time.Duration(i) * time.Microsecond})
		}
		if err := j.LogCalls(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	all, err := j.FaultCalls(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != FaultLogKeep {
		t.Fatalf("kept %d calls, want %d", len(all), FaultLogKeep)
	}
	if first := all[0].At; !first.Equal(base.Add(700 * time.Second)) {
		t.Errorf("oldest kept call at %s, want the 701st", first)
	}
	if last := all[len(all)-1]; !last.At.Equal(base.Add(time.Duration(total-1)*time.Second)) || last.Latency != time.Duration(total-1)*time.Microsecond || last.Status != 200 {
		t.Errorf("newest call %+v", last)
	}
	recent, err := j.FaultCalls(ctx, base.Add(time.Duration(total-10)*time.Second), 0)
	if err != nil || len(recent) != 10 {
		t.Fatalf("calls of the last 10 s: %d, %v", len(recent), err)
	}
	few, err := j.FaultCalls(ctx, time.Time{}, 3)
	if err != nil || len(few) != 3 || !few[2].At.Equal(all[len(all)-1].At) {
		t.Fatalf("the 3 newest: %+v, %v", few, err)
	}
}

// TestFaultLogRefusesUnknownOp: the schema admits only the four operation
// classes, so nothing else (a URL, an identifier) can be put in their place.
func TestFaultLogRefusesUnknownOp(t *testing.T) {
	ctx := context.Background()
	j, err := Open(ctx, filepath.Join(t.TempDir(), "j.db"), Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.LogCalls(ctx, []FaultCall{{At: time.Now(), Op: "POST /Patient/_search?identifier=140348-901W", Outcome: "ok"}}); err == nil {
		t.Fatal("an operation that is not one of the classes was logged")
	}
}
