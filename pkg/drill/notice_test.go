package drill_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/drill"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// noticeScenario runs two counters through a planned break that a notice
// announced at the start, then a fault whose notice Kela posts as it
// begins and ends by hand as it ends. At speed 400 the counters have 2.25 s
// of real time between the two to come back ONLINE.
const noticeScenario = `name = "notices"
duration = "1h"
counters = 2

[[step]]
at = "0s"
fault = "up"

[[step]]
at = "0s"
notice = "maintenance"
from = "10m"
to = "30m"
text = "Kanta: huoltokatko"
ref = "KELA-1"

[[step]]
at = "10m"
fault = "down"

[[step]]
at = "30m"
fault = "up"

[[step]]
at = "45m"
notice = "fault"
from = "45m"
text = "Reseptikeskus: häiriö"

[[step]]
at = "45m"
fault = "down"

[[step]]
at = "55m"
end_notice = 5

[[step]]
at = "55m"
fault = "up"

[expect]
records = {}
reconciled_by = "1h"
max_detect = "3s"
report_within = "5m"
`

// Notice steps (issue 22): a maintenance notice posted at the start puts
// both counters in FAULT at the break's start on the notice's word, the
// second through the hub; a fault notice ended by a later step is ended in
// the journals; and the report says that Kela announced both faults, so no
// report was needed.
func TestNoticeSteps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "notices.toml")
	if err := os.WriteFile(file, []byte(noticeScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := play(t.Context(), dir, file, 400)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pass {
		t.Fatalf("the report fails:\n%s", report(rep))
	}
	if len(rep.Notices) != 2 || rep.Notices[0].Step != 2 || rep.Notices[0].Kind != "maintenance" || rep.Notices[0].From != drill.Duration(10*time.Minute) ||
		rep.Notices[0].To == nil || *rep.Notices[0].To != drill.Duration(30*time.Minute) || rep.Notices[0].Ended != nil ||
		rep.Notices[1].Step != 5 || rep.Notices[1].To != nil || rep.Notices[1].Ended == nil || *rep.Notices[1].Ended != drill.Duration(55*time.Minute) {
		t.Fatalf("notices %+v\n%s", rep.Notices, report(rep))
	}
	if len(rep.Faults) != 2 {
		t.Fatalf("faults %+v", rep.Faults)
	}
	if f := rep.Faults[0]; !f.ByNotice || !strings.HasPrefix(f.Cause, mode.BreakPrefix) || f.Announced == nil || f.Announced.Step != 2 || f.Reported != nil {
		t.Errorf("the planned break's FAULT: %+v", f)
	}
	if f := rep.Faults[1]; f.ByNotice || f.Announced == nil || f.Announced.Step != 5 {
		t.Errorf("the announced fault: %+v", f)
	}
	var reports []drill.Check
	for _, c := range rep.Checks {
		if c.Code == drill.CheckReport {
			reports = append(reports, c)
		}
	}
	if len(reports) != 2 || !reports[0].Pass || reports[0].Got != drill.ValueAnnounced || !reports[1].Pass || reports[1].Got != drill.ValueAnnounced {
		t.Errorf("report checks %+v", reports)
	}
	if txt := report(rep); !strings.Contains(txt, "FAULT by Kela's maintenance notice (step 2), not a probe: Kanta: huoltokatko") ||
		!strings.Contains(txt, "Kela announced it (fault notice at 0:45:00): no report needed") {
		t.Errorf("the text report does not say so:\n%s", txt)
	}

	// The second counter holds both notices from the hub, the second
	// ended, and went to FAULT on the planned break.
	j, err := journal.Open(t.Context(), filepath.Join(dir, "drill-2.db"), journal.Options{Terminal: "drill-2"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ns, err := j.Notices(t.Context())
	if err != nil || len(ns) != 2 || ns[0].Kind != rx.NoticeMaintenance || ns[0].Counter != "drill-1" || ns[0].Ref != "KELA-1" ||
		ns[1].Kind != rx.NoticeFault || ns[1].EndedAt.IsZero() || ns[1].EndedBy != drill.NoticeBy {
		t.Fatalf("counter 2's notices %+v, %v", ns, err)
	}
	if got := ns[0].To.Sub(ns[0].From); got < 2*time.Second || got > 4*time.Second {
		t.Errorf("the 20-minute break lasts %s of real time at speed 400, want 3 s", got)
	}
	modes, err := j.List(t.Context(), journal.Filter{Kinds: []journal.Kind{journal.KindModeChange}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(modes, func(r journal.Record) bool { return strings.Contains(string(r.Body), mode.BreakPrefix) }) {
		t.Errorf("counter 2 never went to FAULT on the planned break: %d mode changes", len(modes))
	}
}

// TestReportNotMade plays july-2015, an outage no notice announced, with
// its report task skipped: the report must fail on that task and on the
// fault not reported, and on nothing else, and say "not reported".
func TestReportNotMade(t *testing.T) {
	t.Parallel()
	file := "../../testdata/drills/july-2015.toml"
	s, err := drill.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if s.Tasks[0].Do != drill.ActReport {
		t.Fatalf("july-2015's first task is %s, not the report", s.Tasks[0].Do)
	}
	rep, err := play(t.Context(), t.TempDir(), file, speedFor(s, 8*time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.Pass {
			failed = append(failed, c.Code+": "+c.Got)
		}
	}
	want := []string{drill.CheckTaskReport + ": " + drill.OutcomeMissing, drill.CheckReport + ": " + drill.ValueNotReported}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks %q, want %q\n%s", failed, want, report(rep))
	}
	if f := rep.Faults[0]; f.Reported != nil || f.Announced != nil || !strings.Contains(report(rep), "step 2  down                     not reported") {
		t.Errorf("fault %+v\n%s", f, report(rep))
	}
}
