package centre

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Class says what a caller should do about a failed call. queue/ retries
// Transient, rejects Permanent and re-reads then raises Conflict (DESIGN §6).
type Class int

// Classes of failure.
const (
	// Transient failures may succeed when tried again later: network
	// errors, timeouts, a cut-off answer, 408, 429, 502, 503, 504 and other
	// 5xx answers. RetryAfter, when set, is the server's floor for the wait.
	Transient Class = iota + 1
	// Permanent failures will fail the same way every time: 400, 404 on a
	// read, 413, 415, 422 (a business rule), an answer that is not the
	// FHIR it should be, and a request tiski refused to send because it is
	// incomplete.
	Permanent
	// Conflict means the upstream state disagrees with ours: 409 (locked
	// by another pharmacy, or a version conflict) and 412 (a conditional
	// create or reference matched several resources). Re-read, then let a
	// pharmacist decide.
	Conflict
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Conflict:
		return "conflict"
	}
	return "unknown"
}

// Sentinel causes, for errors.Is on an *Error.
var (
	// ErrTimeout: the Prescription Centre did not answer within the timeout.
	ErrTimeout = errors.New("no answer within the timeout")
	// ErrSilent: a health probe could not even connect (TCP and TLS
	// handshake) within Config.ProbeConnectTimeout: nothing answers, as
	// behind a dead route. It comes with ErrTimeout.
	ErrSilent = errors.New("nothing answers")
	// ErrTruncated: the answer was cut off before its end.
	ErrTruncated = errors.New("the answer was cut off")
	// ErrTooLarge: the answer was larger than Config.MaxResponseBytes.
	ErrTooLarge = errors.New("the answer is larger than the limit")
	// ErrBadResponse: the answer was complete but not the FHIR it should be.
	ErrBadResponse = errors.New("the answer is not the expected FHIR resource")
	// ErrNotFound: a search found nothing (no such patient).
	ErrNotFound = errors.New("not found")
	// ErrMultipleMatches: a search that should find one record found
	// several.
	ErrMultipleMatches = errors.New("several matches")
	// ErrCertificate: TLS failed because of a certificate: the server
	// refused tiski's client certificate, or tiski could not verify the
	// server's against the CA bundle.
	ErrCertificate = errors.New("certificate problem")
	// ErrNotSent: tiski refused to send an incomplete or invalid request.
	ErrNotSent = errors.New("not sent")
	// ErrWrongPatient: the answer was about another patient than the one
	// asked for (issue 22, criterion (d)); nothing of it was returned.
	ErrWrongPatient = errors.New("the Prescription Centre answered about another patient")
)

// Error is every failure of a Prescription Centre call. It never contains a
// full personal identity code.
type Error struct {
	Op     string // what was being done, verb and object: "record dispensing"
	Class  Class
	Status int // HTTP status, 0 when there was no answer; see StatusOf

	// From the OperationOutcome, when the answer carried one.
	IssueCode   string // issue.code: business-rule, lock-error, throttled, ...
	Reason      string // outcome-reason code: expired, locked, over-dispensed, has-dispensings, ...; see ReasonOf
	Text        string // details.text, in Finnish, shown as it comes
	Diagnostics string // diagnostics, in English

	RetryAfter time.Duration // from Retry-After; 0 when absent
	RequestID  string        // X-Request-Id of the request, for the server's log
	Err        error         // the cause: a network error or one of the Err* sentinels

	write bool // the request was a write
}

// Error reads well for a pharmacist or an IT person.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.summary())
	return b.String()
}

