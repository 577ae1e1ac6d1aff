// Package triage decides where a fault with the Prescription Centre lies
// (issue 22): on this PC, in the pharmacy's network, at Kanta, or unknown.
// It checks from near to far (this PC, the way out, the service, the
// pharmacy) and names what it saw at each step, so that IT can act on the
// verdict and a fault report can cite its evidence. Nothing here holds a
// patient's data: the fault log it reads has none.
package triage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
)

// Verdicts: where the fault lies.
const (
	None            = "none"             // nothing wrong
	ThisPC          = "this-pc"          // this computer: its certificate, clock or disk
	PharmacyNetwork = "pharmacy-network" // the way out: DNS, the pharmacy's network or a proxy in it
	Kanta           = "kanta"            // the service answers errors, throttles or is many times slower than its normal
	Unknown         = "unknown"          // refused or silent with the way unproven: assume it is wide
)

// Layers of the checks, from near to far.
const (
	LayerPC       = "this-pc"
	LayerWay      = "way-out"
	LayerService  = "service"
	LayerPharmacy = "pharmacy"
)

// Statuses of a step.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "fail"
	Skip = "skip"
)

// Thresholds of the checks.
const (
	// MaxClockSkew is how far this PC's clock may be from the service's
	// Date header: TLS and signed records need the time right, and an
	// HTTP date has whole seconds only.
	MaxClockSkew = time.Minute
	// MinFreeBytes is the free disk below which the journal is at risk.
	MinFreeBytes = 500 << 20
	// SlowFactor is how many times its normal latency a service must take
	// to be called slow, and SlowFloor the least latency that is slow at
	// all (a few milliseconds five times over is still fast).
	SlowFactor = 5
	SlowFloor  = time.Second
	// RecentWindow is how far back, from the start of the triage, "recent" calls go; NormalWindow how far
	// back the counter's normal goes.
	RecentWindow = 15 * time.Minute
	NormalWindow = 24 * time.Hour
)

// Config is what triage needs to know.
type Config struct {
	BaseURL    string // the Prescription Centre's FHIR root
	CertFile   string // the client certificate (PEM); "" without mutual TLS
	KeyFile    string
	CAFile     string // the CA bundle the service's certificate must chain to
	ServerName string // overrides the host name checked in the server's certificate

	ConnectTimeout time.Duration // each of DNS, TCP and TLS; default 3 s
	Timeout        time.Duration // /metadata's answer; default 10 s

	DataDir   string                                    // the folder whose free disk is checked; "" skips it
	FreeBytes func(dir string) (uint64, error)          // free disk; nil skips the check
	Journal   *journal.Journal                          // the fault log; nil skips it
	Recent    time.Duration                             // how far back the recent calls go; default RecentWindow
	Now       func() time.Time                          // this PC's clock; default time.Now
	Resolver  *net.Resolver                             // default net.DefaultResolver
	Peers     func(ctx context.Context) ([]Peer, error) // the pharmacy's other counters; nil without a hub
}

// Peer is another counter of the pharmacy, as the hub sees it.
type Peer struct {
	Counter string    `json:"counter"`
	Fault   bool      `json:"fault"`
	Since   time.Time `json:"since,omitzero"`
}

// Step is one thing triage looked at.
type Step struct {
	Layer   string `json:"layer"`           // this-pc, way-out, service, pharmacy
	Name    string `json:"name"`            // certificate, clock, disk, dns, tcp, tls, metadata, calls, counters
	Status  string `json:"status"`          // ok, warn, fail, skip
	Class   string `json:"class,omitempty"` // the failure's class: expired, refused, silent, unknown-authority, 5xx, throttled, slow, …
	Message        // what was seen: Detail in English, Msg and Args for other languages

	HTTPStatus int           `json:"http_status"`
	LatencyMS  int64         `json:"latency_ms"`
	latency    time.Duration // unexported: for the verdict
}

// OpStats is the fault log's recent calls of one operation class.
type OpStats struct {
	Op        string         `json:"op"`
	Calls     int            `json:"calls"`
	OK        int            `json:"ok"`
	Outcomes  map[string]int `json:"outcomes"`             // by outcome class, ok included
	Statuses  map[int]int    `json:"statuses"`             // by HTTP status, answers only
	MedianMS  int64          `json:"median_ms"`            // of the recent calls that got an answer
	NormalMS  int64          `json:"normal_ms"`            // median of the ok calls before the recent window; 0: unknown
	SlowTimes float64        `json:"slow_times,omitempty"` // MedianMS / NormalMS when both are known
}

