package centre

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// task is the FHIR R4 Task of a renewal request (issue 23), written from
// the contract in pkg/centresim/README.md and the R4 schema.
type task struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id,omitempty"`
	Meta         *meta            `json:"meta,omitempty"`
	Identifier   []identifier     `json:"identifier,omitempty"`
	Status       string           `json:"status,omitempty"`
	Intent       string           `json:"intent,omitempty"`
	Code         *codeableConcept `json:"code,omitempty"`
	Focus        *reference       `json:"focus,omitempty"`
	For          *reference       `json:"for,omitempty"`
	AuthoredOn   string           `json:"authoredOn,omitempty"`
	Requester    *reference       `json:"requester,omitempty"`
	Note         []taskNote       `json:"note,omitempty"`
}

// taskNote is an Annotation with its author, the patient, named in words.
type taskNote struct {
	AuthorString string `json:"authorString,omitempty"`
	Text         string `json:"text"`
}

// renewalTask builds the Task for r, and returns the record's identifier
// value. An incomplete r is an *rx.ValidationError listing every problem.
func (c *Client) renewalTask(r rx.Renewal) (*task, string, error) {
	var v rx.ValidationError
	urn, err := recordURN(r.ID)
	if err != nil {
		v.Add("record id", "%v", err)
	}
	pid, err := hetu.Parse(r.Patient)
	if err != nil {
		v.Add("patient", "%v", err)
	}
	if !validID(r.PrescriptionID) {
		v.Add("prescription", "%q is not a Prescription Centre id", r.PrescriptionID)
	}
	if r.Time.IsZero() {
		v.Add("time", "the time of the request is missing")
	}
	// As for a dispensing: the record's own stamp names the pharmacy.
	pharmacy := r.Pharmacy
	if strings.TrimSpace(pharmacy.OID) == "" {
		pharmacy = c.cfg.Pharmacy
	}
	if strings.TrimSpace(pharmacy.OID) == "" {
		v.Add(fieldPharmacy, "the pharmacy's organisation OID is missing (set it in the configuration)")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	t := &task{
		ResourceType: "Task",
		Identifier:   []identifier{{System: rx.SystemRecordUUID, Value: urn}},
		Status:       "requested",
		Intent:       "order",
		Code:         &codeableConcept{Coding: []coding{{System: rx.SystemSNOMED, Code: rx.CodeRenewal, Display: rx.CodeRenewalText}}, Text: rx.CodeRenewalText},
		Focus:        &reference{Reference: "MedicationRequest/" + r.PrescriptionID},
		For:          &reference{Type: "Patient", Identifier: hetuIdentifier(pid.String())},
		AuthoredOn:   r.Time.Format(dateTimeLayout),
		Requester: &reference{Type: "Organization", Identifier: &identifier{System: rx.SystemRecordUUID, Value: organisationURN(pharmacy.OID)},
			Display: pharmacy.Name},
	}
	if m := strings.TrimSpace(r.Message); m != "" {
		t.Note = []taskNote{{AuthorString: "patient", Text: m}}
	}
	return t, urn, nil
}

// RecordRenewal sends a renewal request as a Task, with a conditional
// create on its record id: the first call creates it (Receipt.Created),
// any later one finds it, so a retry never makes a second request. The
// Prescription Centre refuses a renewal of a cancelled prescription (422,
// reason cancelled) and answers a second request while one is open as
// already requested (422, reason already-requested; see ReasonOf).
func (c *Client) RecordRenewal(ctx context.Context, r rx.Renewal) (Receipt, error) {
	const op = "request renewal"
	t, urn, err := c.renewalTask(r)
	if err != nil {
		return Receipt{}, notSent(op, err)
	}
	a, err := c.do(ctx, request{op: op, method: http.MethodPost, target: "Task",
		body: mustJSON(t), headers: map[string]string{"If-None-Exist": ifNoneExist(urn), "Prefer": preferRepresentation}})
	if err != nil {
		return Receipt{}, err
	}
	return createdReceipt(op, a, "Task", urn)
}

// RenewalLanded tells whether the renewal request with the journal record
// id is in the Prescription Centre, and where.
func (c *Client) RenewalLanded(ctx context.Context, recordID string) (Receipt, bool, error) {
	return c.landed(ctx, "check renewal", "Task", recordID)
}

// ReasonAlreadyRequested is the outcome-reason of a renewal request
// answered as already requested: one is open for the prescription.
const ReasonAlreadyRequested = "already-requested"

// openTaskStatus are the statuses of a Task still waiting for the
// prescriber (R4 task-status).
var openTaskStatus = map[string]bool{"requested": true, "received": true, "accepted": true, "ready": true, "in-progress": true, "on-hold": true}

// renewals reads the renewal Tasks included in a search answer
// (_revinclude=Task:focus): the latest open one of each prescription, by
// the prescription's id. A Task that is not a renewal, or does not read,
// is left out: it says nothing about a renewal.
func renewals(included map[string]json.RawMessage) map[string]*rx.RenewalState {
	out := map[string]*rx.RenewalState{}
	for key, raw := range included {
		if !strings.HasPrefix(key, "Task/") {
			continue // the same Task is also kept by its fullUrl
		}
		var t task
		if decode(raw, "Task", &t) != nil || t.Focus == nil || !openTaskStatus[t.Status] {
			continue
		}
		if c, ok := t.Code.code(rx.SystemSNOMED); !ok || c.Code != rx.CodeRenewal {
			continue
		}
		id, ok := strings.CutPrefix(t.Focus.Reference, "MedicationRequest/")
		if !ok || !validID(id) {
			continue
		}
		when, err := time.Parse(time.RFC3339, t.AuthoredOn)
		if err != nil {
			if when, err = time.Parse(dateLayout, t.AuthoredOn); err != nil {
				continue
			}
		}
		if prev := out[id]; prev == nil || when.After(prev.Requested) {
			out[id] = &rx.RenewalState{Status: t.Status, Requested: when, TaskID: t.ID}
		}
	}
	return out
}
