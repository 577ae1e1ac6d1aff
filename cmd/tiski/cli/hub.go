package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// catchUpWait bounds what a command waits for the hub before it goes on
// (issue 19: about 2 s).
const catchUpWait = 2 * time.Second

// HubOptions is the effective configuration's hub client options; ok is
// false when no hub is configured.
func (f *Factory) HubOptions() (o hub.ClientOptions, ok bool, err error) {
	c, err := f.Config()
	if err != nil {
		return o, false, err
	}
	if c.Hub.URL == "" {
		return o, false, nil
	}
	return hub.ClientOptions{
		URL: c.Hub.URL, Counter: c.Terminal,
		Cert: c.Hub.CertFile, Key: c.Hub.KeyFile, CA: c.Hub.CAFile, NKeySeed: c.Hub.NKeySeed,
		Logf: func(format string, args ...any) { f.Logger().Info(fmt.Sprintf(format, args...)) },
	}, true, nil
}

// Hub connects to the pharmacy's hub once; nil without error when no hub
// is configured.
func (f *Factory) Hub(ctx context.Context) (*hub.Client, error) {
	if f.hub != nil {
		return f.hub, nil
	}
	o, ok, err := f.HubOptions()
	if err != nil || !ok {
		return nil, err
	}
	c, err := hub.Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	f.hub = c
	return c, nil
}

// hubCatchUp is what every command that opens a journal with a hub
// configured does first: it shares what the share lane holds and keeps
// what the other counters shared, within about 2 s. When the hub cannot be
// reached it says so on standard error and the command goes on with what
// this journal holds. Without a hub it does nothing.
func (f *Factory) hubCatchUp(ctx context.Context, j *journal.Journal) {
	if _, ok, err := f.HubOptions(); err != nil || !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	c, err := f.Hub(ctx)
	if err == nil {
		var r hub.SyncResult
		r, err = c.CatchUp(ctx, j)
		if err == nil && r.Complete {
			return
		}
	}
	l := f.Lang()
	why := l.T(i18n.CLIHubNoAnswer)
	if err != nil {
		why = strings.TrimSuffix(err.Error(), ".")
	}
	fmt.Fprintln(f.IO.ErrOut, l.T(i18n.CLIHubCatchUpWarning, why))
	f.Logger().Warn("hub catch-up incomplete", "error", why)
}

// hubShare publishes the share lane now, within about 2 s, after a
// command recorded something: so that the other counters see it at once.
func (f *Factory) hubShare(ctx context.Context, j *journal.Journal) {
	if _, ok, err := f.HubOptions(); err != nil || !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	c, err := f.Hub(ctx)
	if err == nil {
		_, err = c.Publish(ctx, j)
	}
	if err != nil {
		fmt.Fprintln(f.IO.ErrOut, f.Lang().T(i18n.CLIHubShareWarning, strings.TrimSuffix(err.Error(), ".")))
	}
}

// NewCmdHub builds `tiski hub`.
func NewCmdHub(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "The pharmacy's hub: every counter's records shared with the others",
	}
	cmd.AddCommand(NewCmdHubServe(f, nil), NewCmdHubStatus(f, nil))
	return cmd
}

// HubServeOptions are the options of `tiski hub serve`.
type HubServeOptions struct {
	Factory     *Factory
	Addr        string
	DataDir     string
	Name        string
	ClusterAddr string
	Routes      []string
	// Auth: --tls-cert, --tls-key, --tls-ca, --nkeys.
	Auth hub.Auth
	// Ready, when set, receives the hub's URL once it listens (tests).
	Ready func(url string)
}

