// Package centresim simulates the Prescription Centre (Reseptikeskus): a
// FHIR R4 server over its own SQLite file, seeded from the fixtures, that
// applies the business rules of the wire contract in README.md and can be
// told to fail in the ways the real service fails (fault injection on a
// separate admin port).
//
// It shares no FHIR encoding or decoding code with pkg/centre (DESIGN §4):
// everything on the wire is built and parsed here.
package centresim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tiski-rx/tiski"
)

// Config configures a simulator.
type Config struct {
	Addr      string           // FHIR listen address; "127.0.0.1:0" picks a free port; "" means that too
	AdminAddr string           // admin listen address, same rules; never the FHIR port
	DataDir   string           // folder holding centre.db (created 0700 if absent); "" = a temp dir removed on Close
	Seed      int64            // seeds every random choice (faults), so runs are repeatable
	TLSDir    string           // when set: HTTPS with server.crt/server.key, client certs required, verified against ca.crt
	Fixtures  fs.FS            // nil: the bundled fixtures, tiski.Fixtures()
	Now       func() time.Time // nil: time.Now; used for validity rules, lastUpdated, seeding relative dates, Capacity's token bucket and Load
	Logger    *slog.Logger     // nil: discard. Never log an identity code (use hetu.Mask)
	Capacity  float64          // requests per second the FHIR port serves before answering 429 with Retry-After; 0 = unlimited
	NoHint    bool             // with Capacity: send no RateLimit hint, as a server that gives none (the 429 and Retry-After stay)
	// Catalogue seeds, beside the fixtures' medicines, the generated
	// catalogue of realistic size: about 15,100 more Medication packages
	// (catalogue.go; issue 24). It costs some 150 ms at the first start on
	// a data folder, so it is an option: tiski centre serve turns it on,
	// tests that sync the catalogue do. A folder seeded with it keeps it.
	Catalogue bool
	// AccessLog, when set, gets one line per FHIR request, as a web
	// server's access log has it: arrival time, the request line exactly as
	// received (method, path and query, protocol), status and request id.
	// Unlike Logger and the request log it is NOT masked: it shows what the
	// real Prescription Centre, or any proxy on the way, would keep, and so
	// proves that a client put no identity code in a URL.
	AccessLog io.Writer
}

// Server is a running simulator. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	store   *store
	tempDir string // removed on Close when DataDir was ""
	tlsConf *tls.Config

	fhirAddr string // the resolved FHIR address, reused when the port comes back up
	scheme   string

	// faultMu serialises fault changes, which may close and reopen the
	// FHIR listener; mu guards the fields below it.
	faultMu  sync.Mutex
	mu       sync.Mutex
	fault    Fault
	changed  chan struct{} // closed and replaced whenever the fault changes
	rng      *rand.Rand
	fhir     *httpServer
	closed   bool
	closing  chan struct{} // closed by Close
	inflight int
	silent   int        // connections held silent by a black hole (silence.go)
	idle     *sync.Cond // signalled when inflight drops to zero

	admin  *httpServer
	bucket *tokenBucket

	pages *pageStore // the parameters behind searchset page links

	accessMu sync.Mutex // serialises AccessLog lines

	logMu    sync.Mutex
	requests []LoggedRequest
	stats    Stats
	load     map[int64]*SecondLoad // by Unix second of Config.Now at arrival
}

// httpServer is one listening http.Server and the goroutine serving it.
type httpServer struct {
	srv   *http.Server
	ln    net.Listener
	quiet *quietListener // the FHIR port's: silent in a black hole
	done  chan struct{}
}

func (h *httpServer) close() {
	_ = h.srv.Close()
	<-h.done
}

// Start opens (or creates and seeds) the database and starts listening on
// both ports. Both are listening when it returns. ctx bounds the start only:
// call Close to stop the server.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	l, err := Listen(cfg)
	if err != nil {
		return nil, err
	}
	return l.Start(ctx)
}

// Listening is a simulator whose two ports are open but which answers
// nothing yet: Listen's result, until its Start.
type Listening struct {
	s       *Server
	fhir    net.Listener
	admin   net.Listener
	started bool
}

