package centre

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	tiski "github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Test identity codes (individual numbers 900-999) from the fixtures.
const (
	testHETU      = "140348-901W"
	otherTestHETU = "131052-902Y"
)

var (
	testPharmacist = rx.Pharmacist{ID: "anna", Name: "Anna Lahtinen", Registration: "20011234", Role: rx.RolePharmacist}
	testPharmacy   = rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}
	testMedicine   = rx.Medicine{
		Name: "Kavepenin", Substance: "fenoksimetyylipenisilliini", ATC: "J01CE02", Strength: "1 milj. IU",
		Form: "tablet", Unit: "tablet", Packages: []rx.Package{{VNR: "123456", Size: 30}, {VNR: "123457", Size: 10}},
	}
	testPrescriber = rx.Prescriber{Name: "Anna Korhonen", Registration: "10012345", Profession: rx.Physician, Phone: "+358401234567"}
	handedOver     = time.Date(2026, 11, 22, 10, 15, 0, 0, time.FixedZone("EET", 2*3600))
)

func sampleDispensing() rx.Dispensing {
	return rx.Dispensing{
		ID: "6f1c2a52-9d7e-4a55-bb0e-2f2a0d4f7c11", PrescriptionID: "EP26000101", Patient: testHETU,
		Medicine: testMedicine, VNR: "123456", Quantity: 30, Time: handedOver,
		Pharmacist: testPharmacist, Pharmacy: testPharmacy,
	}
}

func samplePrescription(form rx.Form) rx.Prescription {
	p := rx.Prescription{
		RecordID: "0b9f0d8e-3c57-4d3c-9f0c-8a6a7d0e2b55", Patient: testHETU, Prescriber: testPrescriber,
		Medicine: testMedicine, Form: form, Issued: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
		Dosage: "1 tablet three times a day", Quantity: 30, Status: rx.StatusActive,
		Reason: "the health centre's patient system was down", Recorder: &testPharmacist,
	}
	if form == rx.FormTelephone {
		p.Telephone = &rx.TelephoneCall{Phone: "+358401234567", Time: handedOver.Add(-time.Hour), Verification: "called back to a known number"}
	}
	return p
}

