package centresim

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// A void (README, "Void") is a PUT of the resource as served, with status
// entered-in-error and an optional reason: the only update the Prescription
// Centre allows a pharmacy.

// statusReasonElement is where each resource type carries its status reason
// in R4.
var statusReasonElement = map[string]string{
	"MedicationDispense": "statusReasonCodeableConcept",
	"MedicationRequest":  "statusReason",
}

// serverSetExtensions change with other writes (a dispensing, a lock), so a
// void is not refused because the copy sent is older in them; If-Match is the
// tool for that.
var serverSetExtensions = map[string]bool{extRemaining: true, extLockedBy: true}

// update handles PUT /MedicationDispense/{id} and PUT /MedicationRequest/{id}.
func (s *Server) update(r *http.Request, resp *response, rt, id string) error {
	body, err := readBody(nil, r)
	if err != nil {
		return err
	}
	var sent map[string]any
	if err := json.Unmarshal(body, &sent); err != nil || sent == nil {
		return malformed("Virheellinen JSON.", "Malformed JSON: not one JSON object")
	}
	if got, _ := sent["resourceType"].(string); got != rt {
		return refuse(http.StatusBadRequest, "invalid", "wrong-resource-type",
			"Väärä resourceType "+strconv.Quote(got)+": odotettiin "+rt+".", "resourceType is "+strconv.Quote(got)+"; expected "+rt+".")
	}
	p := &problems{}
	if got, _ := sent["id"].(string); got != id {
		p.invalid("id", "the body's id %q is not the id in the path, %q", got, id)
	}
	reasonKey := statusReasonElement[rt]
	reason := ""
	if raw, ok := sent[reasonKey]; ok {
		cc, isObj := raw.(map[string]any)
		text, isText := cc["text"].(string)
		if !isObj || !isText && cc["text"] != nil {
			p.invalid(reasonKey, "give the reason as {\"text\": \"...\"}")
		}
		reason = strings.TrimSpace(text)
	}
	want := -1
	if im := strings.TrimSpace(r.Header.Get("If-Match")); im != "" {
		v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(im, "W/"), `"`))
		if err != nil || v < 1 {
			p.invalid("If-Match", "%q is not a version tag such as W/\"3\"", im)
		}
		want = v
	}
	if err := p.err(); err != nil {
		return err
	}
	status, _ := sent["status"].(string)

	var res result
	err = s.store.write(r.Context(), func(tx *sql.Tx) error {
		ctx := r.Context()
		body, version, _, ok, err := s.loadResource(ctx, tx, rt, id)
		if err != nil {
			return err
		}
		if !ok {
			return notFound(rt + "/" + id)
		}
		var stored map[string]any
		if err := json.Unmarshal(body, &stored); err != nil {
			return err
		}
		if status != statusEnteredInError {
			return businessRule("update-not-allowed", "Ainoa sallittu muutos on mitätöinti (entered-in-error).",
				rt+"/"+id+": status "+strconv.Quote(status)+": the only update allowed is status entered-in-error (a void).")
		}
		if diff := changedElements(stored, sent, reasonKey); len(diff) > 0 {
			return businessRule("update-not-allowed", "Ainoa sallittu muutos on mitätöinti; muuttuneet tiedot: "+strings.Join(diff, ", ")+".",
				rt+"/"+id+": only status and "+reasonKey+" may change in a void; these differ from the stored resource: "+strings.Join(diff, ", ")+".")
		}
		if stored["status"] == statusEnteredInError {
			res, err = s.existing(ctx, tx, rt, id) // voided already: the same answer again
			return err
		}
		if want >= 0 && want != version {
			return refuse(http.StatusPreconditionFailed, "conflict", "version",
				"Resurssi on muuttunut (versio "+strconv.Itoa(version)+").",
				"If-Match W/\""+strconv.Itoa(want)+"\" is not the current version of "+rt+"/"+id+", W/\""+strconv.Itoa(version)+"\"; read it again.")
		}
		stamp := s.now().Format(lastUpdatedLayout)
		if rt == "MedicationDispense" {
			err = voidDispense(ctx, tx, id, reason, stamp)
		} else {
			err = voidRequest(ctx, tx, id, reason, stamp)
		}
		if err != nil {
			return err
		}
		res, err = s.existing(ctx, tx, rt, id)
		return err
	})
	if err != nil {
		return err
	}
	resp.resource(http.StatusOK, res.body)
	resp.header.Set("Location", "/"+res.location())
	setVersionHeaders(resp, res.version, res.lastUpdated)
	resp.write = true
	return nil
}

// changedElements lists the top-level elements (and server-independent
// extensions) in which sent differs from stored, leaving out what a void
// may change or the server sets.
func changedElements(stored, sent map[string]any, reasonKey string) []string {
	skip := map[string]bool{"meta": true, "text": true, "status": true, reasonKey: true}
	var diff []string
	keys := map[string]bool{}
	for k := range stored {
		keys[k] = true
	}
	for k := range sent {
		keys[k] = true
	}
	for k := range keys {
		if skip[k] {
			continue
		}
		a, b := stored[k], sent[k]
		if k == "extension" {
			a, b = clientExtensions(a), clientExtensions(b)
		}
		if !reflect.DeepEqual(a, b) {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	return diff
}

func clientExtensions(v any) []any {
	list, _ := v.([]any)
	var out []any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if u, _ := m["url"].(string); serverSetExtensions[u] {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// voidDispense marks a dispensing entered in error and gives what it
// counted back to its prescription, which becomes active again when it was
// completed and something now remains.
func voidDispense(ctx context.Context, tx *sql.Tx, id, reason, stamp string) error {
	d, ok, err := getDispense(ctx, tx, id)
	if err != nil || !ok {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE medication_dispense SET status = ?, status_reason = ?, version = version + 1, last_updated = ? WHERE id = ?`,
		statusEnteredInError, reason, stamp, id); err != nil {
		return err
	}
	if d.RequestID == "" {
		return nil
	}
	rq, ok, err := getRequest(ctx, tx, d.RequestID)
	if err != nil || !ok {
		return err
	}
	rq.Dispensed = max(rq.Dispensed-d.Counted, 0)
	if rq.Status == "completed" && rq.remaining() > 0 {
		rq.Status = "active"
	}
	_, err = tx.ExecContext(ctx, `UPDATE medication_request SET dispensed = ?, status = ?, version = version + 1, last_updated = ? WHERE id = ?`,
		rq.Dispensed, rq.Status, stamp, rq.ID)
	return err
}

// voidRequest marks a pharmacy-recorded prescription entered in error; it
// must have no dispensing that stands.
func voidRequest(ctx context.Context, tx *sql.Tx, id, reason, stamp string) error {
	rq, ok, err := getRequest(ctx, tx, id)
	if err != nil || !ok {
		return err
	}
	if !rq.Reported {
		return businessRule("not-recorded-here", "Sähköistä reseptiä ei voi mitätöidä apteekissa.",
			"Prescription "+id+" is an e-prescription; only its prescriber can cancel it, and a pharmacy voids only the prescriptions it recorded.")
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM medication_dispense WHERE request_id = ? AND status != ?`, id, statusEnteredInError).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return refuse(http.StatusConflict, "conflict", "has-dispensings",
			"Reseptillä on toimituksia; mitätöi ne ensin.",
			"Prescription "+id+" has "+strconv.Itoa(n)+" dispensing(s) not entered in error; void them first.")
	}
	_, err = tx.ExecContext(ctx, `UPDATE medication_request SET entered_in_error = 1, status_reason = ?, version = version + 1, last_updated = ? WHERE id = ?`,
		reason, stamp, id)
	return err
}
