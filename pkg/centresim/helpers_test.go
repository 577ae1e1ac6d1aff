package centresim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/hetu"
)

// testNow is the fixed "now" of the tests, so relative fixture dates and
// validity boundaries are the same on every run.
var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// testHETU makes a valid test identity code (individual number 900-999).
func testHETU(ddmmyy string, sign byte, n int) string {
	return fmt.Sprintf("%s%c%03d%c", ddmmyy, sign, n, hetu.CheckChar(ddmmyy, n))
}

var (
	hetuAino   = testHETU("010101", 'A', 985) // patient 1
	hetuMatti  = testHETU("140348", '-', 901) // patient 2
	hetuNobody = testHETU("020202", 'A', 950) // not a patient
)

// Small fixtures of our own, one prescription per business-rule state, so
// these tests do not depend on the bundled set.
//
//	EP1 active, 30 x (1+1), 30 dispensed: 30 remaining
//	EP2 cancelled          EP3 completed
//	EP4 expired (26 months, plain)  EP5 in grace (24 months 10 days)
//	EP6 locked by "Apteekki Muu"    EP7 telephone narcotic
//	EP8 Matti's prescription        EP9 PKV expired (13 months 5 days)
//	EPA Aino, PKV, valid, 10 x (1+0): the last-dispensing case
func testFixtures() fstest.MapFS {
	rxs := []string{
		`{"id":"EP1","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"panadol","form":"electronic","issued_months_ago":2,"dosage":"1 tablet as needed","quantity":30,"repeats":1,"dispensings":[{"days_ago":20,"quantity":30,"pharmacy":"Apteekki Yksi"}]}`,
		`{"id":"EP2","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"panadol","form":"electronic","issued_months_ago":2,"dosage":"x","quantity":30,"repeats":0,"status":"cancelled"}`,
		`{"id":"EP3","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"panadol","form":"electronic","issued_months_ago":3,"dosage":"x","quantity":30,"repeats":0,"status":"completed","dispensings":[{"days_ago":60,"quantity":30,"pharmacy":"Apteekki Yksi"}]}`,
		`{"id":"EP4","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"panadol","form":"electronic","issued_months_ago":26,"dosage":"x","quantity":30,"repeats":2}`,
		`{"id":"EP5","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"panadol","form":"electronic","issued_months_ago":24,"issued_days_ago":10,"dosage":"x","quantity":30,"repeats":2}`,
		`{"id":"EP6","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"panadol","form":"electronic","issued_months_ago":1,"dosage":"x","quantity":30,"repeats":2,"locked_by":"Apteekki Muu"}`,
		`{"id":"EP7","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"oxynorm","form":"telephone","issued_days_ago":5,"dosage":"x","quantity":20,"repeats":0,"reason":"system down"}`,
		`{"id":"EP8","patient":"` + hetuMatti + `","prescriber":"dr-a","medicine":"panadol","form":"paper","issued_months_ago":1,"dosage":"x","quantity":100,"repeats":0,"reason":"prescriber's system down"}`,
		`{"id":"EP9","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"diapam","form":"electronic","issued_months_ago":13,"issued_days_ago":5,"dosage":"x","quantity":30,"repeats":0}`,
		`{"id":"EPA","patient":"` + hetuAino + `","prescriber":"dr-a","medicine":"diapam","form":"electronic","issued_months_ago":1,"dosage":"x","quantity":10,"repeats":0}`,
	}
	return fstest.MapFS{
		"medicines.json": {Data: []byte(`{"medicines":[
			{"id":"panadol","name":"Panadol","substance":"paracetamol","atc":"N02BE01","strength":"500 mg","form":"tablet","unit":"tablet","category":"analgesic","packages":[{"vnr":"990011","size":30},{"vnr":"990012","size":100}]},
			{"id":"oxynorm","name":"OxyNorm","substance":"oxycodone","atc":"N02AA05","strength":"5 mg","form":"capsule","unit":"capsule","category":"opioid","narcotic":true,"packages":[{"vnr":"990031","size":20}]},
			{"id":"diapam","name":"Diapam","substance":"diazepam","atc":"N05BA01","strength":"5 mg","form":"tablet","unit":"tablet","category":"anxiolytic","pkv":true,"packages":[{"vnr":"990041","size":10},{"vnr":"990042","size":30}]}]}`)},
		"prescribers.json":   {Data: []byte(`{"prescribers":[{"id":"dr-a","name":"Anna Korhonen","registration":"10012345","profession":"physician"}]}`)},
		"patients.json":      {Data: []byte(`{"patients":[{"hetu":"` + hetuAino + `","family":"Virtanen","given":"Aino"},{"hetu":"` + hetuMatti + `","family":"Korhonen","given":"Matti"}]}`)},
		"prescriptions.json": {Data: []byte(`{"prescriptions":[` + strings.Join(rxs, ",") + `]}`)},
	}
}