// Result is the triage: the verdict, the evidence for it and every step.
type Result struct {
	At       time.Time `json:"at"`
	Verdict  string    `json:"verdict"`
	Evidence []string  `json:"evidence"` // in English; the steps that decided it
	Because  []string  `json:"because"`  // the names of those steps, in order, to word them in another language
	Steps    []Step    `json:"steps"`
	Calls    []OpStats `json:"calls"` // recent calls by operation
	// Peers are the pharmacy's other counters as the hub saw them; nil
	// without a hub or when it could not be asked.
	Peers []Peer `json:"peers,omitempty"`
	// WrongPatient counts the recent calls the Prescription Centre answered
	// about another patient than the one asked for, each refused whole
	// (centre.ErrWrongPatient). More than 0 means criterion (d) of Kela's
	// fault report, patient privacy at risk, is met, whatever the verdict:
	// the evidence is the calls step, of class wrong-patient.
	WrongPatient int `json:"wrong_patient"`
}

// Run checks, from near to far, and gives the verdict.
func Run(ctx context.Context, cfg Config) Result {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 3 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Recent <= 0 {
		cfg.Recent = RecentWindow
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	t := &run{cfg: cfg, res: Result{At: cfg.Now().UTC()}}
	t.thisPC()
	t.wayOut(ctx)
	t.service(ctx)
	t.pharmacy(ctx)
	t.decide()
	return t.res
}

type run struct {
	cfg Config
	res Result

	tlsConf *tls.Config
	u       *url.URL
	wayOK   bool // DNS, TCP and TLS all sound
}

func (t *run) add(s Step) *Step {
	t.res.Steps = append(t.res.Steps, s)
	return &t.res.Steps[len(t.res.Steps)-1]
}

// step returns the step with name, or nil.
func (t *run) step(name string) *Step {
	for i := range t.res.Steps {
		if t.res.Steps[i].Name == name {
			return &t.res.Steps[i]
		}
	}
	return nil
}

// thisPC checks the client certificate and the free disk. The clock is
// checked against the service's Date header, in service.
func (t *run) thisPC() {
	now := t.cfg.Now()
	u, err := url.Parse(t.cfg.BaseURL)
	if err != nil || u.Host == "" {
		t.add(Step{Layer: LayerPC, Name: "configuration", Status: Fail, Class: "no-url", Message: msg("prescription-centres-url-not", t.cfg.BaseURL)})
	} else {
		t.u = u
	}
	switch {
	case t.cfg.CertFile == "" && t.cfg.CAFile == "":
		t.add(Step{Layer: LayerPC, Name: "certificate", Status: Skip, Message: msg("no-client-certificate-configured")})
	default:
		t.certificate(now)
	}
	if t.cfg.FreeBytes != nil && t.cfg.DataDir != "" {
		free, err := t.cfg.FreeBytes(t.cfg.DataDir)
		switch {
		case err != nil:
			t.add(Step{Layer: LayerPC, Name: "disk", Status: Warn, Class: "unknown", Message: msg("cannot-read-free-space", t.cfg.DataDir, err)})
		case free < MinFreeBytes:
			t.add(Step{Layer: LayerPC, Name: "disk", Status: Fail, Class: "low", Message: msg("mib-free", free>>20, t.cfg.DataDir)})
		default:
			t.add(Step{Layer: LayerPC, Name: "disk", Status: OK, Message: msg("mib-free", free>>20, t.cfg.DataDir)})
		}
	}
}

func (t *run) certificate(now time.Time) {
	c := LoadCerts(t.cfg.CertFile, t.cfg.KeyFile, t.cfg.CAFile, t.cfg.ServerName)
	switch {
	case c.PairErr != nil:
		t.add(Step{Layer: LayerPC, Name: "certificate", Status: Fail, Class: "unreadable", Message: msg("cannot-read-client-certificate", t.cfg.CertFile, t.cfg.KeyFile, c.PairErr)})
		return
	case c.LeafErr != nil:
		t.add(Step{Layer: LayerPC, Name: "certificate", Status: Fail, Class: "unreadable", Message: msg("cannot-parse-client-certificate", t.cfg.CertFile, c.LeafErr)})
		return
	case c.Leaf == nil:
		t.add(Step{Layer: LayerPC, Name: "certificate", Status: Skip, Message: msg("no-client-certificate-configured-2")})
	case now.After(c.Leaf.NotAfter):
		t.add(Step{Layer: LayerPC, Name: "certificate", Status: Fail, Class: "expired", Message: msg("client-certificate-expired-on", c.Leaf.Subject.CommonName, c.Leaf.NotAfter.UTC().Format(time.DateOnly))})
	case now.Before(c.Leaf.NotBefore):
		t.add(Step{Layer: LayerPC, Name: "certificate", Status: Fail, Class: "not-yet-valid", Message: msg("client-certificate-valid-only", c.Leaf.Subject.CommonName, c.Leaf.NotBefore.UTC().Format(time.DateOnly))})
	default:
		t.add(Step{Layer: LayerPC, Name: "certificate", Status: OK, Message: msg("client-certificate-valid-until", c.Leaf.Subject.CommonName, c.Leaf.NotAfter.UTC().Format(time.DateOnly))})
	}
	if c.TLS == nil {
		t.add(Step{Layer: LayerPC, Name: "ca bundle", Status: Fail, Class: "unreadable", Message: msg("ca-bundle-holds-no", t.cfg.CAFile)})
		return
	}
	t.tlsConf = c.TLS
}

// wayOut checks DNS, TCP and the TLS handshake, each on its own.
func (t *run) wayOut(ctx context.Context) {
	if t.u == nil {
		return
	}
	w := CheckWay(ctx, t.cfg.Resolver, t.u, t.tlsConf, t.cfg.ConnectTimeout)
	if w.DNSErr != nil {
		t.add(Step{Layer: LayerWay, Name: "dns", Status: Fail, Class: "unresolved", Message: msg("cannot-resolve", w.Host, w.DNSErr)})
		return
	}
	t.add(Step{Layer: LayerWay, Name: "dns", Status: OK, Message: msg("dns-resolved", w.Host, w.Addrs)})
	if err := w.TCPErr; err != nil {
		class := "network"
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			class = "refused"
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			class = "silent"
		}
		t.add(Step{Layer: LayerWay, Name: "tcp", Status: Fail, Class: class, Message: msg("cannot-connect", w.Host, w.Port, err)})
		return
	}
	t.add(Step{Layer: LayerWay, Name: "tcp", Status: OK, Message: msg("connected", w.Remote, w.Connect.Round(time.Millisecond))})
	switch {
	case t.u.Scheme != "https":
		t.add(Step{Layer: LayerWay, Name: "tls", Status: Skip, Message: msg("plain-http-no-tls")})
		t.wayOK = true
	case w.TLSSkipped:
		t.add(Step{Layer: LayerWay, Name: "tls", Status: Skip, Message: msg("no-usable-certificates-shake")})
	case w.TLSErr != nil:
		t.add(Step{Layer: LayerWay, Name: "tls", Status: Fail, Class: tlsClass(w.TLSErr), Message: msg("tls-handshake-failed", w.Host, w.TLSErr)})
	default:
		sc := w.TLS.PeerCertificates[0]
		t.add(Step{Layer: LayerWay, Name: "tls", Status: OK, Message: msg("server-certificate-valid-until", tls.VersionName(w.TLS.Version), sc.Subject.CommonName, sc.NotAfter.UTC().Format(time.DateOnly))})
		t.wayOK = true
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tlsClass names a handshake failure.
func tlsClass(err error) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var ae tls.AlertError
	var oe *net.OpError
	switch {
	case errors.As(err, &ua):
		return "unknown-authority"
	case errors.As(err, &hn):
		return "wrong-host"
	case errors.As(err, &ci):
		return "server-certificate-invalid"
	case errors.As(err, &ae), errors.As(err, &oe) && oe.Op == "remote error":
		return "refused-by-server"
	}
	return "handshake"
}

// service asks for /metadata, compares the clocks, and reads the fault log.
func (t *run) service(ctx context.Context) {
	t.metadata(ctx)
	t.calls(ctx)
}

func (t *run) metadata(ctx context.Context) {
	if !t.wayOK {
		t.add(Step{Layer: LayerService, Name: "metadata", Status: Skip, Message: msg("not-asked-way-service")})
		return
	}
	tr := &http.Transport{Proxy: nil, TLSClientConfig: t.tlsConf, DisableKeepAlives: true,
		TLSHandshakeTimeout: t.cfg.ConnectTimeout, DialContext: (&net.Dialer{Timeout: t.cfg.ConnectTimeout}).DialContext}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	mctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(mctx, http.MethodGet, t.u.String()+"/metadata", nil)
	if err != nil {
		t.add(Step{Layer: LayerService, Name: "metadata", Status: Fail, Class: "request", Message: msg("request-failed", err)})
		return
	}
	req.Header.Set("Accept", "application/fhir+json")
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		class := "network"
		if isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
			class = "timeout"
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		t.add(Step{Layer: LayerService, Name: "metadata", Status: Fail, Class: class, Message: msg("no-answer-metadata", err), LatencyMS: time.Since(start).Milliseconds(), latency: time.Since(start)})
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	lat := time.Since(start)
	received := t.cfg.Now()
	s := Step{Layer: LayerService, Name: "metadata", HTTPStatus: resp.StatusCode, LatencyMS: lat.Milliseconds(), latency: lat}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		s.Status, s.Class, s.Message = Fail, "throttled", msg("metadata-throttled", lat.Round(time.Millisecond))
	case code >= 500:
		s.Status, s.Class, s.Message = Fail, "5xx", msg("metadata-answered", code, lat.Round(time.Millisecond))
	case code >= 300:
		s.Status, s.Class, s.Message = Fail, "http", msg("metadata-answered", code, lat.Round(time.Millisecond))
	default:
		s.Status, s.Message = OK, msg("metadata-answered", code, lat.Round(time.Millisecond))
	}
	t.add(s)
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		// The Date was made between sending and receiving: allow for the
		// round trip and the header's whole seconds.
		skew := received.Sub(d)
		if abs(skew) > MaxClockSkew+lat+time.Second {
			t.add(Step{Layer: LayerPC, Name: "clock", Status: Fail, Class: "skewed", Message: msg("this-pcs-clock-off", skew.Round(time.Second), d.UTC().Format(time.RFC3339))})
		} else {
			t.add(Step{Layer: LayerPC, Name: "clock", Status: OK, Message: msg("within-services-clock", max(abs(skew), time.Second).Round(time.Second))})
		}
	} else {
		t.add(Step{Layer: LayerPC, Name: "clock", Status: Skip, Message: msg("service-sent-no-date")})
	}
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// calls reads the fault log: the recent calls by operation against this
// counter's own normal.
func (t *run) calls(ctx context.Context) {
	if t.cfg.Journal == nil {
		t.add(Step{Layer: LayerService, Name: "calls", Status: Skip, Message: msg("no-journal-no-fault")})
		return
	}
	now := t.cfg.Now()
	all, err := t.cfg.Journal.FaultCalls(ctx, now.Add(-NormalWindow), 0)
	if err != nil {
		t.add(Step{Layer: LayerService, Name: "calls", Status: Warn, Class: "unreadable", Message: msg("cannot-read-fault-log", err)})
		return
	}
	t.res.Calls = Summarise(all, t.res.At.Add(-t.cfg.Recent))
	worst := Step{Layer: LayerService, Name: "calls", Status: OK}
	total := 0
	var wrongOps []string // "2 search", "1 read"
	for _, o := range t.res.Calls {
		total += o.Calls
		wrong := o.Outcomes[centre.OutcomeWrongPatient]
		if wrong > 0 {
			t.res.WrongPatient += wrong
			wrongOps = append(wrongOps, fmt.Sprintf("%d %s", wrong, o.Op))
		}
		// A 4xx is the service's answer about the request (a business
		// rule, a conflict, not found): no fault of the service or the way.
		// An answer about another patient is judged on its own below.
		failed := o.Calls - o.OK - o.Outcomes["4xx"] - wrong
		switch {
		case o.Outcomes["5xx"]+o.Outcomes["throttled"] > 0 && 2*(o.Outcomes["5xx"]+o.Outcomes["throttled"]) >= failed && failed*5 >= o.Calls:
			cls := "5xx"
			if o.Outcomes["throttled"] > o.Outcomes["5xx"] {
				cls = "throttled"
			}
			worst.Status, worst.Class = Fail, cls
			worst.Message = msg("calls-failed", failed, o.Calls, o.Op, outcomeText(o))
		case o.SlowTimes >= SlowFactor && time.Duration(o.MedianMS)*time.Millisecond >= SlowFloor && worst.Status == OK:
			worst.Status, worst.Class = Fail, "slow"
			worst.Message = msg("calls-slow", o.Op, o.MedianMS, fmt.Sprintf("%.0f", o.SlowTimes), o.NormalMS)
		case failed*5 >= o.Calls && failed > 0 && worst.Status == OK:
			worst.Status, worst.Class = Fail, "failing"
			worst.Message = msg("calls-failed", failed, o.Calls, o.Op, outcomeText(o))
		}
	}
	if n := t.res.WrongPatient; n > 0 {
		// Criterion (d) of issue 22 comes first: the service answered, so
		// the way to it was sound, and what it answered was about someone
		// else. The count and the operations only; the fault log holds no
		// identity code, and none is wanted here.
		m := msg("calls-wrong-patient", n, strings.Join(wrongOps, ", "))
		if worst.Status == Fail {
			m = m.besides(worst.Message)
		}
		worst.Status, worst.Class, worst.Message = Fail, WrongPatientClass, m
	}
	if worst.Status == OK {
		worst.Message = msg("calls-ok", total)
		if total == 0 {
			worst.Message = msg("calls-none")
		}
	}
	t.add(worst)
}

