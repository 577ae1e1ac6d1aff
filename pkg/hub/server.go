package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Options configure a hub server.
type Options struct {
	Addr    string // HOST:PORT for counters; port 0 picks a free one
	DataDir string // JetStream's file storage lives in DataDir/jetstream
	// Name is the server's name in a cluster, unique among its hubs and
	// the same at every start (JetStream knows its peers by it); "" uses
	// the name kept in DataDir, made the first time.
	Name string
	// ClusterAddr and Routes join hubs into a cluster (--routes): this
	// hub listens for its peers on ClusterAddr, and dials Routes
	// (nats-route://HOST:PORT). A cluster keeps the pharmacy's streams
	// with 3 replicas.
	ClusterAddr string
	Routes      []string
	// Replicas of the pharmacy's streams; 0: 3 in a cluster, else 1.
	Replicas int
	// Auth: how counters (and the other hubs) prove who they are. A hub
	// beyond loopback needs TLSCA (counters show a client certificate it
	// signed) or NKeysFile (counters sign with a listed NKey), or both.
	Auth
	// Logf, when set, receives the server's notices (not its debug).
	Logf func(format string, args ...any)
}

// Server is a running hub.
type Server struct {
	ns   *server.Server
	opts Options
	// self signs the hub's own in-process connection when counters must
	// sign in with an NKey.
	self nkeys.KeyPair

	ready    chan struct{} // closed once the pharmacy's streams exist
	stop     context.CancelFunc
	finished chan struct{} // closed when the streams loop has ended
}

// Start runs the embedded NATS server with JetStream and makes sure the
// pharmacy's streams exist. A single hub returns once counters can connect
// and the streams exist. A hub of a cluster returns once it listens: its
// streams need a quorum of the hubs, which may not be up yet, so it keeps
// trying in the background until they are (Ready).
//
// A hub that would listen beyond loopback without asking counters for a
// client certificate or an NKey is refused before it binds anything.
func Start(ctx context.Context, o Options) (*Server, error) {
	host, portText, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, rx.Errorf(rx.EINVALID, "The hub address %q is not HOST:PORT (for example 127.0.0.1:4222).", o.Addr)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, rx.Errorf(rx.EINVALID, "The hub port %q is not a port number.", portText)
	}
	if o.DataDir == "" {
		return nil, rx.Errorf(rx.EINVALID, "The hub needs a data folder (--data DIR) for its file storage.")
	}
	if err := o.Auth.check(o.Addr, o.ClusterAddr); err != nil {
		return nil, err
	}
	store := filepath.Join(o.DataDir, "jetstream")
	if err := os.MkdirAll(store, 0o700); err != nil {
		return nil, fmt.Errorf("hub data folder: %w", err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	so := &server.Options{
		Host:      host,
		Port:      port,
		JetStream: true,
		StoreDir:  store,
		NoSigs:    true,
		// Every message is on disk before the hub acknowledges it: a
		// counter moves its share lane on after the acknowledgement, so a
		// power cut at a single hub must not take a record acknowledged
		// (JetStream's default syncs every two minutes).
		SyncAlways: true,
		// Two MiB is NATS's default too; a record is a few kilobytes.
		MaxPayload: 2 << 20,
	}
	if so.ServerName, err = serverName(o); err != nil {
		return nil, err
	}
	s := &Server{opts: o, ready: make(chan struct{}), finished: make(chan struct{})}
	if err := o.Auth.apply(so, &s.self); err != nil {
		return nil, err
	}
	if o.ClusterAddr != "" {
		ch, cp, err := net.SplitHostPort(o.ClusterAddr)
		if err != nil {
			return nil, rx.Errorf(rx.EINVALID, "The cluster address %q is not HOST:PORT (for example 127.0.0.1:6222).", o.ClusterAddr)
		}
		so.Cluster.Name = "tiski"
		so.Cluster.Host = ch
		if so.Cluster.Port, err = strconv.Atoi(cp); err != nil {
			return nil, rx.Errorf(rx.EINVALID, "The cluster port %q is not a port number.", cp)
		}
		if so.Cluster.Port == 0 {
			so.Cluster.Port = server.RANDOM_PORT
		}
		if so.Routes, err = parseRoutes(o.Routes); err != nil {
			return nil, err
		}
	} else if len(o.Routes) > 0 {
		return nil, rx.Errorf(rx.EINVALID, "Routes to other hubs need a cluster address (--cluster HOST:PORT) where this hub listens for them.")
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, rx.Errorf(rx.EINVALID, "The hub cannot start: %v.", err)
	}
	if o.Logf != nil {
		ns.SetLoggerV2(logger{o.Logf}, false, false, false)
	}
	s.ns = ns
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, rx.Errorf(rx.EUNAVAILABLE, "The hub did not start listening on %s within 10 s; is the port in use?", o.Addr)
	}
	if o.ClusterAddr == "" {
		close(s.finished)
		if err := s.ensureStreams(ctx, 30*time.Second); err != nil {
			s.Close()
			return nil, err
		}
		close(s.ready)
		return s, nil
	}
	// In a cluster the streams wait for the meta leader, which needs a
	// quorum of the hubs: keep trying while this hub runs.
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go func() {
		defer close(s.finished)
		if err := s.ensureStreams(bg, 0); err == nil {
			close(s.ready)
		}
	}()
	return s, nil
}

// URL is the address counters connect to (nats://HOST:PORT).
func (s *Server) URL() string { return s.ns.ClientURL() }

