package mode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// verdict is what one observation says about the Prescription Centre.
type verdict int

const (
	ignored  verdict = iota // says nothing: the caller gave up, or a request was refused on its merits
	answered                // the Prescription Centre answered
	busy                    // it answered, but is throttling (429): up, yet not a sign of recovery
	failed                  // it did not answer usefully: a fault
)

// judgeProbe classifies a health probe's result. Every probe error is a
// failure except throttling: /metadata should always answer.
func judgeProbe(err error) verdict {
	switch {
	case err == nil:
		return answered
	case status(err) == http.StatusTooManyRequests:
		return busy
	}
	return failed
}

// judgeCall classifies a real call's result. Only a transient failure means
// a fault: a 422 or a 409 is the Prescription Centre answering about the
// record, and a cancelled call is the caller giving up.
func judgeCall(err error) verdict {
	switch {
	case err == nil:
		return answered
	case errors.Is(err, context.Canceled):
		return ignored
	case status(err) == http.StatusTooManyRequests:
		return busy
	case transient(err):
		return failed
	}
	return ignored
}

// transient reports whether err is a failure that trying later may cure:
// a *centre.Error of class Transient, an rx error coded EUNAVAILABLE, or a
// bare network error or timeout.
func transient(err error) bool {
	var ce *centre.Error
	if errors.As(err, &ce) {
		return ce.Class == centre.Transient
	}
	if rx.ErrorCode(err) == rx.EUNAVAILABLE {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// status is the HTTP status of the answer behind err, 0 when there was none.
func status(err error) int {
	var ce *centre.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

// maxCause bounds a cause taken from an error's text.
const maxCause = 120

// describe names the cause of a failure in a few words, for the mode-change
// record and the status line: "connection refused", "HTTP 503".
func describe(err error) string {
	var dns *net.DNSError
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &dns):
		return "cannot resolve " + dns.Name
	case errors.Is(err, centre.ErrCertificate) || errors.As(err, &cve) || errors.As(err, &ua):
		return "certificate problem"
	case errors.Is(err, centre.ErrTruncated), errors.Is(err, io.ErrUnexpectedEOF):
		return "answer cut off"
	case errors.Is(err, io.EOF):
		return "connection closed without an answer"
	case errors.Is(err, centre.ErrSilent):
		return "no connection: nothing answers"
	case errors.Is(err, centre.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	case status(err) != 0:
		return fmt.Sprintf("HTTP %d", status(err))
	case errors.Is(err, centre.ErrBadResponse):
		return "not a valid FHIR answer"
	}
	s := []rune(err.Error())
	if len(s) > maxCause {
		return string(s[:maxCause]) + "…"
	}
	return string(s)
}
