package centresim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// transactionBundle builds a paper prescription and its dispensing, the
// dispensing pointing at the prescription's urn:uuid: fullUrl. An entry's
// fullUrl is a UUID of its own, as tiski sends it, not the record's
// identifier.
func transactionBundle(rxRec, dispRec, patient string, prescribed, dispensed int) map[string]any {
	return transactionBundleNamed(rxRec, dispRec, newUUID(), newUUID(), patient, prescribed, dispensed)
}

// transactionBundleNamed is transactionBundle with the entries' fullUrls
// given.
func transactionBundleNamed(rxRec, dispRec, rxFull, dispFull, patient string, prescribed, dispensed int) map[string]any {
	mr := paperPrescription(rxRec, "Patient?identifier="+rx.SystemHETU+"|"+patient, "990011", prescribed)
	md := dispensing(dispRec, patient, "", "990011", dispensed, "Apteekki Yksi")
	md["authorizingPrescription"] = []any{map[string]any{"reference": "urn:uuid:" + rxFull}}
	return map[string]any{
		"resourceType": "Bundle", "type": "transaction",
		"entry": []any{
			map[string]any{"fullUrl": "urn:uuid:" + rxFull, "resource": mr,
				"request": map[string]any{"method": "POST", "url": "MedicationRequest", "ifNoneExist": "identifier=urn:ietf:rfc:3986|urn:uuid:" + rxRec}},
			map[string]any{"fullUrl": "urn:uuid:" + dispFull, "resource": md,
				"request": map[string]any{"method": "POST", "url": "MedicationDispense", "ifNoneExist": "identifier=urn:ietf:rfc:3986|urn:uuid:" + dispRec}},
		},
	}
}