func (e *Error) summary() string {
	outcome := e.outcomeText()
	switch {
	case errors.Is(e.Err, ErrNotSent):
		return "not sent to the Prescription Centre: " + e.Err.Error()
	case errors.Is(e.Err, ErrTimeout):
		return "the Prescription Centre did not answer in time (" + e.Err.Error() + "); try again later"
	case errors.Is(e.Err, ErrCertificate):
		return "the secure connection to the Prescription Centre failed: " + e.Err.Error()
	case errors.Is(e.Err, ErrTruncated):
		return "the Prescription Centre's answer was cut off (" + e.Err.Error() + "); try again later"
	case errors.Is(e.Err, ErrTooLarge):
		return "the Prescription Centre's answer is too large: " + e.Err.Error()
	case errors.Is(e.Err, ErrWrongPatient):
		return "the Prescription Centre answered about another patient than the one asked for; nothing of it is shown. " +
			"This may put patient privacy at risk: tell your helpdesk, who report it to Kela's technical support"
	case errors.Is(e.Err, ErrBadResponse):
		return "the Prescription Centre's answer is not valid: " + e.Err.Error()
	case errors.Is(e.Err, ErrNotFound), errors.Is(e.Err, ErrMultipleMatches):
		return e.Err.Error()
	case e.Status == 0 && connectionCut(e.Err):
		s := "the connection to the Prescription Centre broke before the answer (" + e.Err.Error() + ")"
		if e.write {
			// Every write of this client is a conditional create or an
			// idempotent void.
			s += "; the record may have been stored, and sending it again is safe"
		}
		return s + "; try again later"
	case e.Status == 0 && e.Err != nil:
		return "cannot reach the Prescription Centre (" + e.Err.Error() + "); try again later"
	case e.Status == http.StatusTooManyRequests:
		return "the Prescription Centre is throttling requests (429)" + e.retryText()
	case e.Status == http.StatusServiceUnavailable:
		return "the Prescription Centre is temporarily unavailable (503)" + withOutcome(outcome) + e.retryText()
	case e.Status >= 500 || e.Status == http.StatusRequestTimeout:
		return fmt.Sprintf("the Prescription Centre failed (%d %s)", e.Status, http.StatusText(e.Status)) + withOutcome(outcome) + e.retryText()
	case e.Status == http.StatusNotFound:
		if outcome == "" {
			outcome = "404 Not Found"
		}
		return "not found in the Prescription Centre: " + outcome
	case e.Status >= 400:
		if outcome == "" {
			outcome = fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
		}
		what := "the request"
		if n := opNoun(e.Op); n != "" {
			what = n
		}
		return fmt.Sprintf("Prescription Centre refused %s: %s", what, outcome)
	}
	return e.Class.String() + " failure"
}

// connectionCut reports whether err is a connection closed or reset after
// the request went out.
func connectionCut(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// kindError is a cause tagged with one of the Err* sentinels: its text is the
// cause's, and errors.Is finds both.
type kindError struct {
	kind  error
	cause error
}

func (k *kindError) Error() string { return k.cause.Error() }

func (k *kindError) Unwrap() []error { return []error{k.kind, k.cause} }

// tag returns cause tagged with kind.
func tag(kind, cause error) error {
	if cause == nil {
		return kind
	}
	return &kindError{kind: kind, cause: cause}
}

// tagf tags a formatted cause with kind.
func tagf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, cause: fmt.Errorf(format, args...)}
}

// outcomeText is "Diagnostics — Text (reason)", from what is present.
func (e *Error) outcomeText() string {
	var parts []string
	if e.Diagnostics != "" {
		parts = append(parts, e.Diagnostics)
	}
	if e.Text != "" && e.Text != e.Diagnostics {
		parts = append(parts, e.Text)
	}
	s := strings.Join(parts, " — ")
	if e.Reason != "" {
		if s == "" {
			s = e.Reason
		} else {
			s += " (" + e.Reason + ")"
		}
	}
	return s
}

