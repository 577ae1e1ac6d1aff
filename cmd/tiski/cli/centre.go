package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/centresim"
)

// Default loopback ports of `tiski centre serve`, used by the README's tour.
const (
	defaultCentreAddr = "127.0.0.1:8780"
	defaultAdminAddr  = "127.0.0.1:8781"
)

// NewCmdCentre builds `tiski centre`: the Prescription Centre simulator.
func NewCmdCentre(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "centre",
		Short: "Run the Prescription Centre simulator, inject faults, make test certificates",
		Long: strings.TrimSpace(`
The simulator is a FHIR R4 server that behaves like Kanta's Prescription
Centre: it holds patients and prescriptions, enforces the dispensing rules,
and can be made to fail on purpose for drills and tests. It listens on
loopback only.`),
	}
	cmd.AddCommand(NewCmdCentreServe(f, nil), NewCmdCentreFault(f, nil), NewCmdCentreCerts(f, nil))
	return cmd
}

// CentreServeOptions are the options of `tiski centre serve`.
type CentreServeOptions struct {
	IO        IO
	Addr      string
	AdminAddr string
	DataDir   string
	Seed      int64
	TLSDir    string
	Capacity  float64
	Verbose   bool
	AccessLog string
	Catalogue bool
}

// NewCmdCentreServe builds `tiski centre serve`.
func NewCmdCentreServe(f *Factory, runF func(context.Context, *CentreServeOptions) error) *cobra.Command {
	opts := &CentreServeOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the simulated Prescription Centre until interrupted",
		Example: `  tiski centre serve
  tiski centre serve --addr 127.0.0.1:9000 --admin-addr 127.0.0.1:9001 --data ./centre --seed 7
  tiski centre certs --out ./certs && tiski centre serve --tls ./certs`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return centreServeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", defaultCentreAddr, "FHIR address (loopback; port 0 picks a free one)")
	fl.StringVar(&opts.AdminAddr, "admin-addr", defaultAdminAddr, "fault-injection admin address (loopback, never the FHIR port)")
	fl.StringVar(&opts.DataDir, "data", "", "folder for the simulator's database (default: a temporary folder, removed on exit)")
	fl.Int64Var(&opts.Seed, "seed", 1, "seed for the random choices of faults, so a run is repeatable")
	fl.StringVar(&opts.TLSDir, "tls", "", "serve HTTPS and require client certificates, from a folder made by 'tiski centre certs'")
	fl.Float64Var(&opts.Capacity, "capacity", 0, "requests per second served before answering 429 (0: unlimited)")
	fl.BoolVarP(&opts.Verbose, "verbose", "v", false, "log every request to standard error")
	fl.BoolVar(&opts.Catalogue, "catalogue", true, "serve a medicine catalogue of realistic size (about 15,000 packages) beside the fixtures; --catalogue=false: the fixtures' 104 only")
	fl.StringVar(&opts.AccessLog, "access-log", "", "append every FHIR request line (method, path and query, status) to FILE, unmasked, as a web server's access log")
	return cmd
}

func centreServeRun(ctx context.Context, opts *CentreServeOptions) error {
	started := time.Now()
	level := slog.LevelWarn
	if opts.Verbose {
		level = slog.LevelInfo
	}
	access, err := openAccessLog(opts.AccessLog)
	if err != nil {
		return err
	}
	defer access.Close()
	srv, err := centresim.Start(ctx, centresim.Config{
		Addr:      opts.Addr,
		AdminAddr: opts.AdminAddr,
		DataDir:   opts.DataDir,
		Seed:      opts.Seed,
		TLSDir:    opts.TLSDir,
		Capacity:  opts.Capacity,
		Catalogue: opts.Catalogue,
		Logger:    slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: level})),
		AccessLog: access.writer(),
	})
	if err != nil {
		return fmt.Errorf("start the Prescription Centre simulator: %w", err)
	}
	defer srv.Close()
	data := opts.DataDir
	if data == "" {
		data = "temporary, removed on exit"
	}
	fmt.Fprintf(opts.IO.Out, "Prescription Centre simulator (FHIR R4) ready in %s\n", time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(opts.IO.Out, "  FHIR   %s\n  admin  %s\n  data   %s\n", srv.URL(), srv.AdminURL(), data)
	fmt.Fprintln(opts.IO.Out, "Press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(opts.IO.Out, "Stopping.")
	return nil
}

// CentreFaultOptions are the options of `tiski centre fault`.
type CentreFaultOptions struct {
	IO        IO
	AdminAddr string
	Args      []string
	JSON      bool
}

// NewCmdCentreFault builds `tiski centre fault`.
func NewCmdCentreFault(f *Factory, runF func(context.Context, *CentreFaultOptions) error) *cobra.Command {
	opts := &CentreFaultOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "fault KIND [ARG]",
		Short: "Inject a fault into a running simulator",
		Long: strings.TrimSpace(`
Kinds:
  down                      close the FHIR port: connection refused
  blackhole                 accept connections and never answer
  slow DURATION             delay every answer, e.g. slow 2s
  flaky RATIO               answer that share of requests 503, e.g. flaky 0.3
  throttle SECONDS          answer 429 with Retry-After, e.g. throttle 5
  drop-after-commit RATIO   commit writes, then cut the connection before answering
  error                     answer 500 to every request
  skew DURATION             answer as usual with the Date header shifted, e.g. skew -10m
  wrong-patient             answer a search by identity code, or a read of a
                            prescription by id, about another patient
  up                        no fault`),
		Example: "  tiski centre fault down\n  tiski centre fault flaky 0.5 --admin-addr 127.0.0.1:8781\n  tiski centre fault up",
		Args:    rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return centreFaultRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.AdminAddr, "admin-addr", defaultAdminAddr, "the simulator's admin address")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the fault now in force as JSON")
	return cmd
}