func TestTransaction(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	rxRec, dispRec := newUUID(), newUUID()
	b := transactionBundle(rxRec, dispRec, hetuMatti, 30, 30)

	first := call(t, nil, "POST", s.URL()+"/", b)
	if first.status != 200 {
		t.Fatalf("transaction: %d %s", first.status, first.body)
	}
	v.Check(t, "transaction-response", first.body)
	var resp struct {
		Type  string
		Entry []struct {
			Resource map[string]any
			Response struct{ Status, Location, Etag string }
		}
	}
	if err := json.Unmarshal(first.body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Type != "transaction-response" || len(resp.Entry) != 2 {
		t.Fatalf("answer %s", first.body)
	}
	for i, e := range resp.Entry {
		if e.Response.Status != "201 Created" || e.Response.Etag == "" || !strings.Contains(e.Response.Location, "/_history/") {
			t.Errorf("entry %d response %+v", i, e.Response)
		}
	}
	mrID := resp.Entry[0].Resource["id"].(string)
	if got := resp.Entry[0].Resource["subject"].(map[string]any)["reference"]; got != "Patient/pat-2" {
		t.Errorf("conditional subject resolved to %v, want Patient/pat-2", got)
	}
	if got := resp.Entry[1].Resource["authorizingPrescription"].([]any)[0].(map[string]any)["reference"]; got != "MedicationRequest/"+mrID {
		t.Errorf("urn:uuid reference rewritten to %v, want MedicationRequest/%s", got, mrID)
	}
	// The prescription is now fully dispensed: version 2, completed.
	mr := call(t, nil, "GET", s.URL()+"/MedicationRequest/"+mrID, nil)
	v.Check(t, "recorded MedicationRequest", mr.body)
	m := mr.json(t)
	if m["status"] != "completed" || mr.header.Get("ETag") != `W/"2"` || m["reportedBoolean"] != true || m["recorder"] == nil {
		t.Errorf("recorded prescription: ETag %s %s", mr.header.Get("ETag"), mr.body)
	}
	if vp := m["dispenseRequest"].(map[string]any)["validityPeriod"].(map[string]any); vp["end"] != "2028-11-20" {
		t.Errorf("validity end %v, want 2028-11-20 (24 months)", vp["end"])
	}
	// The prescription is found by its record id.
	a := call(t, nil, "GET", s.URL()+"/MedicationRequest?identifier="+url.QueryEscape("urn:ietf:rfc:3986|urn:uuid:"+rxRec), nil)
	if a.json(t)["total"].(float64) != 1 {
		t.Errorf("search by record: %s", a.body)
	}

	t.Run("retried whole, it is matched, not repeated", func(t *testing.T) {
		again := call(t, nil, "POST", s.URL()+"/", b)
		if again.status != 200 {
			t.Fatalf("retry: %d %s", again.status, again.body)
		}
		v.Check(t, "transaction-response", again.body)
		if err := json.Unmarshal(again.body, &resp); err != nil {
			t.Fatal(err)
		}
		for i, e := range resp.Entry {
			if e.Response.Status != "200 OK" {
				t.Errorf("entry %d: %s, want 200 OK", i, e.Response.Status)
			}
		}
		for _, rec := range []struct{ rt, id string }{{"MedicationRequest", rxRec}, {"MedicationDispense", dispRec}} {
			if n, _ := s.CountByIdentifier(rec.rt, rx.SystemRecordUUID, "urn:uuid:"+rec.id); n != 1 {
				t.Errorf("%s stored %d times", rec.rt, n)
			}
		}
	})

	// A fullUrl only names an entry within its Bundle (R4): the same
	// records under other fullUrls, or under their own identifiers as
	// fullUrls, are matched by their identifiers, and the reference to the
	// prescription entry is resolved whatever its fullUrl.
	for _, names := range []struct{ name, rxFull, dispFull string }{
		{"other fullUrls", newUUID(), newUUID()},
		{"fullUrls equal to the identifiers", rxRec, dispRec},
	} {
		t.Run("retried under "+names.name+", it is matched by identifier", func(t *testing.T) {
			again := call(t, nil, "POST", s.URL()+"/", transactionBundleNamed(rxRec, dispRec, names.rxFull, names.dispFull, hetuMatti, 30, 30))
			if again.status != 200 {
				t.Fatalf("retry: %d %s", again.status, again.body)
			}
			if err := json.Unmarshal(again.body, &resp); err != nil {
				t.Fatal(err)
			}
			if len(resp.Entry) != 2 || resp.Entry[0].Resource["id"] != mrID || resp.Entry[0].Response.Status != "200 OK" || resp.Entry[1].Response.Status != "200 OK" {
				t.Fatalf("answer %s, want both entries 200 OK, the prescription %s", again.body, mrID)
			}
			if got := resp.Entry[1].Resource["authorizingPrescription"].([]any)[0].(map[string]any)["reference"]; got != "MedicationRequest/"+mrID {
				t.Errorf("the dispensing refers to %v, want MedicationRequest/%s", got, mrID)
			}
			for i, rec := range []string{rxRec, dispRec} {
				ids, _ := json.Marshal(resp.Entry[i].Resource["identifier"])
				if want := `[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:` + rec + `"}]`; string(ids) != want {
					t.Errorf("entry %d: identifier %s, want %s", i, ids, want)
				}
			}
			for _, rec := range []struct{ rt, id string }{{"MedicationRequest", rxRec}, {"MedicationDispense", dispRec}} {
				if n, _ := s.CountByIdentifier(rec.rt, rx.SystemRecordUUID, "urn:uuid:"+rec.id); n != 1 {
					t.Errorf("%s stored %d times", rec.rt, n)
				}
			}
		})
	}

	t.Run("all or nothing when the dispensing breaks a rule", func(t *testing.T) {
		rxRec, dispRec := newUUID(), newUUID()
		a := call(t, nil, "POST", s.URL()+"/", transactionBundle(rxRec, dispRec, hetuMatti, 30, 31))
		if a.status != 422 {
			t.Fatalf("status %d, want 422: %s", a.status, a.body)
		}
		v.Check(t, "422", a.body)
		if _, reason, _, en := reasonOf(t, a); reason != "over-dispensed" || !strings.Contains(en, "entry[1]") {
			t.Errorf("reason %q, diagnostics %q", reason, en)
		}
		if n, _ := s.CountByIdentifier("MedicationRequest", rx.SystemRecordUUID, "urn:uuid:"+rxRec); n != 0 {
			t.Errorf("the prescription was stored although its dispensing failed")
		}
	})

	t.Run("prescription alone", func(t *testing.T) {
		rxRec := newUUID()
		b := transactionBundle(rxRec, newUUID(), hetuAino, 30, 30)
		b["entry"] = b["entry"].([]any)[:1]
		a := call(t, nil, "POST", s.URL()+"/", b)
		if a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		v.Check(t, "transaction-response", a.body)
	})

	failures := []struct {
		name   string
		edit   func(b map[string]any)
		status int
		reason string
	}{
		{"unknown patient", func(b map[string]any) {
			entry(b, 0)["resource"].(map[string]any)["subject"] = map[string]any{"reference": "Patient?identifier=" + rx.SystemHETU + "|" + hetuNobody}
		}, 422, "unknown-patient"},
		{"narcotic by telephone", func(b map[string]any) {
			res := entry(b, 0)["resource"].(map[string]any)
			res["medicationCodeableConcept"] = map[string]any{"coding": []any{map[string]any{"system": rx.SystemVNR, "code": "990031"}}}
			res["extension"] = []any{
				map[string]any{"url": extForm, "valueCoding": map[string]any{"system": csForm, "code": "telephone"}},
				map[string]any{"url": extExceptionWhy, "valueString": "system down"},
				map[string]any{"url": extTelephoneCall, "extension": []any{
					map[string]any{"url": "phone", "valueString": "09 123"},
					map[string]any{"url": "time", "valueDateTime": "2026-11-20T10:00:00+02:00"},
					map[string]any{"url": "verification", "valueString": "called back"}}},
			}
		}, 422, "narcotic-by-telephone"},
		{"reference to no entry", func(b map[string]any) {
			entry(b, 1)["resource"].(map[string]any)["authorizingPrescription"] = []any{map[string]any{"reference": "urn:uuid:" + newUUID()}}
		}, 400, "invalid-field"},
		{"batch", func(b map[string]any) { b["type"] = "batch" }, 400, "invalid-field"},
		{"PUT entry", func(b map[string]any) { entry(b, 0)["request"].(map[string]any)["method"] = "PUT" }, 400, "invalid-field"},
		{"Patient entry", func(b map[string]any) { entry(b, 0)["request"].(map[string]any)["url"] = "Patient" }, 400, "invalid-field"},
		{"not a Bundle", func(b map[string]any) { b["resourceType"] = "Parameters" }, 400, "wrong-resource-type"},
		{"entry of the wrong type", func(b map[string]any) { entry(b, 0)["request"].(map[string]any)["url"] = "MedicationDispense" }, 400, "wrong-resource-type"},
		{"missing fields in an entry", func(b map[string]any) {
			delete(entry(b, 1)["resource"].(map[string]any), "whenHandedOver")
		}, 400, "invalid-field"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			rxRec := newUUID()
			b := transactionBundle(rxRec, newUUID(), hetuAino, 30, 10)
			tt.edit(b)
			a := call(t, nil, "POST", s.URL()+"/", b)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			v.Check(t, tt.name, a.body)
			if _, reason, _, _ := reasonOf(t, a); reason != tt.reason {
				t.Errorf("reason %q, want %q", reason, tt.reason)
			}
			if n, _ := s.CountByIdentifier("MedicationRequest", rx.SystemRecordUUID, "urn:uuid:"+rxRec); n != 0 {
				t.Error("something was stored")
			}
		})
	}
}

