package centresim

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// withOverride adds the override-reason extension to a MedicationDispense.
func withOverride(d map[string]any, reason string) map[string]any {
	ext, _ := d["extension"].([]any)
	d["extension"] = append(ext, map[string]any{"url": extOverrideReason, "valueString": reason})
	return d
}

// prescriptionState reads a prescription's status, remaining quantity and
// version.
func prescriptionState(t *testing.T, s *Server, id string) (status string, remaining float64, etag string) {
	t.Helper()
	a := call(t, nil, "GET", s.URL()+"/MedicationRequest/"+id, nil)
	if a.status != 200 {
		t.Fatalf("read %s: %d %s", id, a.status, a.body)
	}
	var mr struct {
		Status    string
		Extension []struct {
			URL           string
			ValueQuantity *struct{ Value float64 }
		}
	}
	if err := json.Unmarshal(a.body, &mr); err != nil {
		t.Fatal(err)
	}
	remaining = -1
	for _, e := range mr.Extension {
		if e.URL == extRemaining && e.ValueQuantity != nil {
			remaining = e.ValueQuantity.Value
		}
	}
	return mr.Status, remaining, a.header.Get("ETag")
}

func TestOverride(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	const reason = "prescriber consulted"
	tests := []struct {
		name          string
		dispensing    func() map[string]any
		status        int // without the override
		reason        string
		overridable   bool
		prescription  string
		wantStatus    string // the prescription's status after an accepted override
		wantRemaining float64
	}{
		{"completed (dispensed elsewhere)", func() map[string]any { return dispensing(newUUID(), hetuAino, "EP3", "990011", 30, "Apteekki Yksi") },
			422, "completed", true, "EP3", "completed", 0},
		{"over-dispensed", func() map[string]any { return dispensing(newUUID(), hetuAino, "EP1", "990011", 31, "Apteekki Yksi") },
			422, "over-dispensed", true, "EP1", "completed", 0},
		{"expired", func() map[string]any { return dispensing(newUUID(), hetuAino, "EP4", "990011", 30, "Apteekki Yksi") },
			422, "expired", true, "EP4", "active", 60},
		{"cancelled", func() map[string]any { return dispensing(newUUID(), hetuAino, "EP2", "990011", 30, "Apteekki Yksi") },
			422, "cancelled", true, "EP2", "cancelled", 0},
		{"locked", func() map[string]any { return dispensing(newUUID(), hetuAino, "EP6", "990011", 30, "Apteekki Yksi") },
			409, "locked", false, "EP6", "", 0},
		{"unknown patient", func() map[string]any { return dispensing(newUUID(), hetuNobody, "EP5", "990011", 30, "Apteekki Yksi") },
			422, "unknown-patient", false, "EP5", "", 0},
		{"unknown prescription", func() map[string]any { return dispensing(newUUID(), hetuAino, "EPZZ", "990011", 30, "Apteekki Yksi") },
			422, "unknown-prescription", false, "", "", 0},
		{"patient mismatch", func() map[string]any { return dispensing(newUUID(), hetuMatti, "EP5", "990011", 30, "Apteekki Yksi") },
			422, "patient-mismatch", false, "EP5", "", 0},
		{"narcotic by telephone", func() map[string]any { return dispensing(newUUID(), hetuAino, "EP7", "990031", 20, "Apteekki Yksi") },
			422, "narcotic-by-telephone", false, "EP7", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before string
			if tt.prescription != "" {
				_, _, before = prescriptionState(t, s, tt.prescription)
			}
			a := call(t, nil, "POST", s.URL()+"/MedicationDispense", tt.dispensing())
			if _, r, _, _ := reasonOf(t, a); a.status != tt.status || r != tt.reason {
				t.Fatalf("without an override: %d %s, want %d %s", a.status, r, tt.status, tt.reason)
			}
			d := withOverride(tt.dispensing(), reason)
			a = call(t, nil, "POST", s.URL()+"/MedicationDispense", d)
			if !tt.overridable {
				if _, r, _, _ := reasonOf(t, a); a.status != tt.status || r != tt.reason {
					t.Errorf("with an override: %d %s, want the same refusal %d %s", a.status, r, tt.status, tt.reason)
				}
				return
			}
			if a.status != 201 {
				t.Fatalf("with an override: %d %s", a.status, a.body)
			}
			v.Check(t, "overridden MedicationDispense", a.body)
			if !strings.Contains(string(a.body), `"valueString":"`+reason+`"`) || !strings.Contains(string(a.body), extOverrideReason) {
				t.Errorf("the override is not echoed: %s", a.body)
			}
			status, remaining, after := prescriptionState(t, s, tt.prescription)
			if status != tt.wantStatus || remaining != tt.wantRemaining || after == before {
				t.Errorf("prescription %s: %s, %v remaining, ETag %s (was %s); want %s, %v, a new version",
					tt.prescription, status, remaining, after, before, tt.wantStatus, tt.wantRemaining)
			}
			// The same record again is found, not re-checked.
			again := call(t, nil, "POST", s.URL()+"/MedicationDispense", d, "If-None-Exist", "identifier="+rx.SystemRecordUUID+"|"+identOf(d))
			if again.status != 200 && again.status != 409 {
				t.Errorf("again: %d %s", again.status, again.body)
			}
		})
	}

	t.Run("remaining never below zero", func(t *testing.T) {
		// EP1 is fully dispensed now; another override counts nothing.
		a := call(t, nil, "POST", s.URL()+"/MedicationDispense", withOverride(dispensing(newUUID(), hetuAino, "EP1", "990011", 30, "Apteekki Yksi"), reason))
		if a.status != 201 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if status, remaining, _ := prescriptionState(t, s, "EP1"); status != "completed" || remaining != 0 {
			t.Errorf("EP1 %s with %v remaining", status, remaining)
		}
	})
	t.Run("an empty reason is refused", func(t *testing.T) {
		a := call(t, nil, "POST", s.URL()+"/MedicationDispense", withOverride(dispensing(newUUID(), hetuAino, "EP5", "990011", 1, "Apteekki Yksi"), " "))
		if _, r, _, _ := reasonOf(t, a); a.status != 400 || r != "invalid-field" {
			t.Errorf("%d %s", a.status, r)
		}
	})
	t.Run("inside a transaction", func(t *testing.T) {
		rxRec, dispRec := newUUID(), newUUID()
		b := transactionBundle(rxRec, dispRec, hetuMatti, 30, 45)
		withOverride(entry(b, 1)["resource"].(map[string]any), reason)
		a := call(t, nil, "POST", s.URL()+"/", b)
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		v.Check(t, "transaction-response", a.body)
		var resp struct {
			Entry []struct{ Resource map[string]any }
		}
		if err := json.Unmarshal(a.body, &resp); err != nil {
			t.Fatal(err)
		}
		mrID := resp.Entry[0].Resource["id"].(string)
		if status, remaining, _ := prescriptionState(t, s, mrID); status != "completed" || remaining != 0 {
			t.Errorf("%s: %s with %v remaining", mrID, status, remaining)
		}
		if !strings.Contains(string(a.body), extOverrideReason) {
			t.Errorf("the override is not echoed in the transaction-response")
		}
	})
}

