package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tiski-rx/tiski/pkg/journal"
)

// backdate moves the last sign-in attempt of id back by an hour, as if the
// wait after it had passed: the test does not sleep through 2, 4 and 8 s.
func backdate(t *testing.T, data, id string) {
	t.Helper()
	lastAttempt(t, data, id, time.Now().Add(-time.Hour))
}

// lastAttempt sets when the last sign-in attempt of id was admitted.
func lastAttempt(t *testing.T, data, id string, at time.Time) {
	t.Helper()
	// The counter may be writing: wait for it as tiski does.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "journal.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	then := at.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
	if res, err := db.Exec(`UPDATE signin_failures SET last_at = ? WHERE user_id = ?`, then, id); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("no failed sign-ins of %s to backdate", id)
	}
}

// TestLockoutAfterFiveWrongPINs is issue 18's Done-when through the binary:
// a sixth sign-in attempt after five wrong PINs fails even with the right
// PIN, until IT runs `tiski users unlock`. Each attempt is a command taking
// --user with the PIN in TISKI_PIN, a process of its own.
func TestLockoutAfterFiveWrongPINs(t *testing.T) {
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data")}
	writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n") // recording needs it (issue 18)
	r.ok("4711\n", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.fixtureCatalogue()
	wrong := tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=0000"}}
	right := tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=4711"}}
	record := []string{"record", "paper", "--from", "testdata/records/paper.json", "--user"}

	// An unknown id's first failure reads as a user's, word for word.
	first, code := wrong.run("", append(record, "aino")...)
	nobody, _ := wrong.run("", append(record, "nobody")...)
	if code != 1 || !strings.Contains(first, "unknown user or wrong PIN. Tries left before the account is locked: 4.") || first != nobody {
		t.Fatalf("first failure (exit %d):\n%s\nan unknown id's:\n%s", code, first, nobody)
	}
	wrong.fails(1, "locked: 3.", "", append(record, "aino")...) // the first mistake costs no wait
	// The right PIN, too soon: refused without a check. The wait starts
	// now, whatever time the processes before took.
	lastAttempt(t, r.data, "aino", time.Now())
	right.fails(1, "too many wrong tries in a row. Wait ", "", append(record, "aino")...)
	for _, want := range []string{"locked: 2.", "locked: 1."} {
		backdate(t, r.data, "aino")
		wrong.fails(1, want, "", append(record, "aino")...)
	}
	backdate(t, r.data, "aino")
	wrong.fails(1, "the account aino is locked after 5 wrong tries in a row. IT must run: tiski users unlock aino", "", append(record, "aino")...)

	// The sixth, with the right PIN, an hour later: still locked.
	backdate(t, r.data, "aino")
	right.fails(1, "tiski users unlock aino", "", append(record, "aino")...)
	if out := r.ok("", "users", "list"); !strings.Contains(out, "locked (tiski users unlock aino)") {
		t.Errorf("users list does not show the lock:\n%s", out)
	}
	var users []map[string]any
	if err := json.Unmarshal([]byte(r.ok("", "users", "list", "--json")), &users); err != nil || len(users) != 1 ||
		users[0]["locked"] != true || users[0]["failed_signins"] != float64(5) {
		t.Errorf("users list --json: %v, %v", users, err)
	}

	r.fails(1, "There is no user ghost", "", "users", "unlock", "ghost")
	if out := r.ok("", "users", "unlock", "aino"); !strings.Contains(out, "Unlocked aino: cleared 5 failed sign-ins.") {
		t.Errorf("users unlock printed:\n%s", out)
	}
	if out := right.ok("", append(record, "aino")...); !strings.Contains(out, "recorded paper prescription") {
		t.Errorf("after the unlock:\n%s", out)
	}
	if out := r.ok("", "users", "unlock", "aino"); !strings.Contains(out, "aino is not locked") {
		t.Errorf("a second unlock printed:\n%s", out)
	}

	// The audit: each failure, the lockout and the unlock are records in
	// the hash chain, naming the id tried and never the PIN.
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(r.data, "journal.db"), journal.Options{Terminal: "test"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := j.List(ctx, journal.Filter{Kinds: []journal.Kind{journal.KindSignIn}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := j.Verify(ctx)
	j.Close()
	if err != nil || !rep.OK {
		t.Errorf("journal verify: %+v, %v", rep, err)
	}
	var events []string
	for _, rec := range recs {
		var a journal.SignInAudit
		json.Unmarshal(rec.Body, &a)
		events = append(events, a.Event+" "+a.User)
		if holdsPIN(string(rec.Body), "0000", "4711") {
			t.Errorf("an audit record holds a PIN: %s", rec.Body)
		}
	}
	want := "failed aino,failed nobody,failed aino,failed aino,failed aino,failed aino,locked aino,unlocked aino"
	if got := strings.Join(events, ","); got != want {
		t.Errorf("audit records:\n%s\nwant\n%s", got, want)
	}

	// tiski.log has a line for each failure, refusal, the lockout and the
	// unlock, and no PIN.
	logText, err := os.ReadFile(filepath.Join(r.data, "tiski.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(logText)
	for msg, n := range map[string]int{`"msg":"sign-in failed"`: 6, `"msg":"sign-in refused"`: 2, `"msg":"user locked"`: 1, `"msg":"user unlocked"`: 1} {
		if got := strings.Count(log, msg); got != n {
			t.Errorf("%d lines %s in tiski.log, want %d", got, msg, n)
		}
	}
	if holdsPIN(log, "0000", "4711") {
		t.Errorf("tiski.log holds a PIN:\n%s", log)
	}
}

// TestCounterLockoutInTmux: the built `tiski counter` in a terminal. Five
// wrong PINs, the screen counting the tries down; the sixth, with the right
// PIN, refused, saying what IT must run; IT runs it from another process
// while the counter runs; then the right PIN signs in.
func TestCounterLockoutInTmux(t *testing.T) {
	r := counterData(t)
	s := newTmux(t, 100, 30, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, tiskiBin+" counter --data "+r.data)
	s.waitFor("Sign in")
	s.keys("aino", "Enter")
	for n := 1; n < 5; n++ {
		if n > 1 {
			backdate(t, r.data, "aino") // the wait after the last failure has passed
		}
		s.keys("0000", "Enter")
		s.waitFor(fmt.Sprintf("Tries left before the account locks: %d.", 5-n))
	}
	backdate(t, r.data, "aino")
	s.keys("0000", "Enter")
	s.waitFor("tiski users unlock aino")
	backdate(t, r.data, "aino")
	s.keys("C-u", "4711", "Enter") // the right PIN: still locked
	// The screen says what it said; the log tells when the counter refused.
	logFile := filepath.Join(r.data, "tiski.log")
	deadline := time.Now().Add(15 * time.Second)
	for {
		text, _ := os.ReadFile(logFile)
		if strings.Contains(string(text), `"msg":"sign-in refused","user":"aino","reason":"locked"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the counter never refused the locked user; log:\n%s\nscreen:\n%s", text, s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sc := s.screen(); strings.Contains(sc, "Patient search") || !strings.Contains(sc, "The account aino is locked") {
		t.Fatalf("the right PIN while locked:\n%s", sc)
	}

	r.ok("", "users", "unlock", "aino")
	s.keys("4711", "Enter")
	s.waitFor("Patient search")
	s.waitFor("Aino Virtanen")
}

// timestamps matches RFC 3339 times, whose nanoseconds may hold any four
// digits.
var timestamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)

// holdsPIN reports whether text holds one of the PINs outside its
// timestamps.
func holdsPIN(text string, pins ...string) bool {
	text = timestamps.ReplaceAllString(text, "")
	for _, p := range pins {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}
