package cli

import (
	"context"
	"sync"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/queue"
)

// Policy loads the fault-mode policy: the configured policy file, or the
// built-in one.
func (f *Factory) Policy() (*policy.Set, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	if c.Policy == "" {
		return policy.Default(), nil
	}
	return policy.Load(c.Policy)
}

// uploader builds the mode machine and the upload worker that reports to
// it, from the configuration. cfg is the worker's configuration
// (workerConfig, perhaps with an OnOutcome added).
func uploader(f *Factory, j *journal.Journal, client *centre.Client, cfg queue.Config) (*mode.Machine, *queue.Worker, error) {
	c, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	m := mode.New(j, client, mode.Config{Interval: c.Probe.Interval, FaultInterval: c.Probe.FaultInterval,
		Timeout: c.Probe.Timeout, RecoverAfter: c.Probe.RecoverAfter, Logger: f.Logger()})
	return m, queue.New(j, client, m, cfg), nil
}

// runBeside runs the mode machine, the worker following its changes (a
// recovery wakes the worker's backoffs), and the other loops given, until
// the returned stop is called; stop waits for all of them to end.
func runBeside(ctx context.Context, m *mode.Machine, w *queue.Worker, loops ...func(context.Context)) (stop func()) {
	bg, cancel := context.WithCancel(ctx)
	states, unsubscribe := m.Subscribe()
	var wg sync.WaitGroup
	for _, loop := range append([]func(context.Context){func(ctx context.Context) { m.Run(ctx) }, func(ctx context.Context) { w.FollowMode(ctx, states) }}, loops...) {
		wg.Add(1)
		go func() { defer wg.Done(); loop(bg) }()
	}
	return func() { cancel(); unsubscribe(); wg.Wait() }
}
