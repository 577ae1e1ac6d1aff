package triage

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
)

// BenchmarkAppendBesideFaultLog measures a durable journal Append, one at a
// time as the counter makes them, alone and while a Recorder takes 500
// Prescription Centre calls a second (far more than a counter makes) and
// writes them in its batches. Compare the two p99s of one run: the fault
// log must not change an append's latency.
func BenchmarkAppendBesideFaultLog(b *testing.B) {
	body, _ := json.Marshal(map[string]any{"prescription_id": "1234567890123", "quantity": 30, "note": "dosage 1 x 3"})
	nr := journal.NewRecord{Kind: journal.KindDispensing, Pharmacist: "anna", Body: body, Upload: true}
	for _, withLog := range []bool{false, true} {
		name := "alone"
		if withLog {
			name = "with-fault-log"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			j, err := journal.Open(ctx, filepath.Join(b.TempDir(), "j.db"), journal.Options{Terminal: "kassa-1"})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			stop := make(chan struct{})
			done := make(chan struct{})
			if withLog {
				rec := newRecorder(j, 200*time.Millisecond)
				go func() {
					defer close(done)
					tick := time.NewTicker(10 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							rec.Close(ctx)
							return
						case now := <-tick.C:
							for range 5 {
								rec.Observe(centre.Call{Time: now, Op: centre.OpSearch, Outcome: centre.OutcomeOK, Status: 200, Latency: 3 * time.Millisecond})
							}
						}
					}
				}()
			} else {
				close(done)
			}
			samples := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if _, err := j.Append(ctx, nr); err != nil {
					b.Fatal(err)
				}
				samples = append(samples, time.Since(start))
			}
			b.StopTimer()
			close(stop)
			<-done
			slices.Sort(samples)
			at := func(q float64) float64 { return float64(samples[int(q*float64(len(samples)-1))].Nanoseconds()) }
			b.ReportMetric(at(0.50), "p50-ns")
			b.ReportMetric(at(0.99), "p99-ns")
		})
	}
}
