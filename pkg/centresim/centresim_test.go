package centresim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestStartBundledFixtures(t *testing.T) {
	v := fhirschema.ForTest(t)
	start := time.Now()
	s := startSim(t, Config{Fixtures: tiski.Fixtures()})
	t.Logf("Start with the bundled fixtures took %v", time.Since(start))

	a := call(t, nil, "GET", s.URL()+"/metadata", nil)
	if a.status != 200 {
		t.Fatalf("metadata: %d %s", a.status, a.body)
	}
	v.Check(t, "CapabilityStatement", a.body)

	fx, err := rx.LoadFixtures(tiski.Fixtures(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	// Every fixture prescription is served, and validates.
	for _, p := range fx.Prescriptions {
		a := call(t, nil, "GET", s.URL()+"/MedicationRequest/"+p.ID, nil)
		if a.status != 200 {
			t.Errorf("GET MedicationRequest/%s: %d %s", p.ID, a.status, a.body)
			continue
		}
		v.Check(t, "MedicationRequest/"+p.ID, a.body)
		m := a.json(t)
		if m["status"] != string(p.Status) && !(p.Status == rx.StatusActive && p.Remaining() == 0) {
			t.Errorf("%s: status %v, want %s", p.ID, m["status"], p.Status)
		}
		if got, want := remainingOf(m), float64(p.Remaining()); got != want {
			t.Errorf("%s: remaining-quantity %v, want %v", p.ID, got, want)
		}
	}
	// Every patient's prescriptions with their medicines. Validating a whole
	// Bundle is slow (each entry is tried against every resource type), so
	// one Bundle is validated whole and the rest entry by entry.
	for i, p := range fx.Patients {
		a := call(t, nil, "GET", s.URL()+"/MedicationRequest?"+url.Values{
			"patient.identifier": {rx.SystemHETU + "|" + p.HETU}, "_include": {"MedicationRequest:medication"}}.Encode(), nil)
		if a.status != 200 {
			t.Fatalf("search: %d %s", a.status, a.body)
		}
		if i == 0 {
			v.Check(t, "searchset", a.body)
		}
		for _, e := range entries(t, a) {
			if e.Mode == "include" {
				v.Check(t, "included Medication", e.Resource)
			}
		}
	}
	// Every dispensing ever made validates too.
	a = call(t, nil, "GET", s.URL()+"/MedicationDispense?_count=500", nil)
	es := entries(t, a)
	if len(es) != len(fx.Dispensings) {
		t.Errorf("%d dispensings served, fixtures have %d", len(es), len(fx.Dispensings))
	}
	for _, e := range es {
		v.Check(t, "MedicationDispense", e.Resource)
	}
}

type searchEntry struct {
	Mode     string
	Resource json.RawMessage
}

func entries(t testing.TB, a answer) []searchEntry {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource json.RawMessage
			Search   struct{ Mode string }
		}
	}
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Fatal(err)
	}
	out := make([]searchEntry, len(b.Entry))
	for i, e := range b.Entry {
		out[i] = searchEntry{e.Search.Mode, e.Resource}
	}
	return out
}

func remainingOf(m map[string]any) float64 {
	exts, _ := m["extension"].([]any)
	for _, e := range exts {
		e := e.(map[string]any)
		if e["url"] == extRemaining {
			return e["valueQuantity"].(map[string]any)["value"].(float64)
		}
	}
	return -1
}

func TestDatabaseReusedOnRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Start(ctx, Config{DataDir: dir, Fixtures: testFixtures(), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	rec := newUUID()
	a := call(t, nil, "POST", s.URL()+"/MedicationDispense", dispensing(rec, hetuAino, "EP1", "990011", 10, "Apteekki Yksi"))
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "centre.db"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("centre.db mode %v, want 0600", fi.Mode().Perm())
	}
	// A later start, with a different clock, keeps what was recorded and
	// does not seed again.
	s2 := startSim(t, Config{DataDir: dir, Now: func() time.Time { return testNow.AddDate(0, 1, 0) }})
	if n, err := s2.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec); err != nil || n != 1 {
		t.Fatalf("after restart: %d resources with the record id (err %v), want 1", n, err)
	}
	a = call(t, nil, "GET", s2.URL()+"/MedicationRequest/EP1", nil)
	if got := remainingOf(a.json(t)); got != 20 {
		t.Errorf("EP1 remaining after restart %v, want 20", got)
	}
	if a := call(t, nil, "GET", s2.URL()+"/Patient?_count=0", nil); a.json(t)["total"].(float64) != 2 {
		t.Errorf("patients after restart: %s", a.body)
	}
}

func TestStartRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"every interface", Config{Addr: ":0"}, "every interface"},
		{"public address", Config{Addr: "192.0.2.1:0"}, "loopback"},
		{"admin on a public address", Config{AdminAddr: "0.0.0.0:0"}, "loopback"},
		{"not host:port", Config{Addr: "127.0.0.1"}, "host:port"},
		{"missing TLS folder", Config{TLSDir: "/nonexistent"}, "server certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.DataDir = t.TempDir()
			tt.cfg.Fixtures = testFixtures()
			s, err := Start(context.Background(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	t.Run("admin on the FHIR port", func(t *testing.T) {
		s := startSim(t, Config{})
		addr := strings.TrimPrefix(s.URL(), "http://")
		s.Close()
		_, err := Start(context.Background(), Config{Addr: addr, AdminAddr: addr, DataDir: t.TempDir(), Fixtures: testFixtures()})
		if err == nil || !strings.Contains(err.Error(), "must differ") {
			t.Errorf("error %v, want one saying the ports must differ", err)
		}
	})
	t.Run("fixtures that do not load", func(t *testing.T) {
		fx := testFixtures()
		delete(fx, "patients.json")
		_, err := Start(context.Background(), Config{DataDir: t.TempDir(), Fixtures: fx})
		if err == nil || !strings.Contains(err.Error(), "patients.json") {
			t.Errorf("error %v, want one naming patients.json", err)
		}
	})
}

func TestReadsAndSearches(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	u := s.URL()
	tests := []struct {
		name     string
		path     string
		status   int
		total    int // -1: not a search
		matches  int
		includes int
		hasNext  bool
		wantEtag string
	}{
		{"metadata", "/metadata", 200, -1, 0, 0, false, ""},
		{"patient by identity code", "/Patient?identifier=" + url.QueryEscape(rx.SystemHETU+"|"+hetuAino), 200, 1, 1, 0, false, ""},
		{"patient by lower-case code", "/Patient?identifier=" + url.QueryEscape(rx.SystemHETU+"|"+strings.ToLower(hetuAino)), 200, 1, 1, 0, false, ""},
		{"patient by code without system", "/Patient?identifier=" + hetuMatti, 200, 1, 1, 0, false, ""},
		{"no such patient", "/Patient?identifier=" + url.QueryEscape(rx.SystemHETU+"|"+hetuNobody), 200, 0, 0, 0, false, ""},
		{"all patients, first page", "/Patient?_count=1", 200, 2, 1, 0, true, ""},
		{"all patients, last page", "/Patient?_count=1&_offset=1", 200, 2, 1, 0, false, ""},
		{"all patients", "/Patient", 200, 2, 2, 0, false, ""},
		{"patient read", "/Patient/pat-1", 200, -1, 0, 0, false, `W/"1"`},
		{"patient vread", "/Patient/pat-1/_history/1", 200, -1, 0, 0, false, `W/"1"`},
		{"patient vread of a version not kept", "/Patient/pat-1/_history/7", 404, -1, 0, 0, false, ""},
		{"patient not found", "/Patient/pat-99", 404, -1, 0, 0, false, ""},
		{"prescriptions with medicines", "/MedicationRequest?" + url.Values{"patient.identifier": {rx.SystemHETU + "|" + hetuAino}, "_include": {"MedicationRequest:medication"}}.Encode(), 200, 9, 9, 4, false, ""},
		{"prescriptions without medicines", "/MedicationRequest?patient.identifier=" + url.QueryEscape(rx.SystemHETU+"|"+hetuMatti), 200, 1, 1, 0, false, ""},
		{"active prescriptions", "/MedicationRequest?status=active&patient.identifier=" + url.QueryEscape(rx.SystemHETU+"|"+hetuAino), 200, 7, 7, 0, false, ""},
		{"cancelled or completed", "/MedicationRequest?status=cancelled,completed", 200, 2, 2, 0, false, ""},
		{"prescription read", "/MedicationRequest/EP1", 200, -1, 0, 0, false, `W/"1"`},
		{"prescription not found", "/MedicationRequest/EP404", 404, -1, 0, 0, false, ""},
		{"medication read", "/Medication/med-990011", 200, -1, 0, 0, false, `W/"1"`},
		{"dispensings of a patient", "/MedicationDispense?patient.identifier=" + url.QueryEscape(rx.SystemHETU+"|"+hetuAino), 200, 2, 2, 0, false, ""},
		{"dispensing read", "/MedicationDispense/md-1", 200, -1, 0, 0, false, `W/"1"`},
		{"dispensing by unknown record", "/MedicationDispense?identifier=" + url.QueryEscape("urn:ietf:rfc:3986|urn:uuid:"+newUUID()), 200, 0, 0, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rid := "req-" + strings.NewReplacer(" ", "-", ",", "").Replace(tt.name)
			a := call(t, nil, "GET", u+tt.path, nil, "X-Request-Id", rid)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if got := a.header.Get("X-Request-Id"); got != rid {
				t.Errorf("X-Request-Id %q not echoed", got)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := a.header.Get("ETag"); got != tt.wantEtag {
				t.Errorf("ETag %q, want %q", got, tt.wantEtag)
			}
			v.Check(t, tt.name, a.body)
			m := a.json(t)
			if tt.status != 200 {
				if m["resourceType"] != "OperationOutcome" {
					t.Errorf("error answer is a %v", m["resourceType"])
				}
				return
			}
			if tt.total < 0 {
				if m["meta"] != nil {
					mt := m["meta"].(map[string]any)
					if mt["versionId"] == nil || mt["lastUpdated"] == nil {
						t.Errorf("meta %v lacks versionId or lastUpdated", mt)
					}
				}
				return
			}
			if m["type"] != "searchset" || int(m["total"].(float64)) != tt.total {
				t.Errorf("type %v total %v, want searchset %d", m["type"], m["total"], tt.total)
			}
			matches, includes := 0, 0
			entries, _ := m["entry"].([]any)
			for _, e := range entries {
				e := e.(map[string]any)
				switch e["search"].(map[string]any)["mode"] {
				case "match":
					matches++
				case "include":
					includes++
					if e["resource"].(map[string]any)["resourceType"] != "Medication" {
						t.Errorf("include is not a Medication: %v", e["resource"])
					}
				}
				res := e["resource"].(map[string]any)
				if !strings.HasSuffix(e["fullUrl"].(string), "/"+res["resourceType"].(string)+"/"+res["id"].(string)) {
					t.Errorf("fullUrl %v does not name the resource", e["fullUrl"])
				}
			}
			if matches != tt.matches || includes != tt.includes {
				t.Errorf("%d matches and %d includes, want %d and %d", matches, includes, tt.matches, tt.includes)
			}
			links := map[string]string{}
			for _, l := range m["link"].([]any) {
				l := l.(map[string]any)
				links[l["relation"].(string)] = l["url"].(string)
			}
			if links["self"] == "" {
				t.Error("no self link")
			}
			if _, ok := links["next"]; ok != tt.hasNext {
				t.Errorf("next link %q present %v, want %v", links["next"], ok, tt.hasNext)
			}
			if next := links["next"]; next != "" {
				b := call(t, nil, "GET", next, nil)
				if b.status != 200 {
					t.Errorf("next page: %d %s", b.status, b.body)
				}
			}
			// No identity code appears in the request log.
			for _, lr := range s.Requests() {
				if strings.Contains(lr.Path, hetuAino) || strings.Contains(strings.ToUpper(lr.Path), hetuMatti) {
					t.Errorf("request log holds an identity code: %s", lr.Path)
				}
			}
		})
	}
}

func TestRequestIDGenerated(t *testing.T) {
	s := startSim(t, Config{})
	a := call(t, nil, "GET", s.URL()+"/metadata", nil)
	b := call(t, nil, "GET", s.URL()+"/metadata", nil)
	ida, idb := a.header.Get("X-Request-Id"), b.header.Get("X-Request-Id")
	if ida == "" || ida == idb {
		t.Errorf("generated request ids %q and %q, want two different ones", ida, idb)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].RequestID != ida || reqs[0].Status != 200 || reqs[0].Method != "GET" || reqs[0].Path != "/metadata" {
		t.Errorf("request log %+v", reqs)
	}
}

func TestDispensingBusinessRules(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	tests := []struct {
		name         string
		prescription string
		patient      string
		qty          int
		pharmacy     string
		status       int
		code, reason string
		fi, en       string // fragments of details.text and diagnostics
	}{
		{"unknown patient", "EP1", hetuNobody, 10, "Apteekki Yksi", 422, "business-rule", "unknown-patient", "Potilasta ei löydy", "No such patient"},
		{"unknown prescription", "EP404", hetuAino, 10, "Apteekki Yksi", 422, "business-rule", "unknown-prescription", "Reseptiä ei löydy", "No such prescription"},
		{"patient mismatch", "EP8", hetuAino, 10, "Apteekki Yksi", 422, "business-rule", "patient-mismatch", "ei ole reseptin potilas", "not the patient"},
		{"locked by another pharmacy", "EP6", hetuAino, 10, "Apteekki Yksi", 409, "lock-error", "locked", "lukittu toiseen apteekkiin", "locked by another pharmacy"},
		{"cancelled", "EP2", hetuAino, 10, "Apteekki Yksi", 422, "business-rule", "cancelled", "mitätöity", "cancelled"},
		{"completed", "EP3", hetuAino, 10, "Apteekki Yksi", 422, "business-rule", "completed", "toimitettu kokonaan", "fully dispensed"},
		{"narcotic by telephone", "EP7", hetuAino, 10, "Apteekki Yksi", 422, "business-rule", "narcotic-by-telephone", "Huumausainetta", "narcotic"},
		{"expired", "EP4", hetuAino, 10, "Apteekki Yksi", 422, "business-rule", "expired", "vanhentunut", "expired on"},
		{"expired PKV", "EP9", hetuAino, 10, "Apteekki Yksi", 422, "business-rule", "expired", "vanhentunut", "grace ended"},
		{"over-dispensed", "EP1", hetuAino, 31, "Apteekki Yksi", 422, "business-rule", "over-dispensed", "ylittää jäljellä olevan", "more than the 30"},
		{"lock holder may dispense", "EP6", hetuAino, 10, "Apteekki Muu", 201, "", "", "", ""},
		{"in grace", "EP5", hetuAino, 30, "Apteekki Yksi", 201, "", "", "", ""},
		{"the rest of a prescription", "EP1", hetuAino, 30, "Apteekki Yksi", 201, "", "", "", ""},
		{"after the last dispensing", "EP1", hetuAino, 1, "Apteekki Yksi", 422, "business-rule", "completed", "toimitettu kokonaan", "fully dispensed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newUUID()
			a := call(t, nil, "POST", s.URL()+"/MedicationDispense", dispensing(rec, tt.patient, tt.prescription, "990011", tt.qty, tt.pharmacy),
				"If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+rec)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			v.Check(t, tt.name, a.body)
			n, err := s.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec)
			if err != nil {
				t.Fatal(err)
			}
			if tt.status == 201 {
				if n != 1 {
					t.Errorf("%d stored, want 1", n)
				}
				return
			}
			if n != 0 {
				t.Errorf("a refused dispensing was stored (%d)", n)
			}
			code, reason, fi, en := reasonOf(t, a)
			if code != tt.code || reason != tt.reason {
				t.Errorf("issue %s/%s, want %s/%s", code, reason, tt.code, tt.reason)
			}
			if !strings.Contains(fi, tt.fi) || !strings.Contains(en, tt.en) {
				t.Errorf("texts fi %q en %q, want them to contain %q and %q", fi, en, tt.fi, tt.en)
			}
			if strings.Contains(fi+en, hetuNobody) {
				t.Error("the identity code is repeated in the outcome")
			}
		})
	}
}

func TestLastDispensingCompletesPrescription(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	before := call(t, nil, "GET", s.URL()+"/MedicationRequest/EPA", nil)
	if before.header.Get("ETag") != `W/"1"` || before.json(t)["status"] != "active" {
		t.Fatalf("before: %s %s", before.header.Get("ETag"), before.body)
	}
	d := dispensing(newUUID(), hetuAino, "EPA", "990041", 10, "Apteekki Yksi")
	a := call(t, nil, "POST", s.URL()+"/MedicationDispense", d)
	if a.status != 201 {
		t.Fatalf("dispense: %d %s", a.status, a.body)
	}
	if loc := a.header.Get("Location"); !strings.HasPrefix(loc, "/MedicationDispense/") || !strings.HasSuffix(loc, "/_history/1") {
		t.Errorf("Location %q", loc)
	}
	after := call(t, nil, "GET", s.URL()+"/MedicationRequest/EPA", nil)
	v.Check(t, "completed MedicationRequest", after.body)
	m := after.json(t)
	if after.header.Get("ETag") != `W/"2"` || m["status"] != "completed" || m["meta"].(map[string]any)["versionId"] != "2" || remainingOf(m) != 0 {
		t.Errorf("after: ETag %s, %s", after.header.Get("ETag"), after.body)
	}
	// The dispensing as served names what was handed over.
	md := a.json(t)
	if md["authorizingPrescription"].([]any)[0].(map[string]any)["reference"] != "MedicationRequest/EPA" {
		t.Errorf("authorizingPrescription %v", md["authorizingPrescription"])
	}
}

func TestEssentialDispensing(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	tests := []struct {
		name   string
		basis  string
		rxID   string
		status int
	}{
		{"previous label without a prescription", "previous-label", "", 201},
		{"instruction sheet with its prescription", "instruction-sheet", "EP1", 201},
		{"instruction sheet without a prescription", "instruction-sheet", "", 400},
		{"unknown basis", "hearsay", "EP1", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dispensing(newUUID(), hetuAino, tt.rxID, "990011", 5, "Apteekki Yksi")
			d["type"] = map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EM", "display": "Emergency Supply"}}}
			d["extension"] = []any{map[string]any{"url": extEssentialBasis, "valueCode": tt.basis}}
			d["note"] = []any{map[string]any{"text": "Essential medication, basis: " + tt.basis}}
			a := call(t, nil, "POST", s.URL()+"/MedicationDispense", d)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			v.Check(t, tt.name, a.body)
			if a.status == 201 {
				m := a.json(t)
				if m["type"] == nil || m["note"] == nil || m["extension"] == nil {
					t.Errorf("served dispensing lost type, note or basis: %s", a.body)
				}
			}
		})
	}
}

