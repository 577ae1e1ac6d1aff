package catalogue

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkSyncFull is a full sync of the simulator's catalogue (about
// 15,000 packages, 31 pages of 500) over loopback into a new file: the
// first sync of a counter, and each --full.
func BenchmarkSyncFull(b *testing.B) {
	ctx := context.Background()
	sim := startCatalogueSim(b)
	c := centreClient(b, sim.URL(), 0)
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		res, err := Sync(ctx, filepath.Join(dir, FileName), FromCentre(c, 0), SyncOptions{Full: true})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Fetched), "packages")
	}
}
