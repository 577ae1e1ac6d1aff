package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// fixtureCatalogue gives r's data folder the bundled made-up medicines as
// its medicine catalogue (tiski catalogue import --fixtures): tiski record
// looks packages up in the data folder's catalogue, and the tests' records
// name the fixtures' package numbers.
func (r tiskiRun) fixtureCatalogue() {
	r.t.Helper()
	r.ok("", "catalogue", "import", "--fixtures")
}

// fimeaFile writes text to a file in ISO 8859-1, as Fimea publishes its
// list of substitutable medicinal products, and returns its path.
func fimeaFile(t *testing.T, name, text string) string {
	t.Helper()
	b, err := charmap.ISO8859_1.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// recordFile writes a record's JSON for tiski record --from.
func recordFile(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "record.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// recordingData is a data folder with the pharmacy's identity and a
// pharmacist, aino, whose PIN is in the environment.
func recordingData(t *testing.T, extraConfig string) tiskiRun {
	t.Helper()
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data"), env: []string{"TISKI_PIN=4711"}}
	writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n"+extraConfig)
	r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	return r
}

// paperOf is a paper prescription of the package vnr for Aino Potilas
// (a fixture patient), with a dispensing of qty when qty > 0.
func paperOf(vnr string, qty int) map[string]any {
	p := map[string]any{
		"patient":    "131052-902Y",
		"prescriber": map[string]any{"name": "Anna Korhonen", "registration": "10090004180", "profession": "physician", "phone": "+358 9 3104 5000"},
		"vnr":        vnr, "issued": "2026-11-20", "dosage": "1 tabletti päivässä", "quantity": 30, "repeats": 0,
		"reason": "terveyskeskuksen potilastietojärjestelmä oli poissa käytöstä",
	}
	if qty > 0 {
		p["dispensing"] = map[string]any{"vnr": vnr, "quantity": qty, "time": "2026-11-20T14:05:00+02:00"}
	}
	return p
}

// onlyFimea holds a package that only it holds: 123459 is no fixture's
// number. Its names have ä and ö, as Fimea's file in ISO 8859-1 does.
const onlyFimea = "SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO;ATCKOODI\r\n" +
	"1001;123459;30 fol;R;Särkyöljy Jäppilä;400 mg;tabletti;M01AE01\r\n" +
	"1001;123460;100 fol;R;Särkyöljy Jäppilä;400 mg;tabletti;M01AE01\r\n"

// TestRecordPaperFromImportedCatalogue is issue 24's Done-when: `tiski
// record paper` of a package that only an imported Fimea file holds is
// refused while there is no catalogue (saying what to run) and while the
// catalogue is one without it (naming the number and the version), and
// accepted once `tiski catalogue import --fimea` took the file in and
// `catalogue status --json` shows its count. A refusal leaves the journal
// as it was.
func TestRecordPaperFromImportedCatalogue(t *testing.T) {
	r := recordingData(t, "")
	paper := recordFile(t, paperOf("123459", 30))

	// No catalogue at all: refused, and it says what to run.
	out, code := r.run("", "record", "paper", "--from", paper, "--user", "aino")
	for _, want := range []string{"Nothing was recorded", "no medicine catalogue has been imported", "tiski catalogue sync", "tiski catalogue import --fimea FILE"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("record without a catalogue: exit %d, does not say %q:\n%s", code, want, out)
		}
	}
	if n := journalCount(t, r); n != 0 {
		t.Fatalf("the journal holds %d records after the refusal", n)
	}
	// The same in Finnish, the default language.
	out, _ = r.run("", "--lang", "fi", "record", "paper", "--from", paper, "--user", "aino")
	if !strings.Contains(out, "lääketietokantaa ei ole tuotu") || !strings.Contains(out, "tiski catalogue import --fimea TIEDOSTO") {
		t.Errorf("record without a catalogue, in Finnish:\n%s", out)
	}

	// The fixtures' catalogue, which does not hold 123459: refused, naming
	// the number and the catalogue's version.
	r.fixtureCatalogue()
	r.fails(1, "no package 123459 in the medicine catalogue (version fixtures)", "", "record", "paper", "--from", paper, "--user", "aino")
	if n := journalCount(t, r); n != 0 {
		t.Fatalf("the journal holds %d records after the refusal", n)
	}

	// Fimea's file: imported, counted, and the package is recorded.
	src := fimeaFile(t, "substituutio_20261201.txt", onlyFimea)
	r.ok("", "catalogue", "import", "--fimea", src, "--version", "2026-12-01", "--date", "2026-12-01")
	var status struct {
		Imported bool   `json:"imported"`
		Source   string `json:"source"`
		Version  string `json:"version"`
		Count    int    `json:"count"`
	}
	if err := json.Unmarshal([]byte(r.ok("", "catalogue", "status", "--json")), &status); err != nil ||
		!status.Imported || status.Source != "fimea" || status.Version != "2026-12-01" || status.Count != 2 {
		t.Fatalf("catalogue status --json: %+v, %v", status, err)
	}
	out = r.ok("", "record", "paper", "--from", paper, "--user", "aino", "--json")
	var results []struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) != 2 {
		t.Fatalf("record paper --json: %v\n%s", err, out)
	}
	body := storedBody(t, r, results[0].ID)
	med := body["medicine"].(map[string]any)
	if med["name"] != "Särkyöljy Jäppilä" || med["strength"] != "400 mg" || med["atc"] != "M01AE01" || med["substitution_group"] != "1001" ||
		!strings.Contains(string(mustJSON(t, med["packages"])), `"vnr":"123459"`) {
		t.Errorf("the stored prescription's medicine: %v", med)
	}
	if d := storedBody(t, r, results[1].ID); d["vnr"] != "123459" {
		t.Errorf("the stored dispensing's package: %v", d["vnr"])
	}
	if n := journalCount(t, r); n != 2 {
		t.Fatalf("the journal holds %d records, want the prescription and its dispensing", n)
	}
}

