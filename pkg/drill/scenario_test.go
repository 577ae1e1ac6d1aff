package drill_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/drill"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// valid is a small scenario; the cases below break one line of it.
const valid = `name = "t"
duration = "1h"

[[step]]
at = "0s"
fault = "up"

[[step]]
at = "10m"
fault = "throttle"
seconds = 2

[[step]]
at = "40m"
fault = "up"

[[task]]
at = "15m"
patient = "140348-901W"
do = "essential"
prescription = "EP26000101"
medicine = "metforem-500mg-tabl"
package = "990291"
quantity = 100
basis = "instruction-sheet"
record = "dispensing"

[expect]
records = { dispensing = 1 }
reconciled_by = "50m"
max_detect = "3s"
`

func TestParseValid(t *testing.T) {
	s, err := drill.Parse("ok.toml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Steps) != 3 || s.Steps[1].At != 10*time.Minute || s.Steps[1].Fault != (centresim.Fault{Kind: centresim.FaultThrottle, Seconds: 2}) || s.Steps[1].Line != 8 {
		t.Errorf("steps %+v", s.Steps)
	}
	if len(s.Tasks) != 1 || s.Tasks[0].Do != drill.ActEssential || s.Tasks[0].Record != journal.KindDispensing || s.Tasks[0].Line != 17 {
		t.Errorf("tasks %+v", s.Tasks)
	}
	if s.Expect.Records[journal.KindDispensing] != 1 || s.Expect.ReconciledBy != 50*time.Minute || s.Expect.MaxDetect != 3*time.Second {
		t.Errorf("expect %+v", s.Expect)
	}
}

