package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// drillReport is the part of `tiski drill report --json` these tests read.
type drillReport struct {
	Pass    bool           `json:"pass"`
	Played  bool           `json:"played"`
	Records map[string]int `json:"records"`
	Faults  []struct {
		DetectSec *float64 `json:"detect_seconds"`
	} `json:"faults"`
	ReconcileSec     *float64 `json:"reconcile_seconds"`
	ViolationsCaught int      `json:"violations_caught"`
	CaughtRules      []string `json:"caught_rules"`
	Checks           []struct {
		Name string `json:"name"`
		Pass bool   `json:"pass"`
	} `json:"checks"`
	Tasks []struct {
		Outcome string `json:"outcome"`
	} `json:"tasks"`
}

func readReport(t *testing.T, out string) drillReport {
	t.Helper()
	var rep drillReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report --json: %v\n%s", err, out)
	}
	return rep
}

// TestDrillHeadless plays a short shipped scenario, by its name, through
// the binary with a scripted trainee, reads its status and scores it: the
// report passes and exits 0. The same scenario's file with a task taken out
// leaves a record missing, and its report fails with exit 1.
func TestDrillHeadless(t *testing.T) {
	t.Parallel()
	const scenario = "drop-after-commit"
	t.Run("passes", func(t *testing.T) {
		t.Parallel()
		r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "drill")}
		out := r.ok("", "drill", "run", scenario, "--speed", "900", "--headless")
		if !strings.Contains(out, "TRAINING drill drop-after-commit") || !strings.Contains(out, "played to its end") {
			t.Errorf("drill run says:\n%s", out)
		}
		status := r.ok("", "drill", "status", "--json")
		var st struct {
			Running bool `json:"running"`
			Steps   int  `json:"steps"`
			Given   []struct {
				Outcome string `json:"outcome"`
			} `json:"given"`
		}
		if err := json.Unmarshal([]byte(status), &st); err != nil || st.Running || st.Steps != 3 || len(st.Given) != 2 || st.Given[1].Outcome != "recorded" {
			t.Errorf("status: %v\n%s", err, status)
		}
		out, code := r.run("", "drill", "report", "--json")
		rep := readReport(t, out)
		if code != 0 || !rep.Pass || !rep.Played || rep.Records["dispensing"] != 2 || rep.Records["paper_prescription"] != 1 || rep.ReconcileSec == nil {
			t.Errorf("report: exit %d\n%s", code, out)
		}
		text, _ := r.run("", "drill", "report")
		for _, want := range []string{"PASS: the drill met every expectation", "queue   0 +", "mode      |"} {
			if !strings.Contains(text, want) {
				t.Errorf("the text report does not say %q:\n%s", want, text)
			}
		}
		// Nothing in the drill's files names a patient in full.
		events, err := os.ReadFile(filepath.Join(r.data, "events.jsonl"))
		if err != nil || strings.Contains(string(events), "140348-901W") || strings.Contains(string(events), "120680-909J") {
			t.Errorf("events: %v\n%s", err, events)
		}
		// A second run into the same folder is refused.
		r.fails(1, "already holds a drill", "", "drill", "run", scenario, "--speed", "900", "--headless")
	})
	t.Run("a missing record fails", func(t *testing.T) {
		t.Parallel()
		src, err := os.ReadFile(filepath.Join("../../testdata/drills", scenario+".toml"))
		if err != nil {
			t.Fatal(err)
		}
		// Take the paper prescription's task out; the expectations stay.
		text := string(src)
		i, j := strings.LastIndex(text, "[[task]]"), strings.Index(text, "[expect]")
		if i < 0 || j < i {
			t.Fatalf("scenario layout changed:\n%s", text)
		}
		broken := filepath.Join(t.TempDir(), "broken.toml")
		if err := os.WriteFile(broken, []byte(text[:i]+text[j:]), 0o600); err != nil {
			t.Fatal(err)
		}
		r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "drill")}
		r.ok("", "drill", "run", broken, "--speed", "900", "--headless")
		out, code := r.run("", "drill", "report", "--json")
		rep := readReport(t, out)
		if code != 1 || rep.Pass {
			t.Fatalf("report of a run with a record missing: exit %d (want 1)\n%s", code, out)
		}
		failed := map[string]bool{}
		for _, c := range rep.Checks {
			if !c.Pass {
				failed[c.Name] = true
			}
		}
		if !failed["records: paper_prescription"] || !failed["records: dispensing"] || len(failed) != 2 {
			t.Errorf("failed checks %v, want the paper prescription and its dispensing", failed)
		}
	})
}

