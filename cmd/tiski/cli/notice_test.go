package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// journalRecords counts the records in the journal of data folder dir.
func journalRecords(t *testing.T, dir string) int {
	t.Helper()
	j, err := journal.Open(t.Context(), filepath.Join(dir, "journal.db"), journal.Options{Terminal: "check"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recs, err := j.List(t.Context(), journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func noticesJSON(t *testing.T, dir, lang string) []rx.Notice {
	t.Helper()
	out, errOut, code := run(t, "--data", dir, "--lang", lang, "notice", "list", "--json")
	var ns []rx.Notice
	if code != ExitOK || json.Unmarshal([]byte(out), &ns) != nil {
		t.Fatalf("notice list --json: code %d, %q %q", code, out, errOut)
	}
	return ns
}

func auditLines(t *testing.T, dir, msg string) int {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "logs", "tiski.log"))
	if b == nil {
		b, _ = os.ReadFile(filepath.Join(dir, "tiski.log"))
	}
	return strings.Count(string(b), `"msg":"`+msg+`"`)
}

// tiski notice add|list|end keep Kela's notices with an audit line each;
// bad input is refused in the flag's terms and changes nothing; the JSON
// is the same in every language (issue 22).
func TestNoticeAddListEnd(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := run(t, "--data", dir, "--lang", "en", "notice", "add", "--kind", "maintenance",
		"--from", "2026-12-08 22:00", "--to", "9.12.2026 2.00", "--text", "Kanta maintenance break", "--ref", "KELA-118")
	if code != ExitOK || !strings.Contains(out, "maintenance break 2026-12-08 22:00–2026-12-09 02:00") {
		t.Fatalf("add: code %d, %q %q", code, out, errOut)
	}
	if _, _, code := run(t, "--data", dir, "notice", "add", "--kind", "fault", "--from", "2026-12-07T09:40:00+02:00",
		"--text", "Reseptikeskus: toimitukset epäonnistuvat"); code != ExitOK {
		t.Fatalf("add fault: code %d", code)
	}
	ns := noticesJSON(t, dir, "en")
	if len(ns) != 2 || ns[0].Kind != rx.NoticeFault || ns[1].Kind != rx.NoticeMaintenance || ns[1].Ref != "KELA-118" ||
		!ns[1].From.Equal(time.Date(2026, 12, 8, 22, 0, 0, 0, time.Local)) || !ns[1].To.Equal(time.Date(2026, 12, 9, 2, 0, 0, 0, time.Local)) {
		t.Fatalf("notices %+v", ns)
	}
	fi, _, _ := run(t, "--data", dir, "--lang", "fi", "notice", "list", "--json")
	sv, _, _ := run(t, "--data", dir, "--lang", "sv", "notice", "list", "--json")
	if fi != sv {
		t.Fatalf("JSON differs by language:\n%s\n%s", fi, sv)
	}
	for lang, want := range map[string]string{"fi": "huoltokatko", "sv": "serviceavbrott", "en": "maintenance break"} {
		out, _, _ := run(t, "--data", dir, "--lang", lang, "notice", "list")
		if !strings.Contains(out, want) || !strings.Contains(out, journal.ShortID(ns[1].ID)) {
			t.Errorf("list --lang %s: %q lacks %q", lang, out, want)
		}
	}
	if n := auditLines(t, dir, "notice added"); n != 2 {
		t.Errorf("%d audit lines 'notice added', want 2", n)
	}

	// Bad input: a clear error, and nothing changed.
	records := journalRecords(t, dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "outage", "--from", "2026-12-08 22:00", "--to", "2026-12-09 02:00", "--text", "x"}, "--kind must be fault or maintenance"},
		{[]string{"--kind", "maintenance", "--from", "2026-12-32 22:00", "--to", "2026-12-09 02:00", "--text", "x"}, "day out of range"},
		{[]string{"--kind", "maintenance", "--from", "tonight", "--to", "2026-12-09 02:00", "--text", "x"}, "write the local time as 2026-12-08 22:00"},
		{[]string{"--kind", "fault", "--from", "2026-12-08", "--text", "x"}, "the time of day is missing"},
		{[]string{"--kind", "maintenance", "--from", "2026-12-08 22:00", "--to", "2026-12-08 21:00", "--text", "x"}, "is not after --from"},
		{[]string{"--kind", "maintenance", "--from", "2026-12-08 22:00", "--text", "x"}, "--to TIME is required"},
		{[]string{"--kind", "fault", "--from", "2026-12-08 22:00", "--text", "  "}, "--text TEXT is required"},
	} {
		_, errOut, code := run(t, append([]string{"--data", dir, "notice", "add"}, tc.args...)...)
		if code == ExitOK || !strings.Contains(errOut, tc.want) {
			t.Errorf("add %v: code %d, %q; want an error saying %q", tc.args, code, errOut, tc.want)
		}
	}
	if _, errOut, code := run(t, "--data", dir, "notice", "end", "nosuchid"); code == ExitOK || !strings.Contains(errOut, "No notice nosuchid") {
		t.Errorf("end of no notice: code %d, %q", code, errOut)
	}
	if got := journalRecords(t, dir); got != records {
		t.Fatalf("bad input changed the journal: %d records, were %d", got, records)
	}
	if got := noticesJSON(t, dir, "en"); len(got) != 2 || !got[0].EndedAt.IsZero() || !got[1].EndedAt.IsZero() {
		t.Fatalf("bad input changed the notices: %+v", got)
	}

	// End: by its short id, once.
	out, errOut, code = run(t, "--data", dir, "--lang", "en", "notice", "end", journal.ShortID(ns[1].ID))
	if code != ExitOK || !strings.Contains(out, "Notice "+journal.ShortID(ns[1].ID)+" ended") {
		t.Fatalf("end: code %d, %q %q", code, out, errOut)
	}
	if _, errOut, code := run(t, "--data", dir, "notice", "end", ns[1].ID); code == ExitOK || !strings.Contains(errOut, "over already") {
		t.Fatalf("second end: code %d, %q", code, errOut)
	}
	if got := noticesJSON(t, dir, "en"); got[1].EndedAt.IsZero() || got[1].EndedBy == "" || !got[0].EndedAt.IsZero() {
		t.Fatalf("after end: %+v", got)
	}
	if n := auditLines(t, dir, "notice ended"); n != 1 {
		t.Errorf("%d audit lines 'notice ended', want 1", n)
	}
}

