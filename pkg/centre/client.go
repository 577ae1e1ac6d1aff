package centre

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// maxPages bounds how many next links a listing follows, so that a server
// looping its links cannot keep a call going until the timeout.
const maxPages = 100

// notSent is the error for a request tiski refuses to send.
func notSent(op string, err error) *Error {
	return &Error{Op: op, Class: Permanent, Err: tag(ErrNotSent, err)}
}

// badAnswer is the error for a 2xx answer that cannot be used. A body cut
// off is Transient; anything else Permanent, since asking again gets the
// same answer.
func badAnswer(op string, a *answer, err error) *Error {
	class := Permanent
	if errors.Is(err, ErrTruncated) {
		class = Transient
	}
	return &Error{Op: op, Class: class, Status: a.status, RequestID: a.requestID, Err: err}
}

// Probe asks for the CapabilityStatement: the health check of DESIGN §3.
//
// It tells a silent Prescription Centre from a slow one (DESIGN §10). Each
// probe opens a fresh connection (hedged: see Config.ProbeConnectTimeout).
// When the TCP connect and TLS handshake are not done within
// ProbeConnectTimeout, nothing answers at all, not even the network stack
// at the far end: Probe fails at once with a Transient ErrTimeout. Once
// connected, the service is there: Probe waits for the answer as long as
// ctx and Config.Timeout allow, so a service that takes a second to answer
// is slow, never down.
func (c *Client) Probe(ctx context.Context) error {
	const op = "probe Prescription Centre"
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var connected atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	bound := c.cfg.ProbeConnectTimeout
	silence := time.AfterFunc(bound, func() {
		if !connected.Load() {
			cancel(ErrSilent)
		}
	})
	defer silence.Stop()
	a, err := c.do(ctx, request{op: op, method: http.MethodGet, target: "metadata", probe: true})
	if err != nil {
		// The transport's own connect and handshake timeouts are the
		// same bound, and may fire first.
		if errors.Is(context.Cause(ctx), ErrSilent) || (!connected.Load() && errors.Is(err, ErrTimeout)) {
			var e *Error
			if errors.As(err, &e) {
				e.Class = Transient
				e.Err = tagf(ErrTimeout, "no connection within %s: %w", bound, ErrSilent)
			}
		}
		return err
	}
	var cs struct {
		FHIRVersion string `json:"fhirVersion"`
	}
	if err := decode(a.body, "CapabilityStatement", &cs); err != nil {
		return badAnswer(op, a, err)
	}
	if cs.FHIRVersion != "" && !strings.HasPrefix(cs.FHIRVersion, "4.0.") {
		return badAnswer(op, a, tagf(ErrBadResponse, "the server speaks FHIR %s, not R4 (4.0.1)", quoteShort(cs.FHIRVersion)))
	}
	return nil
}

// FindPatient looks up the patient with the personal identity code. No
// such patient is a Permanent *Error with ErrNotFound (rx.ENOTFOUND).
func (c *Client) FindPatient(ctx context.Context, code string) (_ rx.Patient, err error) {
	const op = "find patient"
	id, err := hetu.Parse(code)
	if err != nil {
		return rx.Patient{}, notSent(op, err)
	}
	q := url.Values{"identifier": {rx.SystemHETU + "|" + id.String()}}
	res, err := c.search(ctx, op, "Patient", q, true)
	if err != nil {
		return rx.Patient{}, err
	}
	defer func() { c.settle(res, err) }()
	switch n := len(res.matches); {
	case n == 0:
		return rx.Patient{}, &Error{Op: op, Class: Permanent, RequestID: res.requestID,
			Err: tagf(ErrNotFound, "no patient with identity code %s in the Prescription Centre", id.Masked())}
	case n > 1:
		return rx.Patient{}, &Error{Op: op, Class: Conflict, RequestID: res.requestID,
			Err: tagf(ErrMultipleMatches, "%d patients have identity code %s", n, id.Masked())}
	}
	p, err := decodePatient(res.matches[0])
	if err != nil {
		return rx.Patient{}, badAnswer(op, res.last, err)
	}
	if p.HETU != id.String() {
		return rx.Patient{}, wrongPatient(op, res)
	}
	return p, nil
}