// TestDrillInvalidScenario: a scenario with a mistake is refused with the
// file, the line and the field, before anything starts.
func TestDrillInvalidScenario(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("name = \"bad\"\nduration = \"1h\"\n\n[[step]]\nat = \"0s\"\nfault = \"up\"\n\n[[step]]\nat = \"-5m\"\nfault = \"meltdown\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "drill")}
	out, code := r.run("", "drill", "run", bad, "--headless")
	for _, want := range []string{bad + ":9: step[2].at: \"-5m\" is negative", bad + ":10: step[2].fault: unknown fault \"meltdown\"", "expect: missing"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if _, err := os.Stat(r.data); err == nil {
		t.Error("an invalid scenario made a drill folder")
	}
	r.fails(2, "--speed 0", "", "drill", "run", bad, "--speed", "0")
	r.fails(1, "holds no drill", "", "drill", "report")
	// A Prescription Centre from the environment never reaches a drill.
	env := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "drill"), env: []string{"TISKI_CENTRE_URL=http://127.0.0.1:9"}}
	env.fails(1, "not its simulator", "", "drill", "run", "testdata/drills/blackhole.toml", "--headless")
}

// TestDrillInTmux runs a drill on a terminal: the counter opens with the
// TRAINING banner, signed in as the trainee, and goes to FAULT on its own
// when the timeline's black hole begins; `tiski drill status` follows it
// from another process. The trainees did none of the tasks, so the report
// fails.
func TestDrillInTmux(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "drill")
	scenario, err := filepath.Abs("../../testdata/drills/blackhole.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := newTmux(t, 120, 40, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, tiskiBin+" drill run "+scenario+" --speed 300 --data "+dir)
	s.waitFor("TRAINING")
	s.waitFor("Patient search") // signed in as the trainee
	s.waitFor("Trainee Pharmacist")
	s.waitFor("FAULT") // the black hole begins at 10 min, 2 s in at speed 300, and ends 14 s in
	// A trainee tries a narcotic as essential medication (FAULT only): the
	// counter refuses it, and the report counts the violation caught.
	s.keys("140348-901W", "Enter")
	s.waitFor("this outage")
	s.essential("oxynorm", "10")
	s.waitFor("FM-ESS-NARC")
	s.keys("F10")
	s.waitFor("narcotics cannot be dispensed")
	// The tasks (at 25 and 45 min, 5 and 9 s in) show under the banner,
	// each with the patient's code to search by.
	s.waitFor("Drill task ")
	if scr := s.screen(); !strings.Contains(scr, "Drill task 1: Matti Korhonen needs his metformin") && !strings.Contains(scr, "Drill task 2: Sari Koskinen") {
		t.Errorf("no task under the banner:\n%s", scr)
	}
	r := tiskiRun{t: t, data: dir}
	status := r.ok("", "drill", "status")
	if !strings.Contains(status, "running") || !strings.Contains(status, "blackhole") {
		t.Errorf("status:\n%s", status)
	}
	s.keys("C-c")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if err == nil && strings.Contains(string(b), `"ended"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the drill did not end when the counter closed:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, code := r.run("", "drill", "report", "--json")
	rep := readReport(t, out)
	if code != 1 || rep.Pass || len(rep.Tasks) != 2 || rep.Tasks[0].Outcome != "missing" {
		t.Errorf("report of a drill nobody worked: exit %d\n%s", code, out)
	}
	if len(rep.Faults) != 1 || rep.Faults[0].DetectSec == nil {
		t.Errorf("the black hole was not detected:\n%s", out)
	}
	if rep.ViolationsCaught != 1 || !slices.Equal(rep.CaughtRules, []string{"FM-ESS-NARC"}) {
		t.Errorf("violations caught at the counter: %d %v, want 1 FM-ESS-NARC\n%s", rep.ViolationsCaught, rep.CaughtRules, out)
	}
}
