// Package centre is tiski's client of the Kanta Prescription Centre: FHIR R4
// JSON over HTTP, with mutual TLS, timeouts on every call and a precise
// classification of failures (transient, permanent, conflict) for queue/ and
// the counter.
//
// The wire contract is pkg/centresim/README.md. This package encodes and
// decodes FHIR with its own types and shares no FHIR code with the
// simulator (DESIGN §4). It never retries: retries live in queue/.
//
// It relies on nothing a server echoes back beyond what R4 promises; every
// place it reads back what it sent is listed, with why it is safe, in that
// README's "What the client takes from a server's answers" (issue 18).
package centre

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Defaults for the zero values of Config.
const (
	DefaultConnectTimeout = 3 * time.Second
	// DefaultProbeConnectTimeout bounds a health probe's connection (TCP
	// connect and TLS handshake together). Past it the Prescription Centre
	// is silent, not slow: a service that is only slow still connects at
	// once (its kernel and TLS terminator answer), and then the probe waits
	// for the answer as long as its caller allows. 0.4 s is ten round
	// trips of a Finnish link; the hedged dial (Config) covers a lost SYN,
	// whose retransmission comes only after 1 s.
	DefaultProbeConnectTimeout = 400 * time.Millisecond
	DefaultTimeout             = 10 * time.Second
	DefaultMaxResponseBytes    = 4 << 20
	DefaultUserAgent           = "tiski"
)

// TLSConfig names the files of a mutual-TLS connection. CertFile and KeyFile
// are the pharmacy's service certificate and key (PEM); CAFile is the private
// CA bundle the Prescription Centre's certificate must chain to. The system
// roots are never trusted.
type TLSConfig struct {
	CertFile   string
	KeyFile    string
	CAFile     string
	ServerName string // overrides the host name checked in the server's certificate
}

// Config configures a Client. Only BaseURL is required.
type Config struct {
	// BaseURL is the FHIR server root, e.g. https://centre.example:8443;
	// the CapabilityStatement is BaseURL + "/metadata".
	BaseURL string
	// ConnectTimeout bounds the TCP connect and, separately, the TLS
	// handshake. Default 3 s.
	ConnectTimeout time.Duration
	// Timeout bounds a whole call, answer body included. Default 10 s. The
	// caller's context bounds it too.
	Timeout time.Duration
	// ProbeConnectTimeout bounds the connection of a health probe (Probe):
	// the TCP connect and the TLS handshake together, on a fresh
	// connection. Default 0.4 s, and never more than ConnectTimeout. A
	// probe that connected waits for its answer as long as Timeout and its
	// context allow: the service is there, if slow (DESIGN §10: a black
	// hole is FAULT within 1.5 s, a service answering in 1 s never is).
	ProbeConnectTimeout time.Duration
	// MaxResponseBytes is the largest answer read. Default 4 MiB.
	MaxResponseBytes int64
	// PageSize is _count on listings; 0 leaves the server's default. Later
	// pages are followed through the Bundle's next link either way.
	PageSize int
	// TLS enables mutual TLS; required for an https BaseURL.
	TLS *TLSConfig
	// AllowInvalidCertificate loads a client certificate that is expired or
	// not yet valid instead of refusing it. For tests and for diagnosing a
	// server's answer only.
	AllowInvalidCertificate bool
	// Pharmacy is the performer organisation on a dispensing that names none.
	Pharmacy rx.Pharmacy
	// UserAgent is sent on every request. Default "tiski".
	UserAgent string
	// Now is the clock, for certificate validity and Retry-After dates.
	// Default time.Now.
	Now func() time.Time
	// Logger gets one debug line per request (method, path without the
	// query, status, duration, request id). Default: no logging. No
	// identity code is ever logged, nor put in a URL: searches go by POST
	// [type]/_search with a form body.
	Logger *slog.Logger
	// Observer, when set, is told of every call's operation class,
	// outcome, status and latency (observe.go): the fault log of issue 22.
	Observer Observer
	// DialContext, when set, makes every connection in place of a TCP
	// dial: for a simulation that talks to a server in the same process
	// without sockets (queue/herd's thousands of pharmacies, which would
	// otherwise need two descriptors a connection). Nil: TCP.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client talks to one Prescription Centre. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL

	reloadMu sync.Mutex // serialises Reload
	conn     atomic.Pointer[connection]
	room     atomic.Uint64 // the server's last rate-limit hint (ratelimit.go)
}

// connection is what Reload replaces as a whole: the HTTP clients with
// their transports and TLS settings, and the certificate they present.
type connection struct {
	http  *http.Client
	probe *http.Client      // health probes: a fresh, hedged connection each (Probe)
	leaf  *x509.Certificate // nil without a client certificate
}

