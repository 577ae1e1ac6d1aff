package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Issue 18: no personal identity code in any URL. The simulator's access
// log (tiski centre serve --access-log, TISKI_CENTRE_ACCESS_LOG for tiski
// demo) keeps every request line as received, unmasked, as a real server's
// would; these tests read it after the README's tour (TestReadmeTour), a
// sync (TestSyncRequestLines) and the counter in tmux (TestDemoInTmux).

// identityCodeInURL finds a personal identity code in a request line: the
// HETU shape (DDMMYY, century sign -, + or A-F, U-Y, three digits, check
// character), raw or percent-encoded (%2D, %2B for the sign; %7C before it
// leaves a letter in front, so there is no word boundary to rely on), in
// any case.
var identityCodeInURL = regexp.MustCompile(`(?i)\d{6}(?:[-+A-FU-Y]|%2B|%2D)\d{3}[0-9A-Y]`)

// requestLines reads an access log and returns its request lines (method,
// target, protocol), without the time, status and request id around them.
func requestLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the simulator's access log: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		_, rest, ok := strings.Cut(l, `"`)
		line, _, ok2 := strings.Cut(rest, `"`)
		if !ok || !ok2 {
			t.Fatalf("access log line %q has no quoted request line", l)
		}
		lines = append(lines, line)
	}
	return lines
}

// noIdentityCodeInURLs fails for every request line holding an identity
// code, and when the log has fewer than min lines (the run did not reach
// the simulator as it should have). It returns the lines.
func noIdentityCodeInURLs(t *testing.T, path string, min int) []string {
	t.Helper()
	lines := requestLines(t, path)
	for _, l := range lines {
		if identityCodeInURL.MatchString(l) {
			t.Errorf("an identity code in a URL: %s", l)
		}
	}
	if len(lines) < min {
		t.Errorf("the access log has %d request lines, want at least %d:\n%s", len(lines), min, strings.Join(lines, "\n"))
	}
	return lines
}

// TestIdentityCodeInURLPattern: the pattern finds the forms an identity
// code takes in a URL, and not the rest of what request lines hold.
func TestIdentityCodeInURLPattern(t *testing.T) {
	for line, want := range map[string]bool{
		"GET /Patient?identifier=urn:oid:1.2.246.21|140348-901W HTTP/1.1":                     true,
		"GET /Patient?identifier=urn%3Aoid%3A1.2.246.21%7C140348-901W HTTP/1.1":               true,
		"GET /Patient?identifier=urn%3aoid%3a1.2.246.21%7c140348-901w HTTP/1.1":               true,
		"GET /MedicationRequest?patient.identifier=010101A985F HTTP/1.1":                      true,
		"GET /Patient?identifier=010101%2B985F HTTP/1.1":                                      true,
		"GET /Patient?identifier=131052%2D902Y HTTP/1.1":                                      true,
		"POST /Patient/_search HTTP/1.1":                                                      false,
		"GET /MedicationRequest?_count=4&_offset=4&_page=qkzmhcwbfoyhbdxsjlrgnteavu HTTP/1.1": false,
		"PUT /MedicationDispense/md-12 HTTP/1.1":                                              false,
		"GET /MedicationRequest/EP26000101 HTTP/1.1":                                          false,
	} {
		if got := identityCodeInURL.MatchString(line); got != want {
			t.Errorf("%q: match %v, want %v", line, got, want)
		}
	}
}

// TestSyncRequestLines: `tiski sync run` uploads paper and telephone
// prescriptions with their dispensings, an essential dispensing and a
// dispensing the Prescription Centre refuses (its prescription was
// dispensed in full elsewhere, which tiski re-reads for the pharmacist),
// against `tiski centre serve
// --access-log`; no request line holds an identity code.
func TestSyncRequestLines(t *testing.T) {
	access := filepath.Join(t.TempDir(), "access.log")
	fhirURL, _ := serve(t, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data", t.TempDir(), "--access-log", access)
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data"), env: []string{"TISKI_PIN=4711"}}
	writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n[centre]\nurl = \""+fhirURL+"\"\ntimeout = \"5s\"\n")
	r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.fixtureCatalogue()
	r.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	r.ok("", "record", "telephone", "--from", "testdata/records/telephone.json", "--user", "aino")
	r.ok("", "record", "dispensing", "--from", "testdata/records/dispensing.json", "--user", "aino")
	completed := filepath.Join(t.TempDir(), "completed.json")
	b, _ := json.Marshal(map[string]any{"id": "a1000000-0000-4000-8000-0000000000c1", "patient": "140348-901W", "prescription_id": "EP26000104", "vnr": "990472", "quantity": 100, "time": "2026-11-21T10:00:00+02:00"})
	if err := os.WriteFile(completed, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r.ok("", "record", "dispensing", "--from", completed, "--user", "aino")

	// 4: a record waits for a pharmacist's review (the one against a
	// prescription already dispensed in full).
	r.fails(4, "", "", "sync", "run", "--once")
	lines := noIdentityCodeInURLs(t, access, 5)
	var searches, transactions int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "POST /MedicationRequest/_search "):
			searches++
		case strings.HasPrefix(l, "POST / "):
			transactions++
		}
	}
	// The duplicate check of each recorded prescription lists the
	// patient's prescriptions; the refused dispensing's prescription is
	// re-read.
	if transactions != 2 || searches < 3 {
		t.Errorf("%d transactions (want the paper and the telephone prescription) and %d MedicationRequest searches (want 2 duplicate checks and a re-read):\n%s",
			transactions, searches, strings.Join(lines, "\n"))
	}
	// tiski's own log holds none of the patients' identity codes either
	// (the shape alone would match record UUIDs there).
	logText, err := os.ReadFile(filepath.Join(r.data, "tiski.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"131052-902Y", "140348-901W"} {
		if strings.Contains(strings.ToUpper(string(logText)), code) {
			t.Errorf("tiski.log holds the identity code %s", code)
		}
	}
}

// TestServeAccessLogInAMissingFolder: an access log that cannot be opened
// stops the simulator before it listens, saying what to do.
func TestServeAccessLogInAMissingFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "such", "access.log")
	out, err := exec.Command(tiskiBin, "centre", "serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--access-log", missing).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "open the simulator's access log") || !strings.Contains(string(out), "a folder that exists") {
		t.Fatalf("tiski centre serve --access-log %s: %v\n%s", missing, err, out)
	}
}