func identOf(d map[string]any) string {
	return d["identifier"].([]any)[0].(map[string]any)["value"].(string)
}

// TestSeveralDispensingsInTransaction: the rules apply to a Bundle's
// dispensings cumulatively.
func TestSeveralDispensingsInTransaction(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	bundleOf := func(prescribed int, quantities ...int) (map[string]any, []string) {
		rxRec := newUUID()
		b := transactionBundle(rxRec, newUUID(), hetuMatti, prescribed, quantities[0])
		records := []string{rxRec, strings.TrimPrefix(identOf(entry(b, 1)["resource"].(map[string]any)), "urn:uuid:")}
		for _, q := range quantities[1:] {
			rec := newUUID()
			md := dispensing(rec, hetuMatti, "", "990011", q, "Apteekki Yksi")
			// The prescription entry's fullUrl, not its record identifier.
			md["authorizingPrescription"] = []any{map[string]any{"reference": entry(b, 0)["fullUrl"]}}
			b["entry"] = append(b["entry"].([]any), map[string]any{"fullUrl": "urn:uuid:" + newUUID(), "resource": md,
				"request": map[string]any{"method": "POST", "url": "MedicationDispense", "ifNoneExist": "identifier=urn:ietf:rfc:3986|urn:uuid:" + rec}})
			records = append(records, rec)
		}
		return b, records
	}
	count := func(rt, rec string) int {
		n, err := s.CountByIdentifier(rt, rx.SystemRecordUUID, "urn:uuid:"+rec)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("within what remains", func(t *testing.T) {
		b, recs := bundleOf(30, 10, 10, 10)
		a := call(t, nil, "POST", s.URL()+"/", b)
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		v.Check(t, "transaction-response", a.body)
		var resp struct {
			Entry []struct {
				Resource map[string]any
				Response struct{ Status string }
			}
		}
		if err := json.Unmarshal(a.body, &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.Entry) != 4 {
			t.Fatalf("%d entries", len(resp.Entry))
		}
		for i, e := range resp.Entry {
			if e.Response.Status != "201 Created" {
				t.Errorf("entry %d: %s", i, e.Response.Status)
			}
		}
		if status, remaining, etag := prescriptionState(t, s, resp.Entry[0].Resource["id"].(string)); status != "completed" || remaining != 0 || etag != `W/"4"` {
			t.Errorf("prescription %s, %v remaining, %s: want completed, 0, W/\"4\" (one version per dispensing)", status, remaining, etag)
		}
		for i, rec := range recs[1:] {
			if count("MedicationDispense", rec) != 1 {
				t.Errorf("dispensing %d not stored once", i)
			}
		}
	})
	t.Run("together over what remains: nothing stored", func(t *testing.T) {
		b, recs := bundleOf(30, 20, 20)
		a := call(t, nil, "POST", s.URL()+"/", b)
		if _, r, _, en := reasonOf(t, a); a.status != 422 || r != "over-dispensed" || !strings.Contains(en, "entry[2]") {
			t.Fatalf("%d %s %s", a.status, r, en)
		}
		if count("MedicationRequest", recs[0]) != 0 || count("MedicationDispense", recs[1]) != 0 || count("MedicationDispense", recs[2]) != 0 {
			t.Error("something was stored")
		}
	})
	t.Run("two dispensings against an e-prescription", func(t *testing.T) {
		// EPA has 10 remaining.
		b := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{}}
		for _, q := range []int{6, 5} {
			rec := newUUID()
			b["entry"] = append(b["entry"].([]any), map[string]any{"fullUrl": "urn:uuid:" + rec,
				"resource": dispensing(rec, hetuAino, "EPA", "990041", q, "Apteekki Yksi"),
				"request":  map[string]any{"method": "POST", "url": "MedicationDispense", "ifNoneExist": "identifier=urn:ietf:rfc:3986|urn:uuid:" + rec}})
		}
		a := call(t, nil, "POST", s.URL()+"/", b)
		if _, r, _, _ := reasonOf(t, a); a.status != 422 || r != "over-dispensed" {
			t.Fatalf("%d %s", a.status, r)
		}
		if _, remaining, etag := prescriptionState(t, s, "EPA"); remaining != 10 || etag != `W/"1"` {
			t.Errorf("EPA %v remaining, %s", remaining, etag)
		}
	})
}

