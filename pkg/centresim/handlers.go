package centresim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// maxBody is the largest request body the FHIR port reads (README: 413 above).
const maxBody = 1 << 20

// response is an answer built in memory before it is sent, so that a fault
// can still cut the connection after the write has been committed and
// before a single byte of the answer leaves.
type response struct {
	status int
	header http.Header
	body   []byte
	write  bool // a write was committed
}

func (resp *response) resource(status int, body []byte) {
	resp.status = status
	resp.body = body
	resp.header.Set("Content-Type", fhirContentType)
}

func (resp *response) outcome(e *outcomeError) {
	resp.resource(e.status, operationOutcome(e.issues))
	if e.retryAfter != "" {
		resp.header.Set("Retry-After", e.retryAfter)
	}
}

// serveFHIR is the FHIR port: request id, faults, capacity, routing,
// recovery and the request log, in that order.
func (s *Server) serveFHIR(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		panic(http.ErrAbortHandler) // closing: cut the connection
	}
	defer s.leave()
	rid := requestID(r)
	lr := LoggedRequest{Time: time.Now(), Method: r.Method, Path: maskedPath(r.URL), RequestID: rid, arrived: s.now(),
		line: r.Method + " " + r.RequestURI + " " + r.Proto}
	lr.Records = requestRecords(r)
	start := time.Now()
	resp := &response{header: http.Header{}}
	resp.header.Set("X-Request-Id", rid)
	dropped := false
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // a sentinel compared as net/http does
				if !dropped {
					s.finish(lr, 0, true, start)
				}
				panic(v)
			}
			s.log.Error("panic serving FHIR request", "request_id", rid, "method", r.Method, "path", lr.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			resp.header = http.Header{"X-Request-Id": {rid}}
			resp.outcome(refuse(http.StatusInternalServerError, "exception", "internal", "Sisäinen virhe.", "Internal error; see the simulator's log for request "+rid+"."))
			s.send(w, resp)
		}
		if !dropped {
			s.finish(lr, resp.status, false, start)
		}
	}()

	fault, changed := s.faultNow()
	switch fault.Kind {
	case FaultBlackhole:
		// Accept and never answer: hold the request until the fault changes,
		// the client gives up or the simulator closes, then cut the line.
		select {
		case <-changed:
		case <-r.Context().Done():
		case <-s.closing:
		}
		panic(http.ErrAbortHandler)
	case FaultSlow:
		d, _ := time.ParseDuration(fault.Duration)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler)
		case <-s.closing:
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	case FaultThrottle:
		e := refuse(http.StatusTooManyRequests, "throttled", "throttled", "Liikaa pyyntöjä; yritä uudelleen myöhemmin.", "Too many requests; retry after "+strconv.Itoa(fault.Seconds)+" s.")
		e.retryAfter = strconv.Itoa(fault.Seconds)
		resp.outcome(e)
		s.send(w, resp)
		return
	case FaultError:
		resp.outcome(refuse(http.StatusInternalServerError, "exception", "internal", "Sisäinen virhe.", "Internal error (fault injected)."))
		s.send(w, resp)
		return
	case FaultSkew:
		// The clock of the service is off, as seen from the client: its
		// Date header says so (issue 22's triage compares it to its own).
		d, _ := time.ParseDuration(fault.Duration)
		resp.header.Set("Date", time.Now().Add(d).UTC().Format(http.TimeFormat))
	case FaultFlaky:
		if s.roll(fault.Ratio) {
			e := refuse(http.StatusServiceUnavailable, "transient", "unavailable", "Palvelu ei ole juuri nyt käytettävissä.", "The service is temporarily unavailable.")
			e.retryAfter = "1"
			resp.outcome(e)
			s.send(w, resp)
			return
		}
	}
	if s.bucket != nil {
		now := s.now()
		ok, wait := s.bucket.take(now)
		if !s.cfg.NoHint {
			s.bucket.advertise(resp.header, now)
		}
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			if secs < 1 {
				secs = 1
			}
			e := refuse(http.StatusTooManyRequests, "throttled", "throttled", "Liikaa pyyntöjä; yritä uudelleen myöhemmin.", "Over capacity; retry after "+strconv.Itoa(secs)+" s.")
			e.retryAfter = strconv.Itoa(secs)
			resp.outcome(e)
			s.send(w, resp)
			return
		}
	}

	if err := s.route(r, resp); err != nil {
		var oe *outcomeError
		if !errors.As(err, &oe) {
			s.log.Error("FHIR request failed", "request_id", rid, "method", r.Method, "path", lr.Path, "err", err)
			oe = refuse(http.StatusInternalServerError, "exception", "internal", "Sisäinen virhe.", "Internal error; see the simulator's log for request "+rid+".")
		}
		kept := resp.header
		resp.header = http.Header{"X-Request-Id": {rid}}
		for _, k := range []string{"Allow", "RateLimit", "RateLimit-Policy"} {
			if v := kept.Get(k); v != "" {
				resp.header.Set(k, v)
			}
		}
		resp.outcome(oe)
	}
	if resp.write && fault.Kind == FaultDropAfterCommit && s.roll(fault.Ratio) {
		// Log before cutting, so the log never lags behind what a client saw.
		dropped = true
		s.finish(lr, resp.status, true, start)
		s.drop(w)
		return
	}
	s.send(w, resp)
}

