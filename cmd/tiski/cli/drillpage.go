package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/drill"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// drillPage shapes a drill's scorecard into a printable page in l: the
// verdict and the expectations, the timeline, then the faults, the records
// and the policy, the conflicts, and the tasks. The command line shapes it
// because the words come from the catalogue (tui/i18n), which pkg/ may not
// import; pkg/page prints it and masks every identity code.
func drillPage(l i18n.Lang, d *drill.Drill, rep *drill.Report) page.Document {
	s := d.Scenario
	clk := func(v drill.Duration) string { return drillClock(time.Duration(v)) }
	secs := func(v float64) string { return l.T(i18n.PageSeconds, decimal(l, v, 1)) }

	doc := page.Document{
		Lang:     string(l),
		Title:    l.T(i18n.PageDrillTitle, rep.Scenario),
		Subtitle: rep.Title,
		Banner:   l.T(i18n.StatusTraining),
		Footer:   l.T(i18n.PageDrillFooter, filepath.Base(d.Dir)),
	}
	failed := 0
	for _, c := range rep.Checks {
		if !c.Pass {
			failed++
		}
	}
	if rep.Pass {
		doc.Verdict = &page.Verdict{Status: page.StatusPass, Text: l.T(i18n.PageDrillVerdictPass)}
	} else {
		doc.Verdict = &page.Verdict{Status: page.StatusFail, Text: l.T(i18n.PageDrillVerdictFail, failed, len(rep.Checks))}
	}

	// The first page: what was played, pass or fail, and the timeline.
	who, state := l.T(i18n.PageDrillTrainees), l.T(i18n.PageDrillFinished)
	if rep.Scripted {
		who = l.T(i18n.PageDrillScripted)
	}
	if !rep.Finished {
		state = l.T(i18n.PageDrillRunning)
	}
	summary := page.Section{ID: "expectations", Title: l.T(i18n.PageDrillExpectations),
		Facts: []page.Fact{
			{Label: l.T(i18n.PageDrillStarted), Value: d.State.Started.UTC().Format("2006-01-02 15:04 UTC")},
			{Label: l.T(i18n.PageDrillSpeed), Value: l.T(i18n.PageDrillSpeedValue, decimal(l, rep.Speed, -1))},
			{Label: l.T(i18n.PageDrillWho), Value: who},
			{Label: l.T(i18n.PageDrillState), Value: state},
		}}
	checks := page.Table{ID: "checks", Numeric: []bool{false, false, true, true},
		Head: []string{"", l.T(i18n.PageDrillColExpectation), l.T(i18n.PageDrillColWant), l.T(i18n.PageDrillColGot)}}
	for _, c := range rep.Checks {
		mark, st := l.T(i18n.PagePass), page.StatusPass
		if !c.Pass {
			mark, st = l.T(i18n.PageFail), page.StatusFail
		}
		name, want, got := checkText(l, s, c)
		checks.Rows = append(checks.Rows, page.Row{Status: st, Cells: []string{mark, name, want, got}})
	}
	summary.Tables = []page.Table{checks}

	end := s.Duration
	if n := len(rep.Samples); n > 0 {
		end = max(end, time.Duration(rep.Samples[n-1].Offset))
	}
	timeline := page.Section{ID: "timeline", Title: l.T(i18n.PageDrillTimeline),
		Figures: []page.Figure{{Caption: l.T(i18n.PageDrillTimelineCaption), Chart: drillChart(l, s, rep, end)}}}
	if end > s.Duration {
		timeline.Notes = []string{l.T(i18n.PageDrillStretched, drillClock(s.Duration), decimal(l, rep.Speed, -1))}
	}

	// The second page: the faults and the reconciliation, the records
	// and the policy, the conflicts.
	faults := page.Section{ID: "faults", Title: l.T(i18n.PageDrillFaults), NewPage: true, Notes: []string{l.T(i18n.PageDrillRealTime)}}
	ft := page.Table{ID: "fault-table", Empty: l.T(i18n.PageDrillNoFaults),
		Head: []string{l.T(i18n.PageDrillColStep), l.T(i18n.PageDrillColFault), l.T(i18n.PageDrillColFrom), l.T(i18n.PageDrillColUntil), l.T(i18n.PageDrillColDetect)}}
	for _, f := range rep.Faults {
		det, st := l.T(i18n.PageDrillNotDetected), page.StatusFail
		if f.DetectSec != nil && f.DetectedAt != nil {
			det, st = l.T(i18n.PageDrillDetectedAfter, secs(*f.DetectSec), clk(*f.DetectedAt)), page.StatusNone
		}
		if n := f.Announced; f.ByNotice && n != nil && n.Step > 0 {
			det += "; " + l.T(i18n.PageDrillByNotice, n.Step)
		}
		ft.Rows = append(ft.Rows, page.Row{Status: st, Cells: []string{strconv.Itoa(f.Step), f.Fault, clk(f.At), clk(f.Until), det}})
	}
	rec := l.T(i18n.PageDrillNotReconciled)
	recStatus := page.StatusFail
	switch {
	case rep.ReconcileSec != nil && *rep.ReconcileSec == 0:
		rec, recStatus = l.T(i18n.PageDrillReconcileNothing, clk(rep.Recovered)), page.StatusPass
	case rep.ReconcileSec != nil && rep.ReconciledAt != nil:
		rec, recStatus = l.T(i18n.PageDrillReconcileAfter, secs(*rep.ReconcileSec), clk(rep.Recovered), clk(*rep.ReconciledAt)), page.StatusPass
	}
	faults.Facts = []page.Fact{{Label: l.T(i18n.PageDrillReconcile), Value: rec, Status: recStatus}}
	faults.Tables = []page.Table{ft, reportTable(l, s, rep)}
	for _, n := range rep.Notices {
		faults.Notes = append(faults.Notes, noticeLine(l, n))
	}
	if len(rep.Levers) > 0 {
		lt := page.Table{ID: "levers", Caption: l.T(i18n.PageDrillLevers),
			Head: []string{l.T(i18n.PageDrillColStep), l.T(i18n.PageDrillColAt), l.T(i18n.PageDrillColLever)}}
		for _, lv := range rep.Levers {
			lt.Rows = append(lt.Rows, page.Row{Cells: []string{strconv.Itoa(lv.Step), clk(lv.At), lv.Detail}})
		}
		faults.Tables = append(faults.Tables, lt)
	}

	records := page.Section{ID: "records", Title: l.T(i18n.PageDrillRecords)}
	caught := strconv.Itoa(rep.ViolationsCaught)
	if !rep.Scripted {
		caught += " (" + l.T(i18n.PageDrillRefusalsUnseen) + ")"
	}
	violations := page.StatusPass
	if rep.PolicyViolations > s.Expect.PolicyViolations {
		violations = page.StatusFail
	}
	records.Facts = []page.Fact{
		{Label: l.T(i18n.PageDrillCaught), Value: caught},
		{Label: l.T(i18n.PageDrillViolations), Value: strconv.Itoa(rep.PolicyViolations), Status: violations},
	}
	if c := rep.Centre; c != nil {
		records.Facts = append(records.Facts, page.Fact{Label: l.T(i18n.PageDrillCentre),
			Value: l.T(i18n.PageDrillCentreValue, c.Requests, c.Throttled, c.ByStatus[http.StatusServiceUnavailable], c.Dropped)})
	}
	kinds := page.Table{ID: "kinds", Empty: l.T(i18n.PageDrillNoRecords), Numeric: []bool{false, true},
		Head: []string{l.T(i18n.PageDrillColKind), l.T(i18n.PageDrillColCount)}}
	for _, k := range drill.RecordKinds() {
		if n := rep.Records[k]; n > 0 {
			kinds.Rows = append(kinds.Rows, page.Row{Cells: []string{kindText(l, string(k)), strconv.Itoa(n)}})
		}
	}
	decisions := page.Table{ID: "decisions", Caption: l.T(i18n.PageDrillDecisions), Empty: l.T(i18n.PageDrillNoDecisions),
		Numeric: []bool{false, true, true, true},
		Head:    []string{l.T(i18n.PageDrillColRule), l.T(i18n.PageDrillColAllowed), l.T(i18n.PageDrillColRefused), l.T(i18n.PageDrillColViolations)}}
	for _, dc := range rep.Decisions {
		st := page.StatusNone
		if dc.Violations > 0 {
			st = page.StatusFail
		}
		decisions.Rows = append(decisions.Rows, page.Row{Status: st,
			Cells: []string{dc.Rule, strconv.Itoa(dc.Allowed), strconv.Itoa(dc.Refused), strconv.Itoa(dc.Violations)}})
	}
	records.Tables = []page.Table{kinds, decisions}

	conflicts := page.Section{ID: "conflicts", Title: l.T(i18n.PageDrillConflicts), Notes: []string{l.T(i18n.PageDrillConflictsNote)},
		Facts: []page.Fact{
			{Label: l.T(i18n.PageDrillConflictsRaised), Value: strconv.Itoa(rep.ConflictsRaised)},
			{Label: l.T(i18n.PageDrillConflictsResolved), Value: strconv.Itoa(rep.ConflictsResolved)},
		}}
	ct := page.Table{ID: "conflict-table", Head: []string{l.T(i18n.PageDrillColAt), l.T(i18n.PageDrillColKind), l.T(i18n.PageDrillColRecord),
		l.T(i18n.PageDrillColWhat), l.T(i18n.PageDrillColResolved)}}
	for _, c := range rep.Conflicts {
		res, st := l.T(i18n.PageDrillReview), page.StatusFail
		if c.Resolved && c.ResolvedAt != nil {
			res, st = l.T(i18n.PageDrillResolvedBy, kindText(l, string(c.ResolvedBy)), clk(*c.ResolvedAt)), page.StatusPass
		}
		ct.Rows = append(ct.Rows, page.Row{Status: st, Cells: []string{clk(c.At), kindText(l, string(c.Kind)), c.Record, c.Detail, res}})
	}
	conflicts.Tables = []page.Table{ct}
	if w := s.Expect.Conflicts; w != nil {
		conflicts.Facts[0].Status = page.StatusPass
		if rep.ConflictsRaised != *w {
			conflicts.Facts[0].Status = page.StatusFail
		}
	}

	// The third page: each task and what came of it.
	tasks := page.Section{ID: "tasks", Title: l.T(i18n.PageDrillTasks), NewPage: true}
	tt := page.Table{ID: "task-table", Numeric: []bool{true},
		Head: []string{l.T(i18n.PageDrillColTask), l.T(i18n.PageDrillColAt), l.T(i18n.PageDrillColDo), l.T(i18n.PageDrillColPatient), l.T(i18n.PageDrillColWant), l.T(i18n.PageDrillColOutcome)}}
	for _, t := range rep.Tasks {
		want := kindText(l, string(t.Want))
		if t.Do == drill.ActReport {
			want = reportToText(l, t.To)
		}
		if t.Refuse != "" {
			want = l.T(i18n.PageDrillRefusedBy, t.Refuse)
		}
		outcome := outcomeText(l, t.Outcome)
		if t.Counter > 1 {
			outcome += ", " + l.T(i18n.PageDrillAtCounter, t.Counter)
		}
		if t.Left != nil {
			outcome += ", " + l.T(i18n.PageDrillLeft, *t.Left)
		}
		if t.Outcome == drill.OutcomeRefused && t.Detail != "" {
			outcome += ": " + t.Detail
		}
		st := page.StatusPass
		switch t.Outcome {
		case drill.OutcomeRefused, drill.OutcomeMissing:
			st = page.StatusFail
		case drill.OutcomeNotSeen:
			st = page.StatusNone
		}
		tt.Rows = append(tt.Rows, page.Row{Status: st, Cells: []string{strconv.Itoa(t.Task), clk(t.At), string(t.Do), t.Patient, want, outcome}})
	}
	tasks.Tables = []page.Table{tt}
	for _, sh := range rep.Shared {
		tasks.Notes = append(tasks.Notes, l.T(i18n.PageDrillShared, sh.Counter, sh.Held, sh.From, sh.Of))
	}

	doc.Sections = []page.Section{summary, timeline, faults, records, conflicts, tasks}
	return doc
}

