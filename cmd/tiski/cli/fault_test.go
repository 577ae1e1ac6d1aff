package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/triage"
)

// TestFaultTriage checks that the calls of `tiski sync run` reach the fault
// log through the one client the commands build, and that `tiski fault
// triage` reads them from another process's journal: the verdict, its exit
// code, JSON the same in every language and the human output in each.
func TestFaultTriage(t *testing.T) {
	sim, data := syncFixture(t)
	if _, errOut, code := run(t, "sync", "run", "--centre", sim.URL(), "--data", data); code != ExitConflicts {
		t.Fatalf("sync run: exit %d: %s", code, errOut)
	}
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{Terminal: "kassa-1", SkipIntegrityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	logged, err := j.FaultCalls(ctx, time.Now().Add(-time.Hour), 0)
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, c := range logged {
		ops[c.Op]++
	}
	if ops[centre.OpWrite] == 0 || len(logged) < 2 {
		t.Fatalf("the fault log after sync run holds %v (%d calls), want its writes", ops, len(logged))
	}

	t.Run("none", func(t *testing.T) {
		out, errOut, code := run(t, "fault", "triage", "--json", "--centre", sim.URL(), "--data", data)
		var r triage.Result
		if code != ExitTriageNone || json.Unmarshal([]byte(out), &r) != nil || r.Verdict != triage.None {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})
	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultError}); err != nil {
		t.Fatal(err)
	}
	defer sim.SetFault(centresim.Fault{Kind: centresim.FaultUp})
	var first string
	for _, lang := range []string{"fi", "sv", "en"} {
		out, errOut, code := run(t, "fault", "triage", "--json", "--lang", lang, "--centre", sim.URL(), "--data", data)
		var r triage.Result
		if code != ExitTriageKanta || json.Unmarshal([]byte(out), &r) != nil || r.Verdict != triage.Kanta {
			t.Fatalf("%s: exit %d: %s %s", lang, code, out, errOut)
		}
		keys := regexp.MustCompile(`"[a-z_]+":`).FindAllString(out, -1)
		if first == "" {
			first = strings.Join(keys, "")
		} else if strings.Join(keys, "") != first {
			t.Errorf("%s: the JSON keys differ from fi's", lang)
		}
	}
	for lang, want := range map[string][]string{
		"fi": {"Vianselvitys", "Tulos: kanta", "Perusteet", "/metadata vastasi 500"},
		"sv": {"Felsökning", "Resultat: kanta", "Grunder"},
		"en": {"Triage: where the fault lies", "Verdict: kanta", "Evidence", "Recent calls by operation"},
	} {
		out, _, code := run(t, "fault", "triage", "--lang", lang, "--centre", sim.URL(), "--data", data)
		if code != ExitTriageKanta {
			t.Errorf("%s: exit %d", lang, code)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", lang, w, out)
			}
		}
		if regexp.MustCompile(`\d{6}[-+A]\d{3}[0-9A-Y]`).MatchString(out) {
			t.Errorf("%s: output holds an identity code:\n%s", lang, out)
		}
	}
}