// drop cuts the connection before any byte of the answer is written.
func (s *Server) drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) send(w http.ResponseWriter, resp *response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	if resp.status == 0 {
		resp.status = http.StatusOK
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func (s *Server) finish(lr LoggedRequest, status int, dropped bool, start time.Time) {
	lr.Status, lr.Dropped = status, dropped
	s.logRequest(lr)
	s.accessLog(lr)
	s.log.Debug("FHIR request", "request_id", lr.RequestID, "method", lr.Method, "path", lr.Path, "status", status, "dropped", dropped, "duration", time.Since(start))
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:/+=-]{1,200}$`)

// requestID echoes the client's X-Request-Id when it is a sane token, and
// makes one otherwise.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); requestIDPattern.MatchString(id) {
		return id
	}
	return uuid.NewString()
}

// hetuLike matches anything shaped like an identity code, valid or not.
var hetuLike = regexp.MustCompile(`(?i)\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b`)

// maskedPath is the path and query with identity codes masked, for logs.
func maskedPath(u *url.URL) string {
	p := u.Path
	if u.RawQuery != "" {
		q, err := url.QueryUnescape(u.RawQuery)
		if err != nil {
			q = u.RawQuery
		}
		p += "?" + q
	}
	return hetuLike.ReplaceAllStringFunc(p, hetu.Mask)
}

// requestRecords finds the identifiers a request is about, for the request
// log. A transaction's or an update's body is read here, before any fault,
// and put back for the handler.
func requestRecords(r *http.Request) []string {
	var out []string
	add := func(v string) {
		if v != "" {
			out = append(out, hetuLike.ReplaceAllStringFunc(v, hetu.Mask))
		}
	}
	condition := func(cond string) {
		if vals, err := url.ParseQuery(cond); err == nil {
			if id := vals.Get("identifier"); id != "" {
				add(parseToken(id).Value)
			}
		}
	}
	if c := r.Header.Get("If-None-Exist"); c != "" && r.Method == http.MethodPost {
		condition(c)
		return out
	}
	isTransaction := r.Method == http.MethodPost && strings.Trim(r.URL.Path, "/") == ""
	if (!isTransaction && r.Method != http.MethodPut) || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	var rest io.Reader = bytes.NewReader(body)
	if err != nil {
		rest = io.MultiReader(rest, errReader{err})
	} else {
		rest = io.MultiReader(rest, r.Body) // anything past the limit, for the 413
	}
	r.Body = readCloser{rest, r.Body}
	if isTransaction {
		var b struct {
			Entry []struct {
				Request struct {
					IfNoneExist string `json:"ifNoneExist"`
				} `json:"request"`
			} `json:"entry"`
		}
		if json.Unmarshal(body, &b) == nil {
			for _, e := range b.Entry {
				condition(e.Request.IfNoneExist)
			}
		}
		return out
	}
	add(strings.Trim(r.URL.Path, "/"))
	var res struct {
		Identifier []identifier `json:"identifier"`
	}
	if json.Unmarshal(body, &res) == nil {
		for _, id := range res.Identifier {
			if id.System == rx.SystemRecordUUID {
				add(id.Value)
			}
		}
	}
	return out
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type readCloser struct {
	io.Reader
	io.Closer
}

var resourceTypes = map[string]bool{"Patient": true, "Medication": true, "MedicationRequest": true, "MedicationDispense": true, "Task": true}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func (s *Server) route(r *http.Request, resp *response) error {
	ctx := r.Context()
	path := strings.TrimPrefix(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	notAllowed := func(allow string) error {
		resp.header.Set("Allow", allow)
		return refuse(http.StatusMethodNotAllowed, "not-supported", "method",
			"Menetelmää "+r.Method+" ei tueta osoitteessa /"+path+".", "Method "+r.Method+" is not allowed on /"+path+"; allowed: "+allow+".")
	}
	switch {
	case path == "":
		if method != http.MethodPost {
			return notAllowed("POST")
		}
		return s.transaction(r, resp)
	case path == "metadata":
		if method != http.MethodGet {
			return notAllowed("GET")
		}
		resp.resource(http.StatusOK, s.capabilityStatement())
		return nil
	case len(parts) == 2 && parts[1] == "_search" && resourceTypes[parts[0]]:
		// R4's search by POST: the parameters in a form body, out of the
		// request line, so that an identity code stays out of access logs.
		if method != http.MethodGet && method != http.MethodPost {
			return notAllowed("GET, POST")
		}
		values, err := searchValues(r)
		if err != nil {
			return err
		}
		return s.search(ctx, parts[0], values, resp)
	case len(parts) == 1 && resourceTypes[parts[0]]:
		switch {
		case method == http.MethodGet:
			values, err := searchValues(r)
			if err != nil {
				return err
			}
			return s.search(ctx, parts[0], values, resp)
		case method == http.MethodPost && parts[0] == "MedicationDispense":
			return s.create(r, resp, "MedicationDispense")
		case method == http.MethodPost && parts[0] == "MedicationRequest":
			return s.create(r, resp, "MedicationRequest")
		case method == http.MethodPost && parts[0] == "Task":
			return s.createTask(r, resp)
		case parts[0] == "MedicationDispense" || parts[0] == "MedicationRequest" || parts[0] == "Task":
			return notAllowed("GET, POST")
		}
		return notAllowed("GET")
	case len(parts) == 2 && r.Method == http.MethodPut && statusReasonElement[parts[0]] != "":
		if !idPattern.MatchString(parts[1]) {
			return notFound(parts[0] + "/" + parts[1])
		}
		return s.update(r, resp, parts[0], parts[1])
	case (len(parts) == 2 || len(parts) == 4 && parts[2] == "_history") && resourceTypes[parts[0]]:
		if method != http.MethodGet {
			if len(parts) == 2 && statusReasonElement[parts[0]] != "" {
				return notAllowed("GET, PUT")
			}
			return notAllowed("GET")
		}
		if !idPattern.MatchString(parts[1]) {
			return notFound(parts[0] + "/" + parts[1])
		}
		version := ""
		if len(parts) == 4 {
			version = parts[3]
		}
		return s.read(ctx, parts[0], parts[1], version, resp)
	}
	return refuse(http.StatusNotFound, "not-found", "not-found", "Osoitetta /"+path+" ei ole.", "No route /"+path+" on this server.")
}

// loadResource reads one stored resource and renders it.
func (s *Server) loadResource(ctx context.Context, q querier, rt, id string) (body []byte, version int, lastUpdated string, found bool, err error) {
	switch rt {
	case "Patient":
		p, ok, err := getPatient(ctx, q, id)
		if !ok || err != nil {
			return nil, 0, "", false, err
		}
		return renderPatient(p), p.Version, p.LastUpdated, true, nil
	case "Medication":
		m, ok, err := getMedication(ctx, q, id)
		if !ok || err != nil {
			return nil, 0, "", false, err
		}
		return renderMedication(m), m.Version, m.LastUpdated, true, nil
	case "MedicationRequest":
		r, ok, err := getRequest(ctx, q, id)
		if !ok || err != nil {
			return nil, 0, "", false, err
		}
		return renderRequest(r), r.Version, r.LastUpdated, true, nil
	case "MedicationDispense":
		d, ok, err := getDispense(ctx, q, id)
		if !ok || err != nil {
			return nil, 0, "", false, err
		}
		m, _, err := getMedication(ctx, q, d.MedicationID)
		if err != nil {
			return nil, 0, "", false, err
		}
		return renderDispense(d, m), d.Version, d.LastUpdated, true, nil
	case "Task":
		t, ok, err := getTask(ctx, q, id)
		if !ok || err != nil {
			return nil, 0, "", false, err
		}
		return renderTask(t), t.Version, t.LastUpdated, true, nil
	}
	return nil, 0, "", false, nil
}

func (s *Server) read(ctx context.Context, rt, id, version string, resp *response) error {
	load := s.loadResource
	if f, _ := s.faultNow(); f.Kind == FaultWrongPatient && rt == "MedicationRequest" {
		load = s.requestOfAnother // issue 22: a read by id about another patient
	}
	body, v, lastUpdated, ok, err := load(ctx, s.store.r, rt, id)
	if err != nil {
		return err
	}
	// Only the current version is kept, so a vread of any other is 404.
	if !ok || version != "" && version != strconv.Itoa(v) {
		what := rt + "/" + id
		if version != "" {
			what += "/_history/" + version
		}
		return notFound(what)
	}
	resp.resource(http.StatusOK, body)
	setVersionHeaders(resp, v, lastUpdated)
	return nil
}

func setVersionHeaders(resp *response, version int, lastUpdated string) {
	resp.header.Set("ETag", `W/"`+strconv.Itoa(version)+`"`)
	if t, err := time.Parse(lastUpdatedLayout, lastUpdated); err == nil {
		resp.header.Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
}

// capabilityStatement describes what this server does; it is also the
// health probe, so it is cheap.
func (s *Server) capabilityStatement() []byte {
	type searchParam struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	type interaction struct {
		Code string `json:"code"`
	}
	type resource struct {
		Type              string        `json:"type"`
		Interaction       []interaction `json:"interaction"`
		Versioning        string        `json:"versioning"`
		ReadHistory       bool          `json:"readHistory"`
		ConditionalCreate bool          `json:"conditionalCreate,omitempty"`
		SearchInclude     []string      `json:"searchInclude,omitempty"`
		SearchRevInclude  []string      `json:"searchRevInclude,omitempty"`
		SearchParam       []searchParam `json:"searchParam,omitempty"`
	}
	read := []interaction{{"read"}, {"vread"}, {"search-type"}}
	write := append(append([]interaction{}, read...), interaction{"create"}, interaction{"update"})
	token := func(names ...string) []searchParam {
		var out []searchParam
		for _, n := range names {
			typ := "token"
			switch n {
			case "_count", "_offset":
				typ = "number"
			case "_lastUpdated":
				typ = "date"
			}
			out = append(out, searchParam{n, typ})
		}
		return out
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         s.now().Format(time.DateOnly),
		"publisher":    "tiski",
		"kind":         "instance",
		"software":     map[string]string{"name": "tiski Prescription Centre simulator"},
		"implementation": map[string]string{
			"description": "Simulated Prescription Centre (Reseptikeskus) for tests and training; not a real service",
			"url":         s.URL(),
		},
		"fhirVersion": "4.0.1",
		"format":      []string{"application/fhir+json"},
		"rest": []any{map[string]any{
			"mode": "server",
			"resource": []resource{
				{Type: "Patient", Interaction: read, Versioning: "versioned", SearchParam: token("_id", "identifier", "_count", "_offset")},
				{Type: "Medication", Interaction: read, Versioning: "versioned", SearchParam: token("_id", "status", "_lastUpdated", "_count", "_offset")},
				{Type: "MedicationRequest", Interaction: write, Versioning: "versioned", ConditionalCreate: true,
					SearchInclude:    []string{"MedicationRequest:medication", "MedicationRequest:patient", "MedicationRequest:subject"},
					SearchRevInclude: []string{"Task:focus"},
					SearchParam:      token("_id", "patient.identifier", "identifier", "status", "_count", "_offset")},
				{Type: "MedicationDispense", Interaction: write, Versioning: "versioned", ConditionalCreate: true,
					SearchParam: token("_id", "identifier", "patient.identifier", "status", "_count", "_offset")},
				{Type: "Task", Interaction: append(append([]interaction{}, read...), interaction{"create"}), Versioning: "versioned", ConditionalCreate: true,
					SearchParam: token("_id", "identifier", "_count", "_offset")},
			},
			"interaction": []interaction{{"transaction"}},
		}},
	}
	b, _ := json.Marshal(cs)
	return b
}

// readBody reads a request body: the media type must be FHIR JSON (or
// plain JSON) and the body at most 1 MiB.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/fhir+json" && mt != "application/json") ||
		params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8") {
		return nil, refuse(http.StatusUnsupportedMediaType, "not-supported", "media-type",
			"Sisältötyyppiä ei tueta: "+strconv.Quote(ct)+"; käytä application/fhir+json.",
			"Unsupported Content-Type "+strconv.Quote(ct)+": send application/fhir+json.")
	}
	tooLarge := refuse(http.StatusRequestEntityTooLarge, "too-costly", "too-large",
		"Pyyntö on liian suuri (yli 1 MiB).", "The request body is over 1 MiB.")
	if r.ContentLength > maxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, malformed("Pyynnön lukeminen epäonnistui.", "Could not read the request body: "+err.Error())
	}
	return body, nil
}

// decodeResource checks that body is one JSON object of resource type want,
// with only the elements the simulator reads, and decodes it into v.
func decodeResource(body []byte, want, prefix string, v any) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		msg := "not a JSON object"
		if err != nil {
			msg = err.Error()
		}
		return malformed("Virheellinen JSON: "+prefix+msg, "Malformed JSON: "+prefix+msg)
	}
	var rt string
	if raw, ok := top["resourceType"]; !ok || json.Unmarshal(raw, &rt) != nil || rt == "" {
		return refuse(http.StatusBadRequest, "required", "wrong-resource-type",
			"resourceType puuttuu: odotettiin "+want+".", prefix+"resourceType is missing; expected "+want+".")
	}
	if rt != want {
		return refuse(http.StatusBadRequest, "invalid", "wrong-resource-type",
			"Väärä resourceType "+strconv.Quote(rt)+": odotettiin "+want+".", prefix+"resourceType is "+strconv.Quote(rt)+"; expected "+want+".")
	}
	p := &problems{prefix: prefix}
	for k := range top {
		if !acceptedElements[want][k] {
			p.unsupported(k, "element %q is not supported by this Prescription Centre", k)
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return malformed("Virheellinen JSON: "+prefix+err.Error(), "Malformed "+want+": "+prefix+err.Error())
	}
	return nil
}

// HETU search values are normalised, so that a lower-case code finds the patient.
func hetuToken(t token, p *problems, param string) token {
	if t.AnyValue || !(t.AnySystem || t.System == rx.SystemHETU) {
		return t
	}
	id, err := hetu.Parse(t.Value)
	if err == nil {
		t.Value = id.String()
	} else if !t.AnySystem {
		p.invalid(param, "%v", err)
	}
	return t
}