// New checks cfg, loads the certificates and returns a Client. It does not
// contact the server; call Probe for that. An expired or not yet valid
// client certificate is refused with a message saying when and what to do.
func New(cfg Config) (*Client, error) {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ProbeConnectTimeout <= 0 {
		cfg.ProbeConnectTimeout = DefaultProbeConnectTimeout
	}
	cfg.ProbeConnectTimeout = min(cfg.ProbeConnectTimeout, cfg.ConnectTimeout)
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PageSize < 0 {
		return nil, fmt.Errorf("configure Prescription Centre client: page size %d is negative", cfg.PageSize)
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("configure Prescription Centre client: base URL %q is not an http or https URL", cfg.BaseURL)
	}
	if base.Scheme == "https" && (cfg.TLS == nil || cfg.TLS.CAFile == "") {
		return nil, errors.New("configure Prescription Centre client: an https base URL needs TLS.CAFile, the Prescription Centre's private CA bundle (the system roots are not trusted)")
	}
	c := &Client{cfg: cfg, base: base}
	c.room.Store(roomUnknown)
	conn, err := c.connect()
	if err != nil {
		return nil, err
	}
	c.conn.Store(conn)
	return c, nil
}

// Reload re-reads the certificate, key and CA files and uses them for new
// connections, without a restart (DESIGN §3). On error the old ones stay in
// use.
func (c *Client) Reload() error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	conn, err := c.connect()
	if err != nil {
		return err
	}
	old := c.conn.Swap(conn)
	old.http.CloseIdleConnections()
	old.probe.CloseIdleConnections()
	return nil
}

// CertificateExpiry returns when the client certificate in use expires, and
// false when there is none.
func (c *Client) CertificateExpiry() (time.Time, bool) {
	leaf := c.conn.Load().leaf
	if leaf == nil {
		return time.Time{}, false
	}
	return leaf.NotAfter, true
}

// Close closes idle connections.
func (c *Client) Close() {
	conn := c.conn.Load()
	conn.http.CloseIdleConnections()
	conn.probe.CloseIdleConnections()
}

