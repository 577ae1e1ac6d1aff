package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
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
	// Hub starts the pharmacy's hub beside the simulator and points the
	// demo counter at it, and prepares a second counter (issue 19).
	Hub bool
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

With --hub it also starts the pharmacy's hub on loopback beside the
simulator (its records in the training folder), points the demo counter at
it, prepares a second counter's training folder and prints the one command
that opens that counter in another terminal: a patient's records made at one
counter show at the other.

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
	cmd.Flags().BoolVar(&opts.Hub, "hub", false, "also start the pharmacy's hub and prepare a second counter against both (prints the command that opens it)")
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
	ln, err := centresim.Listen(centresim.Config{
		Addr:      "127.0.0.1:0",
		AdminAddr: "127.0.0.1:0",
		DataDir:   data + "/centre",
		Seed:      opts.Seed,
		Logger:    slog.New(slog.DiscardHandler),
		AccessLog: access.writer(),
		// The Prescription Centre's catalogue of realistic size, for
		// `tiski catalogue sync` against the demo; the demo's own counter
		// keeps the fixtures' catalogue (issue 24).
		Catalogue: true,
	})
	if err != nil {
		return fmt.Errorf("start the Prescription Centre simulator: %w", err)
	}
	// The simulator opens and seeds its database while the counter opens
	// its journal and draws its first frame (issue 20): its ports are
	// open, so the counter's first calls wait for it rather than fail.
	sim := startDemoSim(ctx, ln)
	defer sim.close()
	var pharmacy *demoPharmacy
	if opts.Hub {
		if pharmacy, err = startDemoPharmacy(ctx, opts.Factory, sim.url, data); err != nil {
			return err
		}
		defer pharmacy.close()
	}
	if opts.Factory != nil && (isTerminal(opts.IO) || opts.FirstFrame) {
		if pharmacy != nil && !opts.FirstFrame {
			// The counter takes the whole screen: the command for the
			// second counter must be read before it opens.
			pharmacy.explain(opts.IO.Out)
			fmt.Fprint(opts.IO.Out, "Press Enter to open counter 1 here. ")
			if err := waitEnter(ctx, opts.IO.In); err != nil {
				return nil
			}
		}
		return demoCounter(ctx, opts.Factory, sim, data, pharmacy, opts)
	}
	srv, err := sim.wait(ctx)
	if err != nil {
		return err
	}
	w := opts.IO.Out
	fmt.Fprintf(w, "TRAINING — tiski demo: a simulated Prescription Centre with fixtures (ready in %s)\n\n", time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(w, "  FHIR R4 endpoint  %s\n  fault admin       %s\n  training data     %s\n", srv.URL(), srv.AdminURL(), data)
	if pharmacy != nil {
		fmt.Fprintf(w, "  pharmacy's hub    %s\n", pharmacy.srv.URL())
	}
	fmt.Fprintln(w)
	if pharmacy != nil {
		pharmacy.explain(w)
	}
	fmt.Fprintf(w, "Try it:\n")
	fmt.Fprintf(w, "  curl -s '%s/Patient?_count=3'\n", srv.URL())
	// A search by identity code is a POST with a form body, as tiski sends
	// it: a code in the URL would end up in access logs.
	fmt.Fprintf(w, "  curl -s --data-urlencode 'patient.identifier=urn:oid:1.2.246.21|%s' --data-urlencode '_include=MedicationRequest:medication' %s/MedicationRequest/_search\n", demoPatient, srv.URL())
	admin := strings.TrimPrefix(srv.AdminURL(), "http://") // the admin API is plain HTTP on loopback
	fmt.Fprintf(w, "  tiski centre fault down --admin-addr %s     # start an outage\n", admin)
	fmt.Fprintf(w, "  tiski centre fault up --admin-addr %s       # end it\n\n", admin)
	if pharmacy != nil {
		fmt.Fprintln(w, "Run 'tiski demo --hub' on a terminal to open counter 1 too. Press Ctrl-C to stop.")
	} else {
		fmt.Fprintln(w, "Run 'tiski demo' on a terminal to open the counter. Press Ctrl-C to stop.")
	}
	<-ctx.Done()
	return nil
}

// demoSim is the demo's simulator, starting in the background.
type demoSim struct {
	url  string
	done chan struct{} // closed once the start has ended, srv and err set
	srv  *centresim.Server
	err  error
}

// startDemoSim starts the simulator whose ports ln holds, in the
// background.
func startDemoSim(ctx context.Context, ln *centresim.Listening) *demoSim {
	d := &demoSim{url: ln.URL(), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		if d.srv, d.err = ln.Start(ctx); d.err != nil {
			d.err = fmt.Errorf("start the Prescription Centre simulator: %w", d.err)
		}
	}()
	return d
}

