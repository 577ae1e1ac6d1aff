package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/centresim"
)

// DemoOptions are the options of `tiski demo`.
type DemoOptions struct {
	IO      IO
	DataDir string
	Seed    int64
}

// NewCmdDemo builds `tiski demo`: the first command a newcomer runs.
func NewCmdDemo(f *Factory, runF func(context.Context, *DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a simulated Prescription Centre with fixtures, in training mode",
		Long: `Starts the Prescription Centre simulator with the bundled fixtures on a free
loopback port, with training data that never mixes with real data, and prints
how to reach it. Nothing here touches a real Prescription Centre.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data", "", "training data folder (default: a temporary folder, removed on exit)")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "seed for the simulator's random choices")
	return cmd
}

func demoRun(ctx context.Context, opts *DemoOptions) error {
	data := opts.DataDir
	if data == "" {
		tmp, err := os.MkdirTemp("", "tiski-demo-")
		if err != nil {
			return fmt.Errorf("make training folder: %w", err)
		}
		defer os.RemoveAll(tmp)
		data = tmp
	}
	started := time.Now()
	srv, err := centresim.Start(ctx, centresim.Config{
		Addr:      "127.0.0.1:0",
		AdminAddr: "127.0.0.1:0",
		DataDir:   data,
		Seed:      opts.Seed,
		Logger:    slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("start the Prescription Centre simulator: %w", err)
	}
	defer srv.Close()
	w := opts.IO.Out
	fmt.Fprintf(w, "TRAINING — tiski demo: a simulated Prescription Centre with fixtures (ready in %s)\n\n", time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(w, "  FHIR R4 endpoint  %s\n  fault admin       %s\n  training data     %s\n\n", srv.URL(), srv.AdminURL(), data)
	fmt.Fprintf(w, "Try it:\n")
	fmt.Fprintf(w, "  curl -s '%s/Patient?_count=3'\n", srv.URL())
	fmt.Fprintf(w, "  curl -s '%s/MedicationRequest?patient.identifier=urn:oid:1.2.246.21|%s&_include=MedicationRequest:medication'\n", srv.URL(), demoPatient)
	fmt.Fprintf(w, "  tiski centre fault down --admin-addr %s     # start an outage\n", trimScheme(srv.AdminURL()))
	fmt.Fprintf(w, "  tiski centre fault up --admin-addr %s       # end it\n\n", trimScheme(srv.AdminURL()))
	fmt.Fprintln(w, "The counter screens arrive in a later release. Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// demoPatient is Matti Korhonen, the fixture patient with the most prescriptions.
const demoPatient = "140348-901W"

func trimScheme(url string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(url) > len(p) && url[:len(p)] == p {
			return url[len(p):]
		}
	}
	return url
}