// drillChart draws the timeline: the fault upstream and the counter's
// mode as strips, the upload queue and the records waiting for a
// pharmacist as lines, and a marker at each step of the timeline.
func drillChart(l i18n.Lang, s *drill.Scenario, rep *drill.Report, end time.Duration) page.TimeChart {
	c := page.TimeChart{ID: "timeline", Title: l.T(i18n.PageDrillTimeline), End: end, YLabel: l.T(i18n.PageDrillQueueAxis), YMin: 4}

	// The fault in force upstream, step by step.
	faultBand := page.Band{Series: "fault", Label: l.T(i18n.PageDrillBandFault)}
	kind, from := centresim.FaultUp, time.Duration(0)
	closeSpan := func(to time.Duration) {
		if to <= from {
			return
		}
		sp := page.Span{From: from, To: to, State: kind, Tone: page.ToneBad}
		if kind == centresim.FaultUp {
			sp.Tone, sp.Label = page.ToneMute, l.T(i18n.PageDrillNoFault)
		}
		faultBand.Spans = append(faultBand.Spans, sp)
	}
	for _, st := range s.FaultSteps() {
		if st.Fault.Kind == kind {
			continue
		}
		closeSpan(st.At)
		kind, from = st.Fault.Kind, st.At
	}
	closeSpan(end)

	// The counter's mode and the queue, from the samples.
	modeBand := page.Band{Series: "mode", Label: l.T(i18n.PageDrillBandMode)}
	mode, since := string(rx.ModeOnline), time.Duration(0)
	queue := page.Line{Series: "queue", Label: l.T(i18n.PageDrillQueue), Step: true, Tone: page.ToneInfo, Points: []page.Point{{At: 0, Value: 0}}}
	review := page.Line{Series: "review", Label: l.T(i18n.PageDrillReview), Step: true, Tone: page.ToneBad, Points: []page.Point{{At: 0, Value: 0}}}
	modeSpan := func(to time.Duration) {
		if to > since {
			modeBand.Spans = append(modeBand.Spans, page.Span{From: since, To: to, State: mode, Label: modeText(l, rx.Mode(mode)), Tone: modeTone(mode)})
		}
	}
	for _, sm := range rep.Samples {
		at := time.Duration(sm.Offset)
		if sm.Mode != mode {
			modeSpan(at)
			mode, since = sm.Mode, at
		}
		if last := queue.Points[len(queue.Points)-1]; last.Value != float64(sm.Depth) {
			queue.Points = append(queue.Points, page.Point{At: at, Value: float64(sm.Depth)})
		}
		if last := review.Points[len(review.Points)-1]; last.Value != float64(sm.Review) {
			review.Points = append(review.Points, page.Point{At: at, Value: float64(sm.Review)})
		}
	}
	modeSpan(end)
	c.Bands = []page.Band{faultBand, modeBand}
	c.Lines = []page.Line{queue, review}

	for i, st := range s.Steps {
		if !st.IsFault() || (i == 0 && st.At == 0 && st.Fault.Kind == centresim.FaultUp) {
			continue // the start, up, is no event
		}
		tone := page.ToneBad
		if st.Fault.Kind == centresim.FaultUp {
			tone = page.ToneOK
		}
		c.Markers = append(c.Markers, page.Marker{Series: "step", Label: l.T(i18n.PageDrillStep, i+1) + " " + st.Fault.Kind, At: st.At, Tone: tone})
	}
	// A lever (a prescription changed upstream) is a step too, marked
	// apart from the faults.
	for i, st := range s.Steps {
		if st.Lever != nil {
			c.Markers = append(c.Markers, page.Marker{Series: "lever", Label: l.T(i18n.PageDrillStep, i+1) + " " + st.Lever.Kind, At: st.At, Tone: page.ToneMute})
		}
		// Kela's notice reaching the pharmacy is a step too (issue 22).
		if n := st.Notice; n != nil {
			c.Markers = append(c.Markers, page.Marker{Series: "notice", Label: l.T(i18n.PageDrillStep, i+1) + " " + noticeKindText(l, n.Kind), At: st.At, Tone: page.ToneInfo})
		}
	}
	c.Legend = []page.LegendItem{
		{Class: "tone-bad", Label: l.T(i18n.PageDrillFaultInForce) + " / " + l.T(i18n.ModeFault)},
		{Class: "tone-warn", Label: l.T(i18n.ModeRecovering)},
		{Class: "tone-ok", Label: l.T(i18n.ModeOnline)},
		{Class: "line tone-info", Label: l.T(i18n.PageDrillQueue)},
		{Class: "line tone-bad", Label: l.T(i18n.PageDrillReview)},
		{Class: "marker", Label: l.T(i18n.PageDrillColStep)},
	}
	return c
}

