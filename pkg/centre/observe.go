package centre

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Operation classes of a call, as the fault log (issue 22) counts them.
const (
	OpRead   = "read"   // a read of one known resource: a prescription by id, a record's landing
	OpSearch = "search" // a search by the patient: find patient, list prescriptions
	OpWrite  = "write"  // anything that may change something upstream
	OpProbe  = "probe"  // the health probe's CapabilityStatement
)

// Outcome classes of a call: what a person deciding where a fault lies
// needs to tell apart, and nothing about the patient.
const (
	OutcomeOK        = "ok"        // a 2xx answer
	OutcomeRefused   = "refused"   // the connection was refused: nothing listens
	OutcomeSilent    = "silent"    // no connection within the probe's bound: a black hole
	OutcomeTimeout   = "timeout"   // connected (or not) but no answer within the timeout
	OutcomeTLS       = "tls"       // a certificate or handshake failure
	OutcomeDNS       = "dns"       // the host name did not resolve
	OutcomeCut       = "cut"       // the connection broke before the answer ended
	OutcomeThrottled = "throttled" // 429
	Outcome5xx       = "5xx"       // a server error
	Outcome4xx       = "4xx"       // a client error other than 429
	OutcomeBad       = "bad"       // an answer that is not what the contract says
	OutcomeNetwork   = "network"   // any other failure to get an answer
	// OutcomeWrongPatient: a 2xx answer about another patient than the one
	// asked for (issue 22, criterion (d)). It is noted instead of the
	// exchange's ok, once the client has read the answer (request.hold).
	OutcomeWrongPatient = "wrong-patient"
)

// Call is one HTTP exchange of the client, as an Observer sees it. It holds
// no URL, no body and no identity code: only what classifies the call.
type Call struct {
	Time    time.Time     // when it was sent
	Op      string        // OpRead, OpSearch, OpWrite or OpProbe
	Outcome string        // one of the Outcome* classes
	Status  int           // HTTP status; 0 when there was no answer
	Latency time.Duration // from sending to the end of the answer or the failure
}

// Observer is told of every call the client makes, after it ends (an
// answer whose patient is checked, once it is checked). It runs
// on the caller's goroutine, so it must only note the call and return (a
// channel send, an append to a buffer): the fault log batches its writes
// elsewhere.
type Observer func(Call)

// opClass is the operation class of r.
func opClass(r request) string {
	switch {
	case r.probe:
		return OpProbe
	case r.write():
		return OpWrite
	}
	switch r.op {
	case "find patient", "list prescriptions":
		return OpSearch
	}
	return OpRead
}

// outcomeOf classifies the end of a call: e is nil for a usable 2xx answer.
func outcomeOf(status int, e *Error) string {
	if e == nil {
		return OutcomeOK
	}
	switch {
	case status == http.StatusTooManyRequests:
		return OutcomeThrottled
	case status >= 500:
		return Outcome5xx
	case status >= 400:
		return Outcome4xx
	case status >= 200:
		if errors.Is(e.Err, ErrTimeout) {
			return OutcomeTimeout
		}
		if errors.Is(e.Err, ErrTruncated) {
			return OutcomeCut
		}
		return OutcomeBad
	}
	var dns *net.DNSError
	var rec tls.RecordHeaderError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.Is(e.Err, ErrSilent):
		return OutcomeSilent
	case errors.As(e.Err, &dns):
		return OutcomeDNS
	case errors.Is(e.Err, ErrCertificate), errors.As(e.Err, &rec), errors.As(e.Err, &ua):
		return OutcomeTLS
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		return OutcomeRefused
	case errors.Is(e.Err, ErrTimeout):
		return OutcomeTimeout
	case connectionCut(e.Err):
		return OutcomeCut
	}
	return OutcomeNetwork
}

// observe tells the Observer, if any, of a call that ended.
func (c *Client) observe(ctx context.Context, r request, start time.Time, status int, e *Error) {
	if c.cfg.Observer == nil {
		return
	}
	if e != nil && r.probe && errors.Is(context.Cause(ctx), ErrSilent) {
		// Probe re-tags it after do returns; the class is known now.
		c.cfg.Observer(Call{Time: start, Op: OpProbe, Outcome: OutcomeSilent, Latency: time.Since(start)})
		return
	}
	c.cfg.Observer(Call{Time: start, Op: opClass(r), Outcome: outcomeOf(status, e), Status: status, Latency: time.Since(start)})
}