// ClusterURL is the address the other hubs route to
// (nats-route://HOST:PORT); "" without a cluster.
func (s *Server) ClusterURL() string {
	if a := s.ns.ClusterAddr(); a != nil {
		return "nats-route://" + a.String()
	}
	return ""
}

// Name is the hub's server name.
func (s *Server) Name() string { return s.ns.Name() }

// Ready is closed once the pharmacy's streams exist at this hub: at once
// for a single hub, when the cluster has formed for a hub of a cluster.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Close shuts the server down and waits for it.
func (s *Server) Close() {
	if s.stop != nil {
		s.stop()
	}
	<-s.finished
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// serverName is the hub's name: --name, else the one kept in the data
// folder, else a new one kept there. It must stay the same across
// restarts (JetStream's peers know each other by it) and differ between
// the hubs of a cluster, which the listening address may not (0.0.0.0:4222
// on every machine).
func serverName(o Options) (string, error) {
	if o.Name != "" {
		if strings.ContainsAny(o.Name, " \t\n") {
			return "", rx.Errorf(rx.EINVALID, "The hub name %q has white space; use letters, digits and '-'.", o.Name)
		}
		return o.Name, nil
	}
	path := filepath.Join(o.DataDir, "hub-name")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	host, _ := os.Hostname()
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	name := "hub-" + Token(strings.ToLower(host)) + "-" + hex.EncodeToString(rnd[:])
	if err := os.WriteFile(path, []byte(name+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("hub data folder: %w", err)
	}
	return name, nil
}

// parseRoutes reads the other hubs' route URLs.
func parseRoutes(routes []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, r := range routes {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		u, err := url.Parse(r)
		if err != nil || u.Host == "" || (u.Scheme != "nats-route" && u.Scheme != "nats" && u.Scheme != "tls") {
			return nil, rx.Errorf(rx.EINVALID, "The route %q is not nats-route://HOST:PORT (another hub's --cluster address).", r)
		}
		out = append(out, u)
	}
	return out, nil
}

// replicas is how many copies the pharmacy's streams keep.
func (s *Server) replicas() int {
	switch {
	case s.opts.Replicas > 0:
		return s.opts.Replicas
	case len(s.opts.Routes) > 0:
		return 3
	}
	return 1
}

// ensureStreams creates the pharmacy's streams and bucket, or updates them
// to this version's settings, retrying until they exist, ctx ends or
// limit (0: none) has passed. In a cluster it waits for JetStream's meta
// leader, which needs a quorum of the hubs.
func (s *Server) ensureStreams(ctx context.Context, limit time.Duration) error {
	opts := []nats.Option{nats.InProcessServer(s.ns), nats.Name("tiski-hub")}
	if s.self != nil {
		pub, _ := s.self.PublicKey()
		opts = append(opts, nats.Nkey(pub, s.self.Sign))
	}
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return fmt.Errorf("hub: in-process connection: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	start := time.Now()
	said := time.Time{}
	for {
		// An attempt before the cluster has a meta leader waits for an
		// answer that does not come: give each a few seconds only.
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = EnsureStreams(actx, js, s.replicas())
		cancel()
		if err == nil || ctx.Err() != nil || (limit > 0 && time.Since(start) > limit) {
			break
		}
		if s.opts.Logf != nil && time.Since(said) > 10*time.Second {
			said = time.Now()
			s.opts.Logf("waiting for the pharmacy's streams (a cluster needs two of its three hubs): %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("hub: create the pharmacy's streams: %w", err)
	}
	if s.opts.Logf != nil && s.opts.ClusterAddr != "" {
		s.opts.Logf("the pharmacy's streams are ready with %d replicas", s.replicas())
	}
	return nil
}

// EnsureStreams creates or updates the pharmacy's streams and bucket with
// replicas copies each.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, replicas int) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        RecordsStream,
		Description: "tiski: every journal record of the pharmacy's counters, one per subject",
		Subjects:    []string{RecordsSubjects},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		Retention:   jetstream.LimitsPolicy,
		// One message per record, for ever: a republish after a crash
		// is refused, not merely deduplicated within a window.
		MaxMsgsPerSubject:    1,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		AllowDirect:          true,
	}); err != nil {
		return fmt.Errorf("stream %s: %w", RecordsStream, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              ClaimsStream,
		Description:       "tiski: the quantity claimed against each journal prescription, compare-and-set",
		Subjects:          []string{ClaimsSubjects},
		Storage:           jetstream.FileStorage,
		Replicas:          replicas,
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: 100, // the last is the total; the rest are its history
		Discard:           jetstream.DiscardOld,
		AllowDirect:       true,
	}); err != nil {
		return fmt.Errorf("stream %s: %w", ClaimsStream, err)
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      CountersBucket,
		Description: "tiski: each counter's mode, unshared and pending records, last contact",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		History:     1,
	}); err != nil {
		return fmt.Errorf("bucket %s: %w", CountersBucket, err)
	}
	return nil
}

// logger passes the server's notices, warnings and errors on.
type logger struct{ logf func(string, ...any) }

func (l logger) Noticef(format string, v ...any) { l.logf(format, v...) }
func (l logger) Warnf(format string, v ...any)   { l.logf("warning: "+format, v...) }
func (l logger) Fatalf(format string, v ...any)  { l.logf("fatal: "+format, v...) }
func (l logger) Errorf(format string, v ...any)  { l.logf("error: "+format, v...) }
func (l logger) Debugf(string, ...any)           {}
func (l logger) Tracef(string, ...any)           {}
