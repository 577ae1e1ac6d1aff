package centre

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Option changes how a record is sent.
type Option func(*options)

type options struct {
	override string
	err      error
}

// WithOverride sends a pharmacist's reason for standing by a dispensing the
// Prescription Centre refused: the medicine was handed over during a fault
// and the conflict was reviewed (e.g. "prescriber consulted"). The
// Prescription Centre then accepts a dispensing refused only as completed
// (dispensed elsewhere), over-dispensed, expired or cancelled; it never
// overrides locked, unknown-patient, unknown-prescription, patient-mismatch
// or narcotic-by-telephone. An empty reason is not sent (ErrNotSent).
func WithOverride(reason string) Option {
	return func(o *options) {
		o.override = strings.TrimSpace(reason)
		if o.override == "" {
			o.err = errors.New("the override reason is empty")
		}
	}
}

func collect(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o, o.err
}

// VoidDispensing marks the dispensing recorded with the journal record id
// as entered in error, with the reason, and so gives its quantity back to
// the prescription. It finds the dispensing by its record id, then updates
// it with If-Match on the version it found: a change in between is a
// Conflict (412); read again and retry. A record that never landed is a
// Permanent *Error with ErrNotFound. Voiding a voided record succeeds again
// without a request to change it (Receipt.Status is entered-in-error).
func (c *Client) VoidDispensing(ctx context.Context, recordID, reason string) (Receipt, error) {
	return c.void(ctx, "void dispensing", "MedicationDispense", "statusReasonCodeableConcept", recordID, reason)
}

// VoidPrescription marks the pharmacy-recorded prescription with the
// journal record id as entered in error, as VoidDispensing does. The
// Prescription Centre refuses it while a dispensing of it stands (409
// Conflict, reason has-dispensings: void those first) and for an
// e-prescription (422, reason not-recorded-here).
func (c *Client) VoidPrescription(ctx context.Context, recordID, reason string) (Receipt, error) {
	return c.void(ctx, "void prescription", "MedicationRequest", "statusReason", recordID, reason)
}

// void finds the record, and PUTs it back with status entered-in-error:
// the resource as served, so that nothing else changes.
func (c *Client) void(ctx context.Context, op, resourceType, reasonElement, recordID, reason string) (Receipt, error) {
	urn, err := recordURN(recordID)
	if err != nil {
		return Receipt{}, notSent(op, err)
	}
	q := url.Values{"identifier": {rx.SystemRecordUUID + "|" + urn}}
	res, err := c.search(ctx, op, resourceType, q, false)
	if err != nil {
		return Receipt{}, err
	}
	what := strings.TrimPrefix(op, "void ")
	res.matches = withRecordIdentifier(res.matches, urn)
	switch n := len(res.matches); {
	case n == 0:
		return Receipt{}, &Error{Op: op, Class: Permanent, RequestID: res.requestID,
			Err: tagf(ErrNotFound, "no %s with record id %s in the Prescription Centre", what, strings.TrimPrefix(urn, "urn:uuid:"))}
	case n > 1:
		return Receipt{}, &Error{Op: op, Class: Conflict, RequestID: res.requestID,
			Err: tagf(ErrMultipleMatches, "%d records carry the record id %s", n, strings.TrimPrefix(urn, "urn:uuid:"))}
	}
	found := res.matches[0]
	rc, err := receiptFromResource(found, resourceType, urn)
	if err != nil {
		return Receipt{}, badAnswer(op, res.last, err)
	}
	if !validID(rc.ID) {
		return Receipt{}, badAnswer(op, res.last, tagf(ErrBadResponse, "the %s's id %s is not a FHIR id", what, quoteShort(rc.ID)))
	}
	if rc.Status == statusEnteredInError {
		return rc, nil
	}
	body, err := voidBody(found, reasonElement, reason)
	if err != nil {
		return Receipt{}, badAnswer(op, res.last, err)
	}
	headers := map[string]string{"Prefer": preferRepresentation}
	if rc.Version != "" {
		headers["If-Match"] = `W/"` + rc.Version + `"`
	}
	a, err := c.do(ctx, request{op: op, method: http.MethodPut, target: resourceType + "/" + rc.ID, body: body, headers: headers})
	if err != nil {
		return Receipt{}, err
	}
	out, err := receiptFromResource(a.body, resourceType, urn)
	if err != nil {
		return Receipt{}, badAnswer(op, a, err)
	}
	if out.Status != statusEnteredInError {
		return Receipt{}, badAnswer(op, a, tagf(ErrBadResponse, "the %s is %s after the void, not entered-in-error", what, quoteShort(out.Status)))
	}
	if v := etagVersion(a.header.Get("ETag")); v != "" {
		out.Version = v
	}
	return out, nil
}

// voidBody is the resource found, as served, with status entered-in-error
// and the reason: every other element is kept as it is (the Prescription
// Centre refuses any other change), and meta is left to the server.
func voidBody(found []byte, reasonElement, reason string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(found, &fields); err != nil || fields == nil {
		return nil, tagf(ErrBadResponse, "the record found is not a JSON object")
	}
	delete(fields, "meta")
	fields["status"] = mustJSON(statusEnteredInError)
	delete(fields, reasonElement)
	if r := strings.TrimSpace(reason); r != "" {
		fields[reasonElement] = mustJSON(codeableConcept{Text: r})
	}
	return json.Marshal(fields)
}
