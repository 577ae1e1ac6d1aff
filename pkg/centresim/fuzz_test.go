package centresim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tiski-rx/tiski"
)

// FuzzRequestDecoder throws arbitrary bodies at every write route and
// arbitrary queries at the searches: whatever comes in, the answer is never
// a 5xx (a client's mistake is a 4xx) and nothing panics.
func FuzzRequestDecoder(f *testing.F) {
	s := startSim(f, Config{})
	good, _ := json.Marshal(dispensing(newUUID(), hetuAino, "EP1", "990011", 1, "Apteekki Yksi"))
	bundle, _ := json.Marshal(transactionBundle(newUUID(), newUUID(), hetuMatti, 30, 10))
	mr, _ := json.Marshal(paperPrescription(newUUID(), "Patient/pat-1", "990011", 30))
	for i, seed := range [][]byte{good, bundle, mr, []byte(`{}`), []byte(`{"resourceType":"MedicationDispense","quantity":{"value":1e400}}`),
		[]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"MedicationDispense"},"resource":null}]}`),
		[]byte(`{"resourceType":"MedicationDispense","identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:00000000-0000-0000-0000-000000000000"}],"subject":{"reference":"Patient?identifier=%zz"}}`)} {
		f.Add(uint8(i), seed, "identifier=x|y")
	}
	f.Add(uint8(3), []byte(nil), "_count=-1&patient.identifier=|")
	routes := []struct{ method, path string }{
		{"POST", "/MedicationDispense"}, {"POST", "/"}, {"POST", "/MedicationRequest"},
		{"GET", "/Patient"}, {"GET", "/MedicationRequest"}, {"GET", "/MedicationDispense"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte, query string) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest(r.method, "/", bytes.NewReader(body))
		req.URL.Path = r.path
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("If-None-Exist", query)
		rec := httptest.NewRecorder()
		s.serveFHIR(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s with %q: %d %s", r.method, r.path, query, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !bytes.Contains(rec.Body.Bytes(), []byte(`"OperationOutcome"`)) {
			t.Fatalf("%d without an OperationOutcome: %s", rec.Code, rec.Body)
		}
	})
}

// BenchmarkConditionalCreate measures the simulator's own conditional-create
// throughput with a plain concurrent HTTP loop: the floor that the
// reconciliation benchmark (DESIGN §10) compares itself with.
func BenchmarkConditionalCreate(b *testing.B) {
	s := startSim(b, Config{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := newUUID()
			d := dispensing(rec, hetuAino, "", "990011", 1, "Apteekki Yksi")
			d["type"] = map[string]any{"coding": []any{map[string]any{"system": csActCode, "code": "EM"}}}
			d["extension"] = []any{map[string]any{"url": extEssentialBasis, "valueCode": "previous-label"}}
			a, err := tryCall(client, "POST", s.URL()+"/MedicationDispense", d, "If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+rec)
			if err != nil || a.status != 201 {
				b.Errorf("create: %d %v %s", a.status, err, a.body)
				return
			}
		}
	})
}

// BenchmarkStart measures a start with the bundled fixtures on a fresh
// folder (seeding) — it should stay well under a second.
func BenchmarkStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		startSim(b, Config{Fixtures: tiski.Fixtures(), DataDir: b.TempDir()})
	}
}
