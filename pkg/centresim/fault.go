package centresim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault kinds (README, "Fault injection").
const (
	FaultUp              = "up"                // no fault
	FaultDown            = "down"              // the listener is closed: connection refused
	FaultBlackhole       = "blackhole"         // silence: connects hang (Linux), nothing is ever answered
	FaultSlow            = "slow"              // every answer delayed by Duration
	FaultFlaky           = "flaky"             // Ratio of requests get 503 with Retry-After: 1
	FaultThrottle        = "throttle"          // every request gets 429 with Retry-After: Seconds
	FaultDropAfterCommit = "drop-after-commit" // Ratio of writes committed, then the connection cut
	FaultError           = "error"             // every request gets 500 (issue 22)
	FaultSkew            = "skew"              // answers as usual, its Date header shifted by Duration (issue 22)
	FaultWrongPatient    = "wrong-patient"     // a search by a patient's identity code, or a read of a prescription by id, answers about another patient (issue 22)
)

// Fault is a failure the simulator plays on its FHIR port.
type Fault struct {
	Kind     string  `json:"kind"`               // down, blackhole, slow, flaky, throttle, drop-after-commit, error, skew, wrong-patient, up
	Duration string  `json:"duration,omitempty"` // slow: Go duration, e.g. "2s"; skew: may be negative, e.g. "-10m"
	Ratio    float64 `json:"ratio,omitempty"`    // flaky, drop-after-commit: 0..1
	Seconds  int     `json:"seconds,omitempty"`  // throttle: Retry-After seconds
}

func (f Fault) String() string {
	switch f.Kind {
	case FaultSlow, FaultSkew:
		return f.Kind + " " + f.Duration
	case FaultFlaky, FaultDropAfterCommit:
		return f.Kind + " " + strconv.FormatFloat(f.Ratio, 'g', -1, 64)
	case FaultThrottle:
		return f.Kind + " " + strconv.Itoa(f.Seconds)
	}
	return f.Kind
}

// normalize checks f and returns it with only the fields its kind uses. An
// empty kind means up.
func (f Fault) normalize() (Fault, error) {
	switch f.Kind {
	case "", FaultUp:
		return Fault{Kind: FaultUp}, nil
	case FaultDown, FaultBlackhole, FaultError, FaultWrongPatient:
		return Fault{Kind: f.Kind}, nil
	case FaultSkew:
		d, err := time.ParseDuration(f.Duration)
		if err != nil || d == 0 {
			return Fault{}, fmt.Errorf("fault skew: duration %q is not a non-zero Go duration such as 10m or -1h", f.Duration)
		}
		return Fault{Kind: f.Kind, Duration: d.String()}, nil
	case FaultSlow:
		d, err := time.ParseDuration(f.Duration)
		if err != nil || d <= 0 {
			return Fault{}, fmt.Errorf("fault slow: duration %q is not a positive Go duration such as 2s or 500ms", f.Duration)
		}
		return Fault{Kind: f.Kind, Duration: d.String()}, nil
	case FaultFlaky, FaultDropAfterCommit:
		if math.IsNaN(f.Ratio) || f.Ratio <= 0 || f.Ratio > 1 {
			return Fault{}, fmt.Errorf("fault %s: ratio %v must be more than 0 and at most 1", f.Kind, f.Ratio)
		}
		return Fault{Kind: f.Kind, Ratio: f.Ratio}, nil
	case FaultThrottle:
		if f.Seconds < 1 || f.Seconds > 86400 {
			return Fault{}, fmt.Errorf("fault throttle: seconds %d must be from 1 to 86400", f.Seconds)
		}
		return Fault{Kind: f.Kind, Seconds: f.Seconds}, nil
	}
	return Fault{}, fmt.Errorf("unknown fault kind %q: use one of up, down, blackhole, slow, flaky, throttle, drop-after-commit, error, skew, wrong-patient", f.Kind)
}

