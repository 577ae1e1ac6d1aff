package centre

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// identityCodeInLine finds a personal identity code in a request line: the
// HETU shape (DDMMYY, century sign, 3 digits, check character), raw or with
// the century sign percent-encoded, in any case.
var identityCodeInLine = regexp.MustCompile(`(?i)\d{6}(?:[-+A-FU-Y]|%2B|%2D)\d{3}[0-9A-Y]`)

// accessLog collects a simulator's access log.
type accessLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *accessLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *accessLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSpace(l.b.String()), "\n")
}

func startSimWithAccessLog(t *testing.T) (*centresim.Server, *accessLog) {
	t.Helper()
	log := &accessLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := centresim.Start(ctx, centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: t.TempDir(), Seed: 1, AccessLog: log})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, log
}

// TestNoIdentityCodeInRequestLines makes every kind of call the client has,
// paging included, and finds no identity code in any request line the
// simulator's access log recorded (issue 18).
func TestNoIdentityCodeInRequestLines(t *testing.T) {
	t.Parallel()
	srv, log := startSimWithAccessLog(t)
	c := newClient(t, Config{BaseURL: srv.URL(), PageSize: 2})
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := c.FindPatient(ctx, testHETU)
	must("find patient", err)
	list, err := c.Prescriptions(ctx, testHETU)
	must("list prescriptions", err)
	if len(list) < 5 {
		t.Fatalf("%d prescriptions: too few to page through by 2", len(list))
	}
	_, err = c.FindPatient(ctx, unknownHETU)
	if rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Fatalf("unknown patient: %v", err)
	}
	_, err = c.Prescription(ctx, "EP26000101", patientOf(t, "EP26000101"))
	must("read prescription", err)
	d := dispensingOf(t, "EP26000101", 100)
	_, err = c.RecordDispensing(ctx, d)
	must("record dispensing", err)
	_, _, err = c.DispensingLanded(ctx, d.ID)
	must("check dispensing", err)
	p := recordedPrescription(t, rx.FormPaper, "190492-911L", "kavepenin-1milj-tabl")
	pd := dispensingWith(p)
	_, err = c.RecordPrescription(ctx, p, []rx.Dispensing{pd})
	must("record prescription", err)
	_, _, err = c.PrescriptionLanded(ctx, p.RecordID)
	must("check prescription", err)
	_, err = c.VoidDispensing(ctx, pd.ID, "entered twice")
	must("void dispensing", err)
	_, err = c.VoidPrescription(ctx, p.RecordID, "entered twice")
	must("void prescription", err)

	lines := log.lines()
	pages := 0
	for _, l := range lines {
		// Only the request line, between the quotes: the request id
		// after it is a UUID, whose hex may take the shape by chance.
		if _, line, _ := strings.Cut(l, `"`); identityCodeInLine.MatchString(strings.SplitN(line, `"`, 2)[0]) {
			t.Errorf("an identity code in a request line: %s", l)
		}
		if strings.Contains(l, "_page=") {
			pages++
		}
	}
	if want := len(srv.Requests()); len(lines) != want || pages < 2 {
		t.Errorf("%d access log lines for %d requests, %d of them later pages:\n%s", len(lines), want, pages, strings.Join(lines, "\n"))
	}
}

