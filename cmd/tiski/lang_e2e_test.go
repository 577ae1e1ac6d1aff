package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/centresim"
)

// langData makes a data folder as a pharmacy has it: a configuration that
// names the pharmacy and a running simulator, a pharmacist, and records
// waiting for upload, so that sync status, journal verify and doctor each
// have something to say.
func langData(t *testing.T) tiskiRun {
	t.Helper()
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data")}
	writeConfig(t, r.data, fmt.Sprintf("[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n[centre]\nurl = %q\n", srv.URL()))
	r.ok("4711\n", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.fixtureCatalogue()
	pharmacist := tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=4711"}}
	pharmacist.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	return r
}

// TestLangHumanOutput runs sync status, journal verify and doctor in
// Finnish and Swedish: each speaks the language asked for, with none of
// its English left, and exits as it does in English.
func TestLangHumanOutput(t *testing.T) {
	r := langData(t)
	tests := []struct {
		lang     string
		want     map[string][]string // command → phrases it must print
		notWant  []string            // English that must not appear
		wantCode map[string]int
	}{
		{
			lang: "fi",
			want: map[string][]string{
				"sync status":    {"Tila:", "ONLINE – yhteys toimii", "Odottaa:", "Lähetetään:", "Uusi yritys:", "Ristiriita:", "Hylätty:", "Sivussa:", "Mitätöity:", "Lähetetty:", "Vanhin odottava:", "sitten)", "Viimeisin lähetys:  ei vielä", "Viimeisin virhe:    ei mitään"},
				"journal verify": {"Päiväkirja ", "on eheä: 2 tietuetta, tiivisteketju tarkistettu, eheystarkistus ok."},
				"doctor":         {"OK", "asetukset", "Apteekki Tiski, pääte", "Reseptikeskus", "OHITETTU", "varmenteet", "asiakasvarmennetta ei ole määritetty", "salaamaton HTTP", "levytila", "MiB vapaana", "päiväkirja", "2 tietuetta, tiivisteketju ja eheys tarkistettu", "lähetysjono", "lähetystä odottavia tietueita: 2, vanhin kirjattu"},
			},
			notWant: []string{"Pending", "Sending", "Retry", "Oldest", "Last ", "never", "none", "Journal", "intact", "records", "hash chain", "verified", "WARN", "SKIP", "configuration", "certificate", "plain HTTP", "free in", "waiting for upload", "prescription centre", "terminal"},
		},
		{
			lang: "sv",
			want: map[string][]string{
				"sync status":    {"Läge:", "ONLINE – förbindelsen fungerar", "Väntar:", "Skickas:", "Nytt försök:", "Konflikt:", "Avvisade:", "Parkerade:", "Makulerade:", "Skickade:", "Äldsta väntande:", "sedan)", "Senast skickat:   ännu inte", "Senaste fel:      inget"},
				"journal verify": {"Journalen ", "är intakt: 2 poster, hashkedjan verifierad, integritetskontrollen ok."},
				"doctor":         {"OK", "inställningar", "Apteekki Tiski, terminal", "Receptcentret", "ÖVERHOPPAD", "certifikat", "inget klientcertifikat konfigurerat", "okrypterad HTTP", "diskutrymme", "MiB ledigt i", "journal", "2 poster, hashkedja och integritet verifierade", "sändningskö", "poster som väntar på att skickas: 2, den äldsta från"},
			},
			notWant: []string{"Pending", "Sending", "Retry", "Oldest", "Last ", "never", "none", "intact", "records", "hash chain", "verified", "WARN", "SKIP", "configuration", "certificate", "plain HTTP", "free in", "waiting for upload", "prescription centre"},
		},
	}
	codes := map[string]int{}
	for _, command := range []string{"sync status", "journal verify", "doctor"} {
		_, codes[command] = r.run("", append([]string{"--lang", "en"}, strings.Fields(command)...)...)
	}
	if codes["sync status"] != 3 || codes["journal verify"] != 0 || codes["doctor"] != 0 {
		t.Fatalf("exit codes in English: %v; want sync status 3 (records pending), journal verify 0, doctor 0", codes)
	}
	for _, tt := range tests {
		for command, want := range tt.want {
			t.Run(tt.lang+" "+command, func(t *testing.T) {
				// --lang wins over TISKI_LANG=en, which TestMain sets.
				out, code := r.run("", append([]string{"--lang", tt.lang}, strings.Fields(command)...)...)
				if code != codes[command] {
					t.Errorf("exit %d, in English %d", code, codes[command])
				}
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("does not say %q", w)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(out, w) {
						t.Errorf("still says %q in English", w)
					}
				}
				if t.Failed() {
					t.Logf("output:\n%s", out)
				}
			})
		}
	}
}