func withOutcome(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func (e *Error) retryText() string {
	if e.RetryAfter > 0 {
		return "; retry after " + e.RetryAfter.String()
	}
	return "; try again later"
}

// opNoun turns "record dispensing" into "the dispensing" and "void
// dispensing" into "the void of the dispensing"; a read or a search is "the
// request".
func opNoun(op string) string {
	if obj, ok := strings.CutPrefix(op, "record "); ok {
		return "the " + obj
	}
	if obj, ok := strings.CutPrefix(op, "void "); ok {
		return "the void of the " + obj
	}
	return ""
}

// Code is the rx error code for the failure: EUNAVAILABLE for Transient,
// ECONFLICT for Conflict, and for Permanent ENOTFOUND (a read or search
// found nothing), EREJECTED (a business rule, 422), EINVALID (a malformed
// request: 400, 413, 415, or one tiski refused to send), EFORBIDDEN (401,
// 403) or EINTERNAL (an answer that is not the expected FHIR).
func (e *Error) Code() string {
	switch e.Class {
	case Transient:
		return rx.EUNAVAILABLE
	case Conflict:
		return rx.ECONFLICT
	}
	switch {
	case e.Status == http.StatusNotFound || errors.Is(e.Err, ErrNotFound):
		return rx.ENOTFOUND
	case e.Status == http.StatusUnprocessableEntity:
		return rx.EREJECTED
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return rx.EFORBIDDEN
	case e.Status >= 400 || errors.Is(e.Err, ErrNotSent):
		return rx.EINVALID
	}
	return rx.EINTERNAL
}

// Unwrap gives errors.Is and errors.As both the cause and an *rx.Error with
// Code and the same message, so rx.ErrorCode works on a centre error.
func (e *Error) Unwrap() []error {
	errs := []error{&rx.Error{Code: e.Code(), Message: e.Error()}}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Temporary reports whether trying again later may succeed.
func (e *Error) Temporary() bool { return e.Class == Transient }

// StatusOf returns the HTTP status of the first *Error in err's chain: 0
// when there was no answer (a network error, a timeout, a request not
// sent) or err holds no *Error.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// ReasonOf returns the outcome-reason code of the first *Error in err's
// chain (expired, locked, over-dispensed, has-dispensings, ...; README,
// "Errors"), or "" when the answer carried none.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ClassOf returns the Class of the first *Error in err's chain, or 0.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return 0
}

// classify maps an HTTP error status to a Class.
func classify(status int) Class {
	switch {
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		return Conflict
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		return Transient
	case status >= 500:
		// 502, 503 and 504 are the classic ones. Any other 5xx is the
		// server's trouble, not the record's: retrying with backoff is
		// safe because every create is conditional.
		return Transient
	}
	return Permanent
}

// ParseRetryAfter reads a Retry-After value in either form: delay-seconds
// ("5") or an HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT"), the latter
// relative to now. It returns false when the value is absent or malformed; a
// date in the past gives 0.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		const maxSeconds = int64(365 * 24 * 3600) // absurd values are capped, not overflowed
		return time.Duration(min(n, maxSeconds)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// parseOutcome reads an OperationOutcome and fills e's outcome fields from
// its first error issue. It reports whether b was an OperationOutcome.
func (e *Error) parseOutcome(b []byte) bool {
	var oo operationOutcome
	if json.Unmarshal(b, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		return false
	}
	is := oo.Issue[0]
	for _, i := range oo.Issue {
		if i.Severity == "error" || i.Severity == "fatal" {
			is = i
			break
		}
	}
	e.IssueCode = is.Code
	e.Diagnostics = scrub(is.Diagnostics)
	if is.Details != nil {
		e.Text = scrub(is.Details.Text)
		if c, ok := is.Details.code(csOutcomeReason); ok {
			e.Reason = c.Code
		}
	}
	return true
}

// hetuLike matches anything shaped like a personal identity code.
var hetuLike = regexp.MustCompile(`\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b`)

// scrub masks identity codes in text from the server, so that an error
// message or a log line built from it never carries one.
func scrub(s string) string {
	return hetuLike.ReplaceAllStringFunc(s, hetu.Mask)
}

// fieldPharmacy is the field of a request's problem with the pharmacy's
// identity, which Misconfigured recognises.
const fieldPharmacy = "pharmacy"

// Misconfigured reports whether err is a request tiski refused to send
// because of this client's configuration rather than the record: the
// pharmacy's organisation OID missing from both the record and Config.
// Nothing reached the Prescription Centre, and the same record is sent
// once the configuration is fixed (tiski queue retry --rejected). Any
// other problem in the same request makes it no configuration refusal.
func Misconfigured(err error) bool {
	var v *rx.ValidationError
	if !errors.Is(err, ErrNotSent) || !errors.As(err, &v) || len(v.Problems) == 0 {
		return false
	}
	for _, p := range v.Problems {
		if p.Field != fieldPharmacy {
			return false
		}
	}
	return true
}