// readResource GETs a resource and decodes it.
func readResource(t *testing.T, s *Server, path string) (map[string]any, string) {
	t.Helper()
	a := call(t, nil, "GET", s.URL()+"/"+path, nil)
	if a.status != 200 {
		t.Fatalf("read %s: %d %s", path, a.status, a.body)
	}
	return a.json(t), a.header.Get("ETag")
}

func voided(m map[string]any, reasonKey, reason string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	out["status"] = "entered-in-error"
	if reason != "" {
		out[reasonKey] = map[string]any{"text": reason}
	}
	return out
}

func TestVoid(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	dispense := func(prescription, vnr string, qty int) (string, map[string]any) {
		t.Helper()
		rec := newUUID()
		a := call(t, nil, "POST", s.URL()+"/MedicationDispense", dispensing(rec, hetuAino, prescription, vnr, qty, "Apteekki Yksi"))
		if a.status != 201 {
			t.Fatalf("dispense: %d %s", a.status, a.body)
		}
		return rec, a.json(t)
	}

	t.Run("dispensing: the quantity comes back", func(t *testing.T) {
		rec, md := dispense("EPA", "990041", 10)
		if status, remaining, _ := prescriptionState(t, s, "EPA"); status != "completed" || remaining != 0 {
			t.Fatalf("EPA %s %v", status, remaining)
		}
		_, _, rxBefore := prescriptionState(t, s, "EPA")
		id := md["id"].(string)
		a := call(t, nil, "PUT", s.URL()+"/MedicationDispense/"+id, voided(md, "statusReasonCodeableConcept", "wrong patient"), "If-Match", `W/"1"`)
		if a.status != 200 {
			t.Fatalf("void: %d %s", a.status, a.body)
		}
		v.Check(t, "voided MedicationDispense", a.body)
		got := a.json(t)
		if got["status"] != "entered-in-error" || a.header.Get("ETag") != `W/"2"` ||
			got["statusReasonCodeableConcept"].(map[string]any)["text"] != "wrong patient" {
			t.Errorf("voided: ETag %s %s", a.header.Get("ETag"), a.body)
		}
		status, remaining, rxAfter := prescriptionState(t, s, "EPA")
		if status != "active" || remaining != 10 || rxAfter == rxBefore {
			t.Errorf("EPA after the void: %s, %v remaining, %s (was %s)", status, remaining, rxAfter, rxBefore)
		}
		again := call(t, nil, "PUT", s.URL()+"/MedicationDispense/"+id, voided(md, "statusReasonCodeableConcept", "wrong patient"), "If-Match", `W/"1"`)
		if again.status != 200 || string(again.body) != string(a.body) {
			t.Errorf("again: %d %s", again.status, again.body)
		}
		if _, remaining, _ := prescriptionState(t, s, "EPA"); remaining != 10 {
			t.Errorf("the second void gave the quantity back again: %v", remaining)
		}
		all, _ := s.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec)
		active, _ := s.CountActiveByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec)
		if all != 1 || active != 0 {
			t.Errorf("count %d, active %d; want 1 and 0", all, active)
		}
		// A conditional create of the voided record finds it.
		c := call(t, nil, "POST", s.URL()+"/MedicationDispense", dispensing(rec, hetuAino, "EPA", "990041", 10, "Apteekki Yksi"),
			"If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+rec)
		if c.status != 200 || c.json(t)["status"] != "entered-in-error" {
			t.Errorf("conditional create of a voided record: %d %s", c.status, c.body)
		}
		sr := call(t, nil, "GET", s.URL()+"/MedicationDispense?status=entered-in-error&identifier="+url.QueryEscape("urn:ietf:rfc:3986|urn:uuid:"+rec), nil)
		if sr.json(t)["total"].(float64) != 1 {
			t.Errorf("search by status: %s", sr.body)
		}
	})

	refusals := []struct {
		name   string
		path   func() string
		body   func() any
		header []string
		status int
		reason string
	}{
		{"If-Match is not the current version", func() string { return "" }, nil, []string{"If-Match", `W/"7"`}, 412, "version"},
		{"another element changed", func() string { return "" }, func() any { return "quantity" }, nil, 422, "update-not-allowed"},
		{"another status", func() string { return "" }, func() any { return "status" }, nil, 422, "update-not-allowed"},
		{"the id differs", func() string { return "" }, func() any { return "id" }, nil, 400, "invalid-field"},
		{"unknown dispensing", func() string { return "MedicationDispense/md-999" }, func() any { return "unknown" }, nil, 404, "not-found"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, md := dispense("EP5", "990011", 1)
			path := "MedicationDispense/" + md["id"].(string)
			if p := tt.path(); p != "" {
				path = p
			}
			body := voided(md, "statusReasonCodeableConcept", "")
			if tt.body != nil {
				switch tt.body() {
				case "quantity":
					body["quantity"] = map[string]any{"value": 2, "unit": "tablet"}
				case "status":
					body["status"] = "cancelled"
				case "id":
					body["id"] = "md-1"
				case "unknown":
					body["id"] = "md-999"
				}
			}
			a := call(t, nil, "PUT", s.URL()+"/"+path, body, tt.header...)
			v.Check(t, "refusal", a.body)
			if _, r, fi, en := reasonOf(t, a); a.status != tt.status || r != tt.reason || fi == "" || en == "" {
				t.Errorf("%d %s (%s / %s), want %d %s", a.status, r, fi, en, tt.status, tt.reason)
			}
			if got, _ := readResource(t, s, "MedicationDispense/"+md["id"].(string)); got["status"] != "completed" {
				t.Errorf("the dispensing changed: %v", got["status"])
			}
		})
	}

	t.Run("recorded prescription", func(t *testing.T) {
		rxRec, dispRec := newUUID(), newUUID()
		a := call(t, nil, "POST", s.URL()+"/", transactionBundle(rxRec, dispRec, hetuMatti, 30, 10))
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		var resp struct {
			Entry []struct{ Resource map[string]any }
		}
		if err := json.Unmarshal(a.body, &resp); err != nil {
			t.Fatal(err)
		}
		mrID, mdID := resp.Entry[0].Resource["id"].(string), resp.Entry[1].Resource["id"].(string)
		mr, _ := readResource(t, s, "MedicationRequest/"+mrID)
		r := call(t, nil, "PUT", s.URL()+"/MedicationRequest/"+mrID, voided(mr, "statusReason", "entered twice"))
		if _, reason, _, _ := reasonOf(t, r); r.status != 409 || reason != "has-dispensings" {
			t.Fatalf("with a dispensing: %d %s", r.status, reason)
		}
		md, _ := readResource(t, s, "MedicationDispense/"+mdID)
		if r := call(t, nil, "PUT", s.URL()+"/MedicationDispense/"+mdID, voided(md, "statusReasonCodeableConcept", "entered twice")); r.status != 200 {
			t.Fatalf("void the dispensing: %d %s", r.status, r.body)
		}
		// The prescription's version moved with the void of its dispensing;
		// the copy read before is still accepted without If-Match, as only
		// server-set extensions differ.
		r = call(t, nil, "PUT", s.URL()+"/MedicationRequest/"+mrID, voided(mr, "statusReason", "entered twice"))
		if r.status != 200 {
			t.Fatalf("void: %d %s", r.status, r.body)
		}
		v.Check(t, "voided MedicationRequest", r.body)
		got := r.json(t)
		if got["status"] != "entered-in-error" || got["statusReason"].(map[string]any)["text"] != "entered twice" {
			t.Errorf("voided: %s", r.body)
		}
		d := dispensing(newUUID(), hetuMatti, mrID, "990011", 1, "Apteekki Yksi")
		if r := call(t, nil, "POST", s.URL()+"/MedicationDispense", withOverride(d, "prescriber consulted")); r.status != 422 {
			t.Errorf("dispensing a voided prescription: %d %s", r.status, r.body)
		} else if _, reason, _, _ := reasonOf(t, r); reason != "entered-in-error" {
			t.Errorf("reason %s", reason)
		}
		sr := call(t, nil, "GET", s.URL()+"/MedicationRequest?status=entered-in-error&identifier="+url.QueryEscape("urn:ietf:rfc:3986|urn:uuid:"+rxRec), nil)
		if sr.json(t)["total"].(float64) != 1 {
			t.Errorf("search by status: %s", sr.body)
		}
		if again := call(t, nil, "PUT", s.URL()+"/MedicationRequest/"+mrID, voided(mr, "statusReason", "entered twice")); again.status != 200 {
			t.Errorf("again: %d", again.status)
		}
	})
	t.Run("an e-prescription is not the pharmacy's to void", func(t *testing.T) {
		mr, _ := readResource(t, s, "MedicationRequest/EP8")
		r := call(t, nil, "PUT", s.URL()+"/MedicationRequest/EP8", voided(mr, "statusReason", ""))
		if _, reason, _, _ := reasonOf(t, r); r.status != 422 || reason != "not-recorded-here" {
			t.Errorf("%d %s", r.status, reason)
		}
	})
	t.Run("PUT elsewhere is not allowed", func(t *testing.T) {
		r := call(t, nil, "PUT", s.URL()+"/Patient/pat-1", map[string]any{"resourceType": "Patient"})
		if r.status != 405 || r.header.Get("Allow") != "GET" {
			t.Errorf("%d %s", r.status, r.header.Get("Allow"))
		}
		r = call(t, nil, "DELETE", s.URL()+"/MedicationDispense/md-1", nil)
		if r.status != 405 || r.header.Get("Allow") != "GET, PUT" {
			t.Errorf("%d %s", r.status, r.header.Get("Allow"))
		}
	})
}
