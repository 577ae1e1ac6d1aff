package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// The pharmacy identities of these tests: a complete one, another the
// configuration is changed to, and configurations lacking the OID.
const (
	oidTiski    = "1.2.246.10.12345678.10.0"
	oidOther    = "1.2.246.10.87654321.10.0"
	pharmacyA   = "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"" + oidTiski + "\"\n"
	pharmacyB   = "[pharmacy]\nname = \"Apteekki Uusi\"\noid = \"urn:oid:" + oidOther + "\"\n"
	noOID       = "[pharmacy]\nname = \"Apteekki Tiski\"\n"
	matti       = "140348-901W"
	ainoPatient = "131052-902Y"
)

// journalCount counts the journal's records of the kinds a pharmacist
// makes (not mode changes), from `tiski journal export`.
func journalCount(t *testing.T, r tiskiRun) int {
	t.Helper()
	var exported []map[string]any
	out := tiskiRun{t: t, data: r.data}.ok("", "journal", "export", "--format", "json")
	if err := json.Unmarshal([]byte(out), &exported); err != nil {
		t.Fatalf("journal export: %v\n%s", err, out)
	}
	n := 0
	for _, rec := range exported {
		if rec["kind"] != string(journal.KindModeChange) {
			n++
		}
	}
	return n
}

// dispensingFile writes a `tiski record dispensing` input.
func dispensingFile(t *testing.T, id, patient, prescription, vnr string, qty int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), id+".json")
	b, _ := json.Marshal(map[string]any{"id": id, "patient": patient, "prescription_id": prescription, "vnr": vnr, "quantity": qty, "time": "2026-11-21T10:00:00+02:00"})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestRecordRefusedWithoutPharmacyIdentity: `tiski record` refuses every
// prescription and dispensing while pharmacy.oid is unset or malformed,
// says which key and how to set it, exits 1 and leaves the journal as it
// was; doctor fails the same; set through the environment, it records.
func TestRecordRefusedWithoutPharmacyIdentity(t *testing.T) {
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data"), env: []string{"TISKI_PIN=4711"}}
	writeConfig(t, r.data, noOID+"[centre]\nurl = \"http://127.0.0.1:1\"\nconnect_timeout = \"1s\"\n")
	r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.fixtureCatalogue()
	before := journalCount(t, r)

	for _, kind := range []string{"paper", "telephone", "dispensing"} {
		out, code := r.run("", "record", kind, "--from", "testdata/records/"+kind+".json", "--user", "aino")
		if code != 1 {
			t.Fatalf("record %s: exit %d, want 1\n%s", kind, code, out)
		}
		for _, want := range []string{"Nothing was recorded", "pharmacy.oid is not set", "[pharmacy]", "oid = ", filepath.Join(r.data, "config.toml"), "TISKI_PHARMACY_OID", "TISKI_PHARMACY_NAME"} {
			if !strings.Contains(out, want) {
				t.Errorf("record %s does not say %q:\n%s", kind, want, out)
			}
		}
	}
	if n := journalCount(t, r); n != before {
		t.Fatalf("the journal holds %d records after the refusals, %d before", n, before)
	}
	got, code := doctorFindings(t, r)
	if f := got["pharmacy identity"]; code != 1 || f.Status != "fail" || !strings.Contains(f.Detail, "pharmacy.oid") || !strings.Contains(f.Detail, "TISKI_PHARMACY_OID") {
		t.Fatalf("doctor: exit %d, %+v", code, f)
	}

	// A malformed OID: refused as clearly, nothing recorded.
	writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"apteekki-tiski\"\n")
	r.fails(1, "is not an OID", "", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	if got, code := doctorFindings(t, r); code != 1 || got["configuration"].Status != "fail" || !strings.Contains(got["configuration"].Detail, "is not an OID") {
		t.Fatalf("doctor with a malformed OID: exit %d, %+v", code, got)
	}

	// Set through the environment, as README says: recorded.
	writeConfig(t, r.data, noOID+"[centre]\nurl = \"http://127.0.0.1:1\"\nconnect_timeout = \"1s\"\n")
	if n := journalCount(t, r); n != before {
		t.Fatalf("the journal holds %d records after a malformed OID, %d before", n, before)
	}
	withEnv := tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=4711", "TISKI_PHARMACY_OID=" + oidTiski}}
	withEnv.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	if n := journalCount(t, r); n != before+2 {
		t.Fatalf("the journal holds %d records, want %d: the paper prescription and its dispensing", n, before+2)
	}
	if got, _ := doctorFindings(t, withEnv); got["pharmacy identity"].Status != "ok" {
		t.Fatalf("doctor with the OID set: %+v", got["pharmacy identity"])
	}
}

