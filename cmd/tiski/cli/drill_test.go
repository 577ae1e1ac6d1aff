package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/drill"
)

func TestDrillUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no scenario", []string{"drill", "run"}, "accepts 1 arg(s)"},
		{"speed zero", []string{"drill", "run", "x.toml", "--speed", "0"}, "--speed 0: give a speed above 0"},
		{"speed not a number", []string{"drill", "run", "x.toml", "--speed", "fast"}, "invalid argument \"fast\""},
		{"report takes no argument", []string{"drill", "report", "x"}, "accepts 0 arg(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := run(t, tt.args...)
			if code != ExitUsage || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d (want %d), stderr %q, want it to mention %q", code, ExitUsage, errOut, tt.want)
			}
		})
	}
}

// TestDrillRunFlags: the flags reach the options; the data folder defaults
// to a folder of its own, never the pharmacy's data folder.
func TestDrillRunFlags(t *testing.T) {
	f := &Factory{IO: IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, configFlags: map[string]string{}}
	var got *DrillRunOptions
	cmd := NewCmdDrillRun(f, func(_ context.Context, o *DrillRunOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"s.toml", "--speed", "120", "--headless"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Scenario != "s.toml" || got.Speed != 120 || !got.Headless || got.DataDir != defaultDrillDir || got.Seed != 1 {
		t.Fatalf("options %+v", got)
	}
}

func TestDrillReportWithoutDrill(t *testing.T) {
	_, errOut, code := run(t, "drill", "status", "--data", t.TempDir())
	if code != ExitFailed || !strings.Contains(errOut, "holds no drill") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestDrillList lists every shipped scenario, each valid.
func TestDrillList(t *testing.T) {
	out, errOut, code := run(t, "drill", "list", "../../../testdata/drills", "--json")
	var rows []struct {
		Name  string `json:"name"`
		Error string `json:"error"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) < 6 {
		t.Fatalf("exit %d, stderr %q, output %s", code, errOut, out)
	}
	for _, r := range rows {
		if r.Error != "" || r.Name == "" {
			t.Errorf("scenario %+v", r)
		}
	}
	// Without a folder: the shipped scenarios, by the names that run them.
	out, errOut, code = run(t, "drill", "list", "--json")
	var shipped []struct {
		File    string `json:"file"`
		Shipped bool   `json:"shipped"`
		Name    string `json:"name"`
		Error   string `json:"error"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &shipped) != nil || len(shipped) != len(rows) {
		t.Fatalf("shipped: exit %d, stderr %q, output %s", code, errOut, out)
	}
	for _, r := range shipped {
		if !r.Shipped || r.Error != "" || r.Name == "" || strings.Contains(r.File, "/") {
			t.Errorf("shipped scenario %+v", r)
		}
	}
	_, errOut, code = run(t, "drill", "list", t.TempDir())
	if code != ExitFailed || !strings.Contains(errOut, "no scenarios") {
		t.Errorf("empty folder: exit %d, stderr %q", code, errOut)
	}
}

// TestDrillTaskTold: the counter shows a task in its own language, with the
// patient's code to search by, and in English when the scenario has no
// sentence in that language.
func TestDrillTaskTold(t *testing.T) {
	tk := drill.Task{Patient: "140348-901W", Say: "Matti needs his metformin.", SayFI: "Matti tarvitsee metforminiaan."}
	for lang, want := range map[string]string{"fi": "Matti tarvitsee metforminiaan. (140348-901W)", "sv": "Matti needs his metformin. (140348-901W)"} {
		d := &drillTask{lang: lang}
		if n, _ := d.current(); n != 0 {
			t.Errorf("%s: a task before the first", lang)
		}
		d.give(3, tk)
		if n, text := d.current(); n != 3 || text != want {
			t.Errorf("%s: task %d %q, want 3 %q", lang, n, text, want)
		}
	}
}