// Prescriptions lists the patient's prescriptions, every status, with their
// medicines, following the Bundle's next links.
func (c *Client) Prescriptions(ctx context.Context, code string) (_ []rx.Prescription, err error) {
	const op = "list prescriptions"
	id, err := hetu.Parse(code)
	if err != nil {
		return nil, notSent(op, err)
	}
	res, err := c.listPrescriptions(ctx, op, id.String())
	if err != nil {
		return nil, err
	}
	defer func() { c.settle(res, err) }()
	out := make([]rx.Prescription, 0, len(res.matches))
	renewed := renewals(res.includes)
	// The Patients already checked, by reference: one patient's list
	// refers to one Patient, decoded once rather than per prescription.
	checked := map[string]bool{}
	for _, m := range res.matches {
		// Criterion (d) of issue 22: every prescription shown must be the
		// asked patient's, checked against the Patient it refers to, not
		// assumed from the search.
		var mr struct {
			Subject *reference `json:"subject"`
		}
		if err := json.Unmarshal(m, &mr); err != nil {
			return nil, badAnswer(op, res.last, tag(ErrBadResponse, err))
		}
		if mr.Subject == nil || mr.Subject.Identifier != nil || !checked[mr.Subject.Reference] {
			code, err := subjectHETU(mr.Subject, res.includes)
			if err != nil {
				return nil, badAnswer(op, res.last, err)
			}
			if code != id.String() {
				return nil, wrongPatient(op, res)
			}
			if mr.Subject.Identifier == nil {
				checked[mr.Subject.Reference] = true
			}
		}
		p, err := decodePrescription(m, res.includes, id.String())
		if err != nil {
			return nil, badAnswer(op, res.last, err)
		}
		p.Renewal = renewed[p.ID]
		out = append(out, p)
	}
	return out, nil
}

func (c *Client) listPrescriptions(ctx context.Context, op, code string) (*searchResult, error) {
	q := url.Values{
		"patient.identifier": {rx.SystemHETU + "|" + code},
		// The Patient too: it holds the identity code that each
		// prescription's subject must match (issue 22, criterion (d)).
		"_include": {"MedicationRequest:medication", "MedicationRequest:patient"},
		// Open renewal requests, in the same answer (issue 23).
		"_revinclude": {"Task:focus"},
	}
	if c.cfg.PageSize > 0 {
		q.Set("_count", strconv.Itoa(c.cfg.PageSize))
	}
	return c.search(ctx, op, "MedicationRequest", q, true)
}

// Prescription reads one prescription by its Prescription Centre id, with
// Version from its meta.versionId. No such prescription is a Permanent
// *Error with ErrNotFound (rx.ENOTFOUND).
//
// patient is the identity code of the patient the caller expects the
// prescription to be about (a journal record, a conflict, the patient on
// the screen: every caller knows it). It is not optional: a read without
// it is not sent (ErrNotSent), so no caller can skip the check. An answer
// about anyone else is refused whole with ErrWrongPatient (issue 22,
// criterion (d)): nothing of it is returned.
//
// It is one request: a search by _id that includes the Medication and the
// Patient the prescription refers to. The contract has no read of a
// Medication by itself, and the patient's identity code is only in the
// Patient; a read of the MedicationRequest alone would need two more
// requests, one of them a search by identity code.
func (c *Client) Prescription(ctx context.Context, id, patient string) (_ rx.Prescription, err error) {
	const op = "read prescription"
	if !validID(id) {
		return rx.Prescription{}, notSent(op, errors.New("the prescription id is not a Prescription Centre id"))
	}
	want, err := hetu.Parse(patient)
	if err != nil {
		// Never the code itself in the error: it may be any text.
		return rx.Prescription{}, notSent(op, errors.New("no valid identity code of the patient expected, to check the answer against"))
	}
	q := url.Values{
		"_id":         {id},
		"_include":    {"MedicationRequest:medication", "MedicationRequest:patient"},
		"_revinclude": {"Task:focus"},
	}
	res, err := c.search(ctx, op, "MedicationRequest", q, true)
	if err != nil {
		return rx.Prescription{}, err
	}
	defer func() { c.settle(res, err) }()
	switch n := len(res.matches); {
	case n == 0:
		return rx.Prescription{}, &Error{Op: op, Class: Permanent, RequestID: res.requestID,
			Err: tagf(ErrNotFound, "no prescription %s in the Prescription Centre", id)}
	case n > 1:
		return rx.Prescription{}, badAnswer(op, res.last, tagf(ErrBadResponse, "asked for prescription %s, got %d", id, n))
	}
	raw := res.matches[0]
	var mr medicationRequest
	if err := decode(raw, "MedicationRequest", &mr); err != nil {
		return rx.Prescription{}, badAnswer(op, res.last, err)
	}
	// Whose it is comes first: an answer about another patient is the
	// privacy fault of criterion (d) (issue 22), whatever else is wrong
	// with it, and is counted as such.
	code, err := subjectHETU(mr.Subject, res.includes)
	if err != nil {
		return rx.Prescription{}, badAnswer(op, res.last, err)
	}
	if code != want.String() {
		return rx.Prescription{}, wrongPatient(op, res)
	}
	if mr.ID != id {
		return rx.Prescription{}, badAnswer(op, res.last, tagf(ErrBadResponse, "asked for prescription %s, got %s", id, quoteShort(mr.ID)))
	}
	p, err := decodePrescription(raw, res.includes, code)
	if err != nil {
		return rx.Prescription{}, badAnswer(op, res.last, err)
	}
	p.Renewal = renewals(res.includes)[p.ID]
	if p.Version == "" {
		// Callers send it back as If-Match and show it; a prescription
		// without one cannot be told from a later change.
		return rx.Prescription{}, badAnswer(op, res.last, tagf(ErrBadResponse, "prescription %s has no meta.versionId", id))
	}
	return p, nil
}