func TestConditionalCreate(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	rec := newUUID()
	cond := "identifier=urn:ietf:rfc:3986|urn:uuid:" + rec
	d := dispensing(rec, hetuAino, "EP1", "990011", 10, "Apteekki Yksi")
	first := call(t, nil, "POST", s.URL()+"/MedicationDispense", d, "If-None-Exist", cond)
	second := call(t, nil, "POST", s.URL()+"/MedicationDispense", d, "If-None-Exist", cond)
	if first.status != 201 || second.status != 200 {
		t.Fatalf("statuses %d then %d, want 201 then 200: %s / %s", first.status, second.status, first.body, second.body)
	}
	if string(first.body) != string(second.body) {
		t.Errorf("bodies differ:\n%s\n%s", first.body, second.body)
	}
	for _, h := range []string{"Location", "ETag"} {
		if first.header.Get(h) == "" || first.header.Get(h) != second.header.Get(h) {
			t.Errorf("%s %q then %q", h, first.header.Get(h), second.header.Get(h))
		}
	}
	v.Check(t, "MedicationDispense", first.body)
	if n, _ := s.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec); n != 1 {
		t.Errorf("%d stored, want 1", n)
	}
	// The retry did not dispense again.
	if got := remainingOf(call(t, nil, "GET", s.URL()+"/MedicationRequest/EP1", nil).json(t)); got != 20 {
		t.Errorf("remaining %v, want 20", got)
	}
	// The record is found by its identifier.
	a := call(t, nil, "GET", s.URL()+"/MedicationDispense?identifier="+url.QueryEscape("urn:ietf:rfc:3986|urn:uuid:"+rec), nil)
	if a.json(t)["total"].(float64) != 1 {
		t.Errorf("search by record: %s", a.body)
	}
	v.Check(t, "searchset", a.body)

	t.Run("without If-None-Exist a second create is a conflict", func(t *testing.T) {
		a := call(t, nil, "POST", s.URL()+"/MedicationDispense", d)
		if a.status != 409 {
			t.Fatalf("status %d, want 409: %s", a.status, a.body)
		}
		if _, reason, _, _ := reasonOf(t, a); reason != "duplicate" {
			t.Errorf("reason %q", reason)
		}
	})
	t.Run("a condition matching several is 412", func(t *testing.T) {
		// Two dispensings that share a second identifier value.
		for i := 0; i < 2; i++ {
			d := dispensing(newUUID(), hetuAino, "", "990011", 1, "Apteekki Yksi")
			d["identifier"] = append(d["identifier"].([]any), map[string]any{"system": fmt.Sprintf("urn:oid:1.2.3.%d", i), "value": "shared"})
			d["type"] = map[string]any{"coding": []any{map[string]any{"system": csActCode, "code": "EM"}}}
			d["extension"] = []any{map[string]any{"url": extEssentialBasis, "valueCode": "previous-label"}}
			if a := call(t, nil, "POST", s.URL()+"/MedicationDispense", d); a.status != 201 {
				t.Fatalf("create: %d %s", a.status, a.body)
			}
		}
		a := call(t, nil, "POST", s.URL()+"/MedicationDispense", d, "If-None-Exist", "identifier=shared")
		if a.status != 412 {
			t.Fatalf("status %d, want 412: %s", a.status, a.body)
		}
		v.Check(t, "412", a.body)
		if code, reason, _, _ := reasonOf(t, a); code != "multiple-matches" || reason != "multiple-matches" {
			t.Errorf("issue %s/%s", code, reason)
		}
	})
}

