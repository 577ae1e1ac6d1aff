package mode

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// BenchmarkDetection measures fault detection with the default Config
// (interval 0.75 s, probe timeout 2 s, the client's probe connect bound
// 0.4 s) against the targets of issue 20: connection refused → FAULT in
// ≤ 1 s, a black hole in ≤ 1.5 s. Run it with -benchtime=3x.
//
// The fault is set just after the machine reached ONLINE, that is just after
// a probe: the worst phase, a whole interval before the next probe. So the
// figures (mean and max over the iterations) are worst cases: about
// interval for a refused connection and interval + the connect bound, plus
// the journal write, for a black hole.
func BenchmarkDetection(b *testing.B) {
	ctx := context.Background()
	srv, err := centresim.Start(ctx, centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	j, err := journal.Open(ctx, filepath.Join(b.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	c, err := centre.New(centre.Config{BaseURL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	m := New(j, c, Config{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	wait := func(start time.Time, want rx.Mode) time.Duration {
		for m.State().Mode != want {
			if time.Since(start) > 30*time.Second {
				b.Fatalf("no %s within 30s", want)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(start)
	}
	set := func(kind string) time.Time {
		if err := srv.SetFault(centresim.Fault{Kind: kind}); err != nil {
			b.Fatal(err)
		}
		return time.Now()
	}
	var refused, blackhole []time.Duration
	b.ResetTimer()
	for range b.N {
		wait(set(centresim.FaultUp), rx.ModeOnline)
		refused = append(refused, wait(set(centresim.FaultDown), rx.ModeFault))
		wait(set(centresim.FaultUp), rx.ModeOnline)
		blackhole = append(blackhole, wait(set(centresim.FaultBlackhole), rx.ModeFault))
	}
	b.StopTimer()
	set(centresim.FaultUp)
	report := func(name string, ds []time.Duration) {
		var sum, worst time.Duration
		for _, d := range ds {
			sum += d
			worst = max(worst, d)
		}
		b.ReportMetric(float64(sum.Milliseconds())/float64(len(ds)), name+"-mean-ms")
		b.ReportMetric(float64(worst.Milliseconds()), name+"-max-ms")
	}
	report("refused", refused)
	report("blackhole", blackhole)
}