// wrongPatient refuses an answer about another patient than the one asked
// for (issue 22, criterion (d): a fault that may put patient privacy at
// risk). Nothing of the answer is returned, and the error names no
// identity code. The fault log counts it through settle.
func wrongPatient(op string, res *searchResult) *Error {
	return badAnswer(op, res.last, tag(ErrWrongPatient, nil))
}

// settle tells the Observer of a search's last exchange, held until the
// caller had checked whose the answer is (request.hold): wrong-patient when
// err says the answer was about another patient, else ok, as the exchange
// itself ended. One entry either way, with the exchange's own time, status
// and latency.
func (c *Client) settle(res *searchResult, err error) {
	outcome := OutcomeOK
	if errors.Is(err, ErrWrongPatient) {
		outcome = OutcomeWrongPatient
	}
	c.tell(res.last, outcome)
}

// tell passes a held call on to the Observer, once, as outcome.
func (c *Client) tell(a *answer, outcome string) {
	if a == nil || !a.held {
		return
	}
	a.held = false
	call := a.call
	call.Outcome = outcome
	c.cfg.Observer(call)
}

// subjectHETU finds the identity code of a prescription's subject: in a
// logical reference, or in the included Patient it refers to.
func subjectHETU(subject *reference, included map[string]json.RawMessage) (string, error) {
	switch {
	case subject == nil:
		return "", tagf(ErrBadResponse, "the prescription has no subject")
	case subject.Identifier != nil && subject.Identifier.System == rx.SystemHETU:
		return strings.ToUpper(subject.Identifier.Value), nil
	}
	pid, ok := strings.CutPrefix(subject.Reference, "Patient/")
	if !ok || !validID(pid) {
		return "", tagf(ErrBadResponse, "the prescription's subject %s is not a Patient reference", quoteShort(subject.Reference))
	}
	raw, ok := included[subject.Reference]
	if !ok {
		return "", tagf(ErrBadResponse, "the prescription refers to %s, which the answer did not include", quoteShort(subject.Reference))
	}
	p, err := decodePatient(raw)
	if err != nil {
		return "", err
	}
	return p.HETU, nil
}

// RecordDispensing records d with a conditional create on its record id:
// the first call creates it (Receipt.Created), any later one finds it. The
// performer organisation is d.Pharmacy, or Config.Pharmacy when d names
// none. An incomplete d is not sent: a Permanent *Error with ErrNotSent
// and an *rx.ValidationError listing every problem. WithOverride sends a
// pharmacist's override reason with it.
func (c *Client) RecordDispensing(ctx context.Context, d rx.Dispensing, opts ...Option) (Receipt, error) {
	const op = "record dispensing"
	o, err := collect(opts)
	if err != nil {
		return Receipt{}, notSent(op, err)
	}
	md, urn, err := c.dispensing(d, nil, o)
	if err != nil {
		return Receipt{}, notSent(op, err)
	}
	a, err := c.do(ctx, request{op: op, method: http.MethodPost, target: "MedicationDispense",
		body: mustJSON(md), headers: map[string]string{"If-None-Exist": ifNoneExist(urn), "Prefer": preferRepresentation}})
	if err != nil {
		return Receipt{}, err
	}
	return createdReceipt(op, a, "MedicationDispense", urn)
}

