package centresim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// syncBuffer is an io.Writer safe for the handlers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// searchset is what these tests read of a searchset Bundle.
type searchset struct {
	Total int `json:"total"`
	Link  []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

func (b searchset) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// entries lists "mode fullUrl" of every entry, in order.
func (b searchset) entries() []string {
	var out []string
	for _, e := range b.Entry {
		out = append(out, e.Search.Mode+" "+e.FullURL)
	}
	return out
}

func readSearchset(t *testing.T, a answer) searchset {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var b searchset
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

const formType = "application/x-www-form-urlencoded"

// TestSearchByPost: POST [type]/_search with a form body answers the same
// searchset as GET [type]?…; parameters in the URL and the body are merged;
// GET [type]/_search works too; page links carry no search parameter, so no
// identity code; and the access log shows each request line as received.
func TestSearchByPost(t *testing.T) {
	v := fhirschema.ForTest(t)
	access := &syncBuffer{}
	s := startSim(t, Config{AccessLog: access})
	u := s.URL()
	aino := url.Values{"patient.identifier": {rx.SystemHETU + "|" + hetuAino}, "_include": {"MedicationRequest:medication"}}

	get := readSearchset(t, call(t, nil, "GET", u+"/MedicationRequest?"+aino.Encode(), nil))
	posted := call(t, nil, "POST", u+"/MedicationRequest/_search", aino.Encode(), "Content-Type", formType)
	v.Check(t, "POST _search", posted.body)
	post := readSearchset(t, posted)
	if post.Total != 9 || strings.Join(post.entries(), "\n") != strings.Join(get.entries(), "\n") {
		t.Errorf("POST _search found %d:\n%s\nGET found %d:\n%s", post.Total, strings.Join(post.entries(), "\n"), get.Total, strings.Join(get.entries(), "\n"))
	}
	getSearch := readSearchset(t, call(t, nil, "GET", u+"/MedicationRequest/_search?"+aino.Encode(), nil))
	if strings.Join(getSearch.entries(), "\n") != strings.Join(get.entries(), "\n") {
		t.Errorf("GET _search differs from GET:\n%s", strings.Join(getSearch.entries(), "\n"))
	}

	// Merged: status in the URL, the patient in the body.
	merged := readSearchset(t, call(t, nil, "POST", u+"/MedicationRequest/_search?status=active",
		"patient.identifier="+url.QueryEscape(rx.SystemHETU+"|"+hetuAino), "Content-Type", formType+"; charset=utf-8"))
	if merged.Total != 7 {
		t.Errorf("status in the URL and patient in the body: %d matches, want Aino's 7 active", merged.Total)
	}

	// Paging by POST: every page link names the search by a token; following
	// the next links with GET reaches every match, and none of them, nor
	// any request line, holds the identity code.
	paged := url.Values{"patient.identifier": {rx.SystemHETU + "|" + hetuAino}, "_count": {"4"}}
	page := readSearchset(t, call(t, nil, "POST", u+"/MedicationRequest/_search", paged.Encode(), "Content-Type", formType))
	var ids []string
	for pages := 1; ; pages++ {
		for _, e := range page.Entry {
			ids = append(ids, e.FullURL)
		}
		for _, l := range page.Link {
			if strings.Contains(l.URL, "identifier") || hetuInURL.MatchString(l.URL) {
				t.Errorf("page %d link %s %s repeats the search's parameters", pages, l.Relation, l.URL)
			}
		}
		next := page.link("next")
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("more than 5 pages of 4 for 9 prescriptions")
		}
		page = readSearchset(t, call(t, nil, "GET", next, nil))
	}
	if len(ids) != 9 {
		t.Errorf("paging reached %d prescriptions, want 9: %v", len(ids), ids)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("%s on two pages", id)
		}
		seen[id] = true
	}

	// One prescription with its medicine and patient, by _id.
	one := readSearchset(t, call(t, nil, "POST", u+"/MedicationRequest/_search",
		"_id=EP8&_include=MedicationRequest:medication&_include=MedicationRequest:patient", "Content-Type", formType))
	want := []string{"match " + u + "/MedicationRequest/EP8", "include " + u + "/Medication/med-990012", "include " + u + "/Patient/pat-2"}
	if strings.Join(one.entries(), "\n") != strings.Join(want, "\n") {
		t.Errorf("_id=EP8 with includes:\n%s\nwant\n%s", strings.Join(one.entries(), "\n"), strings.Join(want, "\n"))
	}
	subject := readSearchset(t, call(t, nil, "GET", u+"/MedicationRequest/_search?_id=EP8&_include=MedicationRequest:subject", nil))
	if got := subject.entries(); len(got) != 2 || got[1] != "include "+u+"/Patient/pat-2" {
		t.Errorf("_include=MedicationRequest:subject: %v", got)
	}

	// The access log has every request line as received, with its status:
	// the GET searches above carried Aino's code, the POSTs did not.
	lines := strings.Split(strings.TrimSpace(access.String()), "\n")
	if len(lines) != len(s.Requests()) {
		t.Errorf("%d access log lines for %d requests", len(lines), len(s.Requests()))
	}
	leaks := 0
	for _, l := range lines {
		if !regexp.MustCompile(`^\S+ "(GET|POST) /\S* HTTP/1\.1" \d{3} \S+$`).MatchString(l) {
			t.Errorf("access log line %q is not time, request line, status, request id", l)
		}
		// Only the request line: the request id after it is a UUID, whose
		// hex may take the shape by chance.
		if line := strings.SplitN(l, `"`, 3)[1]; hetuInURL.MatchString(line) {
			leaks++
			if !strings.HasPrefix(line, "GET ") {
				t.Errorf("a POST search put an identity code in the request line: %s", l)
			}
		}
	}
	if leaks != 2 {
		t.Errorf("%d access log lines hold an identity code, want the 2 GET searches that carried one:\n%s", leaks, access.String())
	}
}

// hetuInURL finds an identity code in a URL, raw or percent-encoded.
var hetuInURL = regexp.MustCompile(`(?i)\d{6}(?:[-+A-FU-Y]|%2B|%2D)\d{3}[0-9A-Y]`)