// checkText says a check of the drill, its wanted and its found value in
// l, from its code and particulars. A check of a code this does not know
// is shown as the drill named it, in English, rather than not at all.
func checkText(l i18n.Lang, s *drill.Scenario, c drill.Check) (name, want, got string) {
	name, want, got = c.Name, checkValue(l, c.Want), checkValue(l, c.Got)
	a := func(i int) string {
		if i < len(c.Args) {
			return c.Args[i]
		}
		return "?"
	}
	switch c.Code {
	case drill.CheckPlayed:
		name = l.T(i18n.PageCheckPlayed)
	case drill.CheckRecords:
		name = l.T(i18n.PageCheckRecords, kindText(l, a(0)))
	case drill.CheckTaskRecord:
		name = l.T(i18n.PageCheckTaskRecord, a(0), a(1), a(2), kindText(l, a(3)))
	case drill.CheckTaskRefused:
		name = l.T(i18n.PageCheckTaskRefused, a(0), a(1), a(2), a(3))
	case drill.CheckTaskLeft:
		name = l.T(i18n.PageCheckTaskLeft, a(0), a(1), a(2), a(3), a(4))
	case drill.CheckSharedUnsettled:
		name = l.T(i18n.PageCheckSharedUnsettled)
	case drill.CheckShared:
		name = l.T(i18n.PageCheckShared, a(0), a(1))
	case drill.CheckViolations:
		name, want = l.T(i18n.PageCheckViolations), l.T(i18n.PageValueAtMost, s.Expect.PolicyViolations)
	case drill.CheckCaught:
		name = l.T(i18n.PageCheckCaught)
	case drill.CheckConflicts:
		name = l.T(i18n.PageCheckConflicts)
	case drill.CheckDetect:
		name = l.T(i18n.PageCheckDetect, a(0), a(1))
		want = l.T(i18n.PageValueWithin, l.T(i18n.PageSeconds, decimal(l, s.Expect.MaxDetect.Seconds(), 1)))
	case drill.CheckTaskReport:
		name = l.T(i18n.PageCheckTaskReport, a(0), reportToText(l, a(1)))
	case drill.CheckReport:
		name = l.T(i18n.PageCheckReport, a(0), a(1))
		want = l.T(i18n.PageValueWithin, drill.Minutes(s.Expect.ReportWithin))
	case drill.CheckReconciled:
		name, want = l.T(i18n.PageCheckReconciled), l.T(i18n.PageValueBy, drillClock(s.Expect.ReconciledBy))
	}
	return name, want, got
}