// Listen opens the simulator's two ports, as Start does, and returns at
// once: the addresses are known before the database is opened and seeded.
// A connection made before Start waits in the listen queue rather than
// being refused, so a client given URL at once sees a slow first answer,
// never a refusal that would read as an outage. `tiski demo` opens its
// counter meanwhile, so the counter's first frame does not wait for the
// seeding (issue 20). Start or Close must follow.
func Listen(cfg Config) (*Listening, error) {
	s := &Server{cfg: cfg, now: cfg.Now, log: cfg.Logger, closing: make(chan struct{}), changed: make(chan struct{}), pages: newPageStore()}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.idle = sync.NewCond(&s.mu)
	s.rng = rand.New(rand.NewSource(cfg.Seed))
	s.fault = Fault{Kind: FaultUp}
	if cfg.Capacity < 0 {
		return nil, fmt.Errorf("start simulator: capacity %v is negative", cfg.Capacity)
	}
	if cfg.Capacity > 0 {
		s.bucket = newTokenBucket(cfg.Capacity, s.now())
	}
	addr, err := loopbackAddr(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("start simulator: FHIR address: %w", err)
	}
	adminAddr, err := loopbackAddr(cfg.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("start simulator: admin address: %w", err)
	}
	if cfg.TLSDir != "" {
		if s.tlsConf, err = loadServerTLS(cfg.TLSDir); err != nil {
			return nil, fmt.Errorf("start simulator: %w", err)
		}
	}
	ln, err := listenFHIR(addr)
	if err != nil {
		return nil, fmt.Errorf("start simulator: listen on %s: %w", addr, err)
	}
	s.fhirAddr = ln.Addr().String()
	if adminAddr == s.fhirAddr {
		ln.Close()
		return nil, fmt.Errorf("start simulator: the admin address %s is the FHIR address; they must differ", adminAddr)
	}
	aln, err := net.Listen("tcp", adminAddr)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start simulator: listen on %s: %w", adminAddr, err)
	}
	s.scheme = "http"
	if s.tlsConf != nil {
		s.scheme = "https"
	}
	return &Listening{s: s, fhir: ln, admin: aln}, nil
}

// URL is the FHIR base URL the simulator will answer on.
func (l *Listening) URL() string { return l.s.URL() }

// AdminURL is the base URL of the admin API.
func (l *Listening) AdminURL() string { return "http://" + l.admin.Addr().String() }

// Close closes the ports of a simulator that was not started; after Start
// it does nothing (close the Server).
func (l *Listening) Close() {
	if !l.started {
		l.started = true
		l.fhir.Close()
		l.admin.Close()
	}
}

// Start opens (or creates and seeds) the database and serves both ports.
// ctx bounds the start only: call Close on the Server to stop it. On an
// error the ports are closed. It may be called once.
func (l *Listening) Start(ctx context.Context) (*Server, error) {
	if l.started {
		return nil, errors.New("start simulator: started or closed already")
	}
	l.started = true
	s, ln, aln := l.s, l.fhir, l.admin
	cfg := s.cfg
	fail := func(err error) (*Server, error) {
		ln.Close()
		aln.Close()
		s.shutdown()
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	fixtures := cfg.Fixtures
	if fixtures == nil {
		fixtures = tiski.Fixtures()
	}
	dir := cfg.DataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "centresim-*"); err != nil {
			return fail(err)
		}
		s.tempDir = dir
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(fmt.Errorf("create data folder: %w", err))
	}
	var err error
	if s.store, err = openStore(ctx, filepath.Join(dir, "centre.db"), s.now); err != nil {
		return fail(err)
	}
	if err := s.store.seed(ctx, fixtures); err != nil {
		return fail(err)
	}
	if cfg.Catalogue {
		if err := s.store.seedCatalogue(ctx); err != nil {
			return fail(err)
		}
	}
	s.fhir = s.serveFHIRPort(ln)
	s.admin = s.serve(aln, s.adminHandler(), nil)
	s.log.Info("prescription centre simulator started", "fhir", s.URL(), "admin", s.AdminURL(), "db", filepath.Join(dir, "centre.db"))
	return s, nil
}