// preferRepresentation asks for the stored resource in the answer to a
// write (R4 http.html#ins), so that its identifier can be checked; a server
// that answers without it is read by its Location.
const preferRepresentation = "return=representation"

// createdReceipt reads the answer to a conditional create: the resource
// returned, whose identifier must be the record's, or else the Location
// when the body is empty or an OperationOutcome (R4 lets a server answer
// either way).
func createdReceipt(op string, a *answer, resourceType, urn string) (Receipt, error) {
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		return Receipt{}, badAnswer(op, a, tagf(ErrBadResponse, "unexpected HTTP status %d to a create", a.status))
	}
	var rc Receipt
	// One pass over the answer reads its type and the receipt: the answer
	// to every upload is read here, and reading it three times (its type,
	// then decode's two) was a tenth of a drain's client-side CPU. An
	// answer that does not read cleanly takes the slower path, whose
	// errors say what is wrong with it.
	var r returned
	body := bytes.TrimSpace(a.body)
	readOnce := len(body) > 0 && json.Unmarshal(body, &r) == nil
	switch {
	case readOnce && r.ResourceType == resourceType:
		var err error
		if rc, err = r.receipt(resourceType, urn); err != nil {
			return Receipt{}, badAnswer(op, a, err)
		}
	case len(body) > 0 && resourceTypeOf(body) != "OperationOutcome":
		var err error
		if rc, err = receiptFromResource(a.body, resourceType, urn); err != nil {
			return Receipt{}, badAnswer(op, a, err)
		}
	default:
		id, v, ok := parseLocation(a.header.Get("Location"), resourceType)
		if !ok {
			return Receipt{}, badAnswer(op, a, tagf(ErrBadResponse, "the answer has neither the %s nor its Location", resourceType))
		}
		rc = Receipt{ID: id, Version: v}
	}
	if rc.Version == "" {
		rc.Version = etagVersion(a.header.Get("ETag"))
	}
	rc.Created = a.status == http.StatusCreated
	return rc, nil
}

// TransactionReceipt says where a pharmacy-recorded prescription and its
// dispensings landed.
type TransactionReceipt struct {
	Prescription Receipt
	Dispensings  []Receipt // one per dispensing sent, in the order given
}

// RecordPrescription records a paper or telephone prescription p and its
// dispensings ds (none, one or several) in one transaction Bundle: all are
// stored or none. Each entry is a conditional create on its record id, and
// the patient is a conditional reference by identity code, so sending the
// same records again stores nothing new. The Prescription Centre applies the
// business rules to the dispensings in order and cumulatively: two that
// together exceed the prescription fail the whole Bundle (over-dispensed).
// WithOverride applies to every dispensing.
func (c *Client) RecordPrescription(ctx context.Context, p rx.Prescription, ds []rx.Dispensing, opts ...Option) (TransactionReceipt, error) {
	const op = "record prescription"
	o, err := collect(opts)
	if err != nil {
		return TransactionReceipt{}, notSent(op, err)
	}
	body, err := c.transaction(p, ds, o)
	if err != nil {
		return TransactionReceipt{}, notSent(op, err)
	}
	a, err := c.do(ctx, request{op: op, method: http.MethodPost, target: "", body: body,
		headers: map[string]string{"Prefer": preferRepresentation}})
	if err != nil {
		return TransactionReceipt{}, err
	}
	// The record of each entry, in the order sent: transaction() checked
	// every id already.
	urns := make([]string, 0, 1+len(ds))
	urn, _ := recordURN(p.RecordID)
	urns = append(urns, urn)
	for _, d := range ds {
		urn, _ := recordURN(d.ID)
		urns = append(urns, urn)
	}
	var bd bundle
	if err := decode(a.body, "Bundle", &bd); err != nil {
		return TransactionReceipt{}, badAnswer(op, a, err)
	}
	want := 1 + len(ds)
	if bd.Type != "transaction-response" || len(bd.Entry) != want {
		return TransactionReceipt{}, badAnswer(op, a, tagf(ErrBadResponse, "expected a transaction-response Bundle of %d entries, got %s with %d", want, quoteShort(bd.Type), len(bd.Entry)))
	}
	var tr TransactionReceipt
	for i, e := range bd.Entry {
		if e.Response == nil {
			return TransactionReceipt{}, badAnswer(op, a, tagf(ErrBadResponse, "transaction entry %d has no response", i+1))
		}
		rt := "MedicationDispense"
		if i == 0 {
			rt = "MedicationRequest"
		}
		status, _, _ := strings.Cut(strings.TrimSpace(e.Response.Status), " ")
		id, v, ok := parseLocation(e.Response.Location, rt)
		if !ok || (status != "200" && status != "201") {
			return TransactionReceipt{}, badAnswer(op, a, tagf(ErrBadResponse, "transaction entry %d: status %s, location %s", i+1, quoteShort(e.Response.Status), quoteShort(e.Response.Location)))
		}
		if v == "" {
			v = etagVersion(e.Response.Etag)
		}
		rc := Receipt{ID: id, Version: v, Created: status == "201"}
		if len(e.Resource) > 0 {
			// The answer's entries are in the order of the request (R4);
			// where the resource is returned, its identifier shows that
			// this entry is the record sent, and that the server kept
			// the record's identity. Without it, the order is relied on.
			var head struct {
				ResourceType string       `json:"resourceType"`
				Status       string       `json:"status"`
				Identifier   []identifier `json:"identifier"`
			}
			if json.Unmarshal(e.Resource, &head) == nil && head.ResourceType == rt {
				if !hasRecordIdentifier(head.Identifier, urns[i]) {
					return TransactionReceipt{}, badAnswer(op, a, tagf(ErrBadResponse,
						"transaction entry %d: the %s returned does not carry the record's identifier %s (the server reordered the entries or rewrote the identifier)", i+1, rt, urns[i]))
				}
				rc.Status = head.Status
			}
		}
		if i == 0 {
			tr.Prescription = rc
		} else {
			tr.Dispensings = append(tr.Dispensings, rc)
		}
	}
	return tr, nil
}

