package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// medplumDir holds the third-party FHIR server of TestThirdPartyServer: a
// pinned npm package (README there).
const medplumDir = "../../testdata/thirdparty/medplum"

// upstream is a FHIR server the scenario of TestThirdPartyServer runs
// against.
type upstream struct {
	url string
	// seed makes the server ready for the fixture patients' records.
	seed func(t *testing.T, fx *rx.Fixtures)
	// countsAll says whether a search by resource type alone lists every
	// resource of that type the test made, so that the totals can be
	// checked too (the simulator holds fixture e-prescriptions besides).
	countsAll bool
}

// TestThirdPartyServer runs `tiski sync run` against a FHIR R4 server that no
// one on tiski wrote (Medplum's FhirRouter with its in-memory repository,
// from a pinned npm package) and against the simulator (issue 18): a first
// sync; a second journal holding the same records (`tiski journal backup`
// taken before the first sync) syncing afterwards; a sync killed after the
// server committed its writes (a proxy cuts every write's answer), then a
// re-run. After each, every record is upstream exactly once, found by its
// urn:ietf:rfc:3986 identifier with the value urn:uuid:<record id> intact.
//
// Without node or the npm packages (npm ci in testdata/thirdparty/medplum)
// the Medplum case skips, unless TISKI_THIRDPARTY=require (CI) makes that a
// failure.
func TestThirdPartyServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and runs tiski several times")
	}
	servers := []struct {
		name  string
		start func(t *testing.T) upstream
	}{
		{"centresim", startSimulator},
		{"medplum", startMedplum},
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			thirdPartyScenario(t, s.start(t))
		})
	}
}

func startSimulator(t *testing.T) upstream {
	sim, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir(), Seed: 18})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return upstream{url: sim.URL(), seed: func(*testing.T, *rx.Fixtures) {}}
}

// startMedplum starts testdata/thirdparty/medplum/server.mjs on a free
// loopback port.
func startMedplum(t *testing.T) upstream {
	require := os.Getenv("TISKI_THIRDPARTY") == "require"
	skip := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if require {
			t.Fatalf("TISKI_THIRDPARTY=require, but %s", msg)
		}
		t.Skipf("%s; set TISKI_THIRDPARTY=require to make this a failure", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed: the third-party FHIR server (Medplum) cannot run")
	}
	dir, err := filepath.Abs(medplumDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@medplum", "fhir-router", "package.json")); err != nil {
		skip("the Medplum npm packages are not installed: run `npm ci` in %s", medplumDir)
	}
	args := []string{"server.mjs", "0"}
	if v, err := exec.Command(node, "--version").Output(); err == nil {
		// Medplum's core needs a global WebSocket, built into node from
		// version 22; node 20 has it behind this flag.
		major, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(strings.TrimSpace(string(v)), ".", 2)[0], "v"))
		if major < 22 {
			args = append([]string{"--experimental-websocket"}, args...)
		}
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe() // closing it stops the server, should the test die
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				ready <- u
			}
		}
		close(ready)
	}()
	var base string
	select {
	case u, ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("the Medplum server exited before listening:\n%s", stderr.String())
		}
		base = u
	case <-time.After(60 * time.Second):
		t.Fatalf("the Medplum server did not listen within 60 s:\n%s", stderr.String())
	}
	return upstream{url: base, seed: seedMedplum(base), countsAll: true}
}