// serve starts an http.Server on ln. HTTP/2 stays off so that a dropped
// connection can be hijacked and timings stay those of one request per
// connection at a time.
func (s *Server) serve(ln net.Listener, h http.Handler, tlsConf *tls.Config) *httpServer {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	hs := &httpServer{srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(hs.done)
		_ = srv.Serve(ln)
	}()
	return hs
}

// serveFHIRPort serves the FHIR port on ln, under a listener that a black
// hole silences (silence.go), beneath TLS so that not even a handshake
// leaks.
func (s *Server) serveFHIRPort(ln net.Listener) *httpServer {
	q := newQuietListener(ln, s)
	hs := s.serve(q, http.HandlerFunc(s.serveFHIR), s.tlsConf)
	hs.quiet = q
	return hs
}

// FHIRHandler is the FHIR API as an http.Handler, for a simulation that
// serves it on a listener of its own without sockets (queue/herd). The
// faults that act on the port (a black hole, refusals, drops) do not reach
// it; the capacity, the levers and the records do.
func (s *Server) FHIRHandler() http.Handler { return http.HandlerFunc(s.serveFHIR) }

// URL is the FHIR base URL, http://127.0.0.1:PORT or https://127.0.0.1:PORT.
func (s *Server) URL() string { return s.scheme + "://" + s.fhirAddr }

// AdminURL is the base URL of the admin API, http://127.0.0.1:PORT.
func (s *Server) AdminURL() string { return "http://" + s.admin.ln.Addr().String() }

// Close stops both ports, ends requests held by a black hole or a delay,
// waits for the handlers to finish and closes the database. A temporary data
// folder is removed.
func (s *Server) Close() error {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	fhir := s.fhir
	s.fhir = nil
	s.mu.Unlock()
	if fhir != nil {
		fhir.close()
	}
	if s.admin != nil {
		s.admin.close()
	}
	// Handlers still running were told to stop through s.closing; wait for
	// them so that none touches the database after it is closed.
	s.mu.Lock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
	err := s.shutdown()
	s.log.Info("prescription centre simulator stopped")
	return err
}

func (s *Server) shutdown() error {
	var err error
	if s.store != nil {
		err = s.store.close()
	}
	if s.tempDir != "" {
		if rerr := os.RemoveAll(s.tempDir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// enter counts a request in; it reports false once Close has begun.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight++
	return true
}

func (s *Server) leave() {
	s.mu.Lock()
	s.inflight--
	if s.inflight == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// loopbackAddr checks that addr names a loopback interface. "" and a
// missing host mean 127.0.0.1 only when the whole address is empty; ":8080"
// would listen on every interface, so it is refused.
func loopbackAddr(addr string) (string, error) {
	if addr == "" {
		return "127.0.0.1:0", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	switch {
	case host == "localhost":
		return net.JoinHostPort("127.0.0.1", port), nil
	case host == "":
		return "", fmt.Errorf("refusing to listen on %q: that is every interface, and the simulator serves loopback only (use 127.0.0.1%s)", addr, addr)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("refusing to listen on %q: the simulator serves loopback addresses only (127.0.0.1, ::1, localhost)", addr)
	}
	return addr, nil
}

func loadServerTLS(dir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("load CA: no certificate in " + filepath.Join(dir, "ca.crt"))
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}, nil
}

// accessLog writes lr's line to Config.AccessLog: the time, the quoted
// request line, the status (0: cut without an answer) and the request id.
// A failed write is logged once a request, never fatal: the access log is
// for the reader, not for the service.
func (s *Server) accessLog(lr LoggedRequest) {
	if s.cfg.AccessLog == nil {
		return
	}
	line := fmt.Sprintf("%s %q %d %s\n", lr.Time.UTC().Format(time.RFC3339Nano), lr.line, lr.Status, lr.RequestID)
	s.accessMu.Lock()
	_, err := io.WriteString(s.cfg.AccessLog, line)
	s.accessMu.Unlock()
	if err != nil {
		s.log.Warn("write access log", "request_id", lr.RequestID, "err", err)
	}
}
