package centresim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// searchParams lists the search parameters each resource type knows
// (README, "Interactions"); any other is 400.
var searchParams = map[string]map[string]bool{
	"Patient":            set("identifier", "_count", "_offset"),
	"Medication":         set("_count", "_offset"),
	"MedicationRequest":  set("patient.identifier", "identifier", "status", "_include", "_count", "_offset"),
	"MedicationDispense": set("identifier", "patient.identifier", "status", "_count", "_offset"),
}

const (
	defaultCount = 50
	maxCount     = 500
)

// query is a parsed search: SQL conditions over the resource's table and
// the paging.
type query struct {
	where   []string
	args    []any
	count   int
	offset  int
	include bool
}

func (s *Server) search(ctx context.Context, rt string, r *http.Request, resp *response) error {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return refuse(http.StatusBadRequest, "structure", "malformed", "Virheellinen hakuehto.", "Malformed query string: "+err.Error())
	}
	q := query{count: defaultCount}
	p := &problems{}
	var unknown []string
	for name := range values {
		if !searchParams[rt][name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(searchParams[rt]))
		for k := range searchParams[rt] {
			known = append(known, k)
		}
		sort.Strings(known)
		return refuse(http.StatusBadRequest, "not-supported", "unknown-parameter",
			"Tuntematon hakuparametri: "+strings.Join(unknown, ", ")+".",
			"Unknown search parameter "+strings.Join(unknown, ", ")+" for "+rt+"; known: "+strings.Join(known, ", ")+".")
	}
	idCol := map[string]string{"Patient": "t.id", "Medication": "t.id", "MedicationRequest": "r.id", "MedicationDispense": "t.id"}[rt]
	patientCol := map[string]string{"MedicationRequest": "r.patient_id", "MedicationDispense": "t.patient_id"}[rt]
	number := func(name string, min int) int {
		vs := values[name]
		if len(vs) != 1 {
			p.invalid(name, "give it once")
			return 0
		}
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < min {
			p.invalid(name, "%q is not a whole number of at least %d", vs[0], min)
			return 0
		}
		return n
	}
	for name, vs := range values {
		switch name {
		case "_count":
			q.count = min(number(name, 0), maxCount)
		case "_offset":
			q.offset = number(name, 0)
		case "_include":
			for _, v := range vs {
				if v != "MedicationRequest:medication" {
					p.unsupported(name, "only _include=MedicationRequest:medication is supported, not %q", v)
				}
			}
			q.include = true
		case "status":
			for _, v := range vs {
				statuses := strings.Split(v, ",")
				col := "t.status"
				if rt == "MedicationRequest" {
					// A voided prescription keeps its life-cycle status in
					// r.status; entered-in-error is served instead.
					col = "(CASE WHEN r.entered_in_error THEN '" + statusEnteredInError + "' ELSE r.status END)"
				}
				q.where = append(q.where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(statuses)), ",")+")")
				for _, st := range statuses {
					q.args = append(q.args, st)
				}
			}
		case "identifier", "patient.identifier":
			target, col := rt, idCol
			if name == "patient.identifier" {
				target, col = "Patient", patientCol
			}
			for _, v := range vs {
				var toks []token
				for _, part := range strings.Split(v, ",") {
					t := parseToken(part)
					if t.Value == "" && !t.AnyValue || t.AnySystem && t.Value == "" {
						p.invalid(name, "%q is not system|value", part)
						continue
					}
					if target == "Patient" {
						t = hetuToken(t, p, name)
					}
					toks = append(toks, t)
				}
				if len(toks) > 0 {
					c, a := tokenSQL(target, col, toks)
					q.where = append(q.where, c)
					q.args = append(q.args, a...)
				}
			}
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	b, err := s.runSearch(ctx, rt, q, values)
	if err != nil {
		return err
	}
	resp.resource(http.StatusOK, b)
	return nil
}

type found struct {
	id   string
	body []byte
	mode string
}

func (s *Server) runSearch(ctx context.Context, rt string, q query, values url.Values) ([]byte, error) {
	db := s.store.r
	var from, order string
	switch rt {
	case "Patient":
		from, order = ` FROM patient t`, ` ORDER BY t.rowid`
	case "Medication":
		from, order = ` FROM medication t`, ` ORDER BY t.rowid`
	case "MedicationRequest":
		from, order = requestFrom, ` ORDER BY r.authored_on DESC, r.rowid`
	case "MedicationDispense":
		from, order = ` FROM medication_dispense t`, ` ORDER BY t.when_handed_over DESC, t.rowid`
	}
	where := ""
	if len(q.where) > 0 {
		where = " WHERE " + strings.Join(q.where, " AND ")
	}
	// One read transaction, so that total and page come from one snapshot.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from+where, q.args...).Scan(&total); err != nil {
		return nil, err
	}
	idExpr := map[string]string{"MedicationRequest": "r.id"}[rt]
	if idExpr == "" {
		idExpr = "t.id"
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+idExpr+from+where+order+` LIMIT ? OFFSET ?`, append(q.args, q.count, q.offset)...)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var entries []found
	meds := map[string]bool{}
	var medOrder []string
	for _, id := range ids {
		body, _, _, ok, err := s.loadResource(ctx, tx, rt, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		entries = append(entries, found{id: id, body: body, mode: "match"})
		if q.include && rt == "MedicationRequest" {
			var ref struct {
				MedicationReference struct{ Reference string } `json:"medicationReference"`
			}
			_ = json.Unmarshal(body, &ref)
			if mid := strings.TrimPrefix(ref.MedicationReference.Reference, "Medication/"); mid != "" && !meds[mid] {
				meds[mid] = true
				medOrder = append(medOrder, mid)
			}
		}
	}
	for _, mid := range medOrder {
		body, _, _, ok, err := s.loadResource(ctx, tx, "Medication", mid)
		if err != nil {
			return nil, err
		}
		if ok {
			entries = append(entries, found{id: mid, body: body, mode: "include"})
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}

	page := func(offset int) string {
		v := url.Values{}
		for k, vs := range values {
			if k != "_offset" && k != "_count" {
				v[k] = vs
			}
		}
		v.Set("_count", strconv.Itoa(q.count))
		v.Set("_offset", strconv.Itoa(offset))
		return s.URL() + "/" + rt + "?" + v.Encode()
	}
	b := bundle{
		ResourceType: "Bundle", ID: newBundleID(), Meta: &meta{LastUpdated: s.now().Format(lastUpdatedLayout)},
		Type: "searchset", Total: &total,
		Link: []bundleLink{{Relation: "self", URL: page(q.offset)}},
	}
	if q.offset+q.count < total && q.count > 0 {
		b.Link = append(b.Link, bundleLink{Relation: "next", URL: page(q.offset + q.count)})
	}
	for _, e := range entries {
		typ := rt
		if e.mode == "include" {
			typ = "Medication"
		}
		b.Entry = append(b.Entry, bundleEntry{FullURL: s.URL() + "/" + typ + "/" + e.id, Resource: e.body, Search: &entrySearch{Mode: e.mode}})
	}
	return json.Marshal(b)
}

// newBundleID names a Bundle; it need not be stable, as Bundles are not stored.
func newBundleID() string {
	return strconv.FormatInt(time.Now().UnixNano(), 36)
}