// wait returns the simulator once it has started, or why it did not.
func (d *demoSim) wait(ctx context.Context) (*centresim.Server, error) {
	select {
	case <-d.done:
		return d.srv, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// close waits for the start to end and stops the simulator.
func (d *demoSim) close() {
	<-d.done
	if d.srv != nil {
		d.srv.Close()
	}
}

// demoCounter opens the counter in training mode on the demo's own data
// folder, signed in as the demo pharmacist, while the simulator starts;
// a simulator that fails to start ends the counter with its error.
func demoCounter(ctx context.Context, f *Factory, sim *demoSim, data string, pharmacy *demoPharmacy, opts *DemoOptions) error {
	hubURL := ""
	if pharmacy != nil {
		hubURL = pharmacy.srv.URL()
	}
	// The counter opens its journal beside its first frame, and adds the
	// demo's pharmacist to it then (Prepare).
	if err := trainingConfig(f, sim.url, data+"/counter", demoConfig("demo-1", hubURL)); err != nil {
		return err
	}
	if err := demoHubIs(f, hubURL); err != nil {
		return err
	}
	who := demoPharmacist
	var mu sync.Mutex
	down := false
	outage := func(ctx context.Context) (bool, error) {
		srv, err := sim.wait(ctx)
		if err != nil {
			return false, err
		}
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
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if _, err := sim.wait(cctx); err != nil {
			cancel(err)
		}
	}()
	// The fixtures' catalogue too is made beside the first frame, before
	// the counter's services open it.
	prepare := func(ctx context.Context, j *journal.Journal) error {
		if err := trainingCatalogue(ctx, data+"/counter"); err != nil {
			return err
		}
		return trainingUser(ctx, j, demoPharmacist)
	}
	err := counterRun(cctx, &CounterOptions{Factory: f, Training: true, SignedIn: signedIn, Outage: outage, FirstFrame: opts.FirstFrame, Prepare: prepare})
	if cause := context.Cause(cctx); ctx.Err() == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // the simulator did not start
	}
	return err
}

// demoPatient is Matti Korhonen, the fixture patient with the most prescriptions.
const demoPatient = "140348-901W"

// demoPharmacist is the demo's pharmacist, at every counter of the demo.
var demoPharmacist = rx.Pharmacist{ID: demoUserID, Name: "Demo Pharmacist", Registration: "10100099901", Role: rx.RolePharmacist}

// demoConfig is the configuration of a demo counter: quick probes and
// retries, so a newcomer sees the fault and the reconciliation within
// seconds; with hubURL, the pharmacy's hub.
func demoConfig(terminal, hubURL string) string {
	conf := fmt.Sprintf("terminal = %q\n[pharmacy]\nname = \"Tiski Demo Pharmacy\"\noid = \"1.2.246.10.99999999.10.0\"\n", terminal) +
		"[probe]\ninterval = \"500ms\"\nfault_interval = \"500ms\"\ntimeout = \"1s\"\nrecover_after = 2\n[sync]\ninitial_interval = \"500ms\"\nmax_interval = \"3s\"\n"
	if hubURL != "" {
		conf += fmt.Sprintf("[hub]\nurl = %q\n", hubURL)
	}
	return conf
}

// demoHubIs refuses when the environment points a training counter (the
// demo's, a drill's) at a hub other than its own (TISKI_HUB_URL outranks
// the training configuration): training records must not reach a
// pharmacy's real hub.
func demoHubIs(f *Factory, hubURL string) error {
	c, err := f.Config()
	if err != nil {
		return err
	}
	if c.Hub.URL != hubURL {
		return rx.Errorf(rx.EINVALID, "This training counter would share its records with the hub %s from TISKI_HUB_URL, not its own. Unset TISKI_HUB_URL for training.", c.Hub.URL)
	}
	return nil
}

// demoPharmacy is `tiski demo --hub`: the pharmacy's hub beside the
// simulator, and the training folder of a second counter against both.
type demoPharmacy struct {
	srv     *hub.Server
	centre  string // the simulator's FHIR URL
	second  string // the second counter's data folder
	command string // the command that opens the second counter
}

// secondTerminal names the demo's second counter.
const secondTerminal = "demo-2"

// startDemoPharmacy starts the hub on loopback with its records in
// data/hub and prepares the second counter's training folder,
// data/counter-2: its configuration against the simulator and the hub and
// the demo pharmacist with the training PIN, so that the printed command
// opens it with nothing else to set up.
func startDemoPharmacy(ctx context.Context, f *Factory, centreURL, data string) (*demoPharmacy, error) {
	srv, err := hub.Start(ctx, hub.Options{Addr: "127.0.0.1:0", DataDir: filepath.Join(data, "hub")})
	if err != nil {
		return nil, fmt.Errorf("start the pharmacy's hub: %w", err)
	}
	p := &demoPharmacy{srv: srv, centre: centreURL, second: filepath.Join(data, "counter-2")}
	// A factory of its own, as the second counter's process will have:
	// the demo's factory is counter 1's.
	getenv := os.Getenv
	if f != nil && f.Getenv != nil {
		getenv = f.Getenv
	}
	f2 := &Factory{IO: IO{Out: io.Discard, ErrOut: io.Discard}, configFlags: map[string]string{},
		Getenv: func(k string) string {
			if k == "TISKI_TERMINAL" {
				return secondTerminal
			}
			return getenv(k)
		}}
	defer f2.close()
	if _, err := trainingCounter(ctx, f2, centreURL, p.second, demoConfig(secondTerminal, srv.URL()), demoPharmacist); err != nil {
		srv.Close()
		return nil, err
	}
	if err := demoHubIs(f2, srv.URL()); err != nil {
		srv.Close()
		return nil, err
	}
	p.command = secondCounterCommand(tiskiCommand(), p.second, p.centre, srv.URL())
	return p, nil
}

func (p *demoPharmacy) close() { p.srv.Close() }

// explain prints the command that opens the second counter.
func (p *demoPharmacy) explain(w io.Writer) {
	fmt.Fprintf(w, "The pharmacy's hub runs at %s beside the simulator; the counter here is %s.\n", p.srv.URL(), "demo-1")
	fmt.Fprintf(w, "Open counter %s in another terminal with:\n\n  %s\n\n", secondTerminal, p.command)
	fmt.Fprintf(w, "Sign in there as %s, PIN %s. F9 at counter demo-1 starts an outage of the simulated\n", demoUserID, trainingPIN)
	fmt.Fprintln(w, "Prescription Centre: a paper prescription recorded then at one counter shows at the other,")
	fmt.Fprintln(w, "with the quantity left. Close that counter before you end this demo.")
	fmt.Fprintln(w)
}

// secondCounterCommand is the one command that opens the second counter:
// its own data folder and name, the simulator and the hub, in training
// mode. Its folder's configuration says the same; the flags make the
// command say what it opens.
func secondCounterCommand(tiski, data, centre, hubURL string) string {
	args := []string{tiski, "counter", "--training", "--data", shellQuote(data), "--centre", centre, "--hub", hubURL}
	if runtime.GOOS == "windows" {
		return "$env:TISKI_TERMINAL = \"" + secondTerminal + "\"; " + strings.Join(args, " ")
	}
	return "TISKI_TERMINAL=" + secondTerminal + " " + strings.Join(args, " ")
}

// tiskiCommand is how the person at the demo runs tiski: "tiski" when the
// PATH finds this binary, "go run ./cmd/tiski" when the demo runs under go
// run, else the binary's path.
func tiskiCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "tiski"
	}
	if strings.Contains(exe, "go-build") {
		return "go run ./cmd/tiski"
	}
	if p, err := exec.LookPath("tiski"); err == nil {
		if a, err1 := os.Stat(p); err1 == nil {
			if b, err2 := os.Stat(exe); err2 == nil && os.SameFile(a, b) {
				return "tiski"
			}
		}
	}
	return shellQuote(exe)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._:-+=@,", r)) {
			safe = false
		}
	}
	if safe || runtime.GOOS == "windows" && !strings.ContainsAny(s, " '\"") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// waitEnter waits for a line on in, or for ctx to end.
