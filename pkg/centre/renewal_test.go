package centre

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

func sampleRenewal(prescription string) rx.Renewal {
	return rx.Renewal{
		ID: journal.NewID(), PrescriptionID: prescription, Patient: testHETU, Message: "Lääke loppuu ensi viikolla.",
		Time: time.Date(2026, 12, 7, 10, 15, 0, 0, time.FixedZone("EET", 2*3600)), Pharmacist: testPharmacist, Pharmacy: testPharmacy,
	}
}

// The Task tiski sends validates against the official R4 schema and
// carries what issue 23 names.
func TestRenewalTaskValidates(t *testing.T) {
	t.Parallel()
	v := fhirschema.ForTest(t)
	c := newUnitClient(t)
	r := sampleRenewal("EP26000101")
	task, urn, err := c.renewalTask(r)
	if err != nil {
		t.Fatal(err)
	}
	b := mustJSON(task)
	v.Check(t, "renewal Task", b)
	for _, want := range []string{`"resourceType":"Task"`, `"status":"requested"`, `"intent":"order"`,
		`"system":"http://snomed.info/sct","code":"103742009","display":"Renewal of prescription"`,
		`"focus":{"reference":"MedicationRequest/EP26000101"}`, `"system":"urn:oid:1.2.246.21","value":"140348-901W"`,
		`"value":"urn:oid:1.2.246.10.12345678.10.0"`, `"authoredOn":"2026-12-07T10:15:00+02:00"`,
		`"value":"` + urn + `"`, "Lääke loppuu"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Task lacks %s:\n%s", want, b)
		}
	}
	bad := r
	bad.PrescriptionID, bad.ID = "EP/1", "nope"
	if _, _, err := c.renewalTask(bad); err == nil || !strings.Contains(err.Error(), "prescription") || !strings.Contains(err.Error(), "UUID") {
		t.Errorf("bad renewal: %v", err)
	}
}

// Against the simulator: a renewal request is one Task however often it is
// sent; it shows on the prescription in the same answer as the
// prescription; a second request while one is open is answered as already
// requested; a cancelled prescription is refused. Every Task the
// simulator serves validates.
func TestRenewalAgainstSimulator(t *testing.T) {
	t.Parallel()
	v := fhirschema.ForTest(t)
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL()})
	// Each call is bounded by the client's timeout; the test as a whole
	// by go test's (under -race on a busy machine it takes a minute).
	ctx := t.Context()

	r := sampleRenewal("EP26000101")
	first, err := c.RecordRenewal(ctx, r)
	if err != nil {
		t.Fatalf("first request: %v", err)
	}
	again, err := c.RecordRenewal(ctx, r)
	if err != nil {
		t.Fatalf("the same request again: %v", err)
	}
	if !first.Created || again.Created || again.ID != first.ID || first.ID == "" {
		t.Errorf("first %+v, again %+v: want one Task, created once", first, again)
	}
	urn, _ := recordURN(r.ID)
	if n, err := srv.CountByIdentifier("Task", rx.SystemRecordUUID, urn); err != nil || n != 1 {
		t.Errorf("Tasks with the record's identifier: %d, %v; want 1", n, err)
	}
	if rc, ok, err := c.RenewalLanded(ctx, r.ID); err != nil || !ok || rc.ID != first.ID {
		t.Errorf("landed: %+v %v %v", rc, ok, err)
	}

	list, err := c.Prescriptions(ctx, testHETU)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		switch {
		case p.ID == "EP26000101" && (p.Renewal == nil || !p.Renewal.Requested.Equal(r.Time) || p.Renewal.Status != "requested" || p.Renewal.TaskID != first.ID):
			t.Errorf("EP26000101's renewal in the listing: %+v", p.Renewal)
		case p.ID != "EP26000101" && p.Renewal != nil:
			t.Errorf("%s shows a renewal it never had: %+v", p.ID, p.Renewal)
		}
	}
	one, err := c.Prescription(ctx, "EP26000101", testHETU)
	if err != nil || one.Renewal == nil || !one.Renewal.Requested.Equal(r.Time) {
		t.Errorf("EP26000101 read by id: renewal %+v, %v", one.Renewal, err)
	}

	second := sampleRenewal("EP26000101")
	_, err = c.RecordRenewal(ctx, second)
	if ReasonOf(err) != ReasonAlreadyRequested || ClassOf(err) != Permanent {
		t.Errorf("second request while one is open: %v (reason %q); want %s", err, ReasonOf(err), ReasonAlreadyRequested)
	}
	urn2, _ := recordURN(second.ID)
	if n, _ := srv.CountByIdentifier("Task", rx.SystemRecordUUID, urn2); n != 0 {
		t.Errorf("the already-requested answer stored %d Tasks", n)
	}

	if err := srv.CancelPrescription("EP26000102"); err != nil {
		t.Fatal(err)
	}
	_, err = c.RecordRenewal(ctx, sampleRenewal("EP26000102"))
	if ReasonOf(err) != "cancelled" {
		t.Errorf("renewal of a cancelled prescription: %v (reason %q); want cancelled", err, ReasonOf(err))
	}

	// What the simulator serves: the Task read by id, and the searchset
	// that carries it with the prescription.
	get := func(method, path, body string) []byte {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL()+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	v.Check(t, "Task read by id", get(http.MethodGet, "/Task/"+first.ID, ""))
	bundle := get(http.MethodPost, "/MedicationRequest/_search", "_id=EP26000101&_revinclude=Task:focus")
	v.Check(t, "searchset with the Task", bundle)
	var bd struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
			Search   struct{ Mode string }
		} `json:"entry"`
	}
	_ = json.Unmarshal(bundle, &bd)
	tasks := 0
	for _, e := range bd.Entry {
		if resourceTypeOf(e.Resource) == "Task" {
			tasks++
			v.Check(t, "included Task", e.Resource)
			if e.Search.Mode != "include" {
				t.Errorf("the Task's search mode is %q, want include", e.Search.Mode)
			}
		}
	}
	if tasks != 1 {
		t.Errorf("the searchset carries %d Tasks, want 1", tasks)
	}
}
