package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/journal"
)

func faultReportsJSON(t *testing.T, dir, lang string) []journal.FaultReport {
	t.Helper()
	out, errOut, code := run(t, "--data", dir, "--lang", lang, "fault", "reports", "--json")
	var rs []journal.FaultReport
	if code != ExitOK || json.Unmarshal([]byte(out), &rs) != nil {
		t.Fatalf("fault reports --json: code %d, %q %q", code, out, errOut)
	}
	return rs
}

// tiski fault reported marks that a fault was reported, with an audit line
// that leaves the note out; bad input is refused in the flag's terms and
// writes nothing; tiski fault reports lists the marks, the JSON the same in
// every language (issue 22).
func TestFaultReported(t *testing.T) {
	dir := t.TempDir()
	if rs := faultReportsJSON(t, dir, "en"); len(rs) != 0 {
		t.Fatalf("a new journal holds %d fault reports", len(rs))
	}
	if out, _, code := run(t, "--data", dir, "--lang", "en", "fault", "reports"); code != ExitOK || !strings.Contains(out, "No fault reports marked.") {
		t.Fatalf("reports of none: code %d, %q", code, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--to is required: helpdesk (your own IT helpdesk) or kela"},
		{[]string{"--to", "kanta"}, `--to must be helpdesk (your own IT helpdesk) or kela (Kela's technical support), not "kanta"`},
		{[]string{"--to", "helpdesk", "--note", "Matti 131052-308T got nothing"}, "note: holds what looks like a personal identity code"},
		{[]string{"--to", "kela", "--note", strings.Repeat("x", 501)}, "note: is 501 characters; keep it to 500"},
	} {
		_, errOut, code := run(t, append([]string{"--data", dir, "fault", "reported"}, tc.args...)...)
		if code == ExitOK || !strings.Contains(errOut, tc.want) {
			t.Errorf("reported %v: code %d, %q; want an error saying %q", tc.args, code, errOut, tc.want)
		}
		if strings.Contains(errOut, "131052-308T") {
			t.Errorf("the error repeats the identity code: %q", errOut)
		}
	}
	if n := journalRecords(t, dir); n != 0 {
		t.Fatalf("bad input wrote %d records", n)
	}

	out, errOut, code := run(t, "--data", dir, "--lang", "en", "fault", "reported", "--to", "Helpdesk", "--ref", "HD-4711", "--note", "phoned Pekka")
	if code != ExitOK || !strings.HasPrefix(out, "Marked: the fault was reported to the helpdesk (") {
		t.Fatalf("reported: code %d, %q %q", code, out, errOut)
	}
	out, _, code = run(t, "--data", dir, "--lang", "fi", "fault", "reported", "--to", "kela")
	if code != ExitOK || !strings.Contains(out, "vika ilmoitettu Kelan tekniseen tukeen") {
		t.Fatalf("reported to kela in Finnish: code %d, %q", code, out)
	}
	rs := faultReportsJSON(t, dir, "en")
	if len(rs) != 2 || rs[0].To != journal.ReportToHelpdesk || rs[0].Ref != "HD-4711" || rs[0].Note != "phoned Pekka" || rs[0].By == "" ||
		rs[1].To != journal.ReportToKela || rs[0].Time.After(rs[1].Time) {
		t.Fatalf("fault reports %+v", rs)
	}
	fi, _, _ := run(t, "--data", dir, "--lang", "fi", "fault", "reports", "--json")
	sv, _, _ := run(t, "--data", dir, "--lang", "sv", "fault", "reports", "--json")
	if fi != sv {
		t.Fatalf("JSON differs by language:\n%s\n%s", fi, sv)
	}
	for lang, want := range map[string]string{"fi": "IT-tuki", "sv": "IT-stödet", "en": "helpdesk"} {
		out, _, _ := run(t, "--data", dir, "--lang", lang, "fault", "reports")
		if !strings.Contains(out, want) || !strings.Contains(out, "HD-4711") {
			t.Errorf("reports --lang %s: %q lacks %q", lang, out, want)
		}
	}
	if out, _, code := run(t, "--data", dir, "fault", "reports", "--since", "1h", "--json"); code != ExitOK || strings.Count(out, `"to"`) != 2 {
		t.Errorf("reports --since 1h: code %d, %q", code, out)
	}
	if n := auditLines(t, dir, "fault reported"); n != 2 {
		t.Errorf("%d audit lines 'fault reported', want 2", n)
	}
	for _, name := range []string{filepath.Join(dir, "logs", "tiski.log"), filepath.Join(dir, "tiski.log")} {
		if b, _ := os.ReadFile(name); strings.Contains(string(b), "phoned Pekka") {
			t.Errorf("the note is in the log %s", name)
		}
	}
}
