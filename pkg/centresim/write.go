package centresim

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// A write is decoded and checked for shape first (400 with every problem),
// then, in one SQLite transaction, matched against its If-None-Exist
// condition, resolved, checked against the business rules and stored.

// dispenseInput is a MedicationDispense as the simulator understands it.
type dispenseInput struct {
	identifiers   []identRow
	essential     bool
	basis, note   string
	override      string // override-reason: a pharmacist reviewed the conflict
	vnr, medID    string // one of them
	subject       reference
	prescription  *reference
	quantity      int
	when          string
	pharmacist    [2]string // name, registration
	pharmacy      [2]string // name, OID
	fullURL       string    // inside a transaction
	ifNoneExist   string
	ifNoneExistAt string // where the condition came from, for messages
}

// requestInput is a pharmacy-recorded MedicationRequest.
type requestInput struct {
	identifiers                           []identRow
	subject                               reference
	vnr, medID                            string
	authoredOn                            string
	requester, recorder                   [2]string
	form                                  string
	reason                                string
	callPhone, callTime, callVerification string
	quantity, repeats                     int
	dosage                                string
	fullURL                               string
	ifNoneExist                           string
	ifNoneExistAt                         string
}

// result is the outcome of one create: the stored resource, rendered.
type result struct {
	rt          string
	id          string
	version     int
	lastUpdated string
	body        []byte
	created     bool
}

func (res result) location() string {
	return res.rt + "/" + res.id + "/_history/" + strconv.Itoa(res.version)
}

