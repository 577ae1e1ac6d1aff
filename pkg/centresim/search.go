package centresim

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// searchParams lists the search parameters each resource type knows
// (README, "Interactions"); any other is 400.
var searchParams = map[string]map[string]bool{
	"Patient":            set("_id", "identifier", "_count", "_offset", "_page"),
	"Medication":         set("_id", "status", "_lastUpdated", "_count", "_offset", "_page"),
	"MedicationRequest":  set("_id", "patient.identifier", "identifier", "status", "_include", "_revinclude", "_count", "_offset", "_page"),
	"MedicationDispense": set("_id", "identifier", "patient.identifier", "status", "_count", "_offset", "_page"),
	"Task":               set("_id", "identifier", "_count", "_offset", "_page"),
}

// includes are the _include values a MedicationRequest search takes: its
// medicine, and its patient under either of R4's two names for it.
var includes = map[string]string{
	"MedicationRequest:medication": "Medication",
	"MedicationRequest:patient":    "Patient",
	"MedicationRequest:subject":    "Patient",
}

// paging are the parameters that choose a page rather than the matches.
var paging = set("_count", "_offset", "_page")

const (
	defaultCount = 50
	maxCount     = 500
)

// query is a parsed search: SQL conditions over the resource's table and
// the paging.
type query struct {
	where    []string
	args     []any
	count    int
	offset   int
	includes map[string]bool // resource types to include: Medication, Patient
	// tasks adds the Tasks whose focus is a matched prescription:
	// _revinclude=Task:focus, its renewal requests (issue 23).
	tasks bool
	// anotherPatient serves each MedicationRequest matched as another
	// patient's: the wrong-patient fault on a read by id (issue 22).
	anotherPatient bool
	// after is a Medication page's keyset (catalogue.go): the page starts
	// after this lastUpdated (ms) and id. Only a next link sets it.
	after *keyset
}

// searchValues are a search's parameters: the query string, and for a POST
// to [type]/_search the form body too, merged (R4 3.1.0.1.2: both may carry
// parameters).
func searchValues(r *http.Request) (url.Values, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "structure", "malformed", "Virheellinen hakuehto.", "Malformed query string: "+err.Error())
	}
	if r.Method != http.MethodPost {
		return values, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" || params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8") {
		return nil, refuse(http.StatusUnsupportedMediaType, "not-supported", "media-type",
			"Sisältötyyppiä ei tueta: "+strconv.Quote(ct)+"; käytä application/x-www-form-urlencoded.",
			"Unsupported Content-Type "+strconv.Quote(ct)+" for a search: send application/x-www-form-urlencoded.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, refuse(http.StatusRequestEntityTooLarge, "too-costly", "too-large",
				"Pyyntö on liian suuri (yli 1 MiB).", "The request body is over 1 MiB.")
		}
		return nil, malformed("Pyynnön lukeminen epäonnistui.", "Could not read the request body: "+err.Error())
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "structure", "malformed", "Virheellinen hakuehto.", "Malformed form body: "+err.Error())
	}
	for k, vs := range form {
		values[k] = append(values[k], vs...)
	}
	return values, nil
}

