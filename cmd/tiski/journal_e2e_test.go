package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tiski runs the built binary with a data folder and returns its output and
// exit code.
type tiskiRun struct {
	t    *testing.T
	data string
	env  []string
}

func (r tiskiRun) run(stdin string, args ...string) (string, int) {
	r.t.Helper()
	cmd := exec.Command(tiskiBin, append(args, "--data", r.data)...)
	cmd.Dir = "../.."
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), r.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return out.String(), code
}

func (r tiskiRun) ok(stdin string, args ...string) string {
	r.t.Helper()
	out, code := r.run(stdin, args...)
	if code != 0 {
		r.t.Fatalf("tiski %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func (r tiskiRun) fails(wantCode int, want string, stdin string, args ...string) {
	r.t.Helper()
	out, code := r.run(stdin, args...)
	if code != wantCode || !strings.Contains(out, want) {
		r.t.Fatalf("tiski %s: exit %d (want %d), output does not say %q:\n%s", strings.Join(args, " "), code, wantCode, want, out)
	}
}

// TestJournalCommands walks the journal's commands as IT would: users,
// back-entered records, verify, export, backup, mode, and a tampered file.
func TestJournalCommands(t *testing.T) {
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data")}
	writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n") // recording needs it (issue 18)
	r.ok("4711\n", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.ok("2468\n", "users", "add", "olli", "--name", "Olli Opiskelija", "--role", "student")
	r.fails(1, "aino", "1111\n", "users", "add", "aino", "--name", "Again", "--role", "it") // the id is taken
	r.fails(1, "No PIN given", "", "users", "add", "eino", "--name", "Eino", "--role", "it")
	r.fails(2, "Valvira registration number", "", "users", "add", "eeva", "--name", "Eeva", "--role", "pharmacist")

	var users []map[string]any
	if err := json.Unmarshal([]byte(r.ok("", "users", "list", "--json")), &users); err != nil || len(users) != 2 {
		t.Fatalf("users list --json: %v %v", users, err)
	}
	if st, err := os.Stat(filepath.Join(r.data, "journal.db")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("journal file: %v %v", st, err)
	}

	r.fixtureCatalogue()
	pharmacist := tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=4711"}}
	// A paper prescription whose dispensing is wrong records nothing at all
	// (the count of 5 records checked below would be 6).
	paper, _ := os.ReadFile("../../testdata/records/paper.json")
	badPaper := filepath.Join(t.TempDir(), "bad-paper.json")
	os.WriteFile(badPaper, bytes.Replace(bytes.Replace(paper, []byte(`"quantity": 200,
    "time"`), []byte(`"quantity": 0,
    "time"`), 1), []byte("2a10"), []byte("2a99"), 1), 0o600)
	pharmacist.fails(1, "dispensing quantity", "", "record", "paper", "--from", badPaper, "--user", "aino")
	out := pharmacist.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	if !strings.Contains(out, "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a10\trecorded paper prescription") || !strings.Contains(out, "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a11\trecorded dispensing") {
		t.Fatalf("record paper printed:\n%s", out)
	}
	out = pharmacist.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	if strings.Count(out, "already recorded") != 2 {
		t.Fatalf("a re-run recorded again:\n%s", out)
	}
	pharmacist.ok("", "record", "telephone", "--from", "testdata/records/telephone.json", "--user", "aino")
	pharmacist.ok("", "record", "dispensing", "--from", "testdata/records/dispensing.json", "--user", "aino")
	pharmacist.ok("", "record", "void", "--from", "testdata/records/void.json", "--user", "aino")

	tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=2468"}}.fails(1, "may look but not record", "", "record", "paper", "--from", "testdata/records/paper.json", "--user", "olli")
	pharmacist.fails(2, "--user ID is required", "", "record", "paper", "--from", "testdata/records/paper.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"patient":"131052-902X","vnr":"990292","quantity":-5,"issued":"2026-11-20","colour":"red"}`), 0o600)
	pharmacist.fails(1, `unknown field "colour"`, "", "record", "paper", "--from", bad, "--user", "aino")
	os.WriteFile(bad, []byte(`{"patient":"131052-902X","vnr":"990292","quantity":-5,"issued":"2026-11-20"}`), 0o600)
	pharmacist.fails(1, "check character should be Y, not X", "", "record", "paper", "--from", bad, "--user", "aino")

	out = r.ok("", "journal", "verify")
	if !strings.Contains(out, "intact: 5 records") {
		t.Fatalf("verify: %s", out)
	}

	// The log in the data folder names each record and never a patient.
	logFile := filepath.Join(r.data, "tiski.log")
	logText, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(logFile); st.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v", st.Mode())
	}
	if n := strings.Count(string(logText), `"msg":"recorded"`); n != 5 {
		t.Errorf("%d records logged, want 5:\n%s", n, logText)
	}
	for _, code := range []string{"131052-902Y", "140348-901W", "131052-902X"} {
		if strings.Contains(string(logText), code) {
			t.Errorf("the log contains the identity code %s", code)
		}
	}

	// The queue, record by record.
	var queue []map[string]any
	// Five records, of which the voided dispensing is never sent and the void
	// of a record never sent is not sent either: three wait for upload.
	if err := json.Unmarshal([]byte(r.ok("", "queue", "list", "--json")), &queue); err != nil || len(queue) != 3 {
		t.Fatalf("queue list --json: %v %v", queue, err)
	}
	var voided []map[string]any
	if err := json.Unmarshal([]byte(r.ok("", "queue", "list", "--state", "voided", "--json")), &voided); err != nil || len(voided) != 1 ||
		voided[0]["id"] != "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a11" || voided[0]["depends_on"] != "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a10" {
		t.Fatalf("the voided dispensing of the paper prescription: %v %v", voided, err)
	}
	out = r.ok("", "queue", "show", "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a10")
	if !strings.Contains(out, "131052-***Y") || strings.Contains(out, "131052-902Y") || !strings.Contains(out, "Queue      pending") {
		t.Errorf("queue show:\n%s", out)
	}
	r.fails(2, "--reason TEXT is required", "", "queue", "park", "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a10")
	r.ok("", "queue", "park", "7b1e4f0a-93c2-4d55-8e0b-2a6c9d1f3b20", "--reason", "prescriber to confirm")
	if out := r.ok("", "queue", "list", "--state", "parked"); !strings.Contains(out, "prescriber to confirm") {
		t.Errorf("queue list --state parked:\n%s", out)
	}
	r.ok("", "queue", "retry", "7b1e4f0a-93c2-4d55-8e0b-2a6c9d1f3b20")
	if out := r.ok("", "queue", "list", "--state", "parked"); !strings.Contains(out, "queue is empty") {
		t.Errorf("still parked after retry:\n%s", out)
	}
	r.fails(1, "not", "", "queue", "retry", "00000000-0000-4000-8000-000000000000")
	r.fails(2, "not one of", "", "queue", "list", "--state", "lost")

	rows, err := csv.NewReader(strings.NewReader(r.ok("", "journal", "export", "--format", "csv"))).ReadAll()
	if err != nil || len(rows) != 6 || rows[0][1] != "id" {
		t.Fatalf("CSV export: %v %v", rows, err)
	}
	var exported []map[string]any
	if err := json.Unmarshal([]byte(r.ok("", "journal", "export", "--format", "json")), &exported); err != nil || len(exported) != 5 {
		t.Fatalf("JSON export: %v", err)
	}
	kinds := []string{}
	for _, e := range exported {
		kinds = append(kinds, e["kind"].(string))
		if p, _ := e["patient"].(string); p != "" && !strings.Contains(p, "***") {
			t.Errorf("export shows an unmasked identity code: %v", e)
		}
		want := map[string]string{"5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a11": "voided"}[e["id"].(string)]
		if e["kind"] != "void" && want == "" {
			want = "pending"
		}
		if got, _ := e["outbox_state"].(string); e["pharmacist"] != "aino" || got != want {
			t.Errorf("export row %v: outbox state %q, want %q", e, got, want)
		}
	}
	if got := strings.Join(kinds, ","); got != "paper_prescription,dispensing,telephone_prescription,dispensing,void" {
		t.Fatalf("exported kinds %s", got)
	}
	r.fails(2, "--since", "", "journal", "export", "--since", "yesterday")

	backupDir := t.TempDir()
	r.ok("", "journal", "backup", "--to", filepath.Join(backupDir, "journal.db"))
	out = tiskiRun{t: t, data: backupDir}.ok("", "journal", "verify")
	if !strings.Contains(out, "intact: 5 records") {
		t.Fatalf("the backup does not verify: %s", out)
	}
	r.fails(1, "exists", "", "journal", "backup", "--to", filepath.Join(backupDir, "journal.db"))

	if out := r.ok("", "mode", "status"); !strings.HasPrefix(out, "ONLINE") {
		t.Fatalf("mode status: %s", out)
	}
	r.fails(2, "--reason TEXT is required", "", "mode", "fault")
	if out := r.ok("", "mode", "fault", "--reason", "Kela's notice of a fault"); !strings.Contains(out, "FAULT (held manually") {
		t.Fatalf("mode fault: %s", out)
	}
	var st map[string]any
	json.Unmarshal([]byte(r.ok("", "mode", "status", "--json")), &st)
	if st["mode"] != "FAULT" || st["override"] != true || !strings.Contains(st["cause"].(string), "Kela's notice of a fault") {
		t.Fatalf("mode status --json after fault: %v", st)
	}
	if out := r.ok("", "mode", "auto"); strings.Contains(out, "held manually") {
		t.Fatalf("mode auto: %s", out)
	}
	// A wrong PIN records nothing but its audit record (signin_e2e_test.go
	// follows it to the lockout), so it comes after the counts above.
	tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=0000"}}.fails(1, "unknown user or wrong PIN", "", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")

	// Tamper: edit a record's content behind tiski's back (dropping the
	// trigger that forbids it) and verify must fail and name the record.
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("sqlite3 is not installed; .ci/run installs it for this step")
	}
	journalFile := filepath.Join(r.data, "journal.db")
	sql := "DROP TRIGGER records_no_update; UPDATE records SET body = replace(body, '200', '900') WHERE seq = 2;"
	if out, err := exec.Command("sqlite3", journalFile, sql).CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	r.fails(1, "record 2 (5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a11)", "", "journal", "verify")
}