// NewCmdHubServe builds `tiski hub serve`.
func NewCmdHubServe(f *Factory, runF func(context.Context, *HubServeOptions) error) *cobra.Command {
	opts := &HubServeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "serve --addr HOST:PORT --data DIR",
		Short: "Run the pharmacy's hub: an embedded NATS JetStream server",
		Long: `Run the pharmacy's hub: an embedded NATS server with JetStream file storage
in DIR. Counters point at it with hub.url (TISKI_HUB_URL, --hub). With
--cluster and --routes, three hubs form a cluster and keep the pharmacy's
streams in 3 replicas, so the pharmacy survives the loss of one machine;
counters then list all three in hub.url, comma-separated.

On 127.0.0.1 (demo, training, tests) the hub runs without credentials. A
hub that listens beyond loopback refuses to start without TLS (--tls-cert
and --tls-key; counters set hub.ca to the CA that signed it), since the
records carry patients' identity codes, and unless the counters must prove
who they are: with TLS client certificates (--tls-ca; counters set
hub.cert and hub.key) or with NKeys (--nkeys FILE listing their public
keys; counters set hub.nkey_seed), or both. A cluster port beyond loopback needs the TLS files too: the hubs
then show each other the same kind of certificate, which needs both server
and client authentication in its extended key usage.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.DataDir == "" {
				return usageError{fmt.Errorf("--data DIR is required: the hub keeps the pharmacy's records there")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return hubServeRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:4222", "where counters connect")
	// --data is the root's persistent flag: the hub's data folder.
	cmd.Flags().StringVar(&opts.Name, "name", "", "this hub's name in a cluster (default from --addr)")
	cmd.Flags().StringVar(&opts.ClusterAddr, "cluster", "", "HOST:PORT where this hub listens for the other hubs of a cluster")
	cmd.Flags().StringSliceVar(&opts.Routes, "routes", nil, "the other hubs of the cluster, nats-route://HOST:PORT, comma-separated")
	cmd.Flags().StringVar(&opts.Auth.TLSCert, "tls-cert", "", "the hub's TLS certificate (PEM)")
	cmd.Flags().StringVar(&opts.Auth.TLSKey, "tls-key", "", "the hub's TLS private key (PEM)")
	cmd.Flags().StringVar(&opts.Auth.TLSCA, "tls-ca", "", "CA bundle (PEM): counters (and other hubs) must show a client certificate it signed")
	cmd.Flags().StringVar(&opts.Auth.NKeysFile, "nkeys", "", "file of the counters' public NKeys, one a line: counters must sign in with one")
	cmd.PreRun = func(*cobra.Command, []string) { opts.DataDir = f.dataDir }
	return cmd
}

func hubServeRun(ctx context.Context, opts *HubServeOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(opts.Routes) > 0 && opts.ClusterAddr == "" {
		return usageError{fmt.Errorf("--routes needs --cluster HOST:PORT, where this hub listens for the others")}
	}
	host, _, _ := net.SplitHostPort(opts.Addr)
	out := opts.Factory.IO.Out
	var logf func(string, ...any)
	if opts.ClusterAddr != "" {
		// A cluster's hubs say when they wait for each other, and when
		// they have found each other.
		logf = func(format string, args ...any) { opts.Factory.Logger().Info(fmt.Sprintf(format, args...)) }
	}
	s, err := hub.Start(ctx, hub.Options{Addr: opts.Addr, DataDir: opts.DataDir, Name: opts.Name,
		ClusterAddr: opts.ClusterAddr, Routes: opts.Routes, Auth: opts.Auth, Logf: logf})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(out, "tiski hub: listening on %s, records in %s\n", s.URL(), opts.DataDir)
	var asks []string
	if opts.Auth.TLSCert != "" && opts.Auth.TLSCA != "" {
		asks = append(asks, "a TLS client certificate signed by "+opts.Auth.TLSCA)
	}
	if opts.Auth.NKeysFile != "" {
		asks = append(asks, "an NKey listed in "+opts.Auth.NKeysFile)
	}
	switch {
	case len(asks) > 0:
		fmt.Fprintf(out, "tiski hub: counters must sign in with %s\n", strings.Join(asks, " and "))
	case hub.Loopback(host):
		fmt.Fprintln(out, "tiski hub: on loopback without credentials: for demo, training and tests on this machine only")
	}
	var formed <-chan struct{}
	if opts.ClusterAddr != "" {
		fmt.Fprintf(out, "tiski hub: %s in the cluster at %s, routes to %s; waiting for the other hubs\n", s.Name(), s.ClusterURL(), strings.Join(opts.Routes, ", "))
		formed = s.Ready()
	}
	if opts.Ready != nil {
		opts.Ready(s.URL())
	}
	for {
		select {
		case <-formed:
			fmt.Fprintln(out, "tiski hub: the cluster has formed: the pharmacy's streams are ready")
			formed = nil
		case <-ctx.Done():
			fmt.Fprintln(out, "tiski hub: stopping")
			return nil
		}
	}
}

// startSharing runs a sharer beside a long-running command (the counter,
// sync watch) when a hub is configured: it connects in the background, so
// the command does not wait for a hub that is down, and retries until it
// is up. stop ends it and waits for it.
func (f *Factory) startSharing(ctx context.Context, j *journal.Journal) (stop func(), err error) {
	o, ok, err := f.HubOptions()
	if err != nil || !ok {
		return func() {}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			c, err := hub.Connect(ctx, o)
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
				continue
			}
			s := hub.NewSharer(c, j)
			f.sharer.Store(s)
			s.Run(ctx)
			c.Close()
			return
		}
	}()
	return func() { cancel(); <-done }, nil
}