func centreFaultRun(ctx context.Context, opts *CentreFaultOptions) error {
	fault, err := centresim.ParseFault(opts.Args)
	if err != nil {
		return usageError{err}
	}
	url := opts.AdminAddr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now, err := centresim.SetRemoteFault(ctx, url, fault)
	if err != nil {
		return fmt.Errorf("set fault on the simulator at %s: %w", opts.AdminAddr, err)
	}
	if opts.JSON {
		return json.NewEncoder(opts.IO.Out).Encode(now)
	}
	fmt.Fprintf(opts.IO.Out, "Fault now in force: %s\n", describeFault(now))
	return nil
}

func describeFault(f centresim.Fault) string {
	switch f.Kind {
	case "slow":
		return "slow " + f.Duration
	case "flaky", "drop-after-commit":
		return fmt.Sprintf("%s %g", f.Kind, f.Ratio)
	case "throttle":
		return fmt.Sprintf("throttle %ds", f.Seconds)
	case "up", "":
		return "none (up)"
	}
	return f.Kind
}

// CentreCertsOptions are the options of `tiski centre certs`.
type CentreCertsOptions struct {
	IO         IO
	Out        string
	Hosts      []string
	ClientDays int
}

// NewCmdCentreCerts builds `tiski centre certs`.
func NewCmdCentreCerts(f *Factory, runF func(context.Context, *CentreCertsOptions) error) *cobra.Command {
	opts := &CentreCertsOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "certs --out DIR",
		Short: "Write a throwaway CA, server certificate and client certificate for tests",
		Long: strings.TrimSpace(`
Writes ca.crt, ca.key, server.crt, server.key, client.crt and client.key into
DIR. These are for the simulator and tests only: never use them against a
real Prescription Centre.`),
		Example: "  tiski centre certs --out ./certs\n  tiski centre serve --tls ./certs",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Out == "" {
				return usageError{fmt.Errorf("--out DIR is required")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return centreCertsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "folder to write the certificates and keys into")
	cmd.Flags().StringSliceVar(&opts.Hosts, "host", []string{"127.0.0.1", "localhost"}, "names and addresses of the server certificate")
	cmd.Flags().IntVar(&opts.ClientDays, "client-days", 365, "days the client certificate is valid")
	return cmd
}

func centreCertsRun(_ context.Context, opts *CentreCertsOptions) error {
	if err := os.MkdirAll(opts.Out, 0o700); err != nil {
		return fmt.Errorf("make certificate folder: %w", err)
	}
	now := time.Now()
	err := centresim.WriteCerts(opts.Out, centresim.CertOptions{
		Hosts:          opts.Hosts,
		Now:            func() time.Time { return now },
		ClientNotAfter: now.AddDate(0, 0, opts.ClientDays),
	})
	if err != nil {
		return fmt.Errorf("write certificates: %w", err)
	}
	abs, _ := filepath.Abs(opts.Out)
	fmt.Fprintf(opts.IO.Out, "Wrote a test CA, server and client certificate to %s\n", abs)
	for _, name := range []string{"ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"} {
		fmt.Fprintf(opts.IO.Out, "  %s\n", filepath.Join(abs, name))
	}
	fmt.Fprintf(opts.IO.Out, "The client certificate expires on %s.\n", now.AddDate(0, 0, opts.ClientDays).Format(time.DateOnly))
	return nil
}

// accessLogFile is the simulator's access log file, or none.
type accessLogFile struct{ f *os.File }

// openAccessLog opens path for appending, 0600, creating it; "" is none.
// The simulator writes request lines to it as a web server does, unmasked,
// so that IT and tests see what a real server would keep; it holds only
// the simulator's test identity codes, and only if a client put them in a
// URL.
func openAccessLog(path string) (accessLogFile, error) {
	if path == "" {
		return accessLogFile{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return accessLogFile{}, fmt.Errorf("open the simulator's access log: %w; give a file in a folder that exists and that you may write to", err)
	}
	return accessLogFile{f}, nil
}

// writer is the io.Writer for centresim.Config.AccessLog: nil for none, as
// a nil *os.File in an interface would not be.
func (a accessLogFile) writer() io.Writer {
	if a.f == nil {
		return nil
	}
	return a.f
}

func (a accessLogFile) Close() {
	if a.f != nil {
		_ = a.f.Close()
	}
}