func newUnitClient(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Pharmacy: testPharmacy})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 10, 21, 7, 28, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Duration
		ok       bool
	}{
		{"seconds", "5", 5 * time.Second, true},
		{"zero seconds", "0", 0, true},
		{"padded", " 120 ", 2 * time.Minute, true},
		{"http-date ahead", "Wed, 21 Oct 2026 07:28:30 GMT", 30 * time.Second, true},
		{"rfc850 date", "Wednesday, 21-Oct-26 07:29:00 GMT", time.Minute, true},
		{"asctime date", "Wed Oct 21 07:28:10 2026", 10 * time.Second, true},
		{"date in the past", "Wed, 21 Oct 2026 07:00:00 GMT", 0, true},
		{"absent", "", 0, false},
		{"negative", "-1", 0, false},
		{"fraction", "1.5", 0, false},
		{"garbage", "soon", 0, false},
		{"huge is capped", "99999999999999", 365 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func outcomeJSON(code, reason, text, diag string) string {
	return fmt.Sprintf(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":%q,
	"details":{"coding":[{"system":%q,"code":%q}],"text":%q},"diagnostics":%q}]}`, code, csOutcomeReason, reason, text, diag)
}

// The error of every status and outcome of the contract: its class, its rx
// code and a message that names the reason and carries both texts.
func TestErrorFromOutcome(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		code, reason string
		class        Class
		rxCode       string
		wantIn       []string
	}{
		{"expired", 422, "business-rule", "expired", Permanent, rx.EREJECTED,
			[]string{"record dispensing: Prescription Centre refused the dispensing: The prescription expired", "Resepti on", "(expired)"}},
		{"over-dispensed", 422, "business-rule", "over-dispensed", Permanent, rx.EREJECTED, []string{"(over-dispensed)"}},
		{"locked", 409, "lock-error", "locked", Conflict, rx.ECONFLICT, []string{"refused the dispensing", "(locked)"}},
		{"version", 409, "conflict", "version", Conflict, rx.ECONFLICT, []string{"(version)"}},
		{"multiple matches", 412, "multiple-matches", "multiple-matches", Conflict, rx.ECONFLICT, []string{"(multiple-matches)"}},
		{"malformed", 400, "structure", "malformed", Permanent, rx.EINVALID, []string{"(malformed)"}},
		{"not found", 404, "not-found", "not-found", Permanent, rx.ENOTFOUND, []string{"not found in the Prescription Centre"}},
		{"too large", 413, "too-costly", "too-large", Permanent, rx.EINVALID, []string{"(too-large)"}},
		{"media type", 415, "not-supported", "media-type", Permanent, rx.EINVALID, []string{"(media-type)"}},
		{"request timeout", 408, "", "", Transient, rx.EUNAVAILABLE, []string{"408"}},
		{"throttled", 429, "throttled", "throttled", Transient, rx.EUNAVAILABLE, []string{"throttling", "retry after 5s"}},
		{"bad gateway", 502, "", "", Transient, rx.EUNAVAILABLE, []string{"502 Bad Gateway"}},
		{"unavailable", 503, "transient", "unavailable", Transient, rx.EUNAVAILABLE, []string{"temporarily unavailable", "retry after 5s"}},
		{"gateway timeout", 504, "", "", Transient, rx.EUNAVAILABLE, []string{"504"}},
		{"internal", 500, "exception", "", Transient, rx.EUNAVAILABLE, []string{"500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Error{Op: "record dispensing", Status: tt.status, Class: classify(tt.status), RetryAfter: 5 * time.Second}
			if tt.code != "" {
				body := outcomeJSON(tt.code, tt.reason, "Resepti on vanhentunut 1.3.2026.", "The prescription expired on 2026-03-01.")
				if !e.parseOutcome([]byte(body)) {
					t.Fatal("outcome not parsed")
				}
			}
			if e.Class != tt.class {
				t.Errorf("class %v, want %v", e.Class, tt.class)
			}
			if e.Reason != tt.reason || e.IssueCode != tt.code {
				t.Errorf("reason %q code %q, want %q %q", e.Reason, e.IssueCode, tt.reason, tt.code)
			}
			var err error = e
			if got := rx.ErrorCode(err); got != tt.rxCode {
				t.Errorf("rx.ErrorCode = %q, want %q", got, tt.rxCode)
			}
			if ClassOf(fmt.Errorf("upload record: %w", err)) != tt.class {
				t.Error("ClassOf does not see through wrapping")
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err.Error(), s)
				}
			}
		})
	}
}

func TestParseOutcomeRejectsOthers(t *testing.T) {
	for _, body := range []string{``, `<html>Bad gateway</html>`, `{"resourceType":"Patient"}`, `{"resourceType":"OperationOutcome","issue":[]}`, `{"resourceType":"OperationOutcome","issue":"x"}`} {
		e := &Error{}
		if e.parseOutcome([]byte(body)) {
			t.Errorf("parsed %q as an outcome", body)
		}
	}
}

// No identity code reaches an error message: not from the URL of a failed
// request, and not from the server's own texts.
func TestErrorsMaskIdentityCodes(t *testing.T) {
	cause := &url.Error{Op: "Get", URL: "http://127.0.0.1:9/Patient?identifier=urn%3Aoid%3A1.2.246.21%7C" + testHETU,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}}
	e := transportError(context.Background(), "find patient", "id", time.Second, cause)
	if strings.Contains(e.Error(), "901W") || strings.Contains(fmt.Sprint(e.Err), "901W") {
		t.Errorf("identity code in %q", e.Error())
	}
	if e.Class != Transient {
		t.Errorf("class %v", e.Class)
	}
	o := &Error{Op: "find patient", Status: 422, Class: Permanent}
	o.parseOutcome([]byte(outcomeJSON("business-rule", "unknown-patient", "Potilasta "+testHETU+" ei löydy.", "No patient "+testHETU+".")))
	if strings.Contains(o.Error(), testHETU) || !strings.Contains(o.Error(), "140348-***W") {
		t.Errorf("identity code not masked in %q", o.Error())
	}
}

// Every resource the client sends validates against the R4 schema and
// carries what the contract names.
func TestEncodedResourcesValidate(t *testing.T) {
	t.Parallel()
	v := fhirschema.ForTest(t)
	c := newUnitClient(t)
	essential := func(b rx.BasisDocument, withRx bool) rx.Dispensing {
		d := sampleDispensing()
		d.Essential, d.Basis, d.Note = true, b, "patient leaving for Spain tomorrow"
		if !withRx {
			d.PrescriptionID = ""
		}
		return d
	}
	byRecord := sampleDispensing()
	byRecord.PrescriptionID, byRecord.PrescriptionRecord = "", samplePrescription(rx.FormPaper).RecordID
	noPharmacy := sampleDispensing()
	noPharmacy.Pharmacy = rx.Pharmacy{}

	dispensings := []struct {
		name  string
		d     rx.Dispensing
		check func(t *testing.T, md map[string]any)
	}{
		{"plain", sampleDispensing(), func(t *testing.T, md map[string]any) {
			mustAbsent(t, md, "type", "note", "extension")
			mustContain(t, md, `"reference":"MedicationRequest/EP26000101"`, `"value":"urn:uuid:6f1c2a52-9d7e-4a55-bb0e-2f2a0d4f7c11"`,
				`"system":"urn:oid:1.2.246.537.26","value":"20011234"`, `"value":"urn:oid:1.2.246.10.12345678.10.0"`,
				`"system":"urn:oid:1.2.246.21","value":"140348-901W"`, `"whenHandedOver":"2026-11-22T10:15:00+02:00"`)
		}},
		{"essential instruction sheet", essential(rx.BasisInstructionSheet, true), func(t *testing.T, md map[string]any) {
			mustContain(t, md, `"code":"EM"`, csV3ActCode, extEssentialBasis, `"valueCode":"instruction-sheet"`, "patient instruction sheet", "leaving for Spain")
		}},
		{"essential summary", essential(rx.BasisSummary, true), func(t *testing.T, md map[string]any) {
			mustContain(t, md, `"valueCode":"summary"`)
		}},
		{"essential previous label, no prescription", essential(rx.BasisPreviousLabel, false), func(t *testing.T, md map[string]any) {
			mustAbsent(t, md, "authorizingPrescription")
			mustContain(t, md, `"valueCode":"previous-label"`)
		}},
		{"against a journal prescription", byRecord, func(t *testing.T, md map[string]any) {
			mustContain(t, md, `"authorizingPrescription":[{"identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:0b9f0d8e-3c57-4d3c-9f0c-8a6a7d0e2b55"}}]`)
		}},
		{"pharmacy from the configuration", noPharmacy, func(t *testing.T, md map[string]any) {
			mustContain(t, md, `"display":"Apteekki Tiski"`)
		}},
	}
	for _, tt := range dispensings {
		t.Run("dispensing/"+tt.name, func(t *testing.T) {
			md, _, err := c.dispensing(tt.d, nil, options{})
			if err != nil {
				t.Fatal(err)
			}
			b := mustJSON(md)
			v.Check(t, "MedicationDispense", b)
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}

	paperDisp := sampleDispensing()
	paperDisp.ID, paperDisp.PrescriptionID = "a7d4f0f2-5b1e-4c0a-8c3c-3d5f6e7a8b9c", ""
	transactions := []struct {
		name string
		p    rx.Prescription
		ds   []rx.Dispensing
		want []string
	}{
		{"paper with dispensing", samplePrescription(rx.FormPaper), []rx.Dispensing{paperDisp},
			[]string{`"code":"paper"`, extExceptionReason, `"reportedBoolean":true`, `"reference":"Patient?identifier=urn:oid:1.2.246.21|140348-901W"`,
				`"ifNoneExist":"identifier=urn:ietf:rfc:3986|urn:uuid:0b9f0d8e-3c57-4d3c-9f0c-8a6a7d0e2b55"`,
				`"ifNoneExist":"identifier=urn:ietf:rfc:3986|urn:uuid:a7d4f0f2-5b1e-4c0a-8c3c-3d5f6e7a8b9c"`,
				`"authorizingPrescription":[{"reference":"urn:uuid:bcac3f76-de89-536c-bcc9-d64e6d5fbcfe"}]`,
				`"recorder":{"type":"Practitioner"`, `"reference":"Medication/med-123456"`, `"end":"2028-11-22"`}},
		{"paper alone", samplePrescription(rx.FormPaper), nil, []string{`"code":"paper"`}},
		{"telephone with dispensing", samplePrescription(rx.FormTelephone), []rx.Dispensing{paperDisp},
			[]string{`"code":"telephone"`, extTelephoneCall, `"url":"verification"`, `"valueDateTime":"2026-11-22T09:15:00+02:00"`, `"end":"2027-02-22"`}},
		{"telephone alone", samplePrescription(rx.FormTelephone), nil, []string{`"url":"phone"`}},
	}
	for _, tt := range transactions {
		t.Run("transaction/"+tt.name, func(t *testing.T) {
			b, err := c.transaction(tt.p, tt.ds, options{})
			if err != nil {
				t.Fatal(err)
			}
			v.Check(t, "transaction Bundle", b)
			var bd bundle
			if err := json.Unmarshal(b, &bd); err != nil {
				t.Fatal(err)
			}
			for i, e := range bd.Entry {
				v.Check(t, fmt.Sprintf("entry %d", i+1), e.Resource)
			}
			for _, s := range tt.want {
				if !strings.Contains(string(b), s) {
					t.Errorf("bundle lacks %s\n%s", s, b)
				}
			}
		})
	}
}

// A transaction entry's fullUrl is a name-based UUID of the record's
// identifier: the same on every attempt, and never a value a server could
// rewrite anywhere but in a reference (issue 18: a server that resolves
// every urn:uuid: string of the Bundle rewrote the identifiers).
func TestTransactionFullURLs(t *testing.T) {
	t.Parallel()
	c := newUnitClient(t)
	p := samplePrescription(rx.FormPaper)
	d := sampleDispensing()
	d.ID, d.PrescriptionID = "a7d4f0f2-5b1e-4c0a-8c3c-3d5f6e7a8b9c", ""
	b, err := c.transaction(p, []rx.Dispensing{d}, options{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.transaction(p, []rx.Dispensing{d}, options{})
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Errorf("the same records make another Bundle on a retry:\n%s\n%s", b, again)
	}
	var bd bundle
	if err := json.Unmarshal(b, &bd); err != nil {
		t.Fatal(err)
	}
	// uuid.NewSHA1(entryNamespace, "urn:uuid:<record id>"), pinned here so
	// that a change of namespace or name shows.
	want := []string{"urn:uuid:bcac3f76-de89-536c-bcc9-d64e6d5fbcfe", "urn:uuid:121591a0-2898-541e-947f-4198c6ec7c38"}
	ids := []string{"urn:uuid:" + p.RecordID, "urn:uuid:" + d.ID}
	if len(bd.Entry) != 2 {
		t.Fatalf("%d entries, want 2", len(bd.Entry))
	}
	for i, e := range bd.Entry {
		if e.FullURL != want[i] {
			t.Errorf("entry %d: fullUrl %s, want %s", i+1, e.FullURL, want[i])
		}
		for _, id := range ids {
			if e.FullURL == id {
				t.Errorf("entry %d: fullUrl %s is a record's identifier", i+1, e.FullURL)
			}
		}
		// The record's identifier is in its resource, exactly, and the
		// fullUrls appear once as such and once as the dispensing's
		// reference to its prescription: nowhere else.
		if !strings.Contains(string(e.Resource), `{"system":"urn:ietf:rfc:3986","value":"`+ids[i]+`"}`) {
			t.Errorf("entry %d lacks its identifier %s:\n%s", i+1, ids[i], e.Resource)
		}
	}
	if n := strings.Count(string(b), `"`+want[0]+`"`); n != 2 {
		t.Errorf("the prescription's fullUrl appears %d times, want 2 (its entry, the dispensing's reference):\n%s", n, b)
	}
	if n := strings.Count(string(b), `"`+want[1]+`"`); n != 1 {
		t.Errorf("the dispensing's fullUrl appears %d times, want 1:\n%s", n, b)
	}

	// A record whose id is made to be another entry's fullUrl is refused,
	// not sent to be stored rewritten.
	crafted := d
	crafted.ID = strings.TrimPrefix(want[0], "urn:uuid:")
	_, err = c.transaction(p, []rx.Dispensing{crafted}, options{})
	var v *rx.ValidationError
	if !errors.As(err, &v) || !strings.Contains(err.Error(), "cannot be sent as it is") {
		t.Errorf("a record id equal to an entry's fullUrl: %v, want a validation error", err)
	}
}

func mustContain(t *testing.T, m map[string]any, subs ...string) {
	t.Helper()
	b, _ := json.Marshal(m)
	for _, s := range subs {
		if !strings.Contains(string(b), s) {
			t.Errorf("resource lacks %s\n%s", s, b)
		}
	}
}

func mustAbsent(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; ok {
			t.Errorf("resource has %q", k)
		}
	}
}

// An incomplete record is not sent; the error lists every problem.
func TestIncompleteRecordsAreNotSent(t *testing.T) {
	c := newUnitClient(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		mutate func(d *rx.Dispensing)
		field  string
	}{
		{"no record id", func(d *rx.Dispensing) { d.ID = "" }, "record id"},
		{"bad identity code", func(d *rx.Dispensing) { d.Patient = "140348-901X" }, "patient"},
		{"no package", func(d *rx.Dispensing) { d.VNR = "" }, "package"},
		{"zero quantity", func(d *rx.Dispensing) { d.Quantity = 0 }, "quantity"},
		{"no prescription", func(d *rx.Dispensing) { d.PrescriptionID = "" }, "prescription"},
		{"essential without basis", func(d *rx.Dispensing) { d.Essential = true }, "basis"},
		{"id with a slash", func(d *rx.Dispensing) { d.PrescriptionID = "../Patient/1" }, "prescription"},
		{"no pharmacist", func(d *rx.Dispensing) { d.Pharmacist.Registration = "" }, "pharmacist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := sampleDispensing()
			tt.mutate(&d)
			_, err := c.RecordDispensing(ctx, d)
			var ce *Error
			var ve *rx.ValidationError
			if !errors.As(err, &ce) || ce.Class != Permanent || !errors.Is(err, ErrNotSent) || !errors.As(err, &ve) {
				t.Fatalf("got %v", err)
			}
			if rx.ErrorCode(err) != rx.EINVALID {
				t.Errorf("code %q", rx.ErrorCode(err))
			}
			if ve.Problems[0].Field != tt.field {
				t.Errorf("problems %+v, want field %q", ve.Problems, tt.field)
			}
			if strings.Contains(err.Error(), "140348-901") {
				t.Errorf("identity code in %q", err)
			}
		})
	}
	t.Run("electronic prescription by the pharmacy", func(t *testing.T) {
		_, err := c.RecordPrescription(ctx, samplePrescription(rx.FormElectronic), nil)
		if !errors.Is(err, ErrNotSent) || !strings.Contains(err.Error(), "form") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("telephone without the call", func(t *testing.T) {
		p := samplePrescription(rx.FormTelephone)
		p.Telephone = nil
		_, err := c.RecordPrescription(ctx, p, nil)
		if !errors.Is(err, ErrNotSent) || !strings.Contains(err.Error(), "telephone call") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("dispensing of another patient", func(t *testing.T) {
		d := sampleDispensing()
		d.PrescriptionID, d.Patient = "", otherTestHETU
		_, err := c.RecordPrescription(ctx, samplePrescription(rx.FormPaper), []rx.Dispensing{d})
		if !errors.Is(err, ErrNotSent) || strings.Contains(err.Error(), "901W") {
			t.Fatalf("got %v", err)
		}
	})
}

// Hostile or broken answers give a clear error, never a panic.
func TestHostileAnswers(t *testing.T) {
	med := `{"resourceType":"Medication","id":"med-123456","code":{"coding":[{"system":"urn:oid:1.2.246.537.6.55","code":"123456"}],"text":"Panadol"},"amount":{"numerator":{"value":30,"unit":"tablet"}}}`
	goodMR := `{"resourceType":"MedicationRequest","id":"EP1","status":"active","intent":"order","medicationReference":{"reference":"Medication/med-123456"},"subject":{"reference":"Patient/p1"},"authoredOn":"2026-05-01","dispenseRequest":{"quantity":{"value":30}}}`
	meds := map[string]json.RawMessage{"Medication/med-123456": json.RawMessage(med)}
	if _, err := decodePrescription([]byte(goodMR), meds, testHETU); err != nil {
		t.Fatalf("the good one fails: %v", err)
	}
	tests := []struct {
		name string
		body string
		kind error
	}{
		{"empty", ``, ErrTruncated},
		{"cut off", goodMR[:60], ErrTruncated},
		{"html", `<html>502</html>`, ErrBadResponse},
		{"wrong type", `{"resourceType":"Patient","id":"EP1"}`, ErrBadResponse},
		{"no resourceType", `{"id":"EP1"}`, ErrBadResponse},
		{"array", `[1,2]`, ErrBadResponse},
		{"number as string", strings.Replace(goodMR, `"value":30`, `"value":"30"`, 1), ErrBadResponse},
		{"no status", strings.Replace(goodMR, `"status":"active",`, ``, 1), ErrBadResponse},
		{"no quantity", strings.Replace(goodMR, `"dispenseRequest":{"quantity":{"value":30}}`, `"dispenseRequest":{}`, 1), ErrBadResponse},
		{"medication not included", strings.Replace(goodMR, `med-123456`, `med-999999`, 1), ErrBadResponse},
		{"bad date", strings.Replace(goodMR, `2026-05-01`, `1.5.2026`, 1), ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodePrescription([]byte(tt.body), meds, testHETU)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("got %v, want %v", err, tt.kind)
			}
		})
	}
	t.Run("search of the wrong bundle type", func(t *testing.T) {
		_, err := decodeSearch([]byte(`{"resourceType":"Bundle","type":"transaction-response"}`), "Patient")
		if !errors.Is(err, ErrBadResponse) {
			t.Fatal(err)
		}
	})
	t.Run("search entry without a resource", func(t *testing.T) {
		_, err := decodeSearch([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"x"}]}`), "Patient")
		if !errors.Is(err, ErrBadResponse) {
			t.Fatal(err)
		}
	})
	t.Run("receipt of another record", func(t *testing.T) {
		_, err := receiptFromResource([]byte(`{"resourceType":"MedicationDispense","id":"md-1","identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:other"}]}`), "MedicationDispense", "urn:uuid:mine")
		if !errors.Is(err, ErrBadResponse) {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeSearchAndPrescription(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"MedicationRequest","id":"EP1","status":"active","medicationReference":{"reference":"Medication/m"},"authoredOn":"2026-01-01","dispenseRequest":{"quantity":{"value":1}},"extension":[{"url":"` + extRemainingQty + `","valueQuantity":{"value":-5}}]}},{"resource":{"resourceType":"Medication","id":"m","code":{"coding":[{"system":"urn:oid:1.2.246.537.6.55","code":"1"}],"text":"x"}}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"http://x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		page, err := decodeSearch(b, "MedicationRequest")
		if err != nil {
			return
		}
		for _, m := range page.matches {
			_, _ = decodePrescription(m, page.includes, testHETU)
		}
	})
}