// storedBody is the journal record id's stored JSON (tiski queue show --json).
func storedBody(t *testing.T, r tiskiRun, id string) map[string]any {
	t.Helper()
	var v struct {
		Record struct {
			Body map[string]any `json:"body"`
		} `json:"record"`
	}
	out := r.ok("", "queue", "show", id, "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("queue show %s --json: %v\n%s", id, err, out)
	}
	return v.Record.Body
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// classedFimea classes packages as Fimea's file may: 990291 (Metforem,
// which the fixtures call no narcotic) in the narcotic class, 123461 in
// the PKV class, 123462 in neither.
const classedFimea = "SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO;HUUMAUSAINE;PKV\r\n" +
	"2001;990291;100 fol;R;Metforem;500 mg;tabletti;1;\r\n" +
	"2002;123461;30 fol;R;Unilääke Öinen;10 mg;tabletti;;1\r\n" +
	"2003;123462;30 fol;R;Verenpaine Äänekoski;5 mg;tabletti;;\r\n"

// TestTelephoneNarcoticFromCatalogue: the policy's classes are the
// catalogue's. A telephone prescription of a package the imported Fimea
// file classes narcotic is refused by the narcotic rule (FM-TEL-NARC),
// though the bundled fixtures call the same package no narcotic; one the
// file classes PKV is recorded with the PKV rule's warning; one in neither
// class is recorded without either.
func TestTelephoneNarcoticFromCatalogue(t *testing.T) {
	r := recordingData(t, "")
	r.ok("", "catalogue", "import", "--fimea", fimeaFile(t, "luokat.txt", classedFimea))
	telephone := func(vnr string) string {
		p := paperOf(vnr, 0)
		p["call"] = map[string]any{"phone": "+358 9 3104 5000", "time": "2026-11-21T09:12:00+02:00", "verification": "soitettu takaisin terveyskeskuksen vaihteeseen"}
		return recordFile(t, p)
	}

	out, code := r.run("", "record", "telephone", "--from", telephone("990291"), "--user", "aino")
	if code != 1 || !strings.Contains(out, "Metforem 500 mg tabletti is a narcotic: narcotics cannot be prescribed by telephone (FM-TEL-NARC)") {
		t.Fatalf("a telephone prescription of a narcotic: exit %d\n%s", code, out)
	}
	if n := journalCount(t, r); n != 0 {
		t.Fatalf("the journal holds %d records after the refusal", n)
	}

	out = r.ok("", "record", "telephone", "--from", telephone("123461"), "--user", "aino")
	if !strings.Contains(out, "FM-PKV-WARN") || strings.Contains(out, "FM-TEL-NARC") {
		t.Errorf("a telephone prescription of a PKV medicine: want the PKV warning only\n%s", out)
	}
	out = r.ok("", "record", "telephone", "--from", telephone("123462"), "--user", "aino")
	if strings.Contains(out, "FM-PKV-WARN") || strings.Contains(out, "FM-TEL-NARC") {
		t.Errorf("a telephone prescription of neither class is warned of:\n%s", out)
	}
	if n := journalCount(t, r); n != 2 {
		t.Fatalf("the journal holds %d records, want the two accepted", n)
	}
}

// catalogueA and catalogueB are two issues of Fimea's file: B renames
// 990292 and changes its strength, and withdraws 990291.
const (
	catalogueA = "SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO;ATCKOODI\r\n" +
		"3001;990291;100 fol;R;Metforem;500 mg;tabletti;A10BA02\r\n" +
		"3001;990292;200 fol;R;Metforem;500 mg;tabletti;A10BA02\r\n"
	catalogueB = "SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO;ATCKOODI\r\n" +
		"3002;990292;200 fol;R;Metforem Uusi;850 mg;tabletti;A10BA02\r\n"
)

// TestRecordKeepsItsMedicine: a record holds its medicine as the catalogue
// stated it when it was recorded. Recorded against catalogue A, then B is
// imported (the package renamed, its strength changed, the other package
// withdrawn): the records read the same (their stored JSON, their hashes
// in the export, journal verify), and their upload to the simulator
// carries A's name and strength. A new record of the withdrawn package is
// refused under B.
func TestRecordKeepsItsMedicine(t *testing.T) {
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The uploads pass through a recorder on their way to the simulator.
	target, _ := url.Parse(srv.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var sent []string
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		if req.Method == http.MethodPost || req.Method == http.MethodPut {
			mu.Lock()
			sent = append(sent, string(b))
			mu.Unlock()
		}
		proxy.ServeHTTP(w, req)
	}))
	defer recorder.Close()

	r := recordingData(t, "[centre]\nurl = \""+recorder.URL+"\"\ntimeout = \"5s\"\n")
	r.ok("", "catalogue", "import", "--fimea", fimeaFile(t, "a.txt", catalogueA), "--version", "A")
	r.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")         // 990292, with its dispensing
	r.ok("", "record", "telephone", "--from", "testdata/records/telephone.json", "--user", "aino") // 990291
	const paperID, dispID, telID = "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a10", "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a11", "7b1e4f0a-93c2-4d55-8e0b-2a6c9d1f3b20"
	before := map[string]string{}
	for _, id := range []string{paperID, dispID, telID} {
		before[id] = string(mustJSON(t, storedBody(t, r, id)))
	}
	exportBefore := r.ok("", "journal", "export", "--format", "json")

	r.ok("", "catalogue", "import", "--fimea", fimeaFile(t, "b.txt", catalogueB), "--version", "B")
	for id, was := range before {
		if now := string(mustJSON(t, storedBody(t, r, id))); now != was {
			t.Errorf("record %s changed with the catalogue:\nbefore %s\nafter  %s", id, was, now)
		}
	}
	for _, id := range []string{paperID, telID} {
		med := storedBody(t, r, id)["medicine"].(map[string]any)
		if med["name"] != "Metforem" || med["strength"] != "500 mg" {
			t.Errorf("record %s's medicine after catalogue B: %v", id, med)
		}
	}
	if d := storedBody(t, r, dispID); d["vnr"] != "990292" || d["medicine"].(map[string]any)["name"] != "Metforem" {
		t.Errorf("the dispensing after catalogue B: %v", d)
	}
	if exportAfter := r.ok("", "journal", "export", "--format", "json"); exportAfter != exportBefore {
		t.Errorf("the journal's export changed with the catalogue:\nbefore %s\nafter  %s", exportBefore, exportAfter)
	}
	if out := r.ok("", "journal", "verify"); !strings.Contains(out, "intact: 3 records") {
		t.Errorf("journal verify: %s", out)
	}
	// Under B the withdrawn package is no more.
	withdrawn := recordFile(t, paperOf("990291", 0))
	r.fails(1, "no package 990291 in the medicine catalogue (version B)", "", "record", "paper", "--from", withdrawn, "--user", "aino")

	// The upload carries A's name and strength, never B's.
	r.ok("", "sync", "run", "--once")
	for _, id := range []string{paperID, telID} {
		if out := r.ok("", "queue", "show", id, "--json"); !strings.Contains(out, `"state":"done"`) {
			t.Fatalf("record %s not uploaded:\n%s", id, out)
		}
	}
	mu.Lock()
	all := strings.Join(sent, "\n")
	mu.Unlock()
	if strings.Count(all, "Metforem 500 mg tabletti") < 3 || strings.Contains(all, "Uusi") || strings.Contains(all, "850 mg") {
		t.Errorf("the uploads do not carry catalogue A's medicine (Metforem 500 mg, in the paper and telephone prescriptions and the dispensing):\n%.4000s", all)
	}
}