// WrongPatientClass is the class of the calls step when the service
// answered about another patient than the one asked for (issue 22,
// criterion (d)); Result.WrongPatient counts those calls.
const WrongPatientClass = "wrong-patient"

func outcomeText(o OpStats) string {
	keys := make([]string, 0, len(o.Outcomes))
	for k := range o.Outcomes {
		if k != "ok" && k != "4xx" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", o.Outcomes[k], k)
	}
	codes := make([]int, 0, len(o.Statuses))
	for c := range o.Statuses {
		if c >= 300 && (c < 400 || c >= 500 || c == 429) {
			codes = append(codes, c)
		}
	}
	sort.Ints(codes)
	for i, c := range codes {
		if i == 0 {
			s += " (HTTP"
		}
		s += fmt.Sprintf(" %d×%d", c, o.Statuses[c])
		if i == len(codes)-1 {
			s += ")"
		}
	}
	return s
}

// Summarise counts calls sent since recent by operation, with the median
// latency of the ones before as their normal.
func Summarise(calls []journal.FaultCall, recent time.Time) []OpStats {
	by := map[string]*OpStats{}
	lat := map[string][]time.Duration{}
	normal := map[string][]time.Duration{}
	for _, c := range calls {
		if c.At.Before(recent) {
			if c.Outcome == "ok" {
				normal[c.Op] = append(normal[c.Op], c.Latency)
			}
			continue
		}
		o := by[c.Op]
		if o == nil {
			o = &OpStats{Op: c.Op, Outcomes: map[string]int{}, Statuses: map[int]int{}}
			by[c.Op] = o
		}
		o.Calls++
		o.Outcomes[c.Outcome]++
		if c.Outcome == "ok" {
			o.OK++
		}
		if c.Status != 0 {
			o.Statuses[c.Status]++
			lat[c.Op] = append(lat[c.Op], c.Latency)
		}
	}
	var out []OpStats
	for _, op := range []string{"read", "search", "write", "probe"} {
		o := by[op]
		if o == nil {
			continue
		}
		o.MedianMS = median(lat[op]).Milliseconds()
		if n := normal[op]; len(n) > 0 {
			o.NormalMS = max(median(n).Milliseconds(), 1)
			o.SlowTimes = float64(o.MedianMS) / float64(o.NormalMS)
		}
		out = append(out, *o)
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// pharmacy asks the hub which other counters are in FAULT.
func (t *run) pharmacy(ctx context.Context) {
	if t.cfg.Peers == nil {
		t.add(Step{Layer: LayerPharmacy, Name: "counters", Status: Skip, Message: msg("no-hub-other-counters")})
		return
	}
	peers, err := t.cfg.Peers(ctx)
	if err != nil {
		t.add(Step{Layer: LayerPharmacy, Name: "counters", Status: Warn, Class: "unreachable", Message: msg("cannot-ask-hub", err)})
		return
	}
	t.res.Peers = peers
	var fault []string
	for _, p := range peers {
		if p.Fault {
			fault = append(fault, fmt.Sprintf("%s since %s", p.Counter, p.Since.UTC().Format(time.RFC3339)))
		}
	}
	switch {
	case len(peers) == 0:
		t.add(Step{Layer: LayerPharmacy, Name: "counters", Status: OK, Class: "alone", Message: msg("no-other-counter-has")})
	case len(fault) == 0:
		t.add(Step{Layer: LayerPharmacy, Name: "counters", Status: OK, Message: msg("none-other-counters-fault", len(peers))})
	default:
		t.add(Step{Layer: LayerPharmacy, Name: "counters", Status: Warn, Class: "fault", Message: msg("other-counters-fault", len(fault), len(peers), fault)})
	}
}

// decide gives the verdict from the steps, nearest cause first.
func (t *run) decide() {
	r := &t.res
	verdict := func(v string, steps ...*Step) {
		r.Verdict = v
		for _, s := range steps {
			if s != nil {
				r.Evidence = append(r.Evidence, s.Name+": "+s.Detail)
				r.Because = append(r.Because, s.Name)
			}
		}
	}
	failed := func(name string) *Step {
		if s := t.step(name); s != nil && s.Status == Fail {
			return s
		}
		return nil
	}
	// This PC: its certificate, its clock, its disk.
	if s := failed("configuration"); s != nil {
		verdict(ThisPC, s)
		return
	}
	for _, n := range []string{"certificate", "ca bundle", "clock", "disk"} {
		if s := failed(n); s != nil {
			verdict(ThisPC, s)
			return
		}
	}
	// The way out.
	if s := failed("dns"); s != nil {
		verdict(PharmacyNetwork, s)
		return
	}
	if s := failed("tls"); s != nil {
		if s.Class == "refused-by-server" {
			// The server refused this PC's certificate.
			verdict(ThisPC, s)
		} else {
			// Something on the way answers in the service's name, or
			// the CA bundle is not Kanta's.
			verdict(PharmacyNetwork, s)
		}
		return
	}
	if s := failed("tcp"); s != nil {
		// Refused or silent. When the pharmacy's other counters, on the
		// same network, are not in FAULT, the fault is this PC's own.
		// Otherwise, or without other counters to compare, where it lies
		// cannot be told: assume it is wide (criterion e).
		peers := t.step("counters")
		if peers != nil && peers.Status == OK && peers.Class == "" {
			verdict(ThisPC, s, peers)
			return
		}
		verdict(Unknown, s, peers)
		return
	}
	// The service, with the way to it sound.
	md, calls := t.step("metadata"), t.step("calls")
	if calls != nil && calls.Status == Fail && calls.Class == WrongPatientClass {
		// The service answered about someone else: the fault is Kanta's,
		// the way to it sound (it answered). Before /metadata: a privacy
		// fault is the graver, and /metadata may answer well beside it.
		verdict(Kanta, calls, md)
		return
	}
	if md != nil && md.Status == Fail {
		if tl := t.step("tls"); tl != nil && tl.Status == OK {
			verdict(Kanta, md, tl)
		} else {
			verdict(Kanta, md, t.step("tcp"))
		}
		return
	}
	if calls != nil && calls.Status == Fail {
		if calls.Class == "failing" {
			// Failures of no service class (refused, timeouts) that the
			// checks now do not show: intermittent, its place unproven.
			verdict(Unknown, calls)
			return
		}
		verdict(Kanta, calls, md)
		return
	}
	if md != nil && md.Status == OK && md.latency >= SlowFloor {
		normal := normalOf(r.Calls, "probe")
		if normal == 0 || md.latency >= SlowFactor*normal {
			md.Class = "slow"
			verdict(Kanta, md)
			return
		}
	}
	verdict(None)
}

// normalOf is the normal latency of op in stats, 0 when unknown.
func normalOf(stats []OpStats, op string) time.Duration {
	for _, o := range stats {
		if o.Op == op {
			return time.Duration(o.NormalMS) * time.Millisecond
		}
	}
	return 0
}