func (c *Client) connect() (*connection, error) {
	conn := &connection{}
	dial := (&net.Dialer{Timeout: c.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	probeDial := hedgedDial(&net.Dialer{Timeout: c.cfg.ProbeConnectTimeout}, c.cfg.ProbeConnectTimeout/2)
	if c.cfg.DialContext != nil {
		dial, probeDial = c.cfg.DialContext, c.cfg.DialContext
	}
	tr := &http.Transport{
		Proxy:                 nil, // the Prescription Centre is reached directly
		DialContext:           dial,
		TLSHandshakeTimeout:   c.cfg.ConnectTimeout,
		ResponseHeaderTimeout: c.cfg.Timeout,
		// queue/ uploads many records in parallel to one host; keep their
		// connections instead of opening one per record.
		MaxIdleConns:        128,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	if t := c.cfg.TLS; t != nil {
		tc, leaf, err := loadTLS(t, c.cfg.Now(), c.cfg.AllowInvalidCertificate)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
		conn.leaf = leaf
	}
	// The API never redirects; a redirect would carry the request, a
	// search's identity code with it, somewhere unknown.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	conn.http = &http.Client{Transport: tr, CheckRedirect: noRedirect}

	// A probe opens a connection of its own every time: a kept-alive one
	// proves nothing about the way to the service now, and only a fresh
	// connect tells a silent service (nothing comes back, not even the
	// TCP or TLS handshake) from a slow one (it connects at once, then
	// takes its time to answer). Probe bounds the connect.
	ptr := &http.Transport{
		Proxy:                 nil,
		DialContext:           probeDial,
		TLSHandshakeTimeout:   c.cfg.ProbeConnectTimeout,
		ResponseHeaderTimeout: c.cfg.Timeout,
		DisableKeepAlives:     true,
	}
	if tr.TLSClientConfig != nil {
		ptc := tr.TLSClientConfig.Clone()
		// Resumed sessions keep a handshake every interval cheap for both
		// ends.
		ptc.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		ptr.TLSClientConfig = ptc
	}
	conn.probe = &http.Client{Transport: ptr, CheckRedirect: noRedirect}
	return conn, nil
}

// hedgedDial dials like d, and when the connection is not made within
// after, dials again beside the first attempt and takes whichever connects
// first. A single lost SYN is retransmitted only after a second, long past
// a probe's connect bound; two attempts are lost together only when the way
// really is silent. An attempt that fails outright (refused) ends the dial
// at once: that is an answer, not silence.
func hedgedDial(d *net.Dialer, after time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type result struct {
			conn net.Conn
			err  error
		}
		results := make(chan result, 2) // buffered: a late attempt never blocks
		dial := func() {
			conn, err := d.DialContext(ctx, network, addr)
			results <- result{conn, err}
		}
		go dial()
		hedge := time.NewTimer(after)
		defer hedge.Stop()
		pending := 1
		// drain closes the connection of an attempt still out, should it
		// be made before the cancel reaches it.
		drain := func(n int) {
			for range n {
				if o := <-results; o.conn != nil {
					o.conn.Close()
				}
			}
		}
		for {
			select {
			case <-hedge.C:
				pending++
				go dial()
			case r := <-results:
				pending--
				if r.err == nil || pending == 0 {
					hedge.Stop()
					go drain(pending)
					return r.conn, r.err
				}
			}
		}
	}
}

func loadTLS(t *TLSConfig, now time.Time, allowInvalid bool) (*tls.Config, *x509.Certificate, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("load Prescription Centre CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("load Prescription Centre CA bundle: %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, nil, errors.New("load client certificate: give both the certificate file and the key file, or neither")
	}
	if t.CertFile == "" {
		return tc, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("load client certificate %s: %w", t.CertFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("load client certificate %s: %w", t.CertFile, err)
		}
	}
	if !allowInvalid {
		if err := checkValidity(t.CertFile, leaf, now); err != nil {
			return nil, nil, err
		}
	}
	tc.Certificates = []tls.Certificate{cert}
	return tc, leaf, nil
}

// checkValidity refuses a certificate outside its validity period, saying
// when and what to do.
func checkValidity(file string, leaf *x509.Certificate, now time.Time) error {
	const day = "2 January 2006 15:04 MST"
	switch {
	case now.After(leaf.NotAfter):
		return fmt.Errorf("load client certificate %s: the service certificate %q expired on %s; the Prescription Centre will refuse it. Install a renewed certificate and key at the same paths, then reload (no restart needed)",
			file, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(day))
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("load client certificate %s: the service certificate %q is not valid until %s; check this computer's clock, or wait until then",
			file, leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(day))
	}
	return nil
}

// request is one HTTP exchange.
type request struct {
	op          string
	method      string
	target      string // a path below the base URL with its query, or an absolute URL on the same server
	body        []byte
	contentType string // of body; default FHIR JSON
	headers     map[string]string
	read        bool // changes nothing upstream, whatever the method (a POST _search)
	probe       bool // a health probe: on a fresh connection of its own
	// hold keeps a 2xx answer's call from the Observer: the caller checks
	// whose the answer is first, then tells it once with its outcome
	// (Client.tell), so that an answer about another patient is one entry
	// of the fault log, wrong-patient, with the exchange's own status and
	// latency (issue 22).
	hold bool
}

// formURLEncoded is the media type of a POST _search body.
const formURLEncoded = "application/x-www-form-urlencoded"

// write reports whether r may change something upstream.
func (r request) write() bool { return r.method != http.MethodGet && !r.read }

// answer is a successful (2xx) HTTP answer, read whole.
type answer struct {
	status    int
	header    http.Header
	body      []byte
	requestID string
	// call is the exchange as the Observer will see it, while held
	// (request.hold): not yet told.
	call Call
	held bool
}

// do sends r and returns a 2xx answer, or an *Error for anything else.
func (c *Client) do(ctx context.Context, r request) (*answer, error) {
	reqID := uuid.NewString()
	fail := func(class Class, cause error) *Error {
		return &Error{Op: r.op, Class: class, RequestID: reqID, Err: cause}
	}
	u, err := c.resolve(r.target)
	if err != nil {
		return nil, fail(Permanent, tag(ErrBadResponse, err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	dl, _ := ctx.Deadline()
	budget := time.Until(dl).Round(time.Millisecond)
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fail(Permanent, tag(ErrNotSent, err))
	}
	req.Header.Set("Accept", fhirJSON)
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("X-Request-Id", reqID)
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = fhirJSON
		}
		req.Header.Set("Content-Type", ct+"; charset=utf-8")
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	if r.read && r.method != http.MethodGet {
		// A POST _search changes nothing, so the transport may send it
		// again on a fresh connection when a kept-alive one turns out to
		// be closed, as it does a GET. An empty Idempotency-Key entry says
		// so without sending the header (net/http, Transport).
		req.Header["Idempotency-Key"] = []string{}
	}

	start := time.Now()
	hc := c.conn.Load().http
	if r.probe {
		hc = c.conn.Load().probe
	}
	resp, err := hc.Do(req)
	if err != nil {
		e := transportError(ctx, r.op, reqID, budget, err)
		e.write = r.write()
		c.log(ctx, r, u, 0, start, reqID, e, false)
		return nil, e
	}
	defer resp.Body.Close()
	c.noteRoom(resp.Header)
	if id := resp.Header.Get("X-Request-Id"); id != "" {
		reqID = id
	}
	e := &Error{Op: r.op, Status: resp.StatusCode, RequestID: reqID}
	limit := c.cfg.MaxResponseBytes
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok && resp.ContentLength > limit {
		e.Class, e.Err = Permanent, tagf(ErrTooLarge, "%d bytes announced, the limit is %d (Config.MaxResponseBytes)", resp.ContentLength, limit)
		c.log(ctx, r, u, resp.StatusCode, start, reqID, e, false)
		return nil, e
	}
	b, readErr := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if ok {
		switch {
		case readErr != nil:
			e = transportError(ctx, r.op, reqID, budget, readErr)
			e.write = r.write()
			e.Status = resp.StatusCode
			if !errors.Is(e.Err, ErrTimeout) && ctx.Err() == nil {
				e.Err = tag(ErrTruncated, readErr)
			}
		case int64(len(b)) > limit:
			e.Class, e.Err = Permanent, tagf(ErrTooLarge, "more than %d bytes (Config.MaxResponseBytes)", limit)
		default:
			a := &answer{status: resp.StatusCode, header: resp.Header, body: b, requestID: reqID}
			if r.hold && c.cfg.Observer != nil {
				a.call, a.held = Call{Time: start, Op: opClass(r), Outcome: OutcomeOK, Status: resp.StatusCode, Latency: time.Since(start)}, true
			}
			c.log(ctx, r, u, resp.StatusCode, start, reqID, nil, a.held)
			return a, nil
		}
		c.log(ctx, r, u, resp.StatusCode, start, reqID, e, false)
		return nil, e
	}
	// An error answer: classify by status; the OperationOutcome, when
	// readable, adds the reason and the texts.
	e.Class = classify(resp.StatusCode)
	if resp.StatusCode < 400 {
		e.Class, e.Err = Permanent, tagf(ErrBadResponse, "unexpected HTTP status %d", resp.StatusCode)
	}
	if !e.parseOutcome(b) {
		e.Diagnostics = plainText(b)
	}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()); ok {
		e.RetryAfter = d
	}
	c.log(ctx, r, u, resp.StatusCode, start, reqID, e, false)
	return nil, e
}

// transportError classifies a failure to get an answer (or to read it).
// The *url.Error is unwrapped: its text holds the URL, and a query may hold
// an identity code.
func transportError(ctx context.Context, op, reqID string, budget time.Duration, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	e := &Error{Op: op, Class: Transient, RequestID: reqID, Err: err}
	var ne net.Error
	var cve *tls.CertificateVerificationError
	var oe *net.OpError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var hn x509.HostnameError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		e.Err = tagf(ErrTimeout, "no answer within %s", budget)
	case errors.Is(err, context.Canceled):
		// The caller gave up; not a fault upstream, but the call did
		// not complete, so trying again later is right.
		e.Err = err
	case errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &hn):
		e.Err = tagf(ErrCertificate, "cannot verify the server's certificate against the CA bundle: %v", err)
	case errors.As(err, &oe) && oe.Op == "remote error":
		e.Err = tagf(ErrCertificate, "the server ended the TLS handshake (%v); check that the client certificate is valid and issued by a CA the Prescription Centre trusts", oe.Err)
	case errors.As(err, &ne) && ne.Timeout():
		e.Err = tag(ErrTimeout, err)
	}
	return e
}

