package centre

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
func (c *Client) Probe(ctx context.Context) error {
	const op = "probe Prescription Centre"
	a, err := c.do(ctx, request{op: op, method: http.MethodGet, target: "metadata"})
	if err != nil {
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
func (c *Client) FindPatient(ctx context.Context, code string) (rx.Patient, error) {
	const op = "find patient"
	id, err := hetu.Parse(code)
	if err != nil {
		return rx.Patient{}, notSent(op, err)
	}
	q := url.Values{"identifier": {rx.SystemHETU + "|" + id.String()}}
	res, err := c.search(ctx, op, "Patient?"+q.Encode(), "Patient")
	if err != nil {
		return rx.Patient{}, err
	}
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
		return rx.Patient{}, badAnswer(op, res.last, tagf(ErrBadResponse, "the patient returned has another identity code"))
	}
	return p, nil
}

// Prescriptions lists the patient's prescriptions, every status, with their
// medicines, following the Bundle's next links.
func (c *Client) Prescriptions(ctx context.Context, code string) ([]rx.Prescription, error) {
	const op = "list prescriptions"
	id, err := hetu.Parse(code)
	if err != nil {
		return nil, notSent(op, err)
	}
	res, err := c.listPrescriptions(ctx, op, id.String())
	if err != nil {
		return nil, err
	}
	out := make([]rx.Prescription, 0, len(res.matches))
	for _, m := range res.matches {
		p, err := decodePrescription(m, res.includes, id.String())
		if err != nil {
			return nil, badAnswer(op, res.last, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func (c *Client) listPrescriptions(ctx context.Context, op, code string) (*searchResult, error) {
	q := url.Values{
		"patient.identifier": {rx.SystemHETU + "|" + code},
		"_include":           {"MedicationRequest:medication"},
	}
	if c.cfg.PageSize > 0 {
		q.Set("_count", strconv.Itoa(c.cfg.PageSize))
	}
	return c.search(ctx, op, "MedicationRequest?"+q.Encode(), "MedicationRequest")
}

// Prescription reads one prescription by its Prescription Centre id, with
// Version from the ETag. No such prescription is a Permanent *Error with
// status 404 (rx.ENOTFOUND).
//
// The contract has no read of a Medication, so the medicine comes from the
// patient's listing with _include, and the patient's identity code from a
// read of the Patient: three requests.
func (c *Client) Prescription(ctx context.Context, id string) (rx.Prescription, error) {
	const op = "read prescription"
	if !validID(id) {
		return rx.Prescription{}, notSent(op, errors.New("the prescription id is not a Prescription Centre id"))
	}
	a, err := c.do(ctx, request{op: op, method: http.MethodGet, target: "MedicationRequest/" + id})
	if err != nil {
		return rx.Prescription{}, err
	}
	var mr medicationRequest
	if err := decode(a.body, "MedicationRequest", &mr); err != nil {
		return rx.Prescription{}, badAnswer(op, a, err)
	}
	if mr.ID != id {
		return rx.Prescription{}, badAnswer(op, a, tagf(ErrBadResponse, "asked for prescription %s, got %s", id, quoteShort(mr.ID)))
	}
	code, err := c.subjectHETU(ctx, op, a, mr.Subject)
	if err != nil {
		return rx.Prescription{}, err
	}
	meds := map[string]json.RawMessage{}
	if mr.MedicationReference != nil {
		res, err := c.listPrescriptions(ctx, op, code)
		if err != nil {
			return rx.Prescription{}, err
		}
		meds = res.includes
	}
	p, err := decodePrescription(a.body, meds, code)
	if err != nil {
		return rx.Prescription{}, badAnswer(op, a, err)
	}
	if v := etagVersion(a.header.Get("ETag")); v != "" {
		p.Version = v
	}
	return p, nil
}

// subjectHETU finds the identity code of a prescription's subject: in a
// logical reference, or by reading Patient/<id>.
func (c *Client) subjectHETU(ctx context.Context, op string, a *answer, subject *reference) (string, error) {
	switch {
	case subject == nil:
		return "", badAnswer(op, a, tagf(ErrBadResponse, "the prescription has no subject"))
	case subject.Identifier != nil && subject.Identifier.System == rx.SystemHETU:
		return strings.ToUpper(subject.Identifier.Value), nil
	}
	pid, ok := strings.CutPrefix(subject.Reference, "Patient/")
	if !ok || !validID(pid) {
		return "", badAnswer(op, a, tagf(ErrBadResponse, "the prescription's subject %s is not a Patient reference", quoteShort(subject.Reference)))
	}
	pa, err := c.do(ctx, request{op: op, method: http.MethodGet, target: "Patient/" + pid})
	if err != nil {
		return "", err
	}
	p, err := decodePatient(pa.body)
	if err != nil {
		return "", badAnswer(op, pa, err)
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
	if len(strings.TrimSpace(string(a.body))) > 0 && resourceTypeOf(a.body) != "OperationOutcome" {
		var err error
		if rc, err = receiptFromResource(a.body, resourceType, urn); err != nil {
			return Receipt{}, badAnswer(op, a, err)
		}
	} else {
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
	res, err := c.search(ctx, op, resourceType+"?"+q.Encode(), resourceType)
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

// search runs a search and follows its next links.
func (c *Client) search(ctx context.Context, op, target, want string) (*searchResult, error) {
	res := &searchResult{includes: map[string]json.RawMessage{}}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		a, err := c.do(ctx, request{op: op, method: http.MethodGet, target: target})
		if err != nil {
			return nil, err
		}
		res.last, res.requestID = a, a.requestID
		pg, err := decodeSearch(a.body, want)
		if err != nil {
			return nil, badAnswer(op, a, err)
		}
		res.matches = append(res.matches, pg.matches...)
		for k, v := range pg.includes {
			res.includes[k] = v
		}
		if pg.next == "" {
			return res, nil
		}
		seen[target] = true
		if seen[pg.next] || page >= maxPages {
			return nil, badAnswer(op, a, tagf(ErrBadResponse, "the search's next links loop or go on past %d pages", maxPages))
		}
		target = pg.next
	}
}
