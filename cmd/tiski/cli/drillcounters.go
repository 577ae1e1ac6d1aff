package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/drill"
	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

// A drill of several counters (issue 19): the pharmacy's hub on loopback
// beside the simulator, with its records in the drill's folder, and the
// other counters headless, each a training journal in a folder of its own
// with its mode machine, upload queue and sharer, as at a real counter,
// and a scripted colleague doing the tasks given at it.

// drillHub starts the drill's hub when the scenario runs several counters;
// "" and a no-op without.
func drillHub(ctx context.Context, s *drill.Scenario, dir string) (url string, stop func(), err error) {
	if s.Counters < 2 {
		return "", func() {}, nil
	}
	h, err := hub.Start(ctx, hub.Options{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "hub")})
	if err != nil {
		return "", nil, fmt.Errorf("start the pharmacy's hub: %w", err)
	}
	return h.URL(), h.Close, nil
}

// drillOtherCounters builds counters 2 and on of a drill and runs them
// until stop.
func drillOtherCounters(ctx context.Context, f *Factory, s *drill.Scenario, srv *centresim.Server, dir, hubURL string, pol *policy.Set) (cs []drill.Counter, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		return nil, stop, fmt.Errorf("load fixtures: %w", err)
	}
	getenv := os.Getenv
	if f.Getenv != nil {
		getenv = f.Getenv
	}
	for n := 2; n <= s.Counters; n++ {
		name := fmt.Sprintf("drill-%d", n)
		// A factory of its own, as the counter's own process would have.
		fn := &Factory{Build: f.Build, IO: IO{Out: io.Discard, ErrOut: io.Discard}, configFlags: map[string]string{},
			Getenv: func(k string) string {
				if k == "TISKI_TERMINAL" {
					return name
				}
				return getenv(k)
			}}
		stops = append(stops, fn.close)
		j, who, err := drillCounter(ctx, fn, srv, filepath.Join(dir, fmt.Sprintf("counter-%d", n)), name, hubURL)
		if err != nil {
			return nil, stop, err
		}
		c, err := fn.Config()
		if err != nil {
			return nil, stop, err
		}
		client, err := fn.Centre()
		if err != nil {
			return nil, stop, err
		}
		stops = append(stops, client.Close)
		wcfg, err := workerConfig(fn)
		if err != nil {
			return nil, stop, err
		}
		m, w, err := uploader(fn, j, client, wcfg)
		if err != nil {
			return nil, stop, err
		}
		stops = append(stops, runBeside(ctx, m, w, func(ctx context.Context) { w.Run(ctx) }))
		stopSharing, err := fn.startSharing(ctx, j)
		if err != nil {
			return nil, stop, err
		}
		stops = append(stops, stopSharing)
		cs = append(cs, drill.Counter{Journal: j, Trainee: &drill.Trainee{
			Record: &record.Service{Journal: j, Policy: pol, Pharmacy: c.Pharmacy}, Who: who, Fixtures: fx, Kick: fn.kickSharing(w),
			Resolve: func(ctx context.Context, who rx.Pharmacist, id, action, reason string) (journal.Record, error) {
				return queue.Resolve(ctx, j, who, id, queue.Resolution{Action: action, Reason: reason})
			}}})
	}
	return cs, stop, nil
}

// kickSharing wakes the upload queue and the sharer after a record, as the
// counter does.
func (f *Factory) kickSharing(w *queue.Worker) func() {
	return func() {
		w.Kick()
		if s := f.sharer.Load(); s != nil {
			s.Kick()
		}
	}
}