// TestLangJSONSameInEveryLanguage: --json is for scripts, so its keys and
// values, and the exit code, do not depend on the language.
func TestLangJSONSameInEveryLanguage(t *testing.T) {
	r := langData(t)
	// Timings and ages change from one run to the next.
	moving := regexp.MustCompile(`"oldest_pending_seconds":\d+|\d+(\.\d+)?(ns|µs|ms|s)\b|\d+ MiB`)
	for _, command := range []string{"sync status", "journal verify", "doctor", "queue list", "conflicts list", "mode status", "config show"} {
		t.Run(command, func(t *testing.T) {
			var first, firstLang string
			firstCode := -1
			for _, lang := range []string{"en", "fi", "sv"} {
				out, code := r.run("", append([]string{"--lang", lang}, append(strings.Fields(command), "--json")...)...)
				var v any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatalf("--lang %s: not JSON: %v\n%s", lang, err, out)
				}
				if command == "config show" {
					// The one value that differs is the language asked for.
					out = strings.Replace(out, `"value": "`+lang+`",
      "source": "flag"`, `"value": "*",
      "source": "flag"`, 1)
				}
				out = moving.ReplaceAllString(out, "#")
				if firstCode < 0 {
					first, firstLang, firstCode = out, lang, code
					continue
				}
				if code != firstCode {
					t.Errorf("--lang %s exits %d, --lang %s %d", lang, code, firstLang, firstCode)
				}
				if out != first {
					t.Errorf("--lang %s prints other JSON than --lang %s:\n%s\n%s", lang, firstLang, out, first)
				}
			}
		})
	}
}

// TestLangPrecedence: --lang, then TISKI_LANG, then config.toml's
// language, then Finnish.
func TestLangPrecedence(t *testing.T) {
	dir := t.TempDir()
	verify := func(t *testing.T, data string, env []string, args ...string) string {
		t.Helper()
		return tiskiRun{t: t, data: data, env: env}.ok("", append(args, "journal", "verify")...)
	}
	inLang := map[string]string{"fi": "on eheä", "sv": "är intakt", "en": "is intact"}
	noFile := filepath.Join(dir, "plain")
	withFile := filepath.Join(dir, "sv")
	writeConfig(t, withFile, "language = \"sv\"\n")
	tests := []struct {
		name string
		data string
		env  []string
		args []string
		want string
	}{
		{"default is Finnish", noFile, []string{"TISKI_LANG="}, nil, "fi"},
		{"config file", withFile, []string{"TISKI_LANG="}, nil, "sv"},
		{"environment over file", withFile, []string{"TISKI_LANG=en"}, nil, "en"},
		{"flag over environment", withFile, []string{"TISKI_LANG=en"}, []string{"--lang", "fi"}, "fi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := verify(t, tt.data, tt.env, tt.args...)
			for lang, phrase := range inLang {
				if got := strings.Contains(out, phrase); got != (lang == tt.want) {
					t.Errorf("says %q: %v; want %s:\n%s", phrase, got, tt.want, out)
				}
			}
		})
	}
}

// TestLangUnknown: a language tiski does not speak is a usage error (2)
// that names the ones it does, and nothing runs.
func TestLangUnknown(t *testing.T) {
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data")}
	for _, bad := range []string{"de", "finnish", ""} {
		out, code := r.run("", "--lang", bad, "journal", "verify")
		if code != 2 || !strings.Contains(out, `"`+bad+`" is not a language of tiski`) || !strings.Contains(out, "fi, sv, en") {
			t.Errorf("--lang %q: exit %d:\n%s", bad, code, out)
		}
		if strings.Contains(out, "intact") || strings.Contains(out, "eheä") {
			t.Errorf("--lang %q ran the command:\n%s", bad, out)
		}
	}
}