// resolve makes an absolute URL of target, which must stay on the base
// URL's server: a next link elsewhere is refused rather than followed.
func (c *Client) resolve(target string) (*url.URL, error) {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		u, err := url.Parse(target)
		if err != nil {
			return nil, errors.New("a link in the answer is not a URL")
		}
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return nil, fmt.Errorf("a link in the answer points to another server (%s://%s)", u.Scheme, u.Host)
		}
		return u, nil
	}
	path, query, _ := strings.Cut(target, "?")
	u := *c.base
	u.Path = c.base.Path + "/" + strings.TrimLeft(path, "/")
	u.RawPath = ""
	u.RawQuery = query
	return &u, nil
}

// log tells the Observer of a call that ended, unless held for the caller
// to tell (request.hold), and writes its debug line.
func (c *Client) log(ctx context.Context, r request, u *url.URL, status int, start time.Time, reqID string, e *Error, held bool) {
	if !held {
		c.observe(ctx, r, start, status, e)
	}
	attrs := []slog.Attr{
		slog.String("op", r.op), slog.String("method", r.method), slog.String("path", u.Path),
		slog.Int("status", status), slog.Duration("duration", time.Since(start)), slog.String("request_id", reqID),
	}
	if e != nil {
		attrs = append(attrs, slog.String("class", e.Class.String()), slog.String("error", e.Error()))
	}
	c.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "centre request", attrs...)
}

// plainText returns a short plain-text error body (a proxy's or a web
// server's own message), scrubbed, or "" for anything else.
func plainText(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" || len(s) > 200 || !utf8.ValidString(s) || strings.ContainsAny(s, "<{") {
		return ""
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return ""
		}
	}
	return scrub(s)
}