// DispensingLanded tells whether the dispensing with the journal record id
// is in the Prescription Centre, and where (Receipt.Created is false).
// Several matches are a Conflict.
func (c *Client) DispensingLanded(ctx context.Context, recordID string) (Receipt, bool, error) {
	return c.landed(ctx, "check dispensing", "MedicationDispense", recordID)
}

// PrescriptionLanded tells whether the pharmacy-recorded prescription with
// the journal record id is in the Prescription Centre, and where.
func (c *Client) PrescriptionLanded(ctx context.Context, recordID string) (Receipt, bool, error) {
	return c.landed(ctx, "check prescription", "MedicationRequest", recordID)
}

func (c *Client) landed(ctx context.Context, op, resourceType, recordID string) (Receipt, bool, error) {
	urn, err := recordURN(recordID)
	if err != nil {
		return Receipt{}, false, notSent(op, err)
	}
	q := url.Values{"identifier": {rx.SystemRecordUUID + "|" + urn}}
	res, err := c.search(ctx, op, resourceType, q, false)
	if err != nil {
		return Receipt{}, false, err
	}
	matches := withRecordIdentifier(res.matches, urn)
	switch n := len(matches); {
	case n == 0:
		return Receipt{}, false, nil
	case n > 1:
		return Receipt{}, false, &Error{Op: op, Class: Conflict, RequestID: res.requestID,
			Err: tagf(ErrMultipleMatches, "%d records carry the record id %s", n, strings.TrimPrefix(urn, "urn:uuid:"))}
	}
	rc, err := receiptFromResource(matches[0], resourceType, urn)
	if err != nil {
		return Receipt{}, false, badAnswer(op, res.last, err)
	}
	return rc, true, nil
}

// withRecordIdentifier keeps the matches that carry the record identifier
// urn. A search by identifier is filtered again here: a server that ignores
// a search parameter it does not support answers with every resource of
// the type (R4 search.html#errors allows it), and the one record must not
// be taken for several, or for another.
func withRecordIdentifier(matches []json.RawMessage, urn string) []json.RawMessage {
	var out []json.RawMessage
	for _, m := range matches {
		var r struct {
			Identifier []identifier `json:"identifier"`
		}
		if json.Unmarshal(m, &r) == nil && hasRecordIdentifier(r.Identifier, urn) {
			out = append(out, m)
		}
	}
	return out
}

// hasRecordIdentifier reports whether ids hold the record identifier urn.
func hasRecordIdentifier(ids []identifier, urn string) bool {
	for _, id := range ids {
		if id.System == rx.SystemRecordUUID && strings.EqualFold(id.Value, urn) {
			return true
		}
	}
	return false
}

