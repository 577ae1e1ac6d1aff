package centresim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Renewal requests (issue 23; README, "Task"). The simulator's own
// encoding: it shares none with pkg/centre (DESIGN §4).

const (
	snomed       = "http://snomed.info/sct"
	snomedRenew  = "103742009"
	taskOpenStat = "requested"
)

type taskNote struct {
	AuthorString string `json:"authorString,omitempty"`
	Text         string `json:"text"`
}

type taskResource struct {
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

// taskInput is a renewal request as the simulator understands it.
type taskInput struct {
	identifiers   []identRow
	patient       reference
	requestID     string
	authoredOn    string
	requester     [2]string // name, OID
	note          string
	ifNoneExist   string
	ifNoneExistAt string
}

type taskRow struct {
	ID, PatientID, RequestID, Status, AuthoredOn string
	RequesterName, RequesterOID, Note            string
	Version                                      int
	LastUpdated                                  string
	Identifiers                                  []identRow
}

const taskCols = `id, patient_id, request_id, status, authored_on, requester_name, requester_oid, note, version, last_updated`

func scanTask(sc interface{ Scan(...any) error }) (taskRow, error) {
	var t taskRow
	err := sc.Scan(&t.ID, &t.PatientID, &t.RequestID, &t.Status, &t.AuthoredOn, &t.RequesterName, &t.RequesterOID, &t.Note, &t.Version, &t.LastUpdated)
	return t, err
}

func getTask(ctx context.Context, q querier, id string) (taskRow, bool, error) {
	t, err := scanTask(q.QueryRowContext(ctx, `SELECT `+taskCols+` FROM task WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, err
	}
	t.Identifiers, err = identifiersOf(ctx, q, "Task", id)
	return t, err == nil, err
}

func renderTask(t taskRow) []byte {
	res := taskResource{
		ResourceType: "Task", ID: t.ID, Meta: metaOf(t.Version, t.LastUpdated),
		Identifier: identifiersJSON(t.Identifiers),
		Status:     t.Status, Intent: "order",
		Code: &codeableConcept{Coding: []coding{{System: snomed, Code: snomedRenew, Display: "Renewal of prescription"}},
			Text: "Reseptin uusiminen"},
		Focus:      &reference{Reference: "MedicationRequest/" + t.RequestID},
		For:        &reference{Reference: "Patient/" + t.PatientID},
		AuthoredOn: t.AuthoredOn,
		Requester: &reference{Type: "Organization", Display: t.RequesterName,
			Identifier: &identifier{System: rx.SystemRecordUUID, Value: "urn:oid:" + t.RequesterOID}},
	}
	if t.Note != "" {
		res.Note = []taskNote{{AuthorString: "patient", Text: t.Note}}
	}
	b, _ := json.Marshal(res)
	return b
}

// parseTask checks a renewal Task's shape: every problem in one 400.
func parseTask(res *taskResource) (taskInput, error) {
	p := &problems{}
	var in taskInput
	in.identifiers = parseIdentifiers(res.Identifier, p)
	switch res.Status {
	case "":
		p.required("status")
	case taskOpenStat:
	default:
		p.invalid("status", "a renewal request is created with status requested, not %q", res.Status)
	}
	switch res.Intent {
	case "":
		p.required("intent")
	case "order":
	default:
		p.invalid("intent", "a renewal request has intent order, not %q", res.Intent)
	}
	renewal := false
	if res.Code != nil {
		for _, c := range res.Code.Coding {
			if c.System == snomed && c.Code == snomedRenew {
				renewal = true
			}
		}
	}
	if !renewal {
		p.invalid("code", "only a renewal of a prescription is accepted: code %s|%s", snomed, snomedRenew)
	}
	switch {
	case res.Focus == nil:
		p.required("focus")
	default:
		id, ok := strings.CutPrefix(res.Focus.Reference, "MedicationRequest/")
		if !ok || !idPattern.MatchString(id) {
			p.invalid("focus.reference", "%q is not MedicationRequest/<id>", res.Focus.Reference)
		}
		in.requestID = id
	}
	if res.For == nil {
		p.required("for")
	} else {
		in.patient = *res.For
		checkPatientRef(in.patient, "for", p)
	}
	if res.AuthoredOn == "" {
		p.required("authoredOn")
	} else if t, err := time.Parse(time.RFC3339, res.AuthoredOn); err != nil {
		p.invalid("authoredOn", "%q is not a date and time with a zone, e.g. 2026-12-07T10:15:00+02:00", res.AuthoredOn)
	} else {
		in.authoredOn = t.Format(time.RFC3339)
	}
	switch r := res.Requester; {
	case r == nil:
		p.required("requester (the pharmacy: type Organization with its OID)")
	case r.Identifier == nil || r.Identifier.System != rx.SystemRecordUUID || !strings.HasPrefix(r.Identifier.Value, "urn:oid:"):
		p.invalid("requester.identifier", "the pharmacy is named by its OID: system %s, value urn:oid:<oid>", rx.SystemRecordUUID)
	default:
		in.requester = [2]string{r.Display, strings.TrimPrefix(r.Identifier.Value, "urn:oid:")}
	}
	for _, n := range res.Note {
		if t := strings.TrimSpace(n.Text); t != "" {
			in.note = strings.TrimSpace(in.note + "\n" + t)
		}
	}
	return in, p.err()
}

// storeTask records a renewal request in tx after the rules (README,
// "Business rules on a renewal request").
func (s *Server) storeTask(ctx context.Context, tx *sql.Tx, in taskInput) (result, error) {
	if in.ifNoneExist != "" {
		id, err := matchCondition(ctx, tx, "Task", in.ifNoneExist, in.ifNoneExistAt)
		if err != nil {
			return result{}, err
		}
		if id != "" {
			return s.existingTask(ctx, tx, id)
		}
	}
	patientID, err := resolvePatient(ctx, tx, in.patient)
	if err != nil {
		return result{}, err
	}
	rq, ok, err := getRequest(ctx, tx, in.requestID)
	if err != nil {
		return result{}, err
	}
	if !ok {
		return result{}, businessRule("unknown-prescription", "Reseptiä ei löydy Reseptikeskuksesta: "+in.requestID+".",
			"No such prescription in the Prescription Centre: "+in.requestID+".")
	}
	if rq.PatientID != patientID {
		return result{}, businessRule("patient-mismatch", "Pyynnön potilas ei ole reseptin potilas.", "The request's patient is not the patient of prescription "+rq.ID+".")
	}
	if rq.EnteredInError {
		return result{}, businessRule(statusEnteredInError, "Resepti on mitätöity virheellisenä; sitä ei voi uusia.", "Prescription "+rq.ID+" was voided as entered in error and cannot be renewed.")
	}
	if rq.Status == string(rx.StatusCancelled) {
		return result{}, businessRule("cancelled", "Resepti on mitätöity; sitä ei voi uusia. Potilas ottaa yhteyttä lääkäriin.",
			"Prescription "+rq.ID+" has been cancelled and cannot be renewed; the patient should contact the prescriber.")
	}
	var openID, openAt string
	err = tx.QueryRowContext(ctx, `SELECT id, authored_on FROM task WHERE request_id = ? AND status = ? ORDER BY authored_on LIMIT 1`,
		rq.ID, taskOpenStat).Scan(&openID, &openAt)
	switch {
	case err == nil:
		day := openAt
		if t, perr := time.Parse(time.RFC3339, openAt); perr == nil {
			day = fiDate(t)
		}
		return result{}, businessRule("already-requested", "Reseptin uusimista on jo pyydetty "+day+" (Task/"+openID+").",
			"A renewal of prescription "+rq.ID+" was already requested on "+openAt+" (Task/"+openID+") and is still open.")
	case !errors.Is(err, sql.ErrNoRows):
		return result{}, err
	}
	id, err := nextID(ctx, tx, "task", "task-")
	if err != nil {
		return result{}, err
	}
	stamp := s.now().Format(lastUpdatedLayout)
	if _, err := tx.ExecContext(ctx, `INSERT INTO task (id, patient_id, request_id, status, authored_on, requester_name, requester_oid, note, version, last_updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`, id, patientID, rq.ID, taskOpenStat, in.authoredOn, in.requester[0], in.requester[1], in.note, stamp); err != nil {
		return result{}, err
	}
	if err := insertIdentifiers(ctx, tx, "Task", id, in.identifiers); err != nil {
		return result{}, err
	}
	res, err := s.existingTask(ctx, tx, id)
	res.created = true
	return res, err
}

func (s *Server) existingTask(ctx context.Context, tx *sql.Tx, id string) (result, error) {
	t, ok, err := getTask(ctx, tx, id)
	if err != nil {
		return result{}, err
	}
	if !ok {
		return result{}, errors.New("Task/" + id + " matched but cannot be read")
	}
	return result{rt: "Task", id: id, version: t.Version, lastUpdated: t.LastUpdated, body: renderTask(t)}, nil
}

// createTask handles POST /Task.
func (s *Server) createTask(r *http.Request, resp *response) error {
	body, err := readBody(nil, r)
	if err != nil {
		return err
	}
	var res taskResource
	if err := decodeResource(body, "Task", "", &res); err != nil {
		return err
	}
	in, err := parseTask(&res)
	if err != nil {
		return err
	}
	in.ifNoneExist, in.ifNoneExistAt = r.Header.Get("If-None-Exist"), "If-None-Exist"
	var out result
	if err := s.store.write(r.Context(), func(tx *sql.Tx) error {
		var err error
		out, err = s.storeTask(r.Context(), tx, in)
		return err
	}); err != nil {
		return err
	}
	status := http.StatusOK
	if out.created {
		status = http.StatusCreated
	}
	resp.resource(status, out.body)
	resp.header.Set("Location", "/"+out.location())
	setVersionHeaders(resp, out.version, out.lastUpdated)
	resp.write = true
	return nil
}

// tasksFocused returns the ids of the Tasks whose focus is one of the
// prescriptions, oldest first: a search's _revinclude=Task:focus.
func tasksFocused(ctx context.Context, q querier, requestIDs []string) ([]string, error) {
	if len(requestIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(requestIDs))
	for i, id := range requestIDs {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT id FROM task WHERE request_id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")+`) ORDER BY rowid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