// seconds finds a number of seconds as the drill writes it, "0.9 s".
var seconds = regexp.MustCompile(`^(\d+)\.(\d+) s$`)

// checkValue says a wanted or found value of a check in l: the drill's
// fixed words and the tasks' outcomes in l's words, seconds with l's
// decimal mark, and numbers and times as they are.
func checkValue(l i18n.Lang, v string) string {
	words := map[string]i18n.Key{
		drill.ValueYes: i18n.PageValueYes, drill.ValueNo: i18n.PageValueNo, drill.ValueNotSeen: i18n.PageValueNotSeen,
		drill.ValueEveryHolds: i18n.PageValueEveryHolds, drill.ValueNotSettled: i18n.PageValueNotSettled,
		drill.ValueNotDetected: i18n.PageDrillNotDetected, drill.ValueNotReconciled: i18n.PageDrillNotReconciled,
		drill.ValueNotReported: i18n.PageValueNotReported, drill.ValueAnnounced: i18n.PageValueAnnounced, drill.ValueNoFault: i18n.PageValueNoFault,
	}
	if d, ok := strings.CutPrefix(v, "after "); ok {
		return l.T(i18n.PageValueAfter, d)
	}
	if k, ok := words[v]; ok {
		return l.T(k)
	}
	if o := outcomeText(l, v); o != v {
		return o
	}
	if m := seconds.FindStringSubmatch(v); m != nil {
		f, _ := strconv.ParseFloat(m[1]+"."+m[2], 64)
		return l.T(i18n.PageSeconds, decimal(l, f, len(m[2])))
	}
	return v
}