// seedMedplum stores what the Prescription Centre already holds and tiski's
// records refer to: the fixture patients (a prescription's subject is a
// conditional reference by identity code) and the fixture medicines (a
// prescription refers to Medication/med-<VNR>).
func seedMedplum(base string) func(t *testing.T, fx *rx.Fixtures) {
	return func(t *testing.T, fx *rx.Fixtures) {
		t.Helper()
		patientIDs := map[string]string{}
		for _, p := range fx.Patients {
			body := mustMarshal(t, map[string]any{
				"resourceType": "Patient",
				"identifier":   []map[string]string{{"system": rx.SystemHETU, "value": p.HETU}},
				"name":         []map[string]any{{"family": p.Family, "given": []string{p.Given}}},
			})
			var created struct {
				ID string `json:"id"`
			}
			json.Unmarshal(fhirCall(t, http.MethodPost, base+"/Patient", body, http.StatusCreated), &created)
			patientIDs[p.HETU] = created.ID
		}
		// The e-prescriptions the scenario's renewal requests are for
		// (issue 23), as the Prescription Centre holds them.
		for _, p := range fx.Prescriptions {
			if !slices.Contains(renewedPrescriptions, p.ID) {
				continue
			}
			pk, _ := p.Medicine.SmallestPackage()
			body := mustMarshal(t, map[string]any{
				"resourceType":        "MedicationRequest",
				"id":                  p.ID,
				"status":              "active",
				"intent":              "order",
				"medicationReference": map[string]string{"reference": "Medication/med-" + pk.VNR},
				"subject":             map[string]string{"reference": "Patient/" + patientIDs[p.Patient]},
				"authoredOn":          p.Issued.Format(time.DateOnly),
				"dispenseRequest":     map[string]any{"quantity": map[string]any{"value": p.Quantity, "unit": p.Medicine.Unit}},
			})
			fhirCall(t, http.MethodPut, base+"/MedicationRequest/"+p.ID, body, http.StatusCreated, http.StatusOK)
		}
		for _, m := range fx.Medicines {
			for _, pk := range m.Packages {
				body := mustMarshal(t, map[string]any{
					"resourceType": "Medication",
					"id":           "med-" + pk.VNR,
					"code":         map[string]any{"coding": []map[string]string{{"system": rx.SystemVNR, "code": pk.VNR}}, "text": m.Name},
				})
				fhirCall(t, http.MethodPut, base+"/Medication/med-"+pk.VNR, body, http.StatusCreated, http.StatusOK)
			}
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fhirCall makes one request and returns the body; a status not in want
// fails the test.
func fhirCall(t *testing.T, method, u string, body []byte, want ...int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return b
		}
	}
	t.Fatalf("%s %s: status %d, want %v:\n%s", method, u, resp.StatusCode, want, b)
	return nil
}

// searchset reads the matches of a search answer.
func searchset(t *testing.T, b []byte, resourceType string) []json.RawMessage {
	t.Helper()
	var bd struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
			Search   *struct {
				Mode string `json:"mode"`
			} `json:"search"`
		} `json:"entry"`
		Link []struct {
			Relation string `json:"relation"`
		} `json:"link"`
	}
	if err := json.Unmarshal(b, &bd); err != nil || bd.ResourceType != "Bundle" {
		t.Fatalf("not a searchset Bundle (%v):\n%s", err, b)
	}
	for _, l := range bd.Link {
		if l.Relation == "next" {
			t.Fatalf("the search has more pages than the test reads")
		}
	}
	var out []json.RawMessage
	for _, e := range bd.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		json.Unmarshal(e.Resource, &head)
		if head.ResourceType == resourceType && (e.Search == nil || e.Search.Mode != "include") {
			out = append(out, e.Resource)
		}
	}
	return out
}

// renewedPrescriptions are the e-prescriptions of the fixtures that the
// scenario's two rounds request renewals of, one each (issue 23): a second
// request of one while the first is open is answered as already
// requested, and makes no Task.
var renewedPrescriptions = []string{"EP26000101", "EP26000102"}

// scenarioRecord is a journal record the scenario expects upstream.
type scenarioRecord struct {
	id           string
	resourceType string
}

// checkUpstream asserts that every record in recs is upstream exactly once,
// found by its identifier, with that identifier intact; and, where the
// server lists all of a type, that there is nothing else.
func checkUpstream(t *testing.T, up upstream, stage string, recs []scenarioRecord) {
	t.Helper()
	total := map[string]int{}
	for _, r := range recs {
		total[r.resourceType]++
		value := "urn:uuid:" + r.id
		q := url.Values{"identifier": {rx.SystemRecordUUID + "|" + value}}
		matches := searchset(t, fhirCall(t, http.MethodGet, up.url+"/"+r.resourceType+"?"+q.Encode(), nil, http.StatusOK), r.resourceType)
		if len(matches) != 1 {
			t.Errorf("%s: %s %s: %d found by its identifier, want exactly 1", stage, r.resourceType, r.id, len(matches))
			continue
		}
		var res struct {
			Identifier []struct {
				System string `json:"system"`
				Value  string `json:"value"`
			} `json:"identifier"`
		}
		if err := json.Unmarshal(matches[0], &res); err != nil {
			t.Fatal(err)
		}
		intact := false
		for _, id := range res.Identifier {
			intact = intact || (id.System == rx.SystemRecordUUID && id.Value == value)
		}
		if !intact {
			t.Errorf("%s: %s %s: identifier %+v, want value exactly %s", stage, r.resourceType, r.id, res.Identifier, value)
		}
	}
	if !up.countsAll {
		return
	}
	for _, rt := range []string{"MedicationRequest", "MedicationDispense", "Task"} {
		all := searchset(t, fhirCall(t, http.MethodGet, up.url+"/"+rt+"?_count=1000", nil, http.StatusOK), rt)
		// The e-prescriptions seeded for the renewals are the server's
		// own, not records.
		all = slices.DeleteFunc(all, func(m json.RawMessage) bool {
			var res struct {
				ID string `json:"id"`
			}
			json.Unmarshal(m, &res)
			return rt == "MedicationRequest" && slices.Contains(renewedPrescriptions, res.ID)
		})
		if len(all) != total[rt] {
			var ids []string
			for _, m := range all {
				var res struct {
					Identifier []struct {
						Value string `json:"value"`
					} `json:"identifier"`
				}
				json.Unmarshal(m, &res)
				if len(res.Identifier) > 0 {
					ids = append(ids, res.Identifier[0].Value)
				}
			}
			t.Errorf("%s: %d %s resources upstream, want %d (one per record); their identifiers: %v", stage, len(all), rt, total[rt], ids)
		}
	}
}