// genericsFimea has no ATC column: Somac 40 mg (the fixtures' 990501 and
// 990502, the medicine of the test's e-prescription) and a generic of it
// share substitution group 4001; Thyroxin is in a group of its own.
const genericsFimea = "SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO\r\n" +
	"4001;990501;28 fol;R;Somac;40 mg;enterotabletti\r\n" +
	"4001;990502;100 fol;R;Somac;40 mg;enterotabletti\r\n" +
	"4001;123463;100 fol;R;Pantoprazol Jäppilä;40 mg;enterotabletti\r\n" +
	"4003;990371;100 fol;R;Thyroxin;0.1 mg;tabletti\r\n"

// TestSyncCatchesGeneric: through the binary, a paper prescription of a
// generic of the patient's e-prescription (another product, the same
// substitution group, by the same prescriber, with no ATC code to compare)
// is held by `tiski sync run` as a possible duplicate of it, the group of
// the e-prescription's medicine looked up in the data folder's catalogue;
// a paper prescription of an unrelated product is uploaded.
func TestSyncCatchesGeneric(t *testing.T) {
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The patient's e-prescription of Somac, issued today by Anna Korhonen.
	ep, err := srv.CreatePrescription(rx.Prescription{Patient: "140348-901W", Quantity: 100, Dosage: "1 enterotabletti päivässä",
		Prescriber: rx.Prescriber{Name: "Anna Korhonen", Registration: "10090004180", Profession: rx.Physician},
		Medicine:   rx.Medicine{Packages: []rx.Package{{VNR: "990502", Size: 100}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := recordingData(t, "[centre]\nurl = \""+srv.URL()+"\"\ntimeout = \"5s\"\n")
	r.ok("", "catalogue", "import", "--fimea", fimeaFile(t, "rinnakkais.txt", genericsFimea))
	paper := func(id, vnr string) string {
		p := paperOf(vnr, 0)
		p["id"], p["patient"], p["issued"] = id, "140348-901W", time.Now().Format(time.DateOnly)
		return recordFile(t, p)
	}
	const generic, unrelated = "a1000000-0000-4000-8000-0000000000e1", "a1000000-0000-4000-8000-0000000000e2"
	r.ok("", "record", "paper", "--from", paper(generic, "123463"), "--user", "aino")
	r.ok("", "record", "paper", "--from", paper(unrelated, "990371"), "--user", "aino")

	r.fails(4, "", "", "sync", "run", "--once")
	if out := r.ok("", "queue", "show", generic, "--json"); !strings.Contains(out, `"state":"conflict"`) || !strings.Contains(out, "possible-duplicate") ||
		!strings.Contains(out, ep) || !strings.Contains(out, "substitution group 4001") {
		t.Errorf("the generic is not held as a possible duplicate of %s:\n%s", ep, out)
	}
	if out := r.ok("", "queue", "show", unrelated, "--json"); !strings.Contains(out, `"state":"done"`) {
		t.Errorf("the unrelated prescription is not uploaded:\n%s", out)
	}
}