func waitEnter(ctx context.Context, in io.Reader) error {
	done := make(chan error, 1)
	go func() {
		var b [1]byte
		for {
			n, err := in.Read(b[:])
			if err != nil {
				done <- err
				return
			}
			if n == 1 && (b[0] == '\n' || b[0] == '\r') {
				done <- nil
				return
			}
		}
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-done:
		return err
	}
}

// checkTrainingCounter refuses `tiski counter --training` against anything
// but a Prescription Centre and a hub on this machine: a counter that says
// TRAINING must not send its records to a real Prescription Centre, nor
// share them with a pharmacy's real counters.
func checkTrainingCounter(f *Factory) error {
	c, err := f.Config()
	if err != nil {
		return err
	}
	if !onLoopback(c.Centre.URL) {
		return rx.Errorf(rx.EINVALID, "A training counter works against a simulated Prescription Centre on this machine, and %q is not one. Use the command 'tiski demo --hub' prints, or drop --training.", c.Centre.URL)
	}
	for _, u := range strings.Split(c.Hub.URL, ",") {
		if strings.TrimSpace(u) != "" && !onLoopback(strings.TrimSpace(u)) {
			return rx.Errorf(rx.EINVALID, "A training counter shares its records only with a hub on this machine, and %q is not one. Use the command 'tiski demo --hub' prints, or drop --training.", u)
		}
	}
	return nil
}

// onLoopback reports whether the URL names this machine.
func onLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}