// resourceTypeOf is the resourceType of a JSON resource, or "".
func resourceTypeOf(b []byte) string {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	_ = json.Unmarshal(b, &head)
	return head.ResourceType
}

// searchResult is a search's matches over all its pages.
type searchResult struct {
	matches   []json.RawMessage
	includes  map[string]json.RawMessage
	last      *answer // the last page's answer
	requestID string
}

// search runs a search of resourceType and follows its next links.
//
// With hold, the last page's exchange is held from the Observer for the
// caller to tell once it has checked the answer (settle); every earlier
// page, and any page the search itself fails on, is told here as it ended.
//
// Every search goes out as R4's POST [type]/_search with the parameters in
// a form body, never as GET [type]?…. Most of tiski's searches carry a
// personal identity code, and a query string ends up in the server's access
// log, in every proxy's and in the text of Go's *url.Error. Searches
// without one (by record id, by prescription id) take the same path, so
// that a new search cannot leak a code by taking the wrong one, and there
// is one way to page.
func (c *Client) search(ctx context.Context, op, resourceType string, params url.Values, hold bool) (*searchResult, error) {
	res := &searchResult{includes: map[string]json.RawMessage{}}
	r := request{op: op, method: http.MethodPost, target: resourceType + "/_search",
		body: []byte(params.Encode()), contentType: formURLEncoded, read: true, hold: hold}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		a, err := c.do(ctx, r)
		if err != nil {
			return nil, err
		}
		res.last, res.requestID = a, a.requestID
		pg, err := decodeSearch(a.body, resourceType)
		if err != nil {
			c.tell(a, OutcomeOK)
			return nil, badAnswer(op, a, err)
		}
		res.matches = append(res.matches, pg.matches...)
		for k, v := range pg.includes {
			res.includes[k] = v
		}
		if pg.next == "" {
			return res, nil
		}
		c.tell(a, OutcomeOK) // not the last page
		if seen[pg.next] || page >= maxPages {
			return nil, badAnswer(op, a, tagf(ErrBadResponse, "the search's next links loop or go on past %d pages", maxPages))
		}
		seen[pg.next] = true
		if r, err = c.nextPage(op, pg.next); err != nil {
			return nil, badAnswer(op, a, err)
		}
		r.hold = hold
	}
}

// nextPage is the request for a searchset's next link. A link the server
// made opaque (a page token, as the Prescription Centre's) is requested as
// it is, with GET. A link that repeats the search's parameters with an
// identity code among them is never put on a request line: its query goes
// to [type]/_search as a form body instead, which R4 defines to mean the
// same.
func (c *Client) nextPage(op, next string) (request, error) {
	u, err := c.resolve(next)
	if err != nil {
		return request{}, tag(ErrBadResponse, err)
	}
	if !holdsIdentityCode(u.RawQuery) {
		return request{op: op, method: http.MethodGet, target: next, read: true}, nil
	}
	path := strings.TrimRight(u.Path, "/")
	last := path[strings.LastIndex(path, "/")+1:]
	switch {
	case last == "_search":
	case resourceTypeName.MatchString(last):
		path += "/_search"
	default:
		return request{}, tagf(ErrBadResponse, "the search's next link holds an identity code and names no resource type to search by POST")
	}
	post := *u
	post.Path, post.RawPath, post.RawQuery = path, "", ""
	return request{op: op, method: http.MethodPost, target: post.String(),
		body: []byte(u.RawQuery), contentType: formURLEncoded, read: true}, nil
}

// resourceTypeName is the shape of a FHIR resource type's name.
var resourceTypeName = regexp.MustCompile(`^[A-Z][A-Za-z]+$`)

// identityCodeLike finds a personal identity code in a query string, in any
// case, with the century sign as it is or percent-encoded.
var identityCodeLike = regexp.MustCompile(`(?i)\d{6}(?:[-+A-FU-Y]|%2B|%2D)\d{3}[0-9A-Y]`)

// holdsIdentityCode reports whether a query string holds an identity code,
// raw or percent-encoded in any part.
func holdsIdentityCode(rawQuery string) bool {
	if identityCodeLike.MatchString(rawQuery) {
		return true
	}
	for _, unescape := range []func(string) (string, error){url.QueryUnescape, url.PathUnescape} {
		if q, err := unescape(rawQuery); err == nil && identityCodeLike.MatchString(q) {
			return true
		}
	}
	return false
}