// ParseFault reads a fault from command-line words: ["down"], ["blackhole"],
// ["up"], ["slow", "2s"], ["flaky", "0.3"], ["throttle", "5"],
// ["drop-after-commit"] (every write), ["drop-after-commit", "0.5"],
// ["error"] or ["skew", "-10m"].
func ParseFault(args []string) (Fault, error) {
	if len(args) == 0 {
		return Fault{}, errors.New("no fault given: use one of up, down, blackhole, slow DURATION, flaky RATIO, throttle SECONDS, drop-after-commit [RATIO], error, skew DURATION, wrong-patient")
	}
	kind := strings.ToLower(args[0])
	rest := args[1:]
	want := func(n int, what string) error {
		if len(rest) < n {
			return fmt.Errorf("fault %s needs %s", kind, what)
		}
		if len(rest) > n {
			return fmt.Errorf("fault %s takes %d argument(s), got %d: %q", kind, n, len(rest), rest)
		}
		return nil
	}
	var f Fault
	switch kind {
	case FaultUp, FaultDown, FaultBlackhole, FaultError, FaultWrongPatient:
		if err := want(0, "no argument"); err != nil {
			return Fault{}, err
		}
		f = Fault{Kind: kind}
	case FaultSlow, FaultSkew:
		if err := want(1, "a duration, e.g. "+kind+" 2s"); err != nil {
			return Fault{}, err
		}
		f = Fault{Kind: kind, Duration: rest[0]}
	case FaultFlaky, FaultDropAfterCommit:
		if kind == FaultDropAfterCommit && len(rest) == 0 {
			rest = []string{"1"}
		}
		if err := want(1, "a ratio from 0 to 1, e.g. flaky 0.3"); err != nil {
			return Fault{}, err
		}
		r, err := strconv.ParseFloat(strings.TrimSuffix(rest[0], "%"), 64)
		if err != nil {
			return Fault{}, fmt.Errorf("fault %s: ratio %q is not a number", kind, rest[0])
		}
		if strings.HasSuffix(rest[0], "%") {
			r /= 100
		}
		f = Fault{Kind: kind, Ratio: r}
	case FaultThrottle:
		if err := want(1, "Retry-After seconds, e.g. throttle 5"); err != nil {
			return Fault{}, err
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil {
			return Fault{}, fmt.Errorf("fault throttle: seconds %q is not a whole number", rest[0])
		}
		f = Fault{Kind: kind, Seconds: n}
	default:
		return Fault{}, fmt.Errorf("unknown fault %q: use one of up, down, blackhole, slow, flaky, throttle, drop-after-commit, error, skew, wrong-patient", args[0])
	}
	return f.normalize()
}

// Fault returns the fault in force.
func (s *Server) Fault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// SetFault puts a fault in force. Down closes the FHIR listener (and every
// open connection); any other kind reopens it on the same port. A black
// hole is silence (silence.go): on Linux a new connect hangs, and nothing
// is answered on a connection, not even a TLS handshake. Connections and
// requests held by a black hole or a delay are released (cut) when the
// fault changes.
func (s *Server) SetFault(f Fault) error {
	f, err := f.normalize()
	if err != nil {
		return err
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("set fault: the simulator is closed")
	}
	prev := s.fault
	fhir := s.fhir
	s.mu.Unlock()

	switch {
	case f.Kind == FaultDown && fhir != nil:
		s.mu.Lock()
		s.fhir = nil
		s.mu.Unlock()
		fhir.close()
	case f.Kind != FaultDown && fhir == nil:
		ln, err := net.Listen("tcp", s.fhirAddr)
		if err != nil {
			return fmt.Errorf("set fault %s: reopen %s: %w", f.Kind, s.fhirAddr, err)
		}
		fhir = s.serveFHIRPort(ln)
		s.mu.Lock()
		s.fhir = fhir
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.fault = f
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if fhir != nil && f.Kind != FaultDown {
		// Now that the fault is in force, so that the listener no longer
		// accepts: shrink the accept queue for a black hole, restore it
		// after one.
		if f.Kind == FaultBlackhole {
			fhir.quiet.silence()
		} else {
			fhir.quiet.unsilence()
		}
	}
	if prev != f {
		s.log.Info("fault changed", "from", prev.String(), "to", f.String())
	}
	return nil
}

// faultNow returns the fault in force and a channel closed when it changes.
func (s *Server) faultNow() (Fault, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault, s.changed
}

// roll draws from the seeded generator: true with probability ratio. The
// draws happen in request order, so a run with the same seed and the same
// requests fails the same ones.
func (s *Server) roll(ratio float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < ratio
}

// SetRemoteFault sets the fault of a simulator running elsewhere through its
// admin API (PUT /fault) and returns the fault now in force.
func SetRemoteFault(ctx context.Context, adminURL string, f Fault) (Fault, error) {
	body, err := json.Marshal(f)
	if err != nil {
		return Fault{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimRight(adminURL, "/")+"/fault", bytes.NewReader(body))
	if err != nil {
		return Fault{}, fmt.Errorf("set remote fault: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Fault{}, fmt.Errorf("set remote fault: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return Fault{}, fmt.Errorf("set remote fault: %s", e.Error)
		}
		return Fault{}, fmt.Errorf("set remote fault: %s", resp.Status)
	}
	var got Fault
	if err := json.Unmarshal(b, &got); err != nil {
		return Fault{}, fmt.Errorf("set remote fault: read answer: %w", err)
	}
	return got, nil
}

// adminHandler serves the admin API: GET/PUT /fault, GET /requests,
// GET /stats, GET /healthz. It speaks plain JSON, not FHIR.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	}
	fail := func(w http.ResponseWriter, status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	}
	mux.HandleFunc("GET /fault", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Fault())
	})
	mux.HandleFunc("PUT /fault", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			fail(w, http.StatusBadRequest, "read fault: "+err.Error())
			return
		}
		if err := s.SetFault(f); err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.Fault())
	})
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Requests())
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.leverRoutes(mux, writeJSON, fail)
	return mux
}