// thirdPartyScenario is the scenario of TestThirdPartyServer against up.
func thirdPartyScenario(t *testing.T, up upstream) {
	ctx := context.Background()
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	up.seed(t, fx)
	med := func(id string) rx.Medicine {
		m, ok := fx.Medicine(id)
		if !ok {
			t.Fatalf("no medicine %s", id)
		}
		return m
	}
	who := rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	physician := rx.Prescriber{Name: "Anna Korhonen", Registration: "10090004180", Profession: rx.Physician, Phone: "+358 9 310 5015"}
	pharmacy := rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}

	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	var recs []scenarioRecord
	// add records what the counter records in a fault, for patients from
	// the fixtures (first, first+1, ...): paper prescriptions with their
	// dispensing, a telephone prescription dispensed later, and essential
	// dispensings on a previous label.
	add := func(first int) {
		t.Helper()
		j, err := journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{Terminal: "kassa-1"})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		svc := &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: pharmacy}
		patient := func(i int) string { return fx.Patients[(first+i)%len(fx.Patients)].HETU }
		for i, id := range []string{"burana-400mg-tabl", "kavepenin-1milj-tabl"} {
			m := med(id)
			pk, _ := m.SmallestPackage()
			rc, err := svc.Paper(ctx, who, rx.Prescription{Patient: patient(i), Prescriber: physician, Medicine: m,
				Issued: time.Now().AddDate(0, 0, -1), Dosage: "1 tabletti 3 kertaa päivässä", Quantity: pk.Size, Repeats: 1,
				Reason: "the health centre's system was down"},
				&rx.Dispensing{Patient: patient(i), Medicine: m, VNR: pk.VNR, Quantity: pk.Size})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, scenarioRecord{rc.Record.ID, "MedicationRequest"}, scenarioRecord{rc.Dispensing.ID, "MedicationDispense"})
		}
		m := med("burana-400mg-tabl")
		pk, _ := m.SmallestPackage()
		// Issued when the prescriber called: a call an hour ago is
		// yesterday's just after midnight, and a call before the issue
		// date is refused.
		called := time.Now().Add(-time.Hour)
		tel, err := svc.Telephone(ctx, who, rx.Prescription{Patient: patient(2), Prescriber: physician, Medicine: m,
			Issued: called, Dosage: "1 tabletti tarvittaessa", Quantity: 2 * pk.Size, Reason: "the prescriber was on a home visit",
			Telephone: &rx.TelephoneCall{Phone: "+358 9 310 5015", Time: called, Verification: "called back the health centre's number"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, scenarioRecord{tel.Record.ID, "MedicationRequest"})
		rc, err := svc.Dispense(ctx, who, rx.Dispensing{Patient: patient(2), Medicine: m, VNR: pk.VNR, Quantity: pk.Size,
			PrescriptionRecord: tel.Record.ID}, record.DispenseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, scenarioRecord{rc.Record.ID, "MedicationDispense"})
		panadol := med("panadol-500mg-tabl")
		for i := range 2 {
			rc, err := svc.Dispense(ctx, who, rx.Dispensing{Patient: patient(3 + i), Medicine: panadol, VNR: "990011", Quantity: 30,
				Essential: true, Basis: rx.BasisPreviousLabel}, record.DispenseOptions{UnitsPerDay: 3, FaultReference: "Kela's notice"})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, scenarioRecord{rc.Record.ID, "MedicationDispense"})
		}
		// A renewal request, made in the fault like the rest (issue 23).
		renewal, err := svc.Renew(ctx, who, rx.Renewal{Patient: "140348-901W", PrescriptionID: renewedPrescriptions[min(first, 1)],
			Message: "Lääke loppuu ensi viikolla."})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, scenarioRecord{renewal.Record.ID, "Task"})
	}
	env := []string{"TISKI_SYNC_INITIAL_INTERVAL=10ms", "TISKI_SYNC_MAX_INTERVAL=200ms",
		"TISKI_SYNC_LEASE=1s", "TISKI_CENTRE_TIMEOUT=5s", "TISKI_PROBE_INTERVAL=200ms", "TISKI_SYNC_RATE=1000"}
	// syncRun runs `tiski sync run` on the data folder against base until it
	// exits, or until stop is closed (then it is killed).
	syncRun := func(dataDir, base string, stop <-chan struct{}) (string, int) {
		t.Helper()
		cmd := exec.Command(tiskiBin, "sync", "run", "--centre", base, "--data", dataDir)
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			return out.String(), exitCode(t, err)
		case <-stop:
			cmd.Process.Signal(syscall.SIGKILL)
			code := exitCode(t, <-exited) // Wait has copied all the output
			return out.String(), code
		case <-time.After(90 * time.Second):
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			t.Fatalf("sync run did not finish in 90 s:\n%s", out.String())
		}
		return "", 0
	}
	mustSync := func(stage, dataDir string) {
		t.Helper()
		if out, code := syncRun(dataDir, up.url, nil); code != 0 {
			q, _ := exec.Command(tiskiBin, "queue", "list", "--data", dataDir).CombinedOutput()
			t.Fatalf("%s: sync run exited %d:\n%s\n%s", stage, code, out, q)
		}
	}

	// 1. The first sync, with a backup of the journal taken before it.
	add(0)
	second := t.TempDir()
	r := tiskiRun{t: t, data: data}
	r.ok("", "journal", "backup", "--to", filepath.Join(second, "journal.db"))
	mustSync("first sync", data)
	checkUpstream(t, up, "after the first sync", recs)
	// The renewal shows on its prescription, read in the same single
	// request as the prescription (_revinclude=Task:focus).
	c, err := centre.New(centre.Config{BaseURL: up.url, Pharmacy: pharmacy})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if p, err := c.Prescription(cctx, renewedPrescriptions[0], "140348-901W"); err != nil || p.Renewal == nil || p.Renewal.Status != "requested" {
		t.Errorf("%s after the first sync: renewal %+v, %v; want an open request", renewedPrescriptions[0], p.Renewal, err)
	}

	// 2. The second journal, holding the same records, all still to be
	// uploaded: it must create nothing new.
	mustSync("second journal", second)
	checkUpstream(t, up, "after the second journal's sync", recs)

	// 3. New records; a sync whose every write is committed upstream but
	// whose answer never arrives, killed once each record was sent; then a
	// re-run.
	before := len(recs)
	add(5)
	units := 2 + 1 + 2 + 1 // two transactions, the telephone prescription with its dispensing, two dispensings, a renewal
	px := newCutProxy(t, up.url)
	stop := make(chan struct{})
	go func() {
		if px.waitCut(units, 60*time.Second) {
			close(stop)
		}
	}()
	out, code := syncRun(data, px.url, stop)
	if code != -1 {
		t.Fatalf("the sync behind the cutting proxy was not killed (exit %d; %d writes cut):\n%s", code, px.cutCount(), out)
	}
	t.Logf("killed after %d distinct writes were committed upstream and their answers cut", px.cutCount())
	checkUpstream(t, up, "after the killed sync (before the re-run)", recs)
	mustSync("re-run after the kill", data)
	checkUpstream(t, up, "after the re-run", recs)
	if n := len(recs) - before; n != 9 {
		t.Fatalf("the scenario made %d records in its second round, want 9", n)
	}
	if out, err := exec.Command(tiskiBin, "journal", "verify", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("journal verify: %v\n%s", err, out)
	}
}

// cutProxy forwards requests to a FHIR server. A write (any method but GET,
// except a search by POST) is forwarded whole and its answer read whole, so
// that the server has committed it; then the client's connection is cut
// without an answer.
type cutProxy struct {
	url string
	mu  sync.Mutex
	cut map[[32]byte]bool // the bodies of the writes cut, by hash
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{url: "http://" + ln.Addr().String(), cut: map[[32]byte]bool{}}
	srv := &http.Server{Handler: p.handler(target)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *cutProxy) handler(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, vs := range r.Header {
			req.Header[k] = vs
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// A search by POST [type]/_search is a read.
		write := r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/_search")
		if write && resp.StatusCode < 300 {
			p.mu.Lock()
			p.cut[sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+" "+r.Header.Get("If-None-Exist")+"\n"), body...))] = true
			p.mu.Unlock()
			panic(http.ErrAbortHandler) // cut the connection: no answer
		}
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	})
}

func (p *cutProxy) cutCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cut)
}

// waitCut waits until n distinct writes were cut, and reports whether they
// were within the time.
func (p *cutProxy) waitCut(n int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if p.cutCount() >= n {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}