// TestCounterRefusesWithoutPharmacyIdentity is the counter's end-to-end
// test of issue 18: the built `tiski counter` against a simulator, with a
// configuration lacking pharmacy.oid and pharmacy.name. The warning shows
// from the start and in FAULT mode; a dispensing, a paper prescription and
// an essential-medication dispensing are each refused in its words; the
// journal holds no record after.
func TestCounterRefusesWithoutPharmacyIdentity(t *testing.T) {
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data")}
	writeConfig(t, r.data, "terminal = \"kassa-1\"\n[centre]\nurl = \""+srv.URL()+"\"\n")
	r.ok("4711\n", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.ok("", "catalogue", "import", "--fixtures") // the forms' medicines (issue 24)

	const refused = "Not recorded: PHARMACY IDENTITY MISSING"
	s := newTmux(t, 120, 40, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, tiskiBin+" counter --data "+r.data)
	s.waitFor("Sign in")
	s.waitFor("PHARMACY IDENTITY MISSING: set pharmacy.oid and pharmacy.name") // at start, before anyone signs in
	s.keys("aino", "Enter")
	s.keys("4711", "Enter")
	s.waitFor("Patient search")
	s.waitFor("ONLINE – connected")

	// Online: an e-prescription's dispensing.
	s.keys("140348-901W", "Enter")
	s.waitFor("Metforem")
	s.keys("F4")
	s.keys("EP26000101", "Enter")
	s.waitFor("1/18 prescriptions")
	s.keys("F5")
	s.waitFor("Dispense: Korhonen, Matti")
	s.keys("F10")
	s.waitFor(refused)
	s.keys("F2") // F2 goes to the search from any screen; Escape then a key would read as alt+key
	s.waitFor("Patient search")

	// A paper prescription with its dispensing.
	s.keys("140348-901W", "Enter")
	s.waitFor("18/18 prescriptions")
	s.keys("C-p")
	s.waitFor("Paper prescription: ")
	s.keys("Anna Korhonen", "Tab", "10090004180", "Tab", "Tab", "990511", "Enter")
	s.keys("Tab", "1 tablet 3 times a day for 7 days", "Tab", "C-u", "20", "Tab", "Tab", "Tab", "the health centre's system is down")
	s.keys("F10")
	s.waitFor(refused)
	s.keys("F2")
	s.waitFor("Patient search")

	// FAULT mode, held by IT: the warning stays; an essential dispensing
	// is refused as well.
	r.ok("", "mode", "fault", "--reason", "Kela notice: Prescription Centre outage")
	s.waitFor("FAULT – fault mode")
	s.waitFor("PHARMACY IDENTITY MISSING: set pharmacy.oid and pharmacy.name")
	s.keys("140348-901W", "Enter")
	s.waitFor("No records during this outage.")
	s.essential("metforem", "60")
	s.waitFor("within the essential-medication cap")
	s.keys("F10")
	s.waitFor(refused)
	s.keys("C-c")

	if n := journalCount(t, r); n != 0 {
		t.Fatalf("the journal holds %d records made without the pharmacy's identity", n)
	}
	logText, err := os.ReadFile(filepath.Join(r.data, "tiski.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(logText), `"msg":"recorded"`) || strings.Contains(string(logText), "140348-901") {
		t.Fatalf("log:\n%s", logText)
	}
}

// organisation returns the identifier value and name of the organisation
// that performed the dispensing record id, as the simulator holds it.
func organisation(t *testing.T, srv *centresim.Server, id string) (string, string) {
	t.Helper()
	resp, err := http.Get(srv.URL() + "/MedicationDispense?identifier=" + url.QueryEscape(rx.SystemRecordUUID+"|urn:uuid:"+id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Entry []struct {
			Resource struct {
				Performer []struct {
					Actor struct {
						Type       string `json:"type"`
						Display    string `json:"display"`
						Identifier struct {
							Value string `json:"value"`
						} `json:"identifier"`
					} `json:"actor"`
				} `json:"performer"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || len(b.Entry) != 1 {
		t.Fatalf("MedicationDispense %s: %d entries (%v)", id, len(b.Entry), err)
	}
	for _, p := range b.Entry[0].Resource.Performer {
		if p.Actor.Type == "Organization" {
			return p.Actor.Identifier.Value, p.Actor.Display
		}
	}
	t.Fatalf("MedicationDispense %s names no organisation", id)
	return "", ""
}

// TestStampedPharmacySurvivesConfigurationChange: records carry the
// pharmacy configured when they were made; changed afterwards, the
// configuration does not rewrite them upstream.
func TestStampedPharmacySurvivesConfigurationChange(t *testing.T) {
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	centreConf := "[centre]\nurl = \"" + srv.URL() + "\"\ntimeout = \"3s\"\n"
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data"), env: []string{"TISKI_PIN=4711"}}
	writeConfig(t, r.data, pharmacyA+centreConf)
	r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.fixtureCatalogue()
	const disp = "b1000000-0000-4000-8000-000000000001"
	r.ok("", "record", "dispensing", "--from", dispensingFile(t, disp, matti, "EP26000101", "990291", 100), "--user", "aino")
	r.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")

	writeConfig(t, r.data, pharmacyB+centreConf)
	r.ok("", "sync", "run", "--once")

	var paper map[string]any
	b, _ := os.ReadFile("../../testdata/records/paper.json")
	json.Unmarshal(b, &paper)
	paperDisp := paper["dispensing"].(map[string]any)["id"].(string)
	for _, id := range []string{disp, paperDisp} {
		if oid, name := organisation(t, srv, id); oid != "urn:oid:"+oidTiski || name != "Apteekki Tiski" {
			t.Errorf("dispensing %s went up as %s (%s), want the pharmacy that recorded it, urn:oid:%s (Apteekki Tiski)", id, oid, name, oidTiski)
		}
	}
	// The journal keeps the stamp on the prescription too.
	out := r.ok("", "queue", "show", paper["id"].(string), "--json")
	if !strings.Contains(out, `"pharmacy":{"name":"Apteekki Tiski","oid":"`+oidTiski+`"}`) {
		t.Errorf("the paper prescription's record carries no stamp:\n%s", out)
	}
}

// TestQueueRetryRejected: a dispensing recorded before records carried the
// pharmacy (no stamp), synced while pharmacy.oid was unset, is rejected for
// the configuration. `tiski queue retry --rejected` refuses until the
// configuration is fixed, then sends it again with an audit line, and it
// lands exactly once; dispensings the Prescription Centre refused (another
// patient's prescription: rejected; an expired one: conflict) stay for a
// pharmacist.
func TestQueueRetryRejected(t *testing.T) {
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	centreConf := "[centre]\nurl = \"" + srv.URL() + "\"\ntimeout = \"3s\"\n"
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data"), env: []string{"TISKI_PIN=4711"}}
	writeConfig(t, r.data, pharmacyA+centreConf)
	r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.fixtureCatalogue()
	const otherPatients, expired = "c1000000-0000-4000-8000-000000000001", "c1000000-0000-4000-8000-000000000002"
	r.ok("", "record", "dispensing", "--from", dispensingFile(t, otherPatients, matti, "EP26000201", "990371", 100), "--user", "aino")
	r.ok("", "record", "dispensing", "--from", dispensingFile(t, expired, matti, "EP26000117", "990291", 100), "--user", "aino")

	// A dispensing as an older tiski recorded it: no pharmacy in it.
	legacy := journal.NewID()
	j, err := journal.Open(context.Background(), filepath.Join(r.data, "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(record.DispensingBody{Dispensing: rx.Dispensing{ID: legacy, PrescriptionID: "EP26000101", Patient: matti,
		Medicine: rx.Medicine{Name: "Metforem", Strength: "500 mg", Form: "tablet", Unit: "tablet"}, VNR: "990291", Quantity: 100,
		Time: time.Now().Add(-time.Hour), Pharmacist: rx.Pharmacist{ID: "aino", Name: "Aino Virtanen", Registration: "10100012345", Role: rx.RolePharmacist}}})
	if _, err := j.Append(context.Background(), journal.NewRecord{ID: legacy, Kind: journal.KindDispensing, Pharmacist: "aino", Patient: matti,
		Body: body, Upload: true, Time: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	j.Close()

	// Synced with pharmacy.oid unset: the legacy one cannot be sent.
	writeConfig(t, r.data, noOID+centreConf)
	r.fails(4, "", "", "sync", "run", "--once")
	states := func() map[string]string {
		t.Helper()
		var rows []queueEntry
		out := r.ok("", "queue", "list", "--json", "--state", "pending,sending,retry,done,conflict,rejected,parked,voided")
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("queue list: %v\n%s", err, out)
		}
		m := map[string]string{}
		for _, e := range rows {
			m[e.ID] = e.State
			if e.State == "rejected" && strings.HasPrefix(e.LastError, "configuration:") {
				m[e.ID] = "rejected for the configuration"
			}
		}
		return m
	}
	want := map[string]string{legacy: "rejected for the configuration", otherPatients: "rejected", expired: "conflict"}
	if got := states(); got[legacy] != want[legacy] || got[otherPatients] != want[otherPatients] || got[expired] != want[expired] {
		t.Fatalf("after the first sync: %v, want %v", got, want)
	}
	upstream := func() int {
		n, err := srv.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+legacy)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if upstream() != 0 {
		t.Fatal("a dispensing refused for the configuration reached the Prescription Centre")
	}

	// Not fixed yet: refused with guidance, nothing changes.
	out, code := r.run("", "queue", "retry", "--rejected")
	if code != 1 || !strings.Contains(out, "Nothing was sent again") || !strings.Contains(out, "pharmacy.oid") || !strings.Contains(out, "TISKI_PHARMACY_OID") {
		t.Fatalf("queue retry --rejected before the fix: exit %d\n%s", code, out)
	}
	r.fails(2, "not both", "", "queue", "retry", legacy, "--rejected")

	// Fixed: one command sends the configuration rejections again.
	writeConfig(t, r.data, pharmacyA+centreConf)
	var res struct {
		Requeued []string `json:"requeued"`
		Count    int      `json:"count"`
		Left     int      `json:"left_rejected"`
	}
	out = r.ok("", "queue", "retry", "--rejected", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Count != 1 || len(res.Requeued) != 1 || res.Requeued[0] != legacy || res.Left != 1 {
		t.Fatalf("queue retry --rejected --json: %+v (%v)\n%s", res, err, out)
	}
	logText, err := os.ReadFile(filepath.Join(r.data, "tiski.log"))
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, line := range strings.Split(string(logText), "\n") {
		if strings.Contains(line, `"msg":"queue retry"`) && strings.Contains(line, legacy) {
			audited++
		}
		if strings.Contains(line, `"msg":"queue retry"`) && (strings.Contains(line, otherPatients) || strings.Contains(line, expired)) {
			t.Errorf("a refusal by the Prescription Centre was sent again: %s", line)
		}
	}
	if audited != 1 {
		t.Fatalf("%d audit lines for the re-sent entry, want 1:\n%s", audited, logText)
	}

	r.fails(4, "", "", "sync", "run", "--once") // the two refusals still wait for a pharmacist
	want[legacy] = "done"
	if got := states(); got[legacy] != want[legacy] || got[otherPatients] != want[otherPatients] || got[expired] != want[expired] {
		t.Fatalf("after the retry: %v, want %v", got, want)
	}
	if out := r.ok("", "queue", "retry", "--rejected"); !strings.Contains(out, "nothing to send again") || !strings.Contains(out, "1 other rejected entry") {
		t.Fatalf("a second queue retry --rejected:\n%s", out)
	}
	r.fails(4, "", "", "sync", "run", "--once")
	if n := upstream(); n != 1 {
		t.Fatalf("the re-sent dispensing is upstream %d times, want exactly once", n)
	}
	// A legacy record goes up in the name of the pharmacy configured now.
	if oid, _ := organisation(t, srv, legacy); oid != "urn:oid:"+oidTiski {
		t.Errorf("legacy dispensing went up as %s", oid)
	}
}

// queueEntry is a row of `tiski queue list --json`.
type queueEntry struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	LastError string `json:"last_error"`
}