func (s *Server) search(ctx context.Context, rt string, values url.Values, resp *response) error {
	// A page link names the search's parameters by a token (see pageStore):
	// take them back, and the page from the link.
	var after *keyset
	if tokens, ok := values["_page"]; ok {
		var extra []string
		for name := range values {
			if !paging[name] {
				extra = append(extra, name)
			}
		}
		if len(tokens) != 1 || len(extra) > 0 {
			sort.Strings(extra)
			en := "Give _page once, with only _count and _offset beside it; it stands for the search's other parameters."
			if len(extra) > 0 {
				en += " Also given: " + strings.Join(extra, ", ") + "."
			}
			return refuse(http.StatusBadRequest, "invalid", "invalid-field", "_page annetaan kerran ja ilman muita hakuehtoja.", en)
		}
		stored, ok := s.pages.lookup(rt, tokens[0])
		if !ok {
			return refuse(http.StatusGone, "not-found", "page-expired", "Hakutulos on vanhentunut; tee haku uudelleen.",
				"The search this page belongs to is no longer held; run the search again.")
		}
		merged := url.Values{}
		for k, vs := range stored {
			if k == keysetParam {
				if ks, ok := parseKeyset(vs[0]); ok {
					after = &ks
				}
				continue
			}
			merged[k] = vs
		}
		for _, k := range []string{"_count", "_offset"} {
			if vs, ok := values[k]; ok {
				merged[k] = vs
			}
		}
		values = merged
	}
	q := query{count: defaultCount, includes: map[string]bool{}, after: after}
	if f, _ := s.faultNow(); f.Kind == FaultWrongPatient {
		values = s.otherPatient(ctx, rt, values)
		// A read by id (the client's search by _id) is answered about
		// another patient too.
		_, byID := values["_id"]
		q.anotherPatient = rt == "MedicationRequest" && byID
	}
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
	idCol := map[string]string{"Patient": "t.id", "Medication": "t.id", "MedicationRequest": "r.id", "MedicationDispense": "t.id", "Task": "t.id"}[rt]
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
				typ, ok := includes[v]
				if !ok {
					p.unsupported(name, "only _include=MedicationRequest:medication, MedicationRequest:patient and MedicationRequest:subject are supported, not %q", v)
				}
				q.includes[typ] = true
			}
		case "_revinclude":
			for _, v := range vs {
				if v != "Task:focus" {
					p.unsupported(name, "only _revinclude=Task:focus is supported, not %q", v)
				}
			}
			q.tasks = true
		case "_lastUpdated":
			for _, v := range vs {
				cond, arg, err := lastUpdatedSQL(v)
				if err != nil {
					p.invalid(name, "%v", err)
					continue
				}
				q.where = append(q.where, cond)
				q.args = append(q.args, arg...)
			}
		case "_id":
			var ids []string
			for _, v := range vs {
				ids = append(ids, strings.Split(v, ",")...)
			}
			q.where = append(q.where, idCol+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+")")
			for _, id := range ids {
				q.args = append(q.args, id)
			}
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
	typ  string
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
		// By lastUpdated, then id: the keyset its pages follow.
		from, order = ` FROM medication t`, ` ORDER BY t.updated_ms, t.id`
	case "MedicationRequest":
		from, order = requestFrom, ` ORDER BY r.authored_on DESC, r.rowid`
	case "MedicationDispense":
		from, order = ` FROM medication_dispense t`, ` ORDER BY t.when_handed_over DESC, t.rowid`
	case "Task":
		from, order = ` FROM task t`, ` ORDER BY t.rowid`
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
	// A Medication search pages by keyset (lastUpdated, id) rather than by
	// offset: a Medication updated while a client pages moves to the end
	// of the order, where the client still meets it, and none that it has
	// not seen moves into the pages already read (README, "Catalogue").
	keyed := rt == "Medication"
	pageWhere, pageArgs := where, append([]any(nil), q.args...)
	if keyed && q.after != nil {
		cond := `(t.updated_ms > ? OR (t.updated_ms = ? AND t.id > ?))`
		if pageWhere == "" {
			pageWhere = " WHERE " + cond
		} else {
			pageWhere += " AND " + cond
		}
		pageArgs = append(pageArgs, q.after.ms, q.after.ms, q.after.id)
	}
	limit := q.count
	if keyed {
		limit++ // one more tells whether a next page exists
	}
	// A Medication page is read whole by the page's query, its rows
	// rendered as they come: a catalogue's page holds 500, and a query
	// each would cost more than the rest of the answer.
	cols := idExpr
	if keyed {
		cols = medicationCols + ", updated_ms"
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+cols+from+pageWhere+order+` LIMIT ? OFFSET ?`, append(pageArgs, limit, q.offset)...)
	if err != nil {
		return nil, err
	}
	var ids []string
	var last keyset
	more := false
	rendered := map[string][]byte{}
	for rows.Next() {
		var id string
		var ms int64
		var m medicationRow
		if keyed {
			err = rows.Scan(&m.ID, &m.VNR, &m.Name, &m.Substance, &m.ATC, &m.Strength, &m.Form, &m.Unit, &m.Class, &m.PackSize,
				&m.Version, &m.LastUpdated, &m.PackText, &m.Prescription, &m.Group, &m.Status, &ms)
			id = m.ID
		} else {
			err = rows.Scan(&id)
		}
		if err != nil {
			rows.Close()
			return nil, err
		}
		if len(ids) == q.count {
			more = true
			break
		}
		ids = append(ids, id)
		if keyed {
			rendered[id] = renderMedication(m)
		}
		last = keyset{ms: ms, id: id}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var entries []found
	// Included resources, each once, in the order first referred to.
	included := map[string]bool{}
	var includeOrder []string // "Type/id"
	for _, id := range ids {
		load := s.loadResource
		if q.anotherPatient {
			load = s.requestOfAnother
		}
		body, ok := rendered[id]
		if !ok {
			body, _, _, ok, err = load(ctx, tx, rt, id)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		entries = append(entries, found{typ: rt, id: id, body: body, mode: "match"})
		if len(q.includes) > 0 && rt == "MedicationRequest" {
			var ref struct {
				MedicationReference struct{ Reference string } `json:"medicationReference"`
				Subject             struct{ Reference string } `json:"subject"`
			}
			_ = json.Unmarshal(body, &ref)
			// In a fixed order, each match's Medication before its Patient, so
			// that the same search gives the same Bundle.
			for _, inc := range [...]struct{ typ, ref string }{{"Medication", ref.MedicationReference.Reference}, {"Patient", ref.Subject.Reference}} {
				typ, r := inc.typ, inc.ref
				if q.includes[typ] && strings.HasPrefix(r, typ+"/") && !included[r] {
					included[r] = true
					includeOrder = append(includeOrder, r)
				}
			}
		}
	}
	if q.tasks && rt == "MedicationRequest" {
		var matched []string
		for _, e := range entries {
			matched = append(matched, e.id)
		}
		tasks, err := tasksFocused(ctx, tx, matched)
		if err != nil {
			return nil, err
		}
		for _, id := range tasks {
			includeOrder = append(includeOrder, "Task/"+id)
		}
	}
	for _, ref := range includeOrder {
		typ, id, _ := strings.Cut(ref, "/")
		body, _, _, ok, err := s.loadResource(ctx, tx, typ, id)
		if err != nil {
			return nil, err
		}
		if ok {
			entries = append(entries, found{typ: typ, id: id, body: body, mode: "include"})
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}

	// The links never repeat the search's parameters: they may hold an
	// identity code, and a link is requested with GET, so they would end up
	// in every access log and proxy on the way. A token names them instead.
	filter := url.Values{}
	for k, vs := range values {
		if !paging[k] {
			filter[k] = vs
		}
	}
	token := ""
	if len(filter) > 0 {
		token = s.pages.token(rt, filter)
	}
	page := func(offset int) string {
		v := url.Values{}
		if token != "" {
			v.Set("_page", token)
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
	switch {
	case keyed:
		if q.after != nil {
			self := url.Values{}
			for k, vs := range filter {
				self[k] = vs
			}
			self.Set(keysetParam, q.after.String())
			b.Link[0].URL = s.URL() + "/" + rt + "?" + url.Values{"_page": {s.pages.token(rt, self)}, "_count": {strconv.Itoa(q.count)}}.Encode()
		}
		if more && q.count > 0 {
			next := url.Values{}
			for k, vs := range filter {
				next[k] = vs
			}
			next.Set(keysetParam, last.String())
			b.Link = append(b.Link, bundleLink{Relation: "next",
				URL: s.URL() + "/" + rt + "?" + url.Values{"_page": {s.pages.token(rt, next)}, "_count": {strconv.Itoa(q.count)}}.Encode()})
		}
	case q.offset+q.count < total && q.count > 0:
		b.Link = append(b.Link, bundleLink{Relation: "next", URL: page(q.offset + q.count)})
	}
	for _, e := range entries {
		b.Entry = append(b.Entry, bundleEntry{FullURL: s.URL() + "/" + e.typ + "/" + e.id, Resource: e.body, Search: &entrySearch{Mode: e.mode}})
	}
	return json.Marshal(b)
}

// newBundleID names a Bundle; it need not be stable, as Bundles are not stored.
func newBundleID() string {
	return strconv.FormatInt(time.Now().UnixNano(), 36)
}

// maxPageSets bounds how many searches' parameters pageStore holds; the
// oldest is forgotten first, and its page links then answer 410.
const maxPageSets = 10000

// pageStore keeps the parameters of searches whose Bundles link to pages,
// under random tokens, so that a link carries a token rather than the
// parameters (the _getpages style of other FHIR servers). The same
// parameters get the same token while they are held, so a client paging
// through many searches does not grow it without bound.
type pageStore struct {
	mu      sync.Mutex
	byKey   map[string]string // resource type and canonical parameters → token
	byToken map[string]pageSet
	order   []string // tokens, oldest first
}

type pageSet struct {
	rt     string
	key    string
	values url.Values
}

func newPageStore() *pageStore {
	return &pageStore{byKey: map[string]string{}, byToken: map[string]pageSet{}}
}

// token returns the token for rt's search with values, making one when
// needed.
func (ps *pageStore) token(rt string, values url.Values) string {
	key := rt + "?" + values.Encode() // Encode sorts by name
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if tok, ok := ps.byKey[key]; ok {
		return tok
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := tokenEncoding.EncodeToString(b[:])
	if len(ps.order) >= maxPageSets {
		old := ps.order[0]
		ps.order = ps.order[1:]
		delete(ps.byKey, ps.byToken[old].key)
		delete(ps.byToken, old)
	}
	ps.byKey[key] = tok
	ps.byToken[tok] = pageSet{rt: rt, key: key, values: values}
	ps.order = append(ps.order, tok)
	return tok
}

// tokenEncoding writes tokens in letters only: digits could by chance
// take the shape of an identity code (123456A789B), and a test looking for
// one in request lines would then fail for nothing.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyzABCDEF").WithPadding(base32.NoPadding)

// lookup returns the parameters a token of rt stands for.
func (ps *pageStore) lookup(rt, tok string) (url.Values, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	set, ok := ps.byToken[tok]
	if !ok || set.rt != rt {
		return nil, false
	}
	return set.values, true
}

// otherPatient plays the wrong-patient fault (issue 22, criterion (d)): a
// search by a patient's identity code is run for another patient of the
// store, the first by id whose code differs, so that the answer is well
// formed but about someone else. A search by anything else, or a store of
// one patient, is left as asked.
func (s *Server) otherPatient(ctx context.Context, rt string, values url.Values) url.Values {
	name := "patient.identifier"
	if rt == "Patient" {
		name = "identifier"
	} else if rt != "MedicationRequest" {
		return values
	}
	vs := values[name]
	if len(vs) != 1 {
		return values
	}
	_, asked, _ := strings.Cut(vs[0], "|")
	var other string
	if err := s.store.r.QueryRowContext(ctx, `SELECT hetu FROM patient WHERE hetu <> ? ORDER BY id LIMIT 1`,
		strings.ToUpper(strings.TrimSpace(asked))).Scan(&other); err != nil {
		return values
	}
	out := url.Values{}
	for k, v := range values {
		out[k] = v
	}
	out[name] = []string{rx.SystemHETU + "|" + other}
	return out
}

// requestOfAnother plays the wrong-patient fault on a read by id (issue 22,
// criterion (d)): the MedicationRequest id is served whole, well formed,
// but as another patient's, its subject the first other patient of the
// store by id, whom an _include then brings. A store of one patient serves
// it as it is. rt is always MedicationRequest here; it is taken to fit
// loadResource.
func (s *Server) requestOfAnother(ctx context.Context, q querier, rt, id string) ([]byte, int, string, bool, error) {
	r, ok, err := getRequest(ctx, q, id)
	if !ok || err != nil {
		return nil, 0, "", false, err
	}
	var other string
	if err := q.QueryRowContext(ctx, `SELECT id FROM patient WHERE id <> ? AND hetu <> (SELECT hetu FROM patient WHERE id = ?) ORDER BY id LIMIT 1`,
		r.PatientID, r.PatientID).Scan(&other); err == nil {
		r.PatientID = other
	}
	return renderRequest(r), r.Version, r.LastUpdated, true, nil
}

// keysetParam carries a Medication page's keyset inside a page token; it
// is never a search parameter of its own.
const keysetParam = "\x00after"

// keyset is where a Medication page starts: after the resource of this
// lastUpdated (milliseconds since the epoch) and id.
type keyset struct {
	ms int64
	id string
}

func (k keyset) String() string { return strconv.FormatInt(k.ms, 10) + "/" + k.id }

func parseKeyset(s string) (keyset, bool) {
	ms, id, ok := strings.Cut(s, "/")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return keyset{}, false
	}
	return keyset{ms: n, id: id}, true
}

// lastUpdatedSQL turns a _lastUpdated value into a condition on
// t.updated_ms, as R4 defines its prefixes (3.1.1.5.6, "date"): the value
// stands for the range of its precision (a day, a second, a millisecond),
// eq is within it, ne outside it, gt and ge after its end or its start,
// lt and le before its start or its end. A stored instant is a
// millisecond. sa, eb and ap are refused.
func lastUpdatedSQL(v string) (string, []any, error) {
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	// A "+" of a time zone that was not percent-encoded arrives as a
	// space.
	v = strings.ReplaceAll(v, " ", "+")
	lo, hi, err := instantRange(v)
	if err != nil {
		return "", nil, err
	}
	loMS, hiMS := ceilMS(lo), ceilMS(hi)
	switch prefix {
	case "eq":
		return "(t.updated_ms >= ? AND t.updated_ms < ?)", []any{loMS, hiMS}, nil
	case "ne":
		return "(t.updated_ms < ? OR t.updated_ms >= ?)", []any{loMS, hiMS}, nil
	case "gt":
		return "t.updated_ms >= ?", []any{hiMS}, nil
	case "ge":
		return "t.updated_ms >= ?", []any{loMS}, nil
	case "lt":
		return "t.updated_ms < ?", []any{loMS}, nil
	case "le":
		return "t.updated_ms < ?", []any{hiMS}, nil
	}
	return "", nil, fmt.Errorf("prefix %q is not supported: use eq, ne, gt, ge, lt or le", prefix)
}

// instantRange reads a FHIR date or dateTime into the range its precision
// stands for, [lo, hi). A date without a time is taken in UTC.
func instantRange(v string) (time.Time, time.Time, error) {
	for _, d := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	} {
		if len(v) == len(d.layout) {
			if t, err := time.Parse(d.layout, v); err == nil {
				return t, d.next(t), nil
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%q is not a date or an instant such as 2026-12-07T10:00:00.000Z", v)
	}
	step := time.Second
	if _, rest, ok := strings.Cut(v, "."); ok {
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		step = time.Second
		for range digits {
			step /= 10
		}
		step = max(step, time.Nanosecond)
	}
	return t, t.Add(step), nil
}

// ceilMS is t in whole milliseconds since the epoch, rounded up.
func ceilMS(t time.Time) int64 {
	ns := t.UnixNano()
	ms := ns / 1e6
	if ns%1e6 > 0 {
		ms++
	}
	return ms
}