// TestLangOtherCommands: the commands pharmacy IT reads next, queue list
// and show, conflicts list, mode status, config show and record's
// confirmation, speak Finnish and Swedish too.
func TestLangOtherCommands(t *testing.T) {
	r := langData(t)
	const paper = "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a10"
	type check struct {
		args    []string
		want    []string // regular expressions
		notWant []string
	}
	english := []string{"SEQ", "KIND", "STATE", "pending", "paper_prescription", "Pharmacist", "Queue", "Content", "attempt", "No conflicts", "Configuration file", "VALUE", "recorded", "queued for upload", "held manually"}
	tests := map[string][]check{
		"fi": {
			{[]string{"queue", "list"}, []string{"NRO", "TUNNISTE", "TIETUE", "TILA", "paperiresepti", "toimitus", "odottaa"}, english},
			{[]string{"queue", "show", paper}, []string{`Tietue\s+` + paper, `Laji\s+paperiresepti`, `Farmaseutti\s+aino, pääte \S+, tila ONLINE`, `Potilas\s+131052-\*\*\*Y`, `Jono\s+odottaa, yrityksiä 0`, `Sisältö\s+\{`}, english},
			{[]string{"conflicts", "list"}, []string{regexp.QuoteMeta("Ei ristiriitoja: mikään ei odota farmaseutin ratkaisua.")}, english},
			{[]string{"config", "show"}, []string{"Asetustiedosto:", "AVAIN", "ARVO", "LÄHDE", "YMPÄRISTÖMUUTTUJA"}, english},
			{[]string{"mode", "fault", "--reason", "Kelan häiriötiedote"}, []string{regexp.QuoteMeta("FAULT (asetettu käsin; 'tiski mode auto' palauttaa automaattisen tilan)"), "alkaen: "}, english},
			{[]string{"mode", "auto"}, []string{"alkaen: "}, append(english, "asetettu käsin")},
		},
		"sv": {
			{[]string{"queue", "list"}, []string{"NR", "POST", "STATUS", "pappersrecept", "expediering", "väntar"}, english},
			{[]string{"queue", "show", paper}, []string{`Post\s+` + paper, `Typ\s+pappersrecept`, `Farmaceut\s+aino, terminal \S+, läge ONLINE`, `Patient\s+131052-\*\*\*Y`, `Kö\s+väntar, försök 0`, `Innehåll\s+\{`}, english},
			{[]string{"conflicts", "list"}, []string{regexp.QuoteMeta("Inga konflikter: inget väntar på farmaceutens granskning.")}, english},
			{[]string{"config", "show"}, []string{"Konfigurationsfil:", "NYCKEL", "VÄRDE", "KÄLLA", "MILJÖVARIABEL"}, english},
			{[]string{"mode", "fault", "--reason", "Kelas störningsmeddelande"}, []string{regexp.QuoteMeta("FAULT (satt manuellt; 'tiski mode auto' återgår till automatiskt läge)"), "sedan "}, english},
			{[]string{"mode", "auto"}, []string{"sedan "}, append(english, "satt manuellt")},
		},
	}
	for lang, checks := range tests {
		for _, c := range checks {
			t.Run(lang+" "+strings.Join(c.args[:2], " "), func(t *testing.T) {
				out := r.ok("", append([]string{"--lang", lang}, c.args...)...)
				for _, w := range c.want {
					if !regexp.MustCompile(w).MatchString(out) {
						t.Errorf("does not say %q", w)
					}
				}
				for _, w := range c.notWant {
					if strings.Contains(out, w) {
						t.Errorf("still says %q in English", w)
					}
				}
				if t.Failed() {
					t.Logf("output:\n%s", out)
				}
			})
		}
	}
	// record's confirmation, in Swedish.
	pharmacist := tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=4711"}}
	out := pharmacist.ok("", "--lang", "sv", "record", "telephone", "--from", "testdata/records/telephone.json", "--user", "aino")
	if !strings.Contains(out, "registrerad: telefonrecept #") || !strings.Contains(out, "i kö för att skickas") || strings.Contains(out, "recorded") {
		t.Errorf("record --lang sv printed:\n%s", out)
	}
	out = pharmacist.ok("", "--lang", "fi", "record", "telephone", "--from", "testdata/records/telephone.json", "--user", "aino")
	if !strings.Contains(out, "kirjattu jo (puhelinresepti #") || strings.Contains(out, "already") {
		t.Errorf("record --lang fi, again, printed:\n%s", out)
	}
}