func TestConcurrentConditionalCreate(t *testing.T) {
	s := startSim(t, Config{})
	rec := newUUID()
	body, _ := json.Marshal(dispensing(rec, hetuAino, "EP5", "990011", 30, "Apteekki Yksi"))
	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	bodies := make([]string, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			a, err := tryCall(nil, "POST", s.URL()+"/MedicationDispense", body, "If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+rec)
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i], bodies[i] = a.status, string(a.body)
		}(i)
	}
	close(start)
	wg.Wait()
	created := 0
	for i, st := range statuses {
		switch st {
		case 201:
			created++
		case 200:
		default:
			t.Errorf("request %d: %d %s", i, st, bodies[i])
		}
		if bodies[i] != bodies[0] {
			t.Errorf("request %d got a different resource:\n%s\n%s", i, bodies[i], bodies[0])
		}
	}
	if created != 1 {
		t.Errorf("%d answered 201, want exactly 1", created)
	}
	if c, _ := s.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec); c != 1 {
		t.Errorf("%d stored, want 1", c)
	}
	// 30 were left on EP5 and only one dispensing of 30 happened.
	if got := remainingOf(call(t, nil, "GET", s.URL()+"/MedicationRequest/EP5", nil).json(t)); got != 60 {
		t.Errorf("EP5 remaining %v, want 60", got)
	}
}
