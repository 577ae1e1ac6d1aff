package hub

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Options configure a hub server.
type Options struct {
	Addr    string // HOST:PORT for counters; port 0 picks a free one
	DataDir string // JetStream's file storage lives in DataDir/jetstream
	Name    string // the server's name in a cluster; "" derives one from Addr
	// ClusterAddr and Routes join hubs into a cluster (--routes): this
	// hub listens for its peers on ClusterAddr, and dials Routes
	// (nats-route://HOST:PORT). A cluster keeps the pharmacy's streams
	// with 3 replicas.
	ClusterAddr string
	Routes      []string
	// Replicas of the pharmacy's streams; 0: 3 in a cluster, else 1.
	Replicas int
	// Logf, when set, receives the server's notices (not its debug).
	Logf func(format string, args ...any)
}

// Server is a running hub.
type Server struct {
	ns   *server.Server
	opts Options
}

// Start runs the embedded NATS server with JetStream and makes sure the
// pharmacy's streams exist. It returns once counters can connect.
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
	so.ServerName = o.Name
	if so.ServerName == "" {
		so.ServerName = "hub-" + Token(o.Addr)
	}
	if o.ClusterAddr != "" {
		ch, cp, err := net.SplitHostPort(o.ClusterAddr)
		if err != nil {
			return nil, rx.Errorf(rx.EINVALID, "The cluster address %q is not HOST:PORT.", o.ClusterAddr)
		}
		so.Cluster.Name = "tiski"
		so.Cluster.Host = ch
		if so.Cluster.Port, err = strconv.Atoi(cp); err != nil {
			return nil, rx.Errorf(rx.EINVALID, "The cluster port %q is not a port number.", cp)
		}
		if so.Cluster.Port == 0 {
			so.Cluster.Port = server.RANDOM_PORT
		}
		so.Routes = server.RoutesFromStr(joinComma(o.Routes))
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("start hub: %w", err)
	}
	if o.Logf != nil {
		ns.SetLoggerV2(logger{o.Logf}, false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, rx.Errorf(rx.EUNAVAILABLE, "The hub did not start listening on %s within 10 s; is the port in use?", o.Addr)
	}
	s := &Server{ns: ns, opts: o}
	if err := s.ensureStreams(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// URL is the address counters connect to (nats://HOST:PORT).
func (s *Server) URL() string { return s.ns.ClientURL() }

// Close shuts the server down and waits for it.
func (s *Server) Close() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
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
// to this version's settings. In a cluster it waits for JetStream's meta
// leader, which needs a quorum of the hubs.
func (s *Server) ensureStreams(ctx context.Context) error {
	nc, err := nats.Connect("", nats.InProcessServer(s.ns), nats.Name("tiski-hub"))
	if err != nil {
		return fmt.Errorf("hub: in-process connection: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = EnsureStreams(ctx, js, s.replicas())
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("hub: create the pharmacy's streams: %w", err)
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

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// logger passes the server's notices, warnings and errors on.
type logger struct{ logf func(string, ...any) }

func (l logger) Noticef(format string, v ...any) { l.logf(format, v...) }
func (l logger) Warnf(format string, v ...any)   { l.logf("warning: "+format, v...) }
func (l logger) Fatalf(format string, v ...any)  { l.logf("fatal: "+format, v...) }
func (l logger) Errorf(format string, v ...any)  { l.logf("error: "+format, v...) }
func (l logger) Debugf(string, ...any)           {}
func (l logger) Tracef(string, ...any)           {}