// A planned break in force is FAULT in `tiski mode status` at once, from a
// process with no counter running, with the notice as its cause.
func TestModeStatusShowsPlannedBreak(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	if _, _, code := run(t, "--data", dir, "notice", "add", "--kind", "maintenance", "--from", now.Add(time.Hour).Format(time.RFC3339),
		"--to", now.Add(2*time.Hour).Format(time.RFC3339), "--text", "Later break"); code != ExitOK {
		t.Fatal("add")
	}
	out, _, _ := run(t, "--data", dir, "mode", "status")
	if !strings.HasPrefix(out, "ONLINE") {
		t.Fatalf("a break an hour away: %q, want ONLINE", out)
	}
	if _, _, code := run(t, "--data", dir, "notice", "add", "--kind", "maintenance", "--from", now.Add(-time.Minute).Format(time.RFC3339),
		"--to", now.Add(time.Hour).Format(time.RFC3339), "--text", "Kanta maintenance now"); code != ExitOK {
		t.Fatal("add")
	}
	out, _, _ = run(t, "--data", dir, "--lang", "en", "mode", "status")
	if !strings.HasPrefix(out, "FAULT\n") || !strings.Contains(out, "planned break") || !strings.Contains(out, "Kela's maintenance break in force until") {
		t.Fatalf("in the break: %q", out)
	}
	var st rx.ModeState
	out, _, _ = run(t, "--data", dir, "mode", "status", "--json")
	if json.Unmarshal([]byte(out), &st) != nil || st.Mode != rx.ModeFault || st.Override || !strings.Contains(st.Cause, "Kanta maintenance now") {
		t.Fatalf("mode status --json in the break: %q", out)
	}
}