// create handles POST /MedicationDispense and POST /MedicationRequest.
func (s *Server) create(r *http.Request, resp *response, rt string) error {
	body, err := readBody(nil, r)
	if err != nil {
		return err
	}
	cond := r.Header.Get("If-None-Exist")
	var run func(ctx context.Context, tx *sql.Tx) (result, error)
	switch rt {
	case "MedicationDispense":
		var res medicationDispenseResource
		if err := decodeResource(body, rt, "", &res); err != nil {
			return err
		}
		in, err := parseDispense(&res, "")
		if err != nil {
			return err
		}
		in.ifNoneExist, in.ifNoneExistAt = cond, "If-None-Exist"
		run = func(ctx context.Context, tx *sql.Tx) (result, error) { return s.storeDispense(ctx, tx, in, nil) }
	default:
		var res medicationRequestResource
		if err := decodeResource(body, rt, "", &res); err != nil {
			return err
		}
		in, err := parseRequest(&res, "")
		if err != nil {
			return err
		}
		in.ifNoneExist, in.ifNoneExistAt = cond, "If-None-Exist"
		run = func(ctx context.Context, tx *sql.Tx) (result, error) { return s.storeRequest(ctx, tx, in) }
	}
	var res result
	err = s.store.write(r.Context(), func(tx *sql.Tx) error {
		var err error
		res, err = run(r.Context(), tx)
		return err
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.created {
		status = http.StatusCreated
	}
	resp.resource(status, res.body)
	resp.header.Set("Location", "/"+res.location())
	setVersionHeaders(resp, res.version, res.lastUpdated)
	resp.write = true
	return nil
}

// write runs fn in one immediate transaction. A unique-index violation
// (two identical creates racing) is retried once: the second run finds the
// first one's resource through the condition.
func (st *store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		tx, err := st.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		err = fn(tx)
		if err == nil {
			err = tx.Commit()
		}
		if err == nil {
			return nil
		}
		tx.Rollback()
		if attempt == 0 && isConstraint(err) {
			continue
		}
		if isConstraint(err) {
			return refuse(http.StatusConflict, "duplicate", "duplicate",
				"Tunniste on jo toisella resurssilla.", "A resource with that identifier already exists: "+err.Error())
		}
		return err
	}
}

// matchCondition applies an If-None-Exist condition: it returns the id of
// the one match, "" for none, or 412 for several.
func matchCondition(ctx context.Context, q querier, rt, cond, where string) (string, error) {
	vals, err := url.ParseQuery(cond)
	bad := func(why string) error {
		return refuse(http.StatusBadRequest, "invalid", "invalid-field",
			"Virheellinen ehto "+where+": "+why, where+" "+strconv.Quote(cond)+": "+why)
	}
	if err != nil {
		return "", bad(err.Error())
	}
	if len(vals) != 1 || len(vals["identifier"]) != 1 {
		return "", bad("only identifier=system|value is supported")
	}
	t := parseToken(vals["identifier"][0])
	if t.Value == "" {
		return "", bad("the identifier needs a value")
	}
	ids, err := matchIdentifier(ctx, q, rt, t)
	if err != nil {
		return "", err
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		return ids[0], nil
	}
	return "", multipleMatches(cond)
}

// existing renders a resource matched by a condition.
func (s *Server) existing(ctx context.Context, tx *sql.Tx, rt, id string) (result, error) {
	body, v, lu, ok, err := s.loadResource(ctx, tx, rt, id)
	if err != nil {
		return result{}, err
	}
	if !ok {
		return result{}, fmt.Errorf("%s/%s matched but cannot be read", rt, id)
	}
	return result{rt: rt, id: id, version: v, lastUpdated: lu, body: body}, nil
}

// --- MedicationDispense ---

func parseDispense(res *medicationDispenseResource, prefix string) (dispenseInput, error) {
	p := &problems{prefix: prefix}
	var in dispenseInput
	if len(res.ModifierExtension) > 0 {
		p.unsupported("modifierExtension", "modifier extensions are not understood here")
	}
	in.identifiers = parseIdentifiers(res.Identifier, p)
	switch res.Status {
	case "":
		p.required("status")
	case "completed":
	default:
		p.invalid("status", "a dispensing is recorded with status completed, not %q", res.Status)
	}
	if res.Type != nil {
		em := false
		for _, c := range res.Type.Coding {
			if c.System == csActCode && c.Code == "EM" {
				em = true
			}
		}
		if !em {
			p.unsupported("type", "only v3-ActCode EM (emergency supply, an essential-medication dispensing) is recorded")
		}
		in.essential = em
	}
	for i, e := range res.Extension {
		if e.URL == extOverrideReason {
			path := "extension[" + strconv.Itoa(i) + "].valueString"
			if in.override = strings.TrimSpace(deref(e.ValueString)); in.override == "" {
				p.required(path + " (the override reason)")
			}
			continue
		}
		if e.URL != extEssentialBasis {
			continue // extensions not defined by the contract are ignored
		}
		path := "extension[" + strconv.Itoa(i) + "].valueCode"
		switch b := rx.BasisDocument(deref(e.ValueCode)); {
		case e.ValueCode == nil:
			p.required(path)
		case !b.Valid():
			p.invalid(path, "basis %q is not instruction-sheet, summary or previous-label", *e.ValueCode)
		default:
			in.basis = string(b)
		}
	}
	if in.essential && in.basis == "" {
		p.required("extension(essential-basis)")
	}
	if !in.essential && in.basis != "" {
		p.invalid("type", "an essential-basis extension needs type EM (emergency supply)")
	}
	for _, n := range res.Note {
		if n.Text != "" {
			in.note = strings.TrimSpace(in.note + "\n" + n.Text)
		}
	}
	in.vnr, in.medID = parseMedication(res.MedicationCodeableConcept, res.MedicationReference, "medication", p)
	if res.Subject == nil {
		p.required("subject")
	} else {
		in.subject = *res.Subject
		checkPatientRef(in.subject, "subject", p)
	}
	for i, pf := range res.Performer {
		path := "performer[" + strconv.Itoa(i) + "].actor"
		if pf.Actor == nil {
			p.required(path)
			continue
		}
		a := pf.Actor
		switch {
		case a.Type == "Organization":
			in.pharmacy[0] = a.Display
			if a.Identifier != nil {
				in.pharmacy[1] = strings.TrimPrefix(a.Identifier.Value, "urn:oid:")
			}
		case a.Type == "Practitioner" || a.Identifier != nil && a.Identifier.System == rx.SystemValvira:
			if a.Identifier == nil || a.Identifier.System != rx.SystemValvira || a.Identifier.Value == "" {
				p.required(path + ".identifier (Valvira registration number, system " + rx.SystemValvira + ")")
				continue
			}
			in.pharmacist = [2]string{a.Display, a.Identifier.Value}
		}
	}
	if in.pharmacist[1] == "" {
		p.required("performer (the pharmacist: type Practitioner with a Valvira registration number)")
	}
	switch len(res.AuthorizingPrescription) {
	case 0:
		if !in.essential || in.basis != string(rx.BasisPreviousLabel) {
			p.required("authorizingPrescription (it may be absent only for an essential dispensing based on a previous label)")
		}
	case 1:
		ref := res.AuthorizingPrescription[0]
		in.prescription = &ref
		switch {
		case ref.Reference != "":
			if !strings.HasPrefix(ref.Reference, "MedicationRequest/") && !strings.HasPrefix(ref.Reference, "MedicationRequest?") && !strings.HasPrefix(ref.Reference, "urn:uuid:") {
				p.invalid("authorizingPrescription[0].reference", "%q is not MedicationRequest/<id>, MedicationRequest?identifier=... or urn:uuid:", ref.Reference)
			}
		case ref.Identifier != nil:
			if ref.Identifier.System == "" || ref.Identifier.Value == "" {
				p.required("authorizingPrescription[0].identifier.system and .value")
			}
		default:
			p.required("authorizingPrescription[0].reference or .identifier")
		}
	default:
		p.unsupported("authorizingPrescription", "a dispensing names one prescription, not %d", len(res.AuthorizingPrescription))
	}
	in.quantity = parseQuantity(res.Quantity, "quantity", p)
	if res.WhenHandedOver == "" {
		p.required("whenHandedOver")
	} else if t, err := time.Parse(time.RFC3339, res.WhenHandedOver); err != nil {
		p.invalid("whenHandedOver", "%q is not a date and time with a zone, e.g. 2026-11-22T10:15:00+02:00", res.WhenHandedOver)
	} else {
		in.when = t.Format(time.RFC3339)
	}
	return in, p.err()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseIdentifiers checks the identifiers of a created resource: one of
// them must be the journal record's urn:ietf:rfc:3986 urn:uuid:, the
// idempotency key.
func parseIdentifiers(ids []identifier, p *problems) []identRow {
	var out []identRow
	key := false
	seen := map[identRow]bool{}
	for i, id := range ids {
		path := "identifier[" + strconv.Itoa(i) + "]"
		if id.System == "" || id.Value == "" {
			p.required(path + ".system and .value")
			continue
		}
		row := identRow{System: id.System, Value: id.Value}
		if seen[row] {
			p.invalid(path, "the same identifier is given twice")
			continue
		}
		seen[row] = true
		if id.System == rx.SystemRecordUUID {
			if u, ok := strings.CutPrefix(id.Value, "urn:uuid:"); !ok || uuid.Validate(u) != nil {
				p.invalid(path+".value", "%q is not urn:uuid:<uuid>", id.Value)
				continue
			}
			key = true
		}
		out = append(out, row)
	}
	if !key && len(p.issues) == 0 {
		p.required("identifier (system " + rx.SystemRecordUUID + ", value urn:uuid:<journal record uuid>)")
	}
	return out
}

func parseMedication(cc *codeableConcept, ref *reference, path string, p *problems) (vnr, medID string) {
	switch {
	case cc != nil && ref != nil:
		p.invalid(path+"[x]", "give medicationCodeableConcept or medicationReference, not both")
	case cc != nil:
		for _, c := range cc.Coding {
			if c.System == rx.SystemVNR && c.Code != "" {
				return c.Code, ""
			}
		}
		p.required(path + "CodeableConcept.coding (system " + rx.SystemVNR + ", the package number)")
	case ref != nil:
		if id, ok := strings.CutPrefix(ref.Reference, "Medication/"); ok && idPattern.MatchString(id) {
			return "", id
		}
		p.invalid(path+"Reference.reference", "%q is not Medication/<id>", ref.Reference)
	default:
		p.required(path + "CodeableConcept or " + path + "Reference")
	}
	return "", ""
}

func checkPatientRef(ref reference, path string, p *problems) {
	switch {
	case ref.Reference != "":
		if !strings.HasPrefix(ref.Reference, "Patient/") && !strings.HasPrefix(ref.Reference, "Patient?") {
			p.invalid(path+".reference", "%q is not Patient/<id> or Patient?identifier=%s|<code>", ref.Reference, rx.SystemHETU)
		}
	case ref.Identifier != nil:
		if ref.Identifier.System != rx.SystemHETU {
			p.invalid(path+".identifier.system", "a patient is identified by the identity code, system %s", rx.SystemHETU)
		} else if _, err := hetu.Parse(ref.Identifier.Value); err != nil {
			p.invalid(path+".identifier.value", "%v", err)
		}
	default:
		p.required(path + ".reference or " + path + ".identifier")
	}
}

func parseQuantity(q *quantity, path string, p *problems) int {
	switch {
	case q == nil || q.Value == nil:
		p.required(path + ".value")
	case *q.Value <= 0 || *q.Value > 1e6 || *q.Value != math.Trunc(*q.Value):
		p.invalid(path+".value", "%v is not a whole number of units from 1 to 1000000", *q.Value)
	default:
		return int(*q.Value)
	}
	return 0
}

// resolvePatient finds the patient a reference names: 422 unknown-patient
// when there is none, 412 when a condition matches several.
func resolvePatient(ctx context.Context, q querier, ref reference) (string, error) {
	unknown := businessRule("unknown-patient", "Potilasta ei löydy Reseptikeskuksesta.", "No such patient in the Prescription Centre.")
	switch {
	case strings.HasPrefix(ref.Reference, "Patient/"):
		_, ok, err := getPatient(ctx, q, strings.TrimPrefix(ref.Reference, "Patient/"))
		if err != nil || !ok {
			return "", orErr(err, unknown)
		}
		return strings.TrimPrefix(ref.Reference, "Patient/"), nil
	case strings.HasPrefix(ref.Reference, "Patient?"):
		id, err := conditionalReference(ctx, q, "Patient", strings.TrimPrefix(ref.Reference, "Patient?"))
		if err != nil || id == "" {
			return "", orErr(err, unknown)
		}
		return id, nil
	case ref.Identifier != nil:
		hid, _ := hetu.Parse(ref.Identifier.Value)
		ids, err := matchIdentifier(ctx, q, "Patient", token{System: rx.SystemHETU, Value: hid.String()})
		if err != nil || len(ids) == 0 {
			return "", orErr(err, unknown)
		}
		return ids[0], nil
	}
	return "", unknown
}

func orErr(err error, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// conditionalReference resolves Type?identifier=system|value to the one
// match ("" for none; 412 for several).
func conditionalReference(ctx context.Context, q querier, rt, cond string) (string, error) {
	vals, err := url.ParseQuery(cond)
	if err != nil || len(vals) != 1 || len(vals["identifier"]) != 1 {
		return "", refuse(http.StatusBadRequest, "invalid", "invalid-field",
			"Virheellinen ehdollinen viittaus "+rt+"?"+cond+".", "Conditional reference "+rt+"?"+cond+": only identifier=system|value is supported.")
	}
	t := parseToken(vals["identifier"][0])
	if rt == "Patient" {
		t = hetuToken(t, &problems{}, "identifier")
	}
	ids, err := matchIdentifier(ctx, q, rt, t)
	if err != nil {
		return "", err
	}
	if len(ids) > 1 {
		return "", multipleMatches(rt + "?" + cond)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// resolveMedication finds the Medication a VNR or a reference names.
func resolveMedication(ctx context.Context, q querier, vnr, medID, path string) (medicationRow, error) {
	if vnr != "" {
		medID = "med-" + vnr
	}
	m, ok, err := getMedication(ctx, q, medID)
	if err != nil {
		return m, err
	}
	if !ok {
		what := "Medication/" + medID
		if vnr != "" {
			what = "package number " + vnr
		}
		return m, refuse(http.StatusBadRequest, "value", "invalid-field",
			"Tuntematon lääkevalmiste: "+what+".", path+": unknown medicine, "+what+".")
	}
	return m, nil
}

// storeDispense records a dispensing in tx after the business rules
// (README, "Business rules on a dispensing"). refs maps the fullUrls of a
// transaction's entries to the resources they became.
func (s *Server) storeDispense(ctx context.Context, tx *sql.Tx, in dispenseInput, refs map[string]string) (result, error) {
	if in.ifNoneExist != "" {
		id, err := matchCondition(ctx, tx, "MedicationDispense", in.ifNoneExist, in.ifNoneExistAt)
		if err != nil {
			return result{}, err
		}
		if id != "" {
			return s.existing(ctx, tx, "MedicationDispense", id)
		}
	}
	// 1. the patient and the prescription exist.
	patientID, err := resolvePatient(ctx, tx, in.subject)
	if err != nil {
		return result{}, err
	}
	var rq *requestRow
	if in.prescription != nil {
		r, err := s.resolvePrescription(ctx, tx, *in.prescription, refs)
		if err != nil {
			return result{}, err
		}
		rq = &r
	}
	med, err := resolveMedication(ctx, tx, in.vnr, in.medID, "medication")
	if err != nil {
		return result{}, err
	}
	now := s.now()
	counted := 0
	if rq != nil {
		if err := dispenseRules(*rq, patientID, in.pharmacy[0], in.quantity, in.override, now); err != nil {
			return result{}, err
		}
		// An override counts at most what remained, so the remaining
		// quantity never goes below 0 (README, "Override").
		counted = min(in.quantity, rq.remaining())
	}
	id, err := nextID(ctx, tx, "medication_dispense", "md-")
	if err != nil {
		return result{}, err
	}
	stamp := now.Format(lastUpdatedLayout)
	var requestID any
	if rq != nil {
		requestID = rq.ID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO medication_dispense (id, patient_id, request_id, medication_id, status, essential, basis, note,
			quantity, counted, unit, when_handed_over, pharmacist_name, pharmacist_reg, pharmacy_name, pharmacy_oid, override_reason, version, last_updated)
		VALUES (?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
		id, patientID, requestID, med.ID, in.essential, in.basis, in.note, in.quantity, counted, med.Unit, in.when,
		in.pharmacist[0], in.pharmacist[1], in.pharmacy[0], in.pharmacy[1], in.override, stamp); err != nil {
		return result{}, err
	}
	if err := insertIdentifiers(ctx, tx, "MedicationDispense", id, in.identifiers); err != nil {
		return result{}, err
	}
	if rq != nil {
		// Every dispensing changes the remaining quantity, so the prescription
		// gets a new version; the last one also completes it.
		if err := countDispensing(ctx, tx, *rq, counted, stamp); err != nil {
			return result{}, err
		}
	}
	res, err := s.existing(ctx, tx, "MedicationDispense", id)
	res.created = true
	return res, err
}

// countDispensing counts n units against prescription rq and raises its
// version: every dispensing changes the remaining quantity, and the one that
// uses it up completes an active prescription (a cancelled one stays
// cancelled).
func countDispensing(ctx context.Context, tx *sql.Tx, rq requestRow, n int, stamp string) error {
	status := rq.Status
	if status == string(rx.StatusActive) && rq.remaining()-n == 0 {
		status = string(rx.StatusCompleted)
	}
	_, err := tx.ExecContext(ctx, `UPDATE medication_request SET dispensed = dispensed + ?, status = ?, version = version + 1, last_updated = ? WHERE id = ?`,
		n, status, stamp, rq.ID)
	return err
}

func (s *Server) resolvePrescription(ctx context.Context, tx *sql.Tx, ref reference, refs map[string]string) (requestRow, error) {
	unknown := func(what string) error {
		return businessRule("unknown-prescription", "Reseptiä ei löydy Reseptikeskuksesta: "+what+".", "No such prescription in the Prescription Centre: "+what+".")
	}
	var id string
	switch {
	case strings.HasPrefix(ref.Reference, "urn:uuid:"):
		target, ok := refs[ref.Reference]
		if !ok {
			return requestRow{}, refuse(http.StatusBadRequest, "invalid", "invalid-field",
				"Viittaus "+ref.Reference+" ei osoita mihinkään tapahtuman osaan.",
				"authorizingPrescription "+ref.Reference+" is not the fullUrl of an entry of this transaction (outside a transaction, refer by identifier).")
		}
		rt, tid, _ := strings.Cut(target, "/")
		if rt != "MedicationRequest" {
			return requestRow{}, refuse(http.StatusBadRequest, "invalid", "invalid-field",
				"Viittaus "+ref.Reference+" ei ole resepti.", "authorizingPrescription "+ref.Reference+" is a "+rt+", not a MedicationRequest.")
		}
		id = tid
	case strings.HasPrefix(ref.Reference, "MedicationRequest/"):
		id = strings.TrimPrefix(ref.Reference, "MedicationRequest/")
	case strings.HasPrefix(ref.Reference, "MedicationRequest?"):
		mid, err := conditionalReference(ctx, tx, "MedicationRequest", strings.TrimPrefix(ref.Reference, "MedicationRequest?"))
		if err != nil {
			return requestRow{}, err
		}
		if mid == "" {
			return requestRow{}, unknown(ref.Reference)
		}
		id = mid
	case ref.Identifier != nil:
		ids, err := matchIdentifier(ctx, tx, "MedicationRequest", token{System: ref.Identifier.System, Value: ref.Identifier.Value})
		if err != nil {
			return requestRow{}, err
		}
		if len(ids) == 0 {
			return requestRow{}, unknown(ref.Identifier.Value)
		}
		id = ids[0]
	}
	r, ok, err := getRequest(ctx, tx, id)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, unknown(id)
	}
	return r, nil
}

// fiDate is a date as Finns write it: 1.3.2026.
func fiDate(t time.Time) string { return t.Format("2.1.2006") }

// dispenseRules applies rules 2 to 6 to a dispensing of quantity by
// pharmacy against prescription rq. With an override reason, the refusals a
// pharmacist may override (cancelled, completed, expired, over-dispensed)
// are let through; the others never are (README, "Override").
func dispenseRules(rq requestRow, patientID, pharmacy string, quantity int, override string, now time.Time) error {
	overridden := func(err error) error {
		if override != "" {
			return nil
		}
		return err
	}
	if rq.PatientID != patientID {
		return businessRule("patient-mismatch", "Toimituksen potilas ei ole reseptin potilas.", "The dispensing's patient is not the patient of prescription "+rq.ID+".")
	}
	// The lock holder itself may dispense; the pharmacy is compared by name,
	// as locked-by carries the name (README, MedicationRequest).
	if rq.LockedBy != "" && rq.LockedBy != pharmacy {
		return refuse(http.StatusConflict, "lock-error", "locked",
			"Resepti on lukittu toiseen apteekkiin: "+rq.LockedBy+".", "Prescription "+rq.ID+" is locked by another pharmacy: "+rq.LockedBy+".")
	}
	if rq.EnteredInError {
		return businessRule(statusEnteredInError, "Resepti on mitätöity virheellisenä.", "Prescription "+rq.ID+" was voided as entered in error.")
	}
	var err error
	switch rq.Status {
	case string(rx.StatusCancelled):
		err = businessRule("cancelled", "Resepti on mitätöity.", "Prescription "+rq.ID+" has been cancelled.")
	case string(rx.StatusCompleted):
		err = businessRule("completed", "Resepti on jo toimitettu kokonaan.", "Prescription "+rq.ID+" has already been fully dispensed.")
	}
	if err = overridden(err); err != nil {
		return err
	}
	if rq.Form == string(rx.FormTelephone) && rq.MedicationClass == "narcotic" {
		return businessRule("narcotic-by-telephone", "Huumausainetta ei voi määrätä puhelimitse.", "A narcotic cannot be prescribed by telephone.")
	}
	authored, perr := time.Parse(time.DateOnly, rq.AuthoredOn)
	if perr != nil {
		return fmt.Errorf("prescription %s: stored authoredOn %q: %w", rq.ID, rq.AuthoredOn, perr)
	}
	// The domain's own rule (calendar dates, month ends clamped) decides, so
	// the counter and the simulator never disagree about a boundary day.
	p := rq.domain(authored)
	if p.ValidityAt(now, lawValidity) == rx.Expired {
		end := p.ValidUntil(lawValidity)
		graceEnd := addMonths(end, lawValidity.GraceMonths)
		err := businessRule("expired", "Resepti on vanhentunut "+fiDate(end)+".",
			"The prescription expired on "+end.Format(time.DateOnly)+" and its one-month grace ended on "+graceEnd.Format(time.DateOnly)+".")
		if err := overridden(err); err != nil {
			return err
		}
	}
	if quantity > rq.remaining() {
		err := businessRule("over-dispensed",
			fmt.Sprintf("Toimitettava määrä %d %s ylittää jäljellä olevan määrän %d %s.", quantity, rq.Unit, rq.remaining(), rq.Unit),
			fmt.Sprintf("Quantity %d %s is more than the %d %s remaining on prescription %s.", quantity, rq.Unit, rq.remaining(), rq.Unit, rq.ID))
		if err := overridden(err); err != nil {
			return err
		}
	}
	return nil
}

// domain is the prescription as pkg/rx sees it, enough for its validity.
func (r requestRow) domain(authored time.Time) rx.Prescription {
	return rx.Prescription{
		Issued:   authored,
		Form:     rx.Form(r.Form),
		Medicine: rx.Medicine{Narcotic: r.MedicationClass == "narcotic", PKV: r.MedicationClass == "pkv"},
	}
}

// lawValidity is how long the Prescription Centre holds a prescription
// valid. The simulator stands for the national service, which applies the
// law itself and knows nothing of a pharmacy's policy file: it keeps its own
// months rather than take tiski's policy, so a pharmacy whose policy
// disagrees with the centre meets the centre's refusal, as it would in
// production.
var lawValidity = rx.ValidityRules{Months: 24, NarcoticPKVMonths: 12, TelephoneMonths: 3, GraceMonths: 1}

// addMonths adds n months to a date, clamping to the end of a shorter
// month, as pkg/rx does.
func addMonths(d time.Time, n int) time.Time {
	y, m, day := d.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, d.Location())
	if last := first.AddDate(0, 1, -1).Day(); day > last {
		day = last
	}
	return first.AddDate(0, 0, day-1)
}

// dateIn is the calendar date of t, as midnight in loc.
func dateIn(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// --- MedicationRequest ---

func parseRequest(res *medicationRequestResource, prefix string) (requestInput, error) {
	p := &problems{prefix: prefix}
	var in requestInput
	if len(res.ModifierExtension) > 0 {
		p.unsupported("modifierExtension", "modifier extensions are not understood here")
	}
	in.identifiers = parseIdentifiers(res.Identifier, p)
	switch res.Status {
	case "":
		p.required("status")
	case "active":
	default:
		p.invalid("status", "a recorded prescription is created with status active, not %q", res.Status)
	}
	switch res.Intent {
	case "":
		p.required("intent")
	case "order":
	default:
		p.invalid("intent", "intent is order, not %q", res.Intent)
	}
	if res.ReportedBoolean == nil || !*res.ReportedBoolean {
		p.required("reportedBoolean (true: the pharmacy records a paper or telephone prescription)")
	}
	in.vnr, in.medID = parseMedication(res.MedicationCodeableConcept, res.MedicationReference, "medication", p)
	if res.Subject == nil {
		p.required("subject")
	} else {
		in.subject = *res.Subject
		checkPatientRef(in.subject, "subject", p)
	}
	switch {
	case res.AuthoredOn == "":
		p.required("authoredOn")
	default:
		d, err := time.Parse(time.DateOnly, res.AuthoredOn)
		if err != nil {
			t, terr := time.Parse(time.RFC3339, res.AuthoredOn)
			d, err = dateIn(t, time.UTC), terr
		}
		if err != nil {
			p.invalid("authoredOn", "%q is not a date (YYYY-MM-DD) or a date and time with a zone", res.AuthoredOn)
		}
		in.authoredOn = d.Format(time.DateOnly)
	}
	in.requester = parsePractitioner(res.Requester, "requester", p)
	in.recorder = parsePractitioner(res.Recorder, "recorder", p)
	for i, e := range res.Extension {
		path := "extension[" + strconv.Itoa(i) + "]"
		switch e.URL {
		case extForm:
			if e.ValueCoding == nil || e.ValueCoding.Code == "" {
				p.required(path + ".valueCoding.code")
				continue
			}
			in.form = e.ValueCoding.Code
		case extExceptionWhy:
			in.reason = strings.TrimSpace(deref(e.ValueString))
		case extTelephoneCall:
			for _, sub := range e.Extension {
				switch sub.URL {
				case "phone":
					in.callPhone = deref(sub.ValueString)
				case "time":
					in.callTime = deref(sub.ValueDateTime)
				case "verification":
					in.callVerification = deref(sub.ValueString)
				}
			}
		}
	}
	switch rx.Form(in.form) {
	case "":
		p.required("extension(prescription-form)")
	case rx.FormPaper, rx.FormTelephone:
	case rx.FormElectronic:
		p.invalid("extension(prescription-form)", "a pharmacy records only paper and telephone prescriptions; electronic ones come from the prescriber")
	default:
		p.invalid("extension(prescription-form)", "form %q is not paper or telephone", in.form)
	}
	if in.reason == "" {
		p.required("extension(exception-reason) (why the prescriber used paper or telephone)")
	}
	if in.form == string(rx.FormTelephone) {
		if in.callPhone == "" {
			p.required("extension(telephone-call).phone")
		}
		if in.callTime == "" {
			p.required("extension(telephone-call).time")
		} else if _, err := time.Parse(time.RFC3339, in.callTime); err != nil {
			p.invalid("extension(telephone-call).time", "%q is not a date and time with a zone", in.callTime)
		}
		if in.callVerification == "" {
			p.required("extension(telephone-call).verification")
		}
	}
	var texts []string
	for _, d := range res.DosageInstruction {
		if d.Text != "" {
			texts = append(texts, d.Text)
		}
	}
	in.dosage = strings.Join(texts, "; ")
	if res.DispenseRequest == nil {
		p.required("dispenseRequest")
	} else {
		in.quantity = parseQuantity(res.DispenseRequest.Quantity, "dispenseRequest.quantity", p)
		if n := res.DispenseRequest.NumberOfRepeatsAllowed; n != nil {
			if *n < 0 || *n > 100 {
				p.invalid("dispenseRequest.numberOfRepeatsAllowed", "%d is not from 0 to 100", *n)
			}
			in.repeats = *n
		}
	}
	return in, p.err()
}

func parsePractitioner(ref *reference, path string, p *problems) [2]string {
	if ref == nil || ref.Identifier == nil || ref.Identifier.Value == "" {
		p.required(path + ".identifier (Valvira registration number, system " + rx.SystemValvira + ")")
		return [2]string{}
	}
	if ref.Identifier.System != rx.SystemValvira {
		p.invalid(path+".identifier.system", "a prescriber or pharmacist is identified by the Valvira registration number, system %s", rx.SystemValvira)
	}
	return [2]string{ref.Display, ref.Identifier.Value}
}

// storeRequest records a pharmacy-recorded prescription.
func (s *Server) storeRequest(ctx context.Context, tx *sql.Tx, in requestInput) (result, error) {
	if in.ifNoneExist != "" {
		id, err := matchCondition(ctx, tx, "MedicationRequest", in.ifNoneExist, in.ifNoneExistAt)
		if err != nil {
			return result{}, err
		}
		if id != "" {
			return s.existing(ctx, tx, "MedicationRequest", id)
		}
	}
	patientID, err := resolvePatient(ctx, tx, in.subject)
	if err != nil {
		return result{}, err
	}
	med, err := resolveMedication(ctx, tx, in.vnr, in.medID, "medication")
	if err != nil {
		return result{}, err
	}
	if in.form == string(rx.FormTelephone) && med.Class == "narcotic" {
		return result{}, businessRule("narcotic-by-telephone", "Huumausainetta ei voi määrätä puhelimitse.", "A narcotic cannot be prescribed by telephone.")
	}
	authored, _ := time.Parse(time.DateOnly, in.authoredOn)
	validEnd := requestRow{Form: in.form, MedicationClass: med.Class}.domain(authored).ValidUntil(lawValidity).Format(time.DateOnly)
	n, err := nextID(ctx, tx, "medication_request", "")
	if err != nil {
		return result{}, err
	}
	num, _ := strconv.Atoi(n)
	id := fmt.Sprintf("PR%08d", num)
	stamp := s.now().Format(lastUpdatedLayout)
	if _, err := tx.ExecContext(ctx, `INSERT INTO medication_request (id, patient_id, medication_id, status, form, reported, authored_on, valid_end,
			quantity, unit, repeats, dispensed, dosage, requester_name, requester_reg, recorder_name, recorder_reg, exception_reason,
			call_phone, call_time, call_verification, version, last_updated)
		VALUES (?, ?, ?, 'active', ?, 1, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
		id, patientID, med.ID, in.form, in.authoredOn, validEnd, in.quantity, med.Unit, in.repeats, in.dosage,
		in.requester[0], in.requester[1], in.recorder[0], in.recorder[1], in.reason, in.callPhone, in.callTime, in.callVerification, stamp); err != nil {
		return result{}, err
	}
	if err := insertIdentifiers(ctx, tx, "MedicationRequest", id, in.identifiers); err != nil {
		return result{}, err
	}
	res, err := s.existing(ctx, tx, "MedicationRequest", id)
	res.created = true
	return res, err
}

// --- transaction ---

// transaction handles POST / with a transaction Bundle: every entry is a
// POST of a MedicationRequest or MedicationDispense. Prescriptions are
// stored before dispensings (so a dispensing may name a prescription of the
// same Bundle by its urn:uuid: fullUrl), all in one SQLite transaction.
func (s *Server) transaction(r *http.Request, resp *response) error {
	body, err := readBody(nil, r)
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return malformed("Virheellinen JSON.", "Malformed JSON: not one JSON object")
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  *entryRequest   `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return malformed("Virheellinen Bundle: "+err.Error(), "Malformed Bundle: "+err.Error())
	}
	if b.ResourceType != "Bundle" {
		return refuse(http.StatusBadRequest, "invalid", "wrong-resource-type",
			"Palvelimen juureen lähetetään transaction-Bundle.", "POST / takes a transaction Bundle, not "+strconv.Quote(b.ResourceType)+".")
	}
	if b.Type != "transaction" {
		return refuse(http.StatusBadRequest, "not-supported", "invalid-field",
			"Vain transaction-Bundle on tuettu.", "Bundle.type "+strconv.Quote(b.Type)+" is not supported; only transaction is.")
	}
	p := &problems{}
	type job struct {
		index    int
		rt       string
		dispense dispenseInput
		request  requestInput
	}
	var jobs []job
	fullURLs := map[string]bool{}
	for i, e := range b.Entry {
		prefix := "Bundle.entry[" + strconv.Itoa(i) + "]."
		ep := &problems{prefix: prefix}
		if e.Request == nil {
			ep.required("request")
		} else if e.Request.Method != http.MethodPost {
			ep.unsupported("request.method", "only POST is supported in a transaction, not %q", e.Request.Method)
		}
		if e.FullURL != "" {
			if fullURLs[e.FullURL] {
				ep.invalid("fullUrl", "%q is used by two entries", e.FullURL)
			}
			fullURLs[e.FullURL] = true
		}
		if len(e.Resource) == 0 {
			ep.required("resource")
		}
		if len(ep.issues) > 0 {
			p.issues = append(p.issues, ep.issues...)
			continue
		}
		rt := strings.TrimPrefix(e.Request.URL, "/")
		j := job{index: i, rt: rt}
		switch rt {
		case "MedicationDispense":
			var res medicationDispenseResource
			if err := decodeResource(e.Resource, rt, prefix+"resource.", &res); err != nil {
				return err
			}
			in, err := parseDispense(&res, prefix+"resource.")
			if err != nil {
				if oe, ok := err.(*outcomeError); ok {
					p.issues = append(p.issues, oe.issues...)
					continue
				}
				return err
			}
			in.fullURL, in.ifNoneExist, in.ifNoneExistAt = e.FullURL, e.Request.IfNoneExist, prefix+"request.ifNoneExist"
			j.dispense = in
		case "MedicationRequest":
			var res medicationRequestResource
			if err := decodeResource(e.Resource, rt, prefix+"resource.", &res); err != nil {
				return err
			}
			in, err := parseRequest(&res, prefix+"resource.")
			if err != nil {
				if oe, ok := err.(*outcomeError); ok {
					p.issues = append(p.issues, oe.issues...)
					continue
				}
				return err
			}
			in.fullURL, in.ifNoneExist, in.ifNoneExistAt = e.FullURL, e.Request.IfNoneExist, prefix+"request.ifNoneExist"
			j.request = in
		default:
			ep.unsupported("request.url", "%q: a transaction may create MedicationRequest and MedicationDispense only", e.Request.URL)
			p.issues = append(p.issues, ep.issues...)
			continue
		}
		jobs = append(jobs, j)
	}
	if err := p.err(); err != nil {
		return err
	}
	results := make([]result, len(b.Entry))
	err = s.store.write(r.Context(), func(tx *sql.Tx) error {
		refs := map[string]string{}
		for _, pass := range []string{"MedicationRequest", "MedicationDispense"} {
			for _, j := range jobs {
				if j.rt != pass {
					continue
				}
				var res result
				var err error
				var full string
				if pass == "MedicationRequest" {
					res, err = s.storeRequest(r.Context(), tx, j.request)
					full = j.request.fullURL
				} else {
					res, err = s.storeDispense(r.Context(), tx, j.dispense, refs)
					full = j.dispense.fullURL
				}
				if err != nil {
					return entryError(err, j.index)
				}
				if full != "" {
					refs[full] = res.rt + "/" + res.id
				}
				results[j.index] = res
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := bundle{ResourceType: "Bundle", ID: newBundleID(), Meta: &meta{LastUpdated: s.now().Format(lastUpdatedLayout)}, Type: "transaction-response"}
	for _, res := range results {
		status := "200 OK"
		if res.created {
			status = "201 Created"
		}
		out.Entry = append(out.Entry, bundleEntry{
			FullURL:  s.URL() + "/" + res.rt + "/" + res.id,
			Resource: res.body,
			Response: &entryResponse{Status: status, Location: res.location(), Etag: `W/"` + strconv.Itoa(res.version) + `"`, LastModified: res.lastUpdated},
		})
	}
	bb, err := json.Marshal(out)
	if err != nil {
		return err
	}
	resp.resource(http.StatusOK, bb)
	resp.write = true
	return nil
}

// entryError names the failing entry in every issue of an outcome.
func entryError(err error, index int) error {
	oe, ok := err.(*outcomeError)
	if !ok {
		return err
	}
	for i := range oe.issues {
		oe.issues[i].Expression = append(oe.issues[i].Expression, "Bundle.entry["+strconv.Itoa(index)+"]")
		oe.issues[i].Diagnostics = "Bundle.entry[" + strconv.Itoa(index) + "]: " + oe.issues[i].Diagnostics
	}
	return oe
}