// reportTable says, for each fault, whether and when it was reported, or
// that Kela announced it (issue 22).
func reportTable(l i18n.Lang, s *drill.Scenario, rep *drill.Report) page.Table {
	clk := func(v drill.Duration) string { return drillClock(time.Duration(v)) }
	t := page.Table{ID: "fault-reports", Caption: l.T(i18n.PageDrillReporting) + ". " + l.T(i18n.PageDrillReportingNote), Empty: l.T(i18n.PageDrillNoFaults),
		Head: []string{l.T(i18n.PageDrillColStep), l.T(i18n.PageDrillColFault), l.T(i18n.PageDrillColReport)}}
	for _, f := range rep.Faults {
		var text string
		st := page.StatusNone
		switch r, n := f.Reported, f.Announced; {
		case r != nil:
			key := i18n.PageDrillReportedHelpdesk
			if r.To == journal.ReportToKela {
				key = i18n.PageDrillReportedKela
			}
			text = l.T(key, clk(r.At), drill.Minutes(time.Duration(r.After)))
			if w := s.Expect.ReportWithin; w > 0 {
				st = page.StatusPass
				if time.Duration(r.After) > w && n == nil {
					st = page.StatusFail
				}
			}
		case n != nil:
			text, st = l.T(i18n.PageDrillAnnounced, noticeKindText(l, rx.NoticeKind(n.Kind)), clk(n.Posted)), page.StatusPass
		case !f.Detected:
			text = l.T(i18n.PageDrillNoFaultShown)
		default:
			text = l.T(i18n.PageDrillNotReported)
			if s.Expect.ReportWithin > 0 {
				st = page.StatusFail
			}
		}
		t.Rows = append(t.Rows, page.Row{Status: st, Cells: []string{strconv.Itoa(f.Step), f.Fault, text}})
	}
	return t
}