// startSim starts a simulator on our fixtures in a temporary folder and
// closes it when the test ends. Fields set in cfg win.
func startSim(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Fixtures == nil {
		cfg.Fixtures = testFixtures()
	}
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// answer is one HTTP exchange, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", a.status, err, a.body)
	}
	return m
}

// call sends one request to the FHIR port. body may be nil, a []byte or a
// value to marshal; headers come in name, value pairs.
func call(t testing.TB, c *http.Client, method, url string, body any, headers ...string) answer {
	t.Helper()
	a, err := tryCall(c, method, url, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return a
}

func tryCall(c *http.Client, method, url string, body any, headers ...string) (answer, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return answer{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, resp.Header, b}, nil
}

// dispensing builds a MedicationDispense as a client would, by hand (the
// tests share no encoding code with the server either).
func dispensing(record, patient, prescription, vnr string, qty int, pharmacy string) map[string]any {
	d := map[string]any{
		"resourceType": "MedicationDispense",
		"identifier":   []any{map[string]any{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:" + record}},
		"status":       "completed",
		"medicationCodeableConcept": map[string]any{"coding": []any{
			map[string]any{"system": "urn:oid:1.2.246.537.6.55", "code": vnr},
		}, "text": "Panadol 500 mg tablet"},
		"subject": map[string]any{"type": "Patient", "identifier": map[string]any{"system": "urn:oid:1.2.246.21", "value": patient}},
		"performer": []any{
			map[string]any{"actor": map[string]any{"type": "Practitioner", "identifier": map[string]any{"system": "urn:oid:1.2.246.537.26", "value": "20012345"}, "display": "Pia Proviisori"}},
			map[string]any{"actor": map[string]any{"type": "Organization", "identifier": map[string]any{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.246.10.1234.10.0"}, "display": pharmacy}},
		},
		"quantity":       map[string]any{"value": qty, "unit": "tablet"},
		"whenHandedOver": "2026-11-22T10:15:00+02:00",
	}
	if prescription != "" {
		d["authorizingPrescription"] = []any{map[string]any{"reference": "MedicationRequest/" + prescription}}
	}
	return d
}

// paperPrescription builds a pharmacy-recorded paper MedicationRequest.
func paperPrescription(record, subjectRef, vnr string, qty int) map[string]any {
	return map[string]any{
		"resourceType":    "MedicationRequest",
		"identifier":      []any{map[string]any{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:" + record}},
		"status":          "active",
		"intent":          "order",
		"reportedBoolean": true,
		"medicationCodeableConcept": map[string]any{"coding": []any{
			map[string]any{"system": "urn:oid:1.2.246.537.6.55", "code": vnr},
		}},
		"subject":           map[string]any{"reference": subjectRef},
		"authoredOn":        "2026-11-20",
		"requester":         map[string]any{"type": "Practitioner", "identifier": map[string]any{"system": "urn:oid:1.2.246.537.26", "value": "10012345"}, "display": "Anna Korhonen"},
		"recorder":          map[string]any{"type": "Practitioner", "identifier": map[string]any{"system": "urn:oid:1.2.246.537.26", "value": "20012345"}, "display": "Pia Proviisori"},
		"dosageInstruction": []any{map[string]any{"text": "1 tablet twice a day"}},
		"dispenseRequest": map[string]any{
			"numberOfRepeatsAllowed": 0,
			"quantity":               map[string]any{"value": qty, "unit": "tablet"},
		},
		"extension": []any{
			map[string]any{"url": "https://tiski-rx.github.io/fhir/StructureDefinition/prescription-form",
				"valueCoding": map[string]any{"system": "https://tiski-rx.github.io/fhir/CodeSystem/prescription-form", "code": "paper"}},
			map[string]any{"url": "https://tiski-rx.github.io/fhir/StructureDefinition/exception-reason", "valueString": "the health centre's system was down"},
		},
	}
}

func newUUID() string { return uuid.NewString() }

// reasonOf returns the first issue's code, reason code, Finnish text and
// English diagnostics of an OperationOutcome.
func reasonOf(t testing.TB, a answer) (code, reason, fi, en string) {
	t.Helper()
	var oo struct {
		ResourceType string
		Issue        []struct {
			Code    string
			Details struct {
				Coding []struct{ System, Code string }
				Text   string
			}
			Diagnostics string
		}
	}
	if err := json.Unmarshal(a.body, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("answer %d is not an OperationOutcome with an issue: %s", a.status, a.body)
	}
	is := oo.Issue[0]
	if len(is.Details.Coding) > 0 {
		if is.Details.Coding[0].System != csOutcomeReason {
			t.Errorf("reason system %q, want %q", is.Details.Coding[0].System, csOutcomeReason)
		}
		reason = is.Details.Coding[0].Code
	}
	return is.Code, reason, is.Details.Text, is.Diagnostics
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
