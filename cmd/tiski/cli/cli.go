// Package cli holds tiski's commands. It is the only package that uses cobra;
// each command follows the shape NewCmdX(f, runF) with an options struct and
// an xRun(ctx, opts) function, and opens what it needs lazily.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/config"
	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/triage"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// Build is what the release build stamps into the binary.
type Build struct {
	Version string
	Commit  string
	Date    string
	// Started is when the process started, for `tiski demo --first-frame`.
	Started time.Time
}

// IO is where a command reads and writes.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// StdIO returns the process's standard streams.
func StdIO() IO { return IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr} }

// Factory carries what every command may need. Dependencies are opened by
// the commands that need them, never up front, so `tiski version` works with
// no journal and no network.
type Factory struct {
	Build Build
	IO    IO
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string

	dataDir     string            // --data
	configFlags map[string]string // flags that set configuration keys
	config      *config.Config
	journal     *journal.Journal
	faultLog    *triage.Recorder // writes the fault log of Centre's calls, once a client is made with the journal open
	// journalCheckLater opens the journal with its integrity check in the
	// background: the counter's, so its first frame does not wait for it.
	journalCheckLater bool
	logFile           *os.File
	logger            *slog.Logger
	hub               *hub.Client                // the pharmacy's hub, once connected (hub.go)
	catalogue         *catalogue.Catalogue       // the medicine catalogue's reader, once opened
	sharer            atomic.Pointer[hub.Sharer] // the running sharer of the counter or sync watch, once connected
}

// Log attribute keys, constant so the log can be searched (STYLE §6). No
// personal identity code is ever logged.
const (
	logKeyRecord = "record"
	logKeyKind   = "kind"
	logKeyUser   = "user"
	logKeyMode   = "mode"
	logKeyCmd    = "command"
)

// Logger returns the log in the data folder (tiski.log, JSON lines, 0600).
// When it cannot be opened the commands still run, unlogged, and say so once.
func (f *Factory) Logger() *slog.Logger {
	if f.logger != nil {
		return f.logger
	}
	f.logger = slog.New(slog.DiscardHandler)
	c, err := f.Config()
	if err != nil {
		return f.logger
	}
	if err := os.MkdirAll(filepath.Dir(c.LogFile), 0o700); err == nil {
		file, err := os.OpenFile(c.LogFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			f.logFile = file
			f.logger = slog.New(slog.NewJSONHandler(file, nil))
			return f.logger
		}
		fmt.Fprintf(f.IO.ErrOut, "tiski: warning: cannot write the log %s: %v\n", c.LogFile, err)
	}
	return f.logger
}

// Config loads the effective configuration once.
func (f *Factory) Config() (*config.Config, error) {
	if f.config == nil {
		c, err := config.Load(f.dataDir, f.configFlags, f.Getenv)
		if err != nil {
			return nil, err
		}
		f.config = c
	}
	return f.config, nil
}

// Journal opens the journal in the data folder once, creating the folder
// (0700) when it is new.
func (f *Factory) Journal(ctx context.Context) (*journal.Journal, error) {
	if f.journal != nil {
		return f.journal, nil
	}
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("make data folder: %w", err)
	}
	j, err := journal.Open(ctx, c.JournalPath(), journal.Options{Terminal: c.Terminal, CheckInBackground: f.journalCheckLater})
	if err != nil {
		return nil, err
	}
	f.journal = j
	return j, nil
}

// CentreConfig is the Prescription Centre client's configuration from the
// effective configuration (--centre overrides centre.url).
func (f *Factory) CentreConfig() (centre.Config, error) {
	c, err := f.Config()
	if err != nil {
		return centre.Config{}, err
	}
	if c.Centre.URL == "" {
		return centre.Config{}, rx.Errorf(rx.EINVALID, "No Prescription Centre is configured: set centre.url in %s, TISKI_CENTRE_URL or --centre URL.", c.File())
	}
	cc := centre.Config{
		BaseURL:        c.Centre.URL,
		ConnectTimeout: c.Centre.ConnectTimeout,
		Timeout:        c.Centre.Timeout,
		// The probe's connect bound tells a silent service from a slow
		// one (pkg/centre, Probe).
		ProbeConnectTimeout: c.Probe.ConnectTimeout,
		Pharmacy:            c.Pharmacy,
		UserAgent:           "tiski/" + f.Build.Version,
		Logger:              f.Logger(),
	}
	if c.Centre.CertFile != "" || c.Centre.KeyFile != "" || c.Centre.CAFile != "" {
		cc.TLS = &centre.TLSConfig{CertFile: c.Centre.CertFile, KeyFile: c.Centre.KeyFile, CAFile: c.Centre.CAFile, ServerName: c.Centre.ServerName}
	}
	return cc, nil
}