func TestDecodePrescription(t *testing.T) {
	med := `{"resourceType":"Medication","id":"med-123456","code":{"coding":[{"system":"urn:oid:1.2.246.537.6.55","code":"123456","display":"Panadol 500 mg tablet 30"},{"system":"urn:oid:1.2.246.537.6.32","code":"N02BE01","display":"paracetamol"}],"text":"Panadol"},
	"form":{"text":"tablet"},"amount":{"numerator":{"value":30,"unit":"tablet"},"denominator":{"value":1}},
	"extension":[{"url":"` + extStrength + `","valueString":"500 mg"},{"url":"` + extMedicineClass + `","valueCode":"pkv"}]}`
	mr := `{"resourceType":"MedicationRequest","id":"EP26000101","meta":{"versionId":"2"},
	"identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:0b9f0d8e-3c57-4d3c-9f0c-8a6a7d0e2b55"}],
	"status":"active","intent":"order","reportedBoolean":true,"medicationReference":{"reference":"Medication/med-123456"},
	"subject":{"reference":"Patient/pat-1"},"authoredOn":"2026-05-01",
	"requester":{"type":"Practitioner","identifier":{"system":"urn:oid:1.2.246.537.26","value":"10012345"},"display":"Anna Korhonen"},
	"recorder":{"type":"Practitioner","identifier":{"system":"urn:oid:1.2.246.537.26","value":"20011234"},"display":"Anna Lahtinen"},
	"dosageInstruction":[{"text":"1 tablet twice a day"}],
	"dispenseRequest":{"validityPeriod":{"start":"2026-05-01","end":"2027-05-01"},"numberOfRepeatsAllowed":2,"quantity":{"value":100,"unit":"tablet"}},
	"extension":[{"url":"` + extPrescriptionForm + `","valueCoding":{"system":"` + csPrescriptionForm + `","code":"telephone"}},
	{"url":"` + extRemainingQty + `","valueQuantity":{"value":200,"unit":"tablet"}},
	{"url":"` + extLockedBy + `","valueString":"Apteekki Kamppi"},
	{"url":"` + extExceptionReason + `","valueString":"system down"},
	{"url":"` + extTelephoneCall + `","extension":[{"url":"phone","valueString":"+358401"},{"url":"time","valueDateTime":"2026-05-01T09:00:00+03:00"},{"url":"verification","valueString":"call back"}]}]}`
	p, err := decodePrescription([]byte(mr), map[string]json.RawMessage{"Medication/med-123456": json.RawMessage(med)}, testHETU)
	if err != nil {
		t.Fatal(err)
	}
	want := rx.Prescription{
		ID: "EP26000101", Patient: testHETU, Status: rx.StatusActive, Form: rx.FormTelephone, Version: "2",
		Prescriber: rx.Prescriber{Name: "Anna Korhonen", Registration: "10012345"},
		Medicine: rx.Medicine{Name: "Panadol", Substance: "paracetamol", ATC: "N02BE01", Strength: "500 mg", Form: "tablet", Unit: "tablet",
			PKV: true, Packages: []rx.Package{{VNR: "123456", Size: 30}}},
		Issued: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Dosage: "1 tablet twice a day",
		Quantity: 100, Repeats: 2, Dispensed: 100, LockedBy: "Apteekki Kamppi", Reason: "system down",
		RecordID: "0b9f0d8e-3c57-4d3c-9f0c-8a6a7d0e2b55",
		Recorder: &rx.Pharmacist{Name: "Anna Lahtinen", Registration: "20011234", Role: rx.RolePharmacist},
	}
	if p.Telephone == nil || p.Telephone.Phone != "+358401" || p.Telephone.Verification != "call back" || p.Telephone.Time.IsZero() {
		t.Errorf("telephone call %+v", p.Telephone)
	}
	p.Telephone = nil
	gotJSON, _ := json.Marshal(p)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("got  %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestParseLocation(t *testing.T) {
	tests := []struct{ in, id, v string }{
		{"MedicationDispense/md-1/_history/2", "md-1", "2"},
		{"/MedicationDispense/md-1/_history/2", "md-1", "2"},
		{"http://127.0.0.1:8080/fhir/MedicationDispense/md-1/_history/1", "md-1", "1"},
		{"MedicationDispense/md-1", "md-1", ""},
	}
	for _, tt := range tests {
		id, v, ok := parseLocation(tt.in, "MedicationDispense")
		if !ok || id != tt.id || v != tt.v {
			t.Errorf("parseLocation(%q) = %q %q %v", tt.in, id, v, ok)
		}
	}
	if _, _, ok := parseLocation("Patient/p1", "MedicationDispense"); ok {
		t.Error("parsed a Patient location as a dispensing's")
	}
	if etagVersion(`W/"3"`) != "3" {
		t.Error("etag")
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, "base URL"},
		{"ftp", Config{BaseURL: "ftp://x"}, "base URL"},
		{"https without CA", Config{BaseURL: "https://127.0.0.1:1"}, "CA bundle"},
		{"missing CA file", Config{BaseURL: "https://127.0.0.1:1", TLS: &TLSConfig{CAFile: "/nonexistent/ca.crt"}}, "CA bundle"},
		{"negative page size", Config{BaseURL: "http://127.0.0.1:1", PageSize: -1}, "page size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error about %s", err, tt.want)
			}
		})
	}
}

// patientOf is the identity code of the patient a fixture prescription
// belongs to: Prescription reads check the answer against it (issue 22).
func patientOf(t testing.TB, id string) string {
	t.Helper()
	fixtureOnce.Do(func() {
		b, err := fs.ReadFile(tiski.Fixtures(), "prescriptions.json")
		if err != nil {
			fixtureErr = err
			return
		}
		var f struct {
			Prescriptions []struct{ ID, Patient string } `json:"prescriptions"`
		}
		fixtureErr = json.Unmarshal(b, &f)
		fixturePatients = map[string]string{}
		for _, p := range f.Prescriptions {
			fixturePatients[p.ID] = p.Patient
		}
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	code, ok := fixturePatients[id]
	if !ok {
		t.Fatalf("no fixture prescription %s", id)
	}
	return code
}

var (
	fixtureOnce     sync.Once
	fixturePatients map[string]string
	fixtureErr      error
)