// tokenBucket limits the FHIR port to Config.Capacity requests a second.
// The burst is a tenth of a second's worth (at least one request), so the
// served rate stays close to the capacity even under a reconnect storm. It
// runs on Config.Now, so a simulation on simulated time (tiski drill herd)
// is throttled in simulated seconds.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	window slidingSecond // arrivals, for advertise
}

func newTokenBucket(rate float64, now time.Time) *tokenBucket {
	burst := math.Max(1, rate/10)
	return &tokenBucket{rate: rate, burst: burst, tokens: burst, last: now}
}

// take spends a token, or reports how long until one is available.
func (b *tokenBucket) take(now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// advertise counts a request in the trailing second and tells the client
// how much of the capacity that second left, in the RateLimit header
// fields of draft-ietf-httpapi-ratelimit-headers: the policy is the
// capacity a one-second window, and the remaining quota is the capacity
// less the requests that arrived in the last second, throttled ones
// included. A client pacing itself (tiski's queue, pace.go) grows while
// the server has room and stops growing as it fills, before it throttles
// anyone. It is a hint: the 429 and its Retry-After stay the rule, and a
// client must work without it.
func (b *tokenBucket) advertise(h http.Header, now time.Time) {
	b.mu.Lock()
	n := b.window.add(now)
	b.mu.Unlock()
	q := int(math.Round(b.rate))
	h.Set("RateLimit-Policy", fmt.Sprintf(`"capacity";q=%d;w=1`, q))
	h.Set("RateLimit", fmt.Sprintf(`"capacity";r=%d;t=1`, max(0, q-n)))
}

// slidingSecond counts events in the trailing second, in tenths.
type slidingSecond struct {
	slots [10]int
	at    time.Time // the start of the current tenth
}

// add counts an event at now and returns the count of the trailing
// second, now's included.
func (w *slidingSecond) add(now time.Time) int {
	const tenth = 100 * time.Millisecond
	cur := now.Truncate(tenth)
	if w.at.IsZero() || cur.Sub(w.at) >= time.Second {
		w.slots = [10]int{}
	} else {
		for t := w.at.Add(tenth); !t.After(cur); t = t.Add(tenth) {
			w.slots[t.UnixMilli()/100%10] = 0
		}
	}
	if cur.After(w.at) || w.at.IsZero() {
		w.at = cur
	}
	w.slots[cur.UnixMilli()/100%10]++
	n := 0
	for _, c := range w.slots {
		n += c
	}
	return n
}

// LoggedRequest is one request the FHIR port answered (or dropped).
type LoggedRequest struct {
	// Time is the wall-clock arrival (time.Now, not Config.Now), taken
	// once the headers are read and before any fault or capacity limit, so
	// that a request answered 429 or 503 is logged at its arrival too.
	Time      time.Time `json:"time"`
	Method    string    `json:"method"`
	Path      string    `json:"path"` // with the query, identity codes masked
	Status    int       `json:"status"`
	RequestID string    `json:"request_id"`
	Dropped   bool      `json:"dropped,omitempty"` // the connection was cut before any answer
	// Records are the identifier values the request is about, identity
	// codes masked: the If-None-Exist identifier of a create (e.g.
	// urn:uuid:…), every ifNoneExist identifier of a transaction's entries,
	// and for a PUT the resource's Type/id and its urn:ietf:rfc:3986
	// identifiers.
	Records []string `json:"records,omitempty"`

	arrived time.Time // Config.Now at arrival, for Load
	line    string    // the request line as received, unmasked, for the access log only
}

// SecondLoad counts the FHIR requests that arrived in one second of
// Config.Now's clock: the offered load, throttled requests included.
type SecondLoad struct {
	Second    time.Time `json:"second"`    // the start of the second
	Requests  int       `json:"requests"`  // requests that arrived in it
	Throttled int       `json:"throttled"` // of them, answered 429
}

// Stats counts what the FHIR port has done since Start.
type Stats struct {
	Requests  int64         `json:"requests"`  // requests seen
	Throttled int64         `json:"throttled"` // answered 429, by a throttle fault or over capacity
	Dropped   int64         `json:"dropped"`   // connections cut without an answer
	ByStatus  map[int]int64 `json:"by_status"` // answers by HTTP status
}

// maxLoggedRequests bounds the request log; older entries are forgotten.
const maxLoggedRequests = 10000

func (s *Server) logRequest(lr LoggedRequest) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if len(s.requests) >= maxLoggedRequests {
		n := copy(s.requests, s.requests[len(s.requests)-maxLoggedRequests/2:])
		s.requests = s.requests[:n]
	}
	s.requests = append(s.requests, lr)
	s.stats.Requests++
	if s.load == nil {
		s.load = map[int64]*SecondLoad{}
	}
	sec := lr.arrived.Unix()
	l := s.load[sec]
	if l == nil {
		l = &SecondLoad{Second: time.Unix(sec, 0).UTC()}
		s.load[sec] = l
	}
	l.Requests++
	if lr.Status == http.StatusTooManyRequests {
		l.Throttled++
	}
	if lr.Dropped {
		s.stats.Dropped++
	} else if lr.Status != 0 {
		if s.stats.ByStatus == nil {
			s.stats.ByStatus = map[int]int64{}
		}
		s.stats.ByStatus[lr.Status]++
		if lr.Status == http.StatusTooManyRequests {
			s.stats.Throttled++
		}
	}
}

// Requests returns the request log, oldest first (at most the last 10,000).
func (s *Server) Requests() []LoggedRequest {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]LoggedRequest(nil), s.requests...)
}

// Load returns the requests that arrived in each second of Config.Now's
// clock since Start, oldest first; seconds without a request are left out.
// Unlike the request log it is never trimmed (one entry a second).
func (s *Server) Load() []SecondLoad {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make([]SecondLoad, 0, len(s.load))
	for _, l := range s.load {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b SecondLoad) int { return a.Second.Compare(b.Second) })
	return out
}

// Stats returns the counters of the FHIR port.
func (s *Server) Stats() Stats {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	st := s.stats
	st.ByStatus = make(map[int]int64, len(s.stats.ByStatus))
	for k, v := range s.stats.ByStatus {
		st.ByStatus[k] = v
	}
	return st
}
