package centresim

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/fhirschema"
)

// readmeTask is the Task example of README.md, as documented.
func readmeTask(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```json\n(\\{\"resourceType\": \"Task\".*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no Task example")
	}
	var task map[string]any
	if err := json.Unmarshal(m[1], &task); err != nil {
		t.Fatalf("README's Task example is not JSON: %v", err)
	}
	return task
}

// TestTask (issue 23): the README's Task validates against the official R4
// schema and is accepted; a conditional create stores it once; the rules
// refuse a cancelled prescription and answer a second open request as
// already requested; a Task outside the contract is a 400 naming every
// problem; every Task served, read by id or included with its
// prescription, validates too.
func TestTask(t *testing.T) {
	v := fhirschema.ForTest(t)
	s := startSim(t, Config{})
	task := readmeTask(t)
	doc, _ := json.Marshal(task)
	v.Check(t, "README's Task", doc)

	post := func(task map[string]any, record string) answer {
		t.Helper()
		task["identifier"] = []any{map[string]any{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:" + record}}
		return call(t, nil, http.MethodPost, s.URL()+"/Task", task, "If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+record)
	}
	// The README's example, for Matti's prescription of these fixtures.
	task["focus"] = map[string]any{"reference": "MedicationRequest/EP8"}
	task["for"] = map[string]any{"type": "Patient", "identifier": map[string]any{"system": "urn:oid:1.2.246.21", "value": hetuMatti}}
	record := newUUID()
	first := post(task, record)
	if first.status != http.StatusCreated || !strings.HasPrefix(first.header.Get("Location"), "/Task/task-") {
		t.Fatalf("first create: %d %s %s", first.status, first.header.Get("Location"), first.body)
	}
	v.Check(t, "Task created", first.body)
	again := post(task, record)
	if again.status != http.StatusOK || string(again.body) != string(first.body) {
		t.Errorf("the same create again: %d\n%s\nwant 200 with\n%s", again.status, again.body, first.body)
	}
	if n, _ := s.CountByIdentifier("Task", "urn:ietf:rfc:3986", "urn:uuid:"+record); n != 1 {
		t.Errorf("%d Tasks for the record, want 1", n)
	}
	id := first.json(t)["id"].(string)
	read := call(t, nil, http.MethodGet, s.URL()+"/Task/"+id, nil)
	if read.status != http.StatusOK || read.header.Get("ETag") != `W/"1"` {
		t.Fatalf("read: %d %s", read.status, read.body)
	}
	v.Check(t, "Task read by id", read.body)

	second := post(task, newUUID())
	if code, reason, fi, en := reasonOf(t, second); second.status != http.StatusUnprocessableEntity || code != "business-rule" ||
		reason != "already-requested" || !strings.Contains(fi, id) || !strings.Contains(en, "EP8") {
		t.Errorf("second request while one is open: %d %s %s %q %q", second.status, code, reason, fi, en)
	}

	task["focus"] = map[string]any{"reference": "MedicationRequest/EP2"}
	task["for"] = map[string]any{"reference": "Patient/pat-1"}
	cancelled := post(task, newUUID())
	if _, reason, _, _ := reasonOf(t, cancelled); cancelled.status != http.StatusUnprocessableEntity || reason != "cancelled" {
		t.Errorf("renewal of a cancelled prescription: %d %s", cancelled.status, cancelled.body)
	}
	task["focus"] = map[string]any{"reference": "MedicationRequest/EP8"}
	mismatch := post(task, newUUID())
	if _, reason, _, _ := reasonOf(t, mismatch); mismatch.status != http.StatusUnprocessableEntity || reason != "patient-mismatch" {
		t.Errorf("renewal of another patient's prescription: %d %s", mismatch.status, mismatch.body)
	}

	bad := call(t, nil, http.MethodPost, s.URL()+"/Task", map[string]any{
		"resourceType": "Task", "identifier": []any{map[string]any{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:" + newUUID()}},
		"status": "draft", "intent": "plan", "focus": map[string]any{"reference": "Patient/pat-1"},
	})
	if bad.status != http.StatusBadRequest {
		t.Fatalf("a Task outside the contract: %d %s", bad.status, bad.body)
	}
	for _, want := range []string{"status", "intent", "code", "focus.reference", "for", "authoredOn", "requester"} {
		if !strings.Contains(string(bad.body), want) {
			t.Errorf("the 400 does not name %s:\n%s", want, bad.body)
		}
	}

	bundle := call(t, nil, http.MethodPost, s.URL()+"/MedicationRequest/_search",
		"_id=EP8&_include=MedicationRequest:medication&_revinclude=Task:focus", "Content-Type", "application/x-www-form-urlencoded")
	if bundle.status != http.StatusOK {
		t.Fatalf("search: %d %s", bundle.status, bundle.body)
	}
	v.Check(t, "searchset with its Task", bundle.body)
	var bd bundleOfEntries
	json.Unmarshal(bundle.body, &bd)
	var tasks []string
	for _, e := range bd.Entry {
		if e.Resource.ResourceType == "Task" && e.Search.Mode == "include" {
			tasks = append(tasks, e.Resource.ID)
		}
	}
	if len(tasks) != 1 || tasks[0] != id {
		t.Errorf("included Tasks %v, want [%s]", tasks, id)
	}
	other := call(t, nil, http.MethodPost, s.URL()+"/MedicationRequest/_search", "_id=EP1&_revinclude=Task:focus",
		"Content-Type", "application/x-www-form-urlencoded")
	if strings.Contains(string(other.body), `"Task"`) {
		t.Errorf("EP1 has no renewal, yet its search includes a Task:\n%s", other.body)
	}
	if a := call(t, nil, http.MethodPost, s.URL()+"/MedicationRequest/_search", "_id=EP1&_revinclude=Task:owner",
		"Content-Type", "application/x-www-form-urlencoded"); a.status != http.StatusBadRequest {
		t.Errorf("_revinclude=Task:owner: %d, want 400", a.status)
	}
}

type bundleOfEntries struct {
	Entry []struct {
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		} `json:"resource"`
		Search struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}
