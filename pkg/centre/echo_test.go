package centre

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// echoServer stands for another FHIR server's way of answering, on a
// loopback port; it keeps the requests' Prefer headers.
type echoServer struct {
	mu     sync.Mutex
	prefer []string
}

func startEchoServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) (*Client, *echoServer) {
	t.Helper()
	es := &echoServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		es.mu.Lock()
		es.prefer = append(es.prefer, r.Method+" "+r.Header.Get("Prefer"))
		es.mu.Unlock()
		w.Header().Set("Content-Type", fhirJSON)
		answer(w, r, body)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, Pharmacy: testPharmacy})
	if err != nil {
		t.Fatal(err)
	}
	return c, es
}

// The client relies on no server echoing its request back unchanged beyond
// what R4 promises (issue 18's audit, listed in pkg/centresim/README.md,
// "What the client takes from a server's answers"). Each case is
// an answer a conformant server may give, which an earlier client misread.
func TestServerEchoReliance(t *testing.T) {
	ctx := context.Background()
	d := sampleDispensing()
	urn := "urn:uuid:" + d.ID

	t.Run("a create answered with an OperationOutcome is read by its Location", func(t *testing.T) {
		c, es := startEchoServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Location", "MedicationDispense/md-7/_history/1")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"created"}]}`))
		})
		rc, err := c.RecordDispensing(ctx, d)
		if err != nil || rc.ID != "md-7" || rc.Version != "1" || !rc.Created {
			t.Fatalf("receipt %+v, %v; want md-7 version 1, created", rc, err)
		}
		if es.prefer[0] != "POST return=representation" {
			t.Errorf("the create asked for %q, want Prefer: return=representation", es.prefer[0])
		}
	})

	// transactionAnswer answers a transaction with the resources sent, in
	// the order given by order, each carrying the identifier made by ident.
	transactionAnswer := func(order []int, ident func(i int, sent string) string) func(w http.ResponseWriter, r *http.Request, body []byte) {
		return func(w http.ResponseWriter, r *http.Request, body []byte) {
			var b bundle
			if err := json.Unmarshal(body, &b); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			out := bundle{ResourceType: "Bundle", Type: "transaction-response"}
			for _, i := range order {
				var res map[string]any
				json.Unmarshal(b.Entry[i].Resource, &res)
				rt := res["resourceType"].(string)
				id := []string{"mr-1", "md-1"}[i]
				sent := res["identifier"].([]any)[0].(map[string]any)["value"].(string)
				res["id"] = id
				res["identifier"] = []map[string]string{{"system": rx.SystemRecordUUID, "value": ident(i, sent)}}
				out.Entry = append(out.Entry, bundleEntry{Resource: mustJSON(res),
					Response: &bundleResponse{Status: "201 Created", Location: rt + "/" + id + "/_history/1"}})
			}
			w.Write(mustJSON(out))
		}
	}
	p := samplePrescription(rx.FormPaper)
	pd := sampleDispensing()
	pd.ID, pd.PrescriptionID = "a7d4f0f2-5b1e-4c0a-8c3c-3d5f6e7a8b9c", ""
	kept := func(_ int, sent string) string { return sent }

	t.Run("a transaction answered in order, identifiers kept, is read", func(t *testing.T) {
		c, es := startEchoServer(t, transactionAnswer([]int{0, 1}, kept))
		tr, err := c.RecordPrescription(ctx, p, []rx.Dispensing{pd})
		if err != nil || tr.Prescription.ID != "mr-1" || len(tr.Dispensings) != 1 || tr.Dispensings[0].ID != "md-1" {
			t.Fatalf("receipt %+v, %v", tr, err)
		}
		if es.prefer[0] != "POST return=representation" {
			t.Errorf("the transaction asked for %q, want Prefer: return=representation", es.prefer[0])
		}
	})
	t.Run("a transaction answer whose identifiers were rewritten is refused", func(t *testing.T) {
		c, _ := startEchoServer(t, transactionAnswer([]int{0, 1}, func(i int, _ string) string {
			return []string{"MedicationRequest/mr-1", "MedicationDispense/md-1"}[i]
		}))
		_, err := c.RecordPrescription(ctx, p, []rx.Dispensing{pd})
		if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "rewrote the identifier") {
			t.Fatalf("got %v, want a bad answer naming the rewritten identifier", err)
		}
	})
	t.Run("two dispensings swapped in a transaction answer are refused", func(t *testing.T) {
		// Types out of order are caught by the Location; entries of one
		// type swapped, by their identifiers.
		pd2 := pd
		pd2.ID, pd2.Quantity = "c1d2e3f4-0000-4000-8000-000000000002", 1
		c, _ := startEchoServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			var b bundle
			json.Unmarshal(body, &b)
			out := bundle{ResourceType: "Bundle", Type: "transaction-response"}
			for _, i := range []int{0, 2, 1} {
				var res map[string]any
				json.Unmarshal(b.Entry[i].Resource, &res)
				id := []string{"mr-1", "md-1", "md-2"}[i]
				res["id"] = id
				out.Entry = append(out.Entry, bundleEntry{Resource: mustJSON(res),
					Response: &bundleResponse{Status: "201 Created", Location: res["resourceType"].(string) + "/" + id}})
			}
			w.Write(mustJSON(out))
		})
		_, err := c.RecordPrescription(ctx, p, []rx.Dispensing{pd, pd2})
		if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "reordered") {
			t.Fatalf("got %v, want a bad answer naming the order", err)
		}
	})

	t.Run("a search that ignores the identifier finds the one record", func(t *testing.T) {
		other := func(id, value string) string {
			return `{"resourceType":"MedicationDispense","id":"` + id + `","meta":{"versionId":"3"},"status":"completed","identifier":[{"system":"urn:ietf:rfc:3986","value":"` + value + `"}]}`
		}
		c, _ := startEchoServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			// Every MedicationDispense, as a server does that does not
			// know the parameter (R4 search.html#errors, lenient).
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[` +
				`{"resource":` + other("md-1", "urn:uuid:11111111-1111-4111-8111-111111111111") + `,"search":{"mode":"match"}},` +
				`{"resource":` + other("md-2", urn) + `,"search":{"mode":"match"}},` +
				`{"resource":` + other("md-3", "MedicationDispense/md-3") + `,"search":{"mode":"match"}}]}`))
		})
		rc, ok, err := c.DispensingLanded(ctx, d.ID)
		if err != nil || !ok || rc.ID != "md-2" || rc.Version != "3" {
			t.Fatalf("landed %+v %v %v, want md-2 version 3", rc, ok, err)
		}
		if _, ok, err := c.DispensingLanded(ctx, "22222222-2222-4222-8222-222222222222"); ok || err != nil {
			t.Fatalf("a record not among the answers: landed %v, %v; want not landed", ok, err)
		}
	})
}