// TestParseInvalid: each mistake is an error naming the file, the line and
// the field.
func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // a replacement in valid
		want     string // file:line: field
		wantToo  string // in the message
	}{
		{"unknown field in a step", "seconds = 2", "seconds = 2\nkind = \"down\"", "bad.toml:12: step[2].kind", "unknown field"},
		{"unknown top-level field", "duration = \"1h\"", "duration = \"1h\"\nspeed = 60", "bad.toml:3: speed", "unknown field"},
		{"wrong type", "quantity = 100", "quantity = \"many\"", "bad.toml:24: task[1].quantity", "must be a whole number"},
		{"wrong type of offset", "at = \"10m\"", "at = 10", "bad.toml:9: step[2].at", "must be a string"},
		{"unknown fault kind", "fault = \"throttle\"\nseconds = 2", "fault = \"meltdown\"", "bad.toml:10: step[2].fault", "unknown fault \"meltdown\""},
		{"fault parameter out of range", "seconds = 2", "seconds = 0", "bad.toml:10: step[2].fault", "seconds 0 must be from 1"},
		{"parameter of another fault", "seconds = 2", "seconds = 2\nratio = 0.5", "bad.toml:12: step[2].ratio", "takes no ratio"},
		{"negative offset", "at = \"40m\"", "at = \"-40m\"", "bad.toml:14: step[3].at", "negative"},
		{"not a duration", "at = \"15m\"", "at = \"quarter past\"", "bad.toml:18: task[1].at", "not a duration"},
		{"unknown action", "do = \"essential\"", "do = \"sell\"", "bad.toml:20: task[1].do", "unknown action"},
		{"unknown medicine", "medicine = \"metforem-500mg-tabl\"", "medicine = \"aspirin\"", "bad.toml:22: task[1].medicine", "no fixture medicine"},
		{"real-looking identity code", "140348-901W", "131052-308T", "bad.toml:19: task[1].patient", "test identity code"},
		{"missing required field (the line of its table)", "reconciled_by = \"50m\"\n", "", "bad.toml:28: expect.reconciled_by", "missing"},
		{"unknown record kind", "records = { dispensing = 1 }", "records = { dispensing = 1, sale = 2 }", "bad.toml:29: expect.records.sale", "unknown record kind"},
		{"steps out of order", "at = \"40m\"", "at = \"5m\"", "bad.toml:14: step[3].at", "time order"},
		{"fault and lever in one step", "seconds = 2", "seconds = 2\nlever = \"cancel\"\nprescription = \"EP26000101\"", "bad.toml:12: step[2].lever", "a fault or a lever"},
		{"unknown lever", "[[task]]", "[[step]]\nat = \"45m\"\nlever = \"steal\"\nprescription = \"EP26000101\"\n\n[[task]]", "bad.toml:19: step[4].lever", "unknown lever \"steal\""},
		{"resolve a task not above", "[expect]", "[[task]]\nat = \"45m\"\ndo = \"resolve\"\nresolves = 3\naction = \"resubmit\"\nreason = \"x\"\nrecord = \"resolution\"\n\n[expect]", "bad.toml:31: task[2].resolves", "not one of the tasks above"},
		{"resolution of the wrong kind", "[expect]", "[[task]]\nat = \"45m\"\ndo = \"resolve\"\nresolves = 1\naction = \"void\"\nreason = \"x\"\nrecord = \"resolution\"\n\n[expect]", "bad.toml:34: task[2].record", "a void leaves a void record"},
		{"task at a counter the drill does not run", "do = \"essential\"", "counter = 2\ndo = \"essential\"", "bad.toml:17: task[1].counter", "set counters = 2"},
		{"three counters", "duration = \"1h\"", "duration = \"1h\"\ncounters = 3", "bad.toml:3: counters", "a drill runs 1 or 2"},
		{"journal task on no prescription", "[expect]", "[[task]]\nat = \"45m\"\npatient = \"140348-901W\"\ndo = \"journal\"\nfrom_task = 1\nmedicine = \"metforem-500mg-tabl\"\npackage = \"990291\"\nquantity = 10\nrecord = \"dispensing\"\n\n[expect]", "bad.toml:32: task[2].from_task", "no paper or telephone prescription"},
		{"from_task on another action", "basis = \"instruction-sheet\"", "basis = \"instruction-sheet\"\nfrom_task = 1", "bad.toml:26: task[1].from_task", "only a journal task"},
		{"shared with one counter", "max_detect = \"3s\"", "max_detect = \"3s\"\nshared = true", "expect.shared", "one counter shares nothing"},
		{"syntax error", "name = \"t\"", "name = \"t", "bad.toml:1", ""},
		// Kela's notices and fault reports (issue 22).
		{"unknown notice", "[[task]]", "%[1]snotice = \"outage\"\nfrom = \"45m\"\ntext = \"x\"\n\n[[task]]", "bad.toml:19: step[4].notice", "use maintenance (a planned break) or fault"},
		{"planned break with no end", "[[task]]", "%[1]snotice = \"maintenance\"\nfrom = \"45m\"\ntext = \"x\"\n\n[[task]]", "step[4].to", "a planned break needs the offset it ends at"},
		{"notice ending before it begins", "[[task]]", "%[1]snotice = \"fault\"\nfrom = \"45m\"\nto = \"45m\"\ntext = \"x\"\n\n[[task]]", "bad.toml:21: step[4].to", "not after from"},
		{"notice past the timeline", "[[task]]", "%[1]snotice = \"maintenance\"\nfrom = \"45m\"\nto = \"2h\"\ntext = \"x\"\n\n[[task]]", "step[4].to", "after the end of the timeline"},
		{"notice without text", "[[task]]", "%[1]snotice = \"fault\"\nfrom = \"45m\"\n\n[[task]]", "step[4].text", "missing"},
		{"notice and fault in one step", "[[task]]", "%[1]snotice = \"fault\"\nfault = \"down\"\nfrom = \"45m\"\ntext = \"x\"\n\n[[task]]", "step[4].notice", "one at a time, not fault and notice"},
		{"end of a step that posts no notice", "[[task]]", "%[1]send_notice = 2\n\n[[task]]", "bad.toml:19: step[4].end_notice", "step 2 posts no notice"},
		{"end of a step not above", "[[task]]", "%[1]send_notice = 4\n\n[[task]]", "step[4].end_notice", "not one of the steps above"},
		{"end of a notice over already", "[[task]]", "[[step]]\nat = \"20m\"\nnotice = \"fault\"\nfrom = \"10m\"\nto = \"30m\"\ntext = \"x\"\n\n%[1]send_notice = 4\n\n[[task]]", "step[5].end_notice", "over at 30m0s already"},
		{"report to nobody known", "[expect]", "[[task]]\nat = \"45m\"\ndo = \"report\"\nto = \"kanta\"\n\n[expect]", "bad.toml:31: task[2].to", "helpdesk (the pharmacy's own) or kela"},
		{"report without to", "[expect]", "[[task]]\nat = \"45m\"\ndo = \"report\"\n\n[expect]", "task[2].to", "missing"},
		{"identity code in a report's note", "[expect]", "[[task]]\nat = \"45m\"\ndo = \"report\"\nto = \"helpdesk\"\nnote = \"Matti 140348-901W waits\"\n\n[expect]", "task[2].note", "no patient's data"},
		{"patient on a report", "[expect]", "[[task]]\nat = \"45m\"\ndo = \"report\"\nto = \"helpdesk\"\npatient = \"140348-901W\"\n\n[expect]", "task[2].patient", "unknown field"},
		{"report_within not a duration", "max_detect = \"3s\"", "max_detect = \"3s\"\nreport_within = \"soon\"", "expect.report_within", "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(valid, tt.old, strings.ReplaceAll(tt.new, "%[1]s", "[[step]]\nat = \"40m\"\n"), 1)
			if src == valid {
				t.Fatalf("the case changes nothing: %q not in the scenario", tt.old)
			}
			_, err := drill.Parse("bad.toml", []byte(src))
			if err == nil {
				t.Fatal("parsed; want an error")
			}
			var se *drill.ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v, want a *drill.ScenarioError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.wantToo) {
				t.Errorf("error:\n%v\nwant it to contain %q and %q", err, tt.want, tt.wantToo)
			}
		})
	}
}