// Centre builds the Prescription Centre client from the configuration. It
// does not touch the network.
func (f *Factory) Centre() (*centre.Client, error) {
	cc, err := f.CentreConfig()
	if err != nil {
		return nil, err
	}
	if f.journal != nil {
		// The counter, sync and the probe open the journal first: every
		// call of theirs goes to the fault log (issue 22), in batches off
		// the caller's path.
		if f.faultLog == nil {
			f.faultLog = triage.NewRecorder(f.journal)
		}
		cc.Observer = f.faultLog.Observe
	}
	return centre.New(cc)
}

// Catalogue opens the reader of the medicine catalogue in the data folder
// (catalogue.db) once. A catalogue not yet imported is not an error here:
// the reader answers catalogue.ErrNoCatalogue, which says what to run. The
// reader follows imports by other processes between its queries.
func (f *Factory) Catalogue(ctx context.Context) (*catalogue.Catalogue, error) {
	if f.catalogue != nil {
		return f.catalogue, nil
	}
	path, err := f.cataloguePath()
	if err != nil {
		return nil, err
	}
	c, err := catalogue.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	f.catalogue = c
	return c, nil
}

// close releases what the commands opened.
func (f *Factory) close() {
	if f.catalogue != nil {
		f.catalogue.Close()
		f.catalogue = nil
	}
	if f.hub != nil {
		f.hub.Close()
		f.hub = nil
	}
	if f.faultLog != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		f.faultLog.Close(ctx)
		cancel()
		f.faultLog = nil
	}
	if f.journal != nil {
		f.journal.Close()
		f.journal = nil
	}
	if f.logFile != nil {
		f.logFile.Close()
		f.logFile = nil
	}
}

// Main runs the command line and returns the process exit code. Every error
// is printed and mapped to an exit code here, in one place.
func Main(ctx context.Context, build Build, args []string, streams IO) int {
	f := &Factory{Build: build, IO: streams, Getenv: os.Getenv, configFlags: map[string]string{}}
	defer f.close()
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil {
		var ee *ExitError
		if !(errors.As(err, &ee) && ee.Err == nil) && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(streams.ErrOut, "tiski: "+err.Error())
		}
		if code == ExitUsage {
			fmt.Fprintln(streams.ErrOut, f.Lang().T(i18n.CLIUsageHint))
		}
	}
	return code
}

// NewCmdRoot builds the root command with every subcommand.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "tiski",
		Short: "Offline-tolerant dispensing client for Finnish pharmacies",
		Long: strings.TrimSpace(`
tiski shows pharmacists the prescriptions held by Kanta's Prescription Centre.
When the Prescription Centre fails, tiski records paper and telephone
prescriptions and essential-medication dispensings in a local journal, and
reconciles them upstream once the service recovers.

Start with 'tiski demo': a simulated Prescription Centre with fixtures.`),
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       f.Build.Version,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&f.dataDir, "data", "", "data folder with the journal, configuration and logs (env TISKI_DATA)")
	root.PersistentFlags().Var(configFlag{f, "centre.url"}, "centre", "Prescription Centre URL for this command only (config key centre.url)")
	root.PersistentFlags().Var(configFlag{f, "hub.url"}, "hub", "the pharmacy's hub for this command only, nats://HOST:PORT (config key hub.url, env TISKI_HUB_URL)")
	root.PersistentFlags().Var(configFlag{f, "language"}, "lang", "language of the output: fi, sv or en (config key language, env TISKI_LANG; default fi); --json is the same in every language")
	root.SetVersionTemplate("tiski {{.Version}}\n")
	root.AddCommand(
		NewCmdVersion(f, nil),
		NewCmdCentre(f),
		NewCmdDemo(f, nil),
		NewCmdConfig(f),
		NewCmdUsers(f),
		NewCmdJournal(f),
		NewCmdMode(f),
		NewCmdRecord(f),
		NewCmdDoctor(f, nil),
		NewCmdQueue(f),
		NewCmdConflicts(f),
		NewCmdSync(f),
		NewCmdCounter(f, nil),
		NewCmdDrill(f),
		NewCmdHub(f),
		NewCmdFault(f),
		NewCmdNotice(f),
		NewCmdSummary(f, nil),
		NewCmdCatalogue(f),
	)
	// A bare 'tiski' on a terminal opens the counter; elsewhere it shows help.
	root.Args = func(cmd *cobra.Command, args []string) error {
		if err := cobra.NoArgs(cmd, args); err != nil {
			return usageError{err} // unknown command "x" for "tiski"
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if isTerminal(f.IO) {
			return counterRun(cmd.Context(), &CounterOptions{Factory: f})
		}
		return cmd.Help()
	}
	return root
}

// configFlag is a flag that sets a configuration key, so that it shows in
// `tiski config show` with source "flag".
type configFlag struct {
	f   *Factory
	key string
}

func (c configFlag) String() string {
	if c.f == nil {
		return ""
	}
	return c.f.configFlags[c.key]
}
func (c configFlag) Set(v string) error {
	if c.key == "language" {
		if err := checkLang(v); err != nil {
			return err // a usage error (exit 2) before anything runs
		}
	}
	c.f.configFlags[c.key] = v
	return nil
}
func (c configFlag) Type() string { return "string" }

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs with a usage error.
func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.RangeArgs(min, max)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
