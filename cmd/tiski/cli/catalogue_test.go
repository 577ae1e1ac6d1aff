package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/tiski-rx/tiski/pkg/catalogue"
)

func writeFimea(t *testing.T, dir, name, text string) string {
	t.Helper()
	b, err := charmap.ISO8859_1.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func catalogueStatusJSON(t *testing.T, dir, lang string) (catalogueStatus, string) {
	t.Helper()
	out, errOut, code := run(t, "--data", dir, "--lang", lang, "catalogue", "status", "--json")
	var s catalogueStatus
	if code != ExitOK || json.Unmarshal([]byte(out), &s) != nil {
		t.Fatalf("catalogue status --json: code %d, %q %q", code, out, errOut)
	}
	return s, out
}

// tiski catalogue import --fimea then status: the imported count, the
// source named as CC BY 4.0 asks, in fi, sv and en, with --json the same
// in each; a bad file is refused naming what is wrong, and the old
// catalogue stays (issue 24).
func TestCatalogueImportStatus(t *testing.T) {
	dir := t.TempDir()
	src := t.TempDir()
	if s, _ := catalogueStatusJSON(t, dir, "en"); s.Imported || s.Count != 0 {
		t.Fatalf("before any import: %+v", s)
	}
	for lang, want := range map[string]string{"fi": "Lääkeluetteloa ei ole tuotu", "sv": "Ingen läkemedelskatalog", "en": "No medicine catalogue"} {
		if out, _, code := run(t, "--data", dir, "--lang", lang, "catalogue", "status"); code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("status --lang %s before import: code %d, %q", lang, code, out)
		}
	}
	good := writeFimea(t, src, "vaihtokelpoiset.txt",
		"VNRNRO;LISÄTIETO;LAAKENIMI;SUBSTITUUTIORYHMA;VAHVUUS;RESEPTISTATUS;PAKKAUSKOKO\r\n"+
			"123456;;Önnellinen Äijä;9;5 mg;R;30 fol\r\n"+
			"234567;x;Burana;10;400 mg;K;20 kpl\r\n")
	out, errOut, code := run(t, "--data", dir, "--lang", "en", "catalogue", "import", "--fimea", good, "--date", "2026-12-01")
	if code != ExitOK || !strings.Contains(out, "imported, packages 2 (") || !strings.Contains(out, "CC BY 4.0") {
		t.Fatalf("import: code %d, %q %q", code, out, errOut)
	}
	if n := auditLines(t, dir, "catalogue imported"); n != 1 {
		t.Errorf("%d audit lines 'catalogue imported', want 1", n)
	}
	s, fi := catalogueStatusJSON(t, dir, "fi")
	today := time.Now()
	if !s.Imported || s.Count != 2 || s.Source != catalogue.SourceFimea || s.Version != "vaihtokelpoiset.txt" ||
		s.Date.Local().Format(time.DateOnly) != "2026-12-01" || s.NextDue != catalogue.NextDue(today).Format(time.DateOnly) || s.Overdue ||
		!strings.Contains(s.Attribution, "Kela") || !strings.Contains(s.Attribution, "CC BY 4.0") || s.File != filepath.Join(dir, "catalogue.db") {
		t.Fatalf("status %+v", s)
	}
	for _, lang := range []string{"sv", "en"} {
		if _, other := catalogueStatusJSON(t, dir, lang); other != fi {
			t.Fatalf("JSON differs by language:\n%s\n%s", fi, other)
		}
	}
	for lang, want := range map[string][]string{
		"fi": {"Pakkauksia:          2", "Fimea, vaihtokelpoisten", "Seuraava päivitys:  " + s.NextDue, "Kela", "CC BY 4.0"},
		"sv": {"Förpackningar:      2", "Fimea, förteckning", "Nästa uppdatering:  " + s.NextDue, "FPA", "CC BY 4.0"},
		"en": {"Packages:           2", "Fimea, list of", "Next update due:    " + s.NextDue, "Kela", "CC BY 4.0"},
	} {
		out, _, code := run(t, "--data", dir, "--lang", lang, "catalogue", "status")
		for _, w := range want {
			if code != ExitOK || !strings.Contains(out, w) {
				t.Errorf("status --lang %s: code %d, %q lacks %q", lang, code, out, w)
			}
		}
	}
	c, err := catalogue.Open(t.Context(), s.File)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p, err := c.ByVNR(t.Context(), "123456"); err != nil || p.Name != "Önnellinen Äijä" || p.Strength != "5 mg" {
		t.Fatalf("ByVNR = %+v, %v", p, err)
	}

	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"missing LAAKENIMI", "VNRNRO;SUBSTITUUTIORYHMA;VAHVUUS;RESEPTISTATUS;PAKKAUSKOKO\r\n345678;9;5 mg;R;30 fol\r\n",
			[]string{"LAAKENIMI", "was not changed"}},
		{"cut off", "VNRNRO;LAAKENIMI;SUBSTITUUTIORYHMA;VAHVUUS;RESEPTISTATUS;PAKKAUSKOKO\r\n345678;Uusi;9;5 mg;R;30 fol\r\n456789;Kesken;9",
			[]string{"line 3", "cut off", "was not changed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := writeFimea(t, src, "bad.txt", tc.text)
			_, errOut, code := run(t, "--data", dir, "--lang", "en", "catalogue", "import", "--fimea", bad)
			if code != ExitFailed {
				t.Fatalf("import: code %d, %q", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("error %q does not say %q", errOut, w)
				}
			}
			if after, _ := catalogueStatusJSON(t, dir, "en"); after.Count != 2 || after.Version != "vaihtokelpoiset.txt" {
				t.Fatalf("after a bad import: %+v", after)
			}
		})
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"catalogue", "import"}, "--fimea FILE is required"},
		{"bad date", []string{"catalogue", "import", "--fimea", good, "--date", "tomorrow"}, "2026-12-15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, append([]string{"--data", dir}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Fatalf("code %d, %q", code, errOut)
			}
		})
	}
	if _, errOut, code := run(t, "--data", dir, "catalogue", "import", "--fimea", filepath.Join(src, "nope.txt")); code != ExitFailed || !strings.Contains(errOut, "nope.txt") {
		t.Fatalf("a missing file: code %d, %q", code, errOut)
	}
	// The reader opened before, as a counter holds it, answers from the
	// next good import without being reopened.
	if p, err := c.ByVNR(t.Context(), "123456"); err != nil || p.Name != "Önnellinen Äijä" {
		t.Fatalf("after the bad imports, ByVNR = %+v, %v", p, err)
	}
	next := writeFimea(t, src, "vaihtokelpoiset-2.txt", "VNRNRO;LAAKENIMI;SUBSTITUUTIORYHMA;VAHVUUS;RESEPTISTATUS;PAKKAUSKOKO\r\n"+
		"123456;Önnellinen Äijä;9;10 mg;R;30 fol\r\n345678;Särkyä Pois;10;200 mg;K;10 kpl\r\n456789;Öinen;11;1 mg;R;20 fol\r\n")
	if _, errOut, code := run(t, "--data", dir, "catalogue", "import", "--fimea", next, "--version", "2026-12-15"); code != ExitOK {
		t.Fatalf("second import: code %d, %q", code, errOut)
	}
	if p, err := c.ByVNR(t.Context(), "123456"); err != nil || p.Strength != "10 mg" {
		t.Fatalf("after the second import, ByVNR = %+v, %v", p, err)
	}
	if info, err := c.Info(t.Context()); err != nil || info.Count != 3 || info.Version != "2026-12-15" {
		t.Fatalf("after the second import, Info = %+v, %v", info, err)
	}
}