// TestPrescriptionInOneRequest: reading a prescription is one request (it
// was three), with its medicine, its patient's identity code and its
// version, the one a read's ETag gives.
func TestPrescriptionInOneRequest(t *testing.T) {
	t.Parallel()
	srv := startSim(t, "")
	c := newClient(t, Config{BaseURL: srv.URL()})
	ctx := context.Background()
	for _, id := range []string{"EP26000701", "EP26000101"} {
		before := len(srv.Requests())
		p, err := c.Prescription(ctx, id, patientOf(t, id))
		if err != nil {
			t.Fatal(err)
		}
		reqs := srv.Requests()[before:]
		if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/MedicationRequest/_search" {
			t.Errorf("%s: %d requests, want one POST /MedicationRequest/_search: %+v", id, len(reqs), reqs)
		}
		comparePrescription(t, p, fixturePrescription(t, id))
		if etag := readETag(t, srv.URL()+"/MedicationRequest/"+id); p.Version == "" || `W/"`+p.Version+`"` != etag {
			t.Errorf("%s: version %q, the read's ETag is %s", id, p.Version, etag)
		}
	}
	// A dispensing raises the version, and the next read shows it.
	before, err := c.Prescription(ctx, "EP26000101", patientOf(t, "EP26000101"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecordDispensing(ctx, dispensingOf(t, "EP26000101", 100)); err != nil {
		t.Fatal(err)
	}
	after, err := c.Prescription(ctx, "EP26000101", patientOf(t, "EP26000101"))
	if err != nil {
		t.Fatal(err)
	}
	if after.Version == before.Version || after.Dispensed != before.Dispensed+100 {
		t.Errorf("version %s → %s, dispensed %d → %d: want a new version with 100 more", before.Version, after.Version, before.Dispensed, after.Dispensed)
	}
}

func readETag(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.Header.Get("ETag")
}

// TestNextLinkWithIdentityCode: a server whose next links repeat the search
// parameters, identity code included (as some FHIR servers make them), is
// asked for the next page by POST [type]/_search with those parameters in
// the body, never with the code in the URL; an opaque next link is
// followed with GET. The server here is a stand-in: the simulator never
// makes such links.
func TestNextLinkWithIdentityCode(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var lines []string
	var srv *httptest.Server
	patient := `{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:oid:1.2.246.21","value":"` + testHETU + `"}],"name":[{"family":"Korhonen","given":["Matti"]}]}`
	bundle := func(next string, entries ...string) string {
		var es []string
		for _, e := range entries {
			es = append(es, `{"resource":`+e+`,"search":{"mode":"match"}}`)
		}
		links := `[]`
		if next != "" {
			links = `[{"relation":"next","url":"` + next + `"}]`
		}
		return `{"resourceType":"Bundle","type":"searchset","link":` + links + `,"entry":[` + strings.Join(es, ",") + `]}`
	}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		lines = append(lines, r.Method+" "+r.RequestURI)
		mu.Unlock()
		q, _ := url.ParseQuery(r.URL.RawQuery)
		form, _ := url.ParseQuery(string(body))
		for k, v := range form {
			q[k] = v
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case r.URL.Path == "/Patient/_search" && q.Get("_offset") == "":
			// Page 1 links to page 2 with the parameters in the query.
			next := srv.URL + "/Patient?" + url.Values{"identifier": {q.Get("identifier")}, "_offset": {"1"}}.Encode()
			fmt.Fprint(w, bundle(next))
		case r.URL.Path == "/Patient/_search" && q.Get("_offset") == "1" && strings.HasSuffix(q.Get("identifier"), "|"+testHETU):
			// Page 2 links to page 3 by an opaque token.
			fmt.Fprint(w, bundle(srv.URL+"/?_getpages=abc&_offset=2"))
		case r.URL.Path == "/" && q.Get("_getpages") == "abc" && r.Method == http.MethodGet:
			fmt.Fprint(w, bundle("", patient))
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"unexpected %s %s"}]}`, r.Method, r.URL.Path)
		}
	}))
	defer srv.Close()
	c := newClient(t, Config{BaseURL: srv.URL})
	p, err := c.FindPatient(context.Background(), testHETU)
	if err != nil || p.HETU != testHETU {
		t.Fatalf("find patient over 3 pages: %+v %v\n%s", p, err, strings.Join(lines, "\n"))
	}
	want := []string{"POST /Patient/_search", "POST /Patient/_search", "GET /?_getpages=abc&_offset=2"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestHoldsIdentityCode covers the forms an identity code takes in a query.
func TestHoldsIdentityCode(t *testing.T) {
	for q, want := range map[string]bool{
		"identifier=urn:oid:1.2.246.21|140348-901W":          true,
		"identifier=urn%3Aoid%3A1.2.246.21%7C140348-901W":    true,
		"identifier=urn%3Aoid%3A1.2.246.21%7C140348-901w":    true,
		"identifier=010101A985F":                             true,
		"identifier=010101%2B985F":                           true,
		"identifier=%30%31%30%31%30%31%41%39%38%35%46":       true,
		"_page=0123456789abcdef&_count=4&_offset=4":          false,
		"identifier=urn%3Aietf%3Arfc%3A3986%7Curn%3Auuid%3A": false,
	} {
		if got := holdsIdentityCode(q); got != want {
			t.Errorf("holdsIdentityCode(%q) = %v, want %v", q, got, want)
		}
	}
}