func entry(b map[string]any, i int) map[string]any { return b["entry"].([]any)[i].(map[string]any) }

func TestStandaloneDispensingReferences(t *testing.T) {
	s := startSim(t, Config{})
	// A prescription recorded earlier is named by its record id.
	rxRec := newUUID()
	b := transactionBundle(rxRec, newUUID(), hetuAino, 30, 10)
	b["entry"] = b["entry"].([]any)[:1]
	if a := call(t, nil, "POST", s.URL()+"/", b); a.status != 200 {
		t.Fatalf("record prescription: %d %s", a.status, a.body)
	}
	tests := []struct {
		name   string
		ref    map[string]any
		status int
	}{
		{"by record identifier", map[string]any{"identifier": map[string]any{"system": rx.SystemRecordUUID, "value": "urn:uuid:" + rxRec}}, 201},
		{"by conditional reference", map[string]any{"reference": "MedicationRequest?identifier=" + rx.SystemRecordUUID + "|urn:uuid:" + rxRec}, 201},
		{"by unknown record identifier", map[string]any{"identifier": map[string]any{"system": rx.SystemRecordUUID, "value": "urn:uuid:" + newUUID()}}, 422},
		{"urn:uuid outside a transaction", map[string]any{"reference": "urn:uuid:" + rxRec}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dispensing(newUUID(), hetuAino, "", "990011", 5, "Apteekki Yksi")
			d["authorizingPrescription"] = []any{tt.ref}
			d["subject"] = map[string]any{"reference": "Patient/pat-1"}
			a := call(t, nil, "POST", s.URL()+"/MedicationDispense", d)
			if a.status != tt.status {
				t.Errorf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	good, _ := json.Marshal(dispensing(newUUID(), hetuAino, "EP1", "990011", 1, "Apteekki Yksi"))
	without := func(field string) []byte {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		delete(m, field)
		b, _ := json.Marshal(m)
		return b
	}
	with := func(field string, value any) []byte {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		m[field] = value
		b, _ := json.Marshal(m)
		return b
	}
	big := bytes.Repeat([]byte(" "), maxBody+1)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		status      int
		code        string
		reason      string
		mention     string // in the diagnostics
	}{
		{"malformed JSON", "POST", "/MedicationDispense", "application/fhir+json", []byte(`{"resourceType":`), 400, "structure", "malformed", ""},
		{"JSON array", "POST", "/MedicationDispense", "application/fhir+json", []byte(`[1,2]`), 400, "structure", "malformed", ""},
		{"JSON null", "POST", "/MedicationDispense", "application/fhir+json", []byte(`null`), 400, "structure", "malformed", ""},
		{"trailing garbage", "POST", "/MedicationDispense", "application/fhir+json", append(append([]byte{}, good...), "}"...), 400, "structure", "malformed", ""},
		{"wrong resourceType", "POST", "/MedicationDispense", "application/fhir+json", with("resourceType", "Patient"), 400, "invalid", "wrong-resource-type", "Patient"},
		{"no resourceType", "POST", "/MedicationDispense", "application/fhir+json", without("resourceType"), 400, "required", "wrong-resource-type", ""},
		{"wrong JSON type of a field", "POST", "/MedicationDispense", "application/fhir+json", with("quantity", "ten"), 400, "structure", "malformed", ""},
		{"unknown element", "POST", "/MedicationDispense", "application/fhir+json", with("whenHandedover", "2026-11-22T10:15:00+02:00"), 400, "not-supported", "invalid-field", "whenHandedover"},
		{"missing identifier", "POST", "/MedicationDispense", "application/fhir+json", without("identifier"), 400, "required", "invalid-field", "identifier"},
		{"missing subject", "POST", "/MedicationDispense", "application/fhir+json", without("subject"), 400, "required", "invalid-field", "subject"},
		{"missing quantity", "POST", "/MedicationDispense", "application/fhir+json", without("quantity"), 400, "required", "invalid-field", "quantity"},
		{"missing performer", "POST", "/MedicationDispense", "application/fhir+json", without("performer"), 400, "required", "invalid-field", "performer"},
		{"missing medication", "POST", "/MedicationDispense", "application/fhir+json", without("medicationCodeableConcept"), 400, "required", "invalid-field", "medication"},
		{"missing time", "POST", "/MedicationDispense", "application/fhir+json", without("whenHandedOver"), 400, "required", "invalid-field", "whenHandedOver"},
		{"time without zone", "POST", "/MedicationDispense", "application/fhir+json", with("whenHandedOver", "2026-11-22T10:15:00"), 400, "value", "invalid-field", "whenHandedOver"},
		{"fractional quantity", "POST", "/MedicationDispense", "application/fhir+json", with("quantity", map[string]any{"value": 1.5}), 400, "value", "invalid-field", "quantity"},
		{"zero quantity", "POST", "/MedicationDispense", "application/fhir+json", with("quantity", map[string]any{"value": 0}), 400, "value", "invalid-field", "quantity"},
		{"status in-progress", "POST", "/MedicationDispense", "application/fhir+json", with("status", "in-progress"), 400, "value", "invalid-field", "status"},
		{"invalid identity code", "POST", "/MedicationDispense", "application/fhir+json", with("subject", map[string]any{"identifier": map[string]any{"system": rx.SystemHETU, "value": "010101A985X"}}), 400, "value", "invalid-field", "check character"},
		{"unknown package", "POST", "/MedicationDispense", "application/fhir+json", with("medicationCodeableConcept", map[string]any{"coding": []any{map[string]any{"system": rx.SystemVNR, "code": "000000"}}}), 400, "value", "invalid-field", "000000"},
		{"modifier extension", "POST", "/MedicationDispense", "application/fhir+json", with("modifierExtension", []any{map[string]any{"url": "x", "valueBoolean": true}}), 400, "not-supported", "invalid-field", "modifierExtension"},
		{"body over 1 MiB", "POST", "/MedicationDispense", "application/fhir+json", big, 413, "too-costly", "too-large", ""},
		{"text/plain", "POST", "/MedicationDispense", "text/plain", good, 415, "not-supported", "media-type", ""},
		{"no content type", "POST", "/MedicationDispense", "", good, 415, "not-supported", "media-type", ""},
		{"latin-1", "POST", "/MedicationDispense", "application/fhir+json; charset=iso-8859-1", good, 415, "not-supported", "media-type", ""},
		{"unknown search parameter", "GET", "/Patient?name=Virtanen", "", nil, 400, "not-supported", "unknown-parameter", "name"},
		{"search modifier", "GET", "/MedicationRequest?identifier:exact=x", "", nil, 400, "not-supported", "unknown-parameter", "identifier:exact"},
		{"bad _count", "GET", "/Patient?_count=many", "", nil, 400, "value", "invalid-field", "_count"},
		{"negative _offset", "GET", "/Patient?_offset=-1", "", nil, 400, "value", "invalid-field", "_offset"},
		{"other _include", "GET", "/MedicationRequest?_include=MedicationRequest:requester", "", nil, 400, "not-supported", "invalid-field", "_include"},
		{"malformed query", "GET", "/Patient?identifier=%zz", "", nil, 400, "structure", "malformed", ""},
		{"_search with a JSON body", "POST", "/Patient/_search", "application/fhir+json", []byte(`{"identifier":"x"}`), 415, "not-supported", "media-type", "x-www-form-urlencoded"},
		{"_search with a malformed form", "POST", "/Patient/_search", "application/x-www-form-urlencoded", []byte("identifier=%zz"), 400, "structure", "malformed", "form body"},
		{"_search with an unknown parameter", "POST", "/Patient/_search", "application/x-www-form-urlencoded", []byte("name=Virtanen"), 400, "not-supported", "unknown-parameter", "name"},
		{"PUT _search", "PUT", "/Patient/_search", "application/x-www-form-urlencoded", []byte("_count=1"), 405, "not-supported", "method", "PUT"},
		{"_page unknown", "GET", "/Patient?_page=0123456789abcdef", "", nil, 410, "not-found", "page-expired", "run the search again"},
		{"_page with a parameter", "GET", "/Patient?_page=0123456789abcdef&identifier=x", "", nil, 400, "invalid", "invalid-field", "identifier"},
		{"search for an invalid identity code", "GET", "/Patient?identifier=" + url.QueryEscape(rx.SystemHETU+"|123"), "", nil, 400, "value", "invalid-field", "11 characters"},
		{"unknown route", "GET", "/Practitioner", "", nil, 404, "not-found", "not-found", "/Practitioner"},
		{"deep route", "GET", "/MedicationRequest/EP1/x/y/z", "", nil, 404, "not-found", "not-found", ""},
		{"bad id", "GET", "/Patient/" + strings.Repeat("x", 65), "", nil, 404, "not-found", "not-found", ""},
		{"DELETE a prescription", "DELETE", "/MedicationRequest/EP1", "", nil, 405, "not-supported", "method", "DELETE"},
		{"PUT metadata", "PUT", "/metadata", "application/fhir+json", []byte(`{}`), 405, "not-supported", "method", ""},
		{"GET the root", "GET", "/", "", nil, 405, "not-supported", "method", ""},
		{"POST a patient", "POST", "/Patient", "application/fhir+json", []byte(`{"resourceType":"Patient"}`), 405, "not-supported", "method", ""},
		{"bad If-None-Exist", "POST", "/MedicationDispense", "application/fhir+json", good, 400, "invalid", "invalid-field", "If-None-Exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{}
			if tt.body != nil {
				headers = append(headers, "Content-Type", tt.contentType)
			}
			if tt.name == "bad If-None-Exist" {
				headers = append(headers, "If-None-Exist", "name=x")
			}
			var body any
			if tt.body != nil {
				body = tt.body
			}
			a := call(t, nil, tt.method, s.URL()+tt.path, body, headers...)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			v.Check(t, tt.name, a.body)
			code, reason, fi, en := reasonOf(t, a)
			if code != tt.code || reason != tt.reason {
				t.Errorf("issue %s/%s, want %s/%s: %s", code, reason, tt.code, tt.reason, a.body)
			}
			if fi == "" || en == "" {
				t.Errorf("texts fi %q en %q: both wanted", fi, en)
			}
			if !strings.Contains(en, tt.mention) {
				t.Errorf("diagnostics %q do not mention %q", en, tt.mention)
			}
			if tt.status == 405 && a.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestRecordedPrescriptionValidation(t *testing.T) {
	s := startSim(t, Config{})
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		status  int
		mention string
	}{
		{"valid", func(m map[string]any) {}, 201, ""},
		{"electronic form", func(m map[string]any) {
			m["extension"].([]any)[0].(map[string]any)["valueCoding"].(map[string]any)["code"] = "electronic"
		}, 400, "paper and telephone"},
		{"no reason", func(m map[string]any) { m["extension"] = m["extension"].([]any)[:1] }, 400, "exception-reason"},
		{"telephone without call details", func(m map[string]any) {
			m["extension"].([]any)[0].(map[string]any)["valueCoding"].(map[string]any)["code"] = "telephone"
		}, 400, "telephone-call"},
		{"no recorder", func(m map[string]any) { delete(m, "recorder") }, 400, "recorder"},
		{"not reported", func(m map[string]any) { m["reportedBoolean"] = false }, 400, "reportedBoolean"},
		{"no dispense request", func(m map[string]any) { delete(m, "dispenseRequest") }, 400, "dispenseRequest"},
		{"bad authoredOn", func(m map[string]any) { m["authoredOn"] = "20.11.2026" }, 400, "authoredOn"},
		{"status draft", func(m map[string]any) { m["status"] = "draft" }, 400, "status"},
		{"unknown patient", func(m map[string]any) {
			m["subject"] = map[string]any{"reference": "Patient/pat-77"}
		}, 422, "patient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := paperPrescription(newUUID(), "Patient/pat-1", "990011", 30)
			tt.edit(m)
			a := call(t, nil, "POST", s.URL()+"/MedicationRequest", m)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.status != 201 {
				if !strings.Contains(string(a.body), tt.mention) {
					t.Errorf("answer does not mention %q: %s", tt.mention, a.body)
				}
			}
		})
	}
}

// TestOfficialExamples feeds foreign but valid FHIR: the simulator may
// refuse it, but only with a 4xx OperationOutcome, never a 5xx.
func TestOfficialExamples(t *testing.T) {
	v := fhirschema.ForTest(t)
	dir, err := fhirschema.Dir()
	if err != nil {
		t.Skip(err)
	}
	s := startSim(t, Config{})
	files := []struct{ name, path string }{
		{"medicationdispense0301.json", "/MedicationDispense"},
		{"medicationdispense0302.json", "/MedicationDispense"},
		{"medicationdispenseexample8.json", "/MedicationDispense"},
		{"medicationrequest0301.json", "/MedicationRequest"},
		{"medicationrequest0302.json", "/MedicationRequest"},
		{"patient-example.json", "/MedicationDispense"},
		{"bundle-transaction.json", "/"},
		{"bundle-response.json", "/"},
		{"kanta-fi-base", ""},
	}
	for _, f := range files {
		paths := []string{filepath.Join(dir, "examples", f.name)}
		if f.path == "" {
			paths, _ = filepath.Glob(filepath.Join(dir, "examples", f.name, "*.json"))
		}
		for _, p := range paths {
			target := f.path
			if target == "" {
				switch {
				case strings.Contains(p, "medicationdispense"):
					target = "/MedicationDispense"
				case strings.Contains(p, "bundle"):
					target = "/"
				default:
					target = "/MedicationRequest"
				}
			}
			t.Run(filepath.Base(p), func(t *testing.T) {
				body, err := os.ReadFile(p)
				if err != nil {
					t.Skip(err)
				}
				a := call(t, nil, "POST", s.URL()+target, body)
				if a.status >= 500 || a.status < 200 {
					t.Fatalf("status %d: %s", a.status, a.body)
				}
				v.Check(t, "answer", a.body)
				if a.status >= 400 {
					_, reason, _, en := reasonOf(t, a)
					t.Logf("%d %s: %s", a.status, reason, en)
				}
			})
		}
	}
}