// A catalogue imported before its due date is overdue from that date on.
func TestCatalogueOverdue(t *testing.T) {
	imported := time.Date(2026, 11, 20, 10, 0, 0, 0, time.Local)
	info := catalogue.Info{Source: catalogue.SourceFimea, Version: "v", Date: imported, ImportedAt: imported, Count: 1}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2026, 11, 30, 23, 59, 0, 0, time.Local), false},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.Local), true},
		{time.Date(2026, 12, 7, 21, 0, 0, 0, time.Local), true},
	} {
		s := newCatalogueStatus("f", info, true, tc.now)
		if s.NextDue != "2026-12-01" || s.Overdue != tc.want {
			t.Errorf("at %s: next due %s, overdue %v; want 2026-12-01, %v", tc.now, s.NextDue, s.Overdue, tc.want)
		}
	}
}

// TestDoctorCatalogue: tiski doctor warns when no catalogue has been
// imported, says what it holds when it is current, and warns when it
// missed its due date (issue 24).
func TestDoctorCatalogue(t *testing.T) {
	dir := t.TempDir()
	catalogueCheck := func(now time.Time) Check {
		t.Helper()
		f := &Factory{IO: IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, Getenv: os.Getenv,
			configFlags: map[string]string{}, dataDir: dir}
		defer f.close()
		for _, c := range doctorChecks(context.Background(), &DoctorOptions{Factory: f, Now: func() time.Time { return now }}) {
			if c.Name == "catalogue" {
				return c
			}
		}
		t.Fatal("doctor made no catalogue check")
		return Check{}
	}
	if c := catalogueCheck(time.Now()); c.Status != "warn" || !strings.Contains(c.Detail, "no medicine catalogue imported") {
		t.Errorf("before any import: %+v", c)
	}
	good := writeFimea(t, t.TempDir(), "vaihtokelpoiset.txt",
		"VNRNRO;LAAKENIMI;SUBSTITUUTIORYHMA;VAHVUUS;RESEPTISTATUS;PAKKAUSKOKO\r\n123456;Önnellinen Äijä;9;5 mg;R;30 fol\r\n")
	if _, errOut, code := run(t, "--data", dir, "catalogue", "import", "--fimea", good, "--version", "2026-12", "--date", "2026-12-01"); code != ExitOK {
		t.Fatalf("import: %d %s", code, errOut)
	}
	now := time.Now()
	if c := catalogueCheck(now); c.Status != "ok" || !strings.Contains(c.Detail, "1 packages (2026-12)") {
		t.Errorf("just imported: %+v", c)
	}
	if c := catalogueCheck(now.AddDate(0, 1, 0)); c.Status != "warn" || !strings.Contains(c.Detail, "missed its update due") {
		t.Errorf("a month later: %+v", c)
	}
}