// noticeLine says one of Kela's notices in a drill: its kind, when it
// reached the counter, its span and its text.
func noticeLine(l i18n.Lang, n drill.NoticeResult) string {
	clk := func(v drill.Duration) string { return drillClock(time.Duration(v)) }
	to := l.T(i18n.CLINoticeOpen)
	if n.To != nil {
		to = clk(*n.To)
	}
	kind := noticeKindText(l, rx.NoticeKind(n.Kind))
	line := l.T(i18n.PageDrillNoticeByHand, kind, clk(n.Posted), clk(n.From), to, n.Text)
	if n.Step > 0 {
		line = l.T(i18n.PageDrillNoticeLine, kind, clk(n.Posted), n.Step, clk(n.From), to, n.Text)
	}
	if n.Ended != nil {
		line += l.T(i18n.PageDrillNoticeEnded, clk(*n.Ended))
	}
	return line
}

// reportToText names whom a fault is reported to in l.
func reportToText(l i18n.Lang, to string) string {
	if to == journal.ReportToKela {
		return l.T(i18n.CLIFaultToKela)
	}
	return l.T(i18n.CLIFaultToHelpdesk)
}

func modeTone(m string) page.Tone {
	switch rx.Mode(m) {
	case rx.ModeFault:
		return page.ToneBad
	case rx.ModeRecovering:
		return page.ToneWarn
	case rx.ModeOnline:
		return page.ToneOK
	}
	return page.ToneMute
}

// outcomeText names a task's outcome in l.
func outcomeText(l i18n.Lang, o string) string {
	k, ok := map[string]i18n.Key{
		drill.OutcomeRecorded: i18n.PageDrillOutcomeRecorded, drill.OutcomeCaught: i18n.PageDrillOutcomeCaught,
		drill.OutcomeRefused: i18n.PageDrillOutcomeRefused, drill.OutcomeMissing: i18n.PageDrillOutcomeMissing,
		drill.OutcomeNotSeen: i18n.PageDrillOutcomeNotSeen,
	}[o]
	if !ok {
		return o
	}
	return l.T(k)
}

// drillClock writes a scenario time as h:mm:ss, as the text report does.
func drillClock(d time.Duration) string { return page.Clock(d, time.Hour) }

// decimal writes v with prec decimals (-1: as few as it needs), with a
// decimal comma in Finnish and Swedish.
func decimal(l i18n.Lang, v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if l != i18n.EN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// checkPageFile makes sure a page can be written to path, before the work
// that makes it: its folder exists and takes a new file, and path is not a
// folder.
func checkPageFile(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("--html %s is a folder: give the file to write the page to", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--html %s: cannot write the page there: %w", path, err)
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// writePageFile writes a page to path, whole or not at all: into a file
// beside it, then renamed over it, so that a failed write never leaves
// half a page where a trainer expects the last one.
func writePageFile(path string, doc page.Document) error { return writePageFileMode(path, doc, 0o644) }

// writePageFileMode is writePageFile with the file's mode: 0600 for a
// page that holds an identity code (the patient's summary).
func writePageFileMode(path string, doc page.Document, perm os.FileMode) error {
	var b bytes.Buffer
	if err := page.Write(&b, doc); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
