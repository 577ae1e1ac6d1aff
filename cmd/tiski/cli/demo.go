package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// DemoOptions are the options of `tiski demo`.
type DemoOptions struct {
	Factory *Factory
	IO      IO
	DataDir string
	Seed    int64
	// FirstFrame: see CounterOptions.FirstFrame.
	FirstFrame bool
	// SignIn shows the sign-in screen instead of signing the demo
	// pharmacist in.
	SignIn bool
	// AccessLog is a file for the simulator's access log, from
	// TISKI_CENTRE_ACCESS_LOG; "" is none. The end-to-end tests read it to
	// prove that no identity code goes into a URL.
	AccessLog string
}

// envCentreAccessLog names the file `tiski demo` gives its simulator as
// access log (as `tiski centre serve --access-log FILE`).
const envCentreAccessLog = "TISKI_CENTRE_ACCESS_LOG"

// NewCmdDemo builds `tiski demo`: the first command a newcomer runs.
func NewCmdDemo(f *Factory, runF func(context.Context, *DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{Factory: f, IO: f.IO}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The counter against a simulated Prescription Centre with fixtures, in training mode",
		Long: `Starts the Prescription Centre simulator with the bundled fixtures on a free
loopback port, with training data that never mixes with real data, signs in a
demo pharmacist and opens the counter with the TRAINING banner. F9 starts and
ends an outage of the simulated Prescription Centre. Try the patient
140348-901W. Nothing here touches a real Prescription Centre.

Without a terminal it starts the simulator alone and prints how to reach it.

With ` + envCentreAccessLog + `=FILE in the environment, the simulator appends
every FHIR request line to FILE, as 'tiski centre serve --access-log' does.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.AccessLog = f.Getenv(envCentreAccessLog)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data", "", "training data folder (default: a temporary folder, removed on exit)")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "seed for the simulator's random choices")
	cmd.Flags().BoolVar(&opts.SignIn, "sign-in", false, "start at the sign-in screen (user demo, PIN 1234) instead of signed in")
	cmd.Flags().BoolVar(&opts.FirstFrame, "first-frame", false, "render the counter's first frame without a terminal, print the time since start and exit (for tiskibench)")
	_ = cmd.Flags().MarkHidden("first-frame")
	return cmd
}

// The demo's pharmacist. Her PIN, trainingPIN, unlocks the counter after
// inactivity.
const demoUserID = "demo"

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
	access, err := openAccessLog(opts.AccessLog)
	if err != nil {
		return err
	}
	defer access.Close()
	srv, err := centresim.Start(ctx, centresim.Config{
		Addr:      "127.0.0.1:0",
		AdminAddr: "127.0.0.1:0",
		DataDir:   data + "/centre",
		Seed:      opts.Seed,
		Logger:    slog.New(slog.DiscardHandler),
		AccessLog: access.writer(),
	})
	if err != nil {
		return fmt.Errorf("start the Prescription Centre simulator: %w", err)
	}
	defer srv.Close()
	if opts.Factory != nil && (isTerminal(opts.IO) || opts.FirstFrame) {
		return demoCounter(ctx, opts.Factory, srv, data, opts)
	}
	w := opts.IO.Out
	fmt.Fprintf(w, "TRAINING — tiski demo: a simulated Prescription Centre with fixtures (ready in %s)\n\n", time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(w, "  FHIR R4 endpoint  %s\n  fault admin       %s\n  training data     %s\n\n", srv.URL(), srv.AdminURL(), data)
	fmt.Fprintf(w, "Try it:\n")
	fmt.Fprintf(w, "  curl -s '%s/Patient?_count=3'\n", srv.URL())
	// A search by identity code is a POST with a form body, as tiski sends
	// it: a code in the URL would end up in access logs.
	fmt.Fprintf(w, "  curl -s --data-urlencode 'patient.identifier=urn:oid:1.2.246.21|%s' --data-urlencode '_include=MedicationRequest:medication' %s/MedicationRequest/_search\n", demoPatient, srv.URL())
	admin := strings.TrimPrefix(srv.AdminURL(), "http://") // the admin API is plain HTTP on loopback
	fmt.Fprintf(w, "  tiski centre fault down --admin-addr %s     # start an outage\n", admin)
	fmt.Fprintf(w, "  tiski centre fault up --admin-addr %s       # end it\n\n", admin)
	fmt.Fprintln(w, "Run 'tiski demo' on a terminal to open the counter. Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// demoCounter opens the counter in training mode on the demo's own data
// folder, signed in as the demo pharmacist.
func demoCounter(ctx context.Context, f *Factory, srv *centresim.Server, data string, opts *DemoOptions) error {
	// Quick probes and retries, so a newcomer sees the fault and the
	// reconciliation within seconds.
	conf := "terminal = \"demo-1\"\n[pharmacy]\nname = \"Tiski Demo Pharmacy\"\noid = \"1.2.246.10.99999999.10.0\"\n" +
		"[probe]\ninterval = \"500ms\"\nfault_interval = \"500ms\"\ntimeout = \"1s\"\nrecover_after = 2\n[sync]\ninitial_interval = \"500ms\"\nmax_interval = \"3s\"\n"
	who := rx.Pharmacist{ID: demoUserID, Name: "Demo Pharmacist", Registration: "10100099901", Role: rx.RolePharmacist}
	if _, err := trainingCounter(ctx, f, srv, data+"/counter", conf, who); err != nil {
		return err
	}
	var mu sync.Mutex
	down := false
	outage := func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		kind := centresim.FaultDown
		if down {
			kind = centresim.FaultUp
		}
		if err := srv.SetFault(centresim.Fault{Kind: kind}); err != nil {
			return down, err
		}
		down = !down
		return down, nil
	}
	signedIn := &who
	if opts.SignIn {
		signedIn = nil
	}
	return counterRun(ctx, &CounterOptions{Factory: f, Training: true, SignedIn: signedIn, Outage: outage, FirstFrame: opts.FirstFrame})
}

// demoPatient is Matti Korhonen, the fixture patient with the most prescriptions.
const demoPatient = "140348-901W"
