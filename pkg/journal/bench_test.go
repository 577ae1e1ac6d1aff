package journal

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// reportLatency reports the median and 99th percentile of the samples.
func reportLatency(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	at := func(q float64) float64 { return float64(samples[int(q*float64(len(samples)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

// benchBody is a dispensing body of a realistic size (about 600 bytes).
var benchBody = func() json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"prescription_id": "1234567890123", "patient": "131052-308T", "vnr": "123456", "quantity": 30,
		"medicine":  map[string]any{"id": "panadol-500mg-tabl", "name": "Panadol", "atc": "N02BE01", "strength": "500 mg"},
		"essential": true, "basis": "instruction-sheet", "note": strings.Repeat("dosage 1 x 3 ", 25),
		"pharmacist": map[string]any{"id": "anna", "name": "Anna Proviisori", "registration": "123456789", "role": "pharmacist"},
	})
	return b
}()

// BenchmarkAppendDurable measures a durable Append (record plus outbox
// entry, WAL, synchronous=FULL), one at a time, as the counter makes them.
// Compare its p99 with BenchmarkFsyncFloor's, run in the same directory
// kind (DESIGN §10: within 2×).
func BenchmarkAppendDurable(b *testing.B) {
	j := openTest(b, nil)
	ctx := context.Background()
	nr := NewRecord{Kind: KindDispensing, Pharmacist: "anna", Patient: "131052-308T", Rules: []string{"essential.quantity"}, Body: benchBody, Upload: true}
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := j.Append(ctx, nr); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, samples)
}

// BenchmarkFsyncFloor measures the raw floor of the same disk: append a
// record-sized block to a file in a temporary directory beside the journal's
// and fsync it.
func BenchmarkFsyncFloor(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "floor"), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096) // one page: the smallest write a commit makes
	copy(block, benchBody)
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, samples)
}

// BenchmarkAppendAllPaper measures what the counter's paper form makes on
// F10: a paper prescription and its first dispensing in one transaction,
// with a context that can end, as the counter's is.
func BenchmarkAppendAllPaper(b *testing.B) {
	j := openTest(b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		paper := NewRecord{ID: uuid.NewString(), Kind: KindPaperPrescription, Pharmacist: "anna", Patient: "131052-308T", Body: benchBody, Upload: true}
		disp := NewRecord{Kind: KindDispensing, Pharmacist: "anna", Patient: "131052-308T", Body: benchBody, Upload: true, DependsOn: paper.ID}
		start := time.Now()
		if _, err := j.AppendAll(ctx, paper, disp); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, samples)
}