// TestParseNeedsRecovery: a timeline must end with the fault over, or the
// drill could never reconcile.
func TestParseNeedsRecovery(t *testing.T) {
	src := strings.Replace(valid, "at = \"40m\"\nfault = \"up\"", "at = \"40m\"\nfault = \"down\"", 1)
	_, err := drill.Parse("bad.toml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "bad.toml:13: step") || !strings.Contains(err.Error(), "end the timeline") {
		t.Fatalf("error %v", err)
	}
}

// TestParseNotices: a step posts one of Kela's notices, another ends it;
// a task reports the fault; report_within scores it (issue 22).
func TestParseNotices(t *testing.T) {
	src := strings.Replace(valid, "[[task]]", `[[step]]
at = "40m"
notice = "fault"
from = "10m"
text = "Reseptikeskus: häiriö"
ref = "KELA-1"

[[step]]
at = "45m"
end_notice = 4

[[step]]
at = "50m"
notice = "maintenance"
from = "55m"
to = "58m"
text = "huoltokatko"

[[task]]`, 1)
	src = strings.Replace(src, "[expect]", `[[task]]
at = "20m"
do = "report"
to = "helpdesk"
ref = "HD-1"
say = "Tell your helpdesk."

[expect]
report_within = "30m"`, 1)
	s, err := drill.Parse("ok.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Steps) != 6 || len(s.FaultSteps()) != 3 {
		t.Fatalf("%d steps, %d fault steps", len(s.Steps), len(s.FaultSteps()))
	}
	n := s.Steps[3].Notice
	if n == nil || n.Kind != rx.NoticeFault || n.From != 10*time.Minute || n.To != 0 || n.Text != "Reseptikeskus: häiriö" || n.Ref != "KELA-1" || s.Steps[3].IsFault() {
		t.Errorf("step 4 %+v notice %+v", s.Steps[3], n)
	}
	if s.Steps[4].EndNotice != 4 || s.Steps[4].IsFault() {
		t.Errorf("step 5 %+v", s.Steps[4])
	}
	if m := s.Steps[5].Notice; m == nil || m.Kind != rx.NoticeMaintenance || m.To != 58*time.Minute || !m.Covers(55*time.Minute) || m.Covers(58*time.Minute) {
		t.Errorf("step 6 notice %+v", m)
	}
	tk := s.Tasks[1]
	if tk.Do != drill.ActReport || tk.To != "helpdesk" || tk.Ref != "HD-1" || tk.Record != journal.KindFaultReport || tk.Counter != 1 || tk.Patient != "" {
		t.Errorf("report task %+v", tk)
	}
	if s.Expect.ReportWithin != 30*time.Minute {
		t.Errorf("report_within %v", s.Expect.ReportWithin)
	}
}
