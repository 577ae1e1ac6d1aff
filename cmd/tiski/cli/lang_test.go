package cli

import (
	"os"
	"regexp"
	"testing"

	"github.com/tiski-rx/tiski/tui/i18n"
)

func TestMain(m *testing.M) {
	// The command line speaks Finnish unless told otherwise, as the counter
	// does; these tests read its English. Other languages are tested with
	// --lang in cmd/tiski/lang_e2e_test.go.
	os.Setenv("TISKI_LANG", "en")
	os.Exit(m.Run())
}

// TestDoctorChecksNamed fails when doctor.go adds a check whose name has
// no entry in doctorNames, so that no check shows its English name in a
// Finnish or Swedish report.
func TestDoctorChecksNamed(t *testing.T) {
	src, err := os.ReadFile("doctor.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := regexp.MustCompile(`\badd\("([^"]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(calls) < 10 {
		t.Fatalf("found only %d checks in doctor.go", len(calls))
	}
	for _, c := range calls {
		if _, ok := doctorNames[c[1]]; !ok {
			t.Errorf("check %q has no name in doctorNames", c[1])
		}
	}
}

// TestDoctorDetailEnglishInJSON: a finding's JSON detail is English in
// every language; its human text is in the language asked for.
func TestDoctorDetailEnglishInJSON(t *testing.T) {
	c := Check{Name: "disk", Status: "ok", Detail: i18n.EN.T(i18n.CLIDoctorDiskOK, 1024, "/data"), detail: i18n.CLIDoctorDiskOK, args: []any{1024, "/data"}}
	if c.Detail != "1024 MiB free in /data" {
		t.Errorf("JSON detail %q", c.Detail)
	}
	name, status, detail := c.say(i18n.FI)
	if name != "levytila" || status != "OK" || detail != "1024 MiB vapaana (/data)" {
		t.Errorf("in Finnish: %q %q %q", name, status, detail)
	}
	name, _, _ = Check{Name: "a new check", Status: "warn"}.say(i18n.SV)
	if name != "a new check" {
		t.Errorf("an unnamed check is shown as %q", name)
	}
}
