package drill

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Report is a drill's scorecard.
//
// Times: Offset and the "_at" fields are scenario time (the drill clock).
// The time to detect a fault and the time to reconcile are the counter's
// own, in real seconds, which --speed does not compress; DetectedAt and
// ReconciledAt place them on the timeline by adding them, uncompressed, to
// the offset of the step they follow. At speed 1 that is simply when it
// happened.
type Report struct {
	Scenario string  `json:"scenario"`
	Title    string  `json:"title"`
	Speed    float64 `json:"speed"`
	Scripted bool    `json:"scripted"`
	Finished bool    `json:"finished"` // the drill has ended
	Played   bool    `json:"played"`   // the timeline was played to its end

	Records map[journal.Kind]int `json:"records"` // by kind, at every counter
	Tasks   []TaskResult         `json:"tasks"`
	// Shared is, in a drill of several counters, how many of each other
	// counter's records each counter held at the end (issue 19).
	Shared []SharedResult `json:"shared,omitempty"`

	ViolationsCaught int      `json:"violations_caught"` // attempts the policy refused
	CaughtRules      []string `json:"caught_rules,omitempty"`
	PolicyViolations int      `json:"policy_violations"` // records in the journal the policy denies
	// Decisions are the policy's decisions by rule id, at every counter
	// (issue 21).
	Decisions []Decision `json:"decisions,omitempty"`

	Faults []FaultResult `json:"faults"`
	// Notices are Kela's notices that reached the first counter during
	// the drill (issue 22).
	Notices []NoticeResult `json:"notices,omitempty"`
	// Levers are the changes made upstream as if by another pharmacy or
	// the prescriber: the reconciliation hazards of the drill.
	Levers []LeverResult `json:"levers,omitempty"`

	Recovered    Duration  `json:"recovered_at"`                // the last step, which ends the faults
	Reconciled   bool      `json:"reconciled"`                  // nothing left to upload or review
	ReconcileSec *float64  `json:"reconcile_seconds,omitempty"` // real seconds from the last step
	ReconciledAt *Duration `json:"reconciled_at,omitempty"`     // scenario time

	// Centre is what the simulated Prescription Centre served over the
	// drill: requests, throttled (429), connections cut.
	Centre *centresim.Stats `json:"centre,omitempty"`

	ConflictsRaised   int `json:"conflicts_raised"`
	ConflictsResolved int `json:"conflicts_resolved"`
	// Conflicts are the records that went to a pharmacist's review, each
	// with its resolution (issue 21).
	Conflicts []ConflictResult `json:"conflicts,omitempty"`

	Checks []Check `json:"checks"`
	Pass   bool    `json:"pass"`

	Samples []Sample `json:"samples"` // the mode and queue depth over time
	Chart   string   `json:"chart"`   // the same as a plain-text chart
}

// TaskResult is what came of one task.
type TaskResult struct {
	Task    int          `json:"task"`
	At      Duration     `json:"at"`
	Do      Action       `json:"do"`
	Patient string       `json:"patient"` // masked
	Want    journal.Kind `json:"want,omitempty"`
	Refuse  string       `json:"refused_by,omitempty"`
	Outcome string       `json:"outcome"` // recorded, refused, caught, missing
	Record  string       `json:"record,omitempty"`
	Detail  string       `json:"detail,omitempty"`
	// Counter is the counter the patient came to, in a drill of several.
	Counter int `json:"counter,omitempty"`
	// WantLeft and Left, for a journal task: the quantity the counter
	// should show left on the prescription, and what it showed.
	WantLeft *int `json:"want_left,omitempty"`
	Left     *int `json:"left,omitempty"`
	// To, for a report task, is whom the fault was to be reported to.
	To string `json:"to,omitempty"`
}

// SharedResult is how many of one counter's records another held at the
// end of a drill of several counters.
type SharedResult struct {
	Counter int   `json:"counter"`
	From    int   `json:"from"`
	Held    int64 `json:"held"`
	Of      int64 `json:"of"`
}

// Decision is what one rule of the fault-mode policy decided over a drill:
// the records made under it, the attempts it refused, and the records in
// the journal that it denies (violations).
type Decision struct {
	Rule       string `json:"rule"`
	Allowed    int    `json:"allowed"`
	Refused    int    `json:"refused"`
	Violations int    `json:"violations"`
}

// ConflictResult is a record that went to a pharmacist's review: a
// conflict with the Prescription Centre, a rejection, a record set aside.
// At and ResolvedAt are on the drill clock.
type ConflictResult struct {
	Record     string       `json:"record"`
	Kind       journal.Kind `json:"kind,omitempty"`   // of the record
	At         Duration     `json:"at"`               // when it was seen in review
	Detail     string       `json:"detail,omitempty"` // its state, and why when known
	Resolved   bool         `json:"resolved"`
	ResolvedBy journal.Kind `json:"resolved_by,omitempty"` // resolution or void
	ResolvedAt *Duration    `json:"resolved_at,omitempty"`
}

// Task outcomes.
const (
	OutcomeRecorded = "recorded" // the expected record is in the journal
	OutcomeCaught   = "caught"   // the policy refused it, as it should
	OutcomeRefused  = "refused"  // refused, though a record was expected
	OutcomeMissing  = "missing"  // no record, no refusal
	OutcomeNotSeen  = "not seen" // a refusal at the counter, which a drill run by people cannot see
)

// FaultResult is one fault of the timeline and how soon the counter saw it.
type FaultResult struct {
	Step       int       `json:"step"`
	Fault      string    `json:"fault"`
	At         Duration  `json:"at"`    // scenario time it began
	Until      Duration  `json:"until"` // scenario time it ended
	Detected   bool      `json:"detected"`
	DetectSec  *float64  `json:"detect_seconds,omitempty"` // real seconds
	DetectedAt *Duration `json:"detected_at,omitempty"`    // scenario time
	// Cause is the counter's cause of its FAULT; ByNotice says a planned
	// break (Kela's maintenance notice) put it there, not a probe.
	Cause    string `json:"cause,omitempty"`
	ByNotice bool   `json:"by_notice,omitempty"`
	// Announced is Kela's notice that covered the fault by the time the
	// counter showed FAULT: then no one need report it. Reported is the
	// first report of it, to the helpdesk or Kela (issue 22).
	Announced *NoticeResult   `json:"announced,omitempty"`
	Reported  *ReportedResult `json:"reported,omitempty"`
}

// FaultAt is when the counter showed FAULT for this fault, on the
// timeline: its detection, or the fault's start when it was not detected.
func (f FaultResult) FaultAt() Duration {
	if f.DetectedAt != nil {
		return *f.DetectedAt
	}
	return f.At
}

// NoticeResult is one of Kela's notices in a drill. Posted, From, To and
// Ended are on the drill clock.
type NoticeResult struct {
	Step   int       `json:"step,omitempty"` // the step that posted it; 0: typed in by hand
	ID     string    `json:"id"`
	Kind   string    `json:"kind"` // fault or maintenance
	Text   string    `json:"text"`
	Posted Duration  `json:"posted"`
	From   Duration  `json:"from"`
	To     *Duration `json:"to,omitempty"`
	Ended  *Duration `json:"ended,omitempty"` // ended by hand: Kela announced its end
}

// Covers reports whether the notice holds at at.
func (n NoticeResult) Covers(at Duration) bool {
	end := n.To
	if n.Ended != nil && (end == nil || *n.Ended < *end) {
		end = n.Ended
	}
	return n.From <= at && (end == nil || at < *end)
}

// ReportedResult is a fault reported: to whom, and when on the drill
// clock, and how long after the counter showed FAULT.
type ReportedResult struct {
	To      string   `json:"to"` // helpdesk or kela
	At      Duration `json:"at"`
	After   Duration `json:"after"`             // since FaultResult.FaultAt
	Counter int      `json:"counter,omitempty"` // the counter it was marked at; 0 the first
	Ref     string   `json:"ref,omitempty"`
}

// LeverResult is a lever the timeline pulled.
type LeverResult struct {
	Step   int      `json:"step"`
	At     Duration `json:"at"`
	Detail string   `json:"detail"`
}

// Check is one expectation and whether the drill met it.
type Check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
	// Code names the kind of check (one of the Check… constants) and Args
	// its particulars, in Name's order, so that a report in another
	// language can name the check in its own words (issue 21).
	Code string   `json:"code"`
	Args []string `json:"args,omitempty"`
}

// The kinds of check, Check.Code, with their Args.
const (
	CheckPlayed          = "played"           // none
	CheckRecords         = "records"          // kind
	CheckTaskRecord      = "task_record"      // task, action, patient, kind
	CheckTaskRefused     = "task_refused"     // task, action, patient, rule
	CheckTaskLeft        = "task_left"        // task, action, patient, counter, the task whose prescription it is
	CheckSharedUnsettled = "shared_unsettled" // none
	CheckShared          = "shared"           // counter, the counter whose records
	CheckViolations      = "violations"       // none
	CheckCaught          = "caught"           // none
	CheckConflicts       = "conflicts"        // none
	CheckDetect          = "detect"           // fault, step
	CheckReconciled      = "reconciled"       // none
	CheckTaskReport      = "task_report"      // task, to
	CheckReport          = "report"           // fault, step
)

// The fixed values of Check.Want and Check.Got, besides numbers, times
// and task outcomes.
const (
	ValueYes           = "yes"
	ValueNo            = "no"
	ValueNotSeen       = "prescription not seen"
	ValueEveryHolds    = "every counter holds the others'"
	ValueNotSettled    = "not checked: the drill did not settle"
	ValueNotDetected   = "not detected"
	ValueNotReconciled = "not reconciled"
	ValueNotReported   = "not reported"
	ValueAnnounced     = "not needed: Kela announced it"
	ValueNoFault       = "not needed: the counter never showed FAULT"
)

// Sample is the counter's mode and the queue at one moment.
type Sample struct {
	Offset Duration `json:"offset"`
	Mode   string   `json:"mode"`
	Depth  int64    `json:"depth"`  // unsent
	Review int64    `json:"review"` // waiting for a pharmacist
}

// Score makes the report of a drill, finished or still running.
func Score(d *Drill) *Report {
	s := d.Scenario
	rep := &Report{Scenario: s.Name, Title: s.Title, Speed: d.State.Speed, Scripted: d.State.Scripted,
		Finished: !d.State.Ended.IsZero(), Records: map[journal.Kind]int{}}
	evs := d.Events
	var start time.Time
	for _, e := range evs {
		if e.Type == EvStart {
			start = e.Time
		}
	}
	speed := d.State.Speed
	if speed <= 0 {
		speed = 1
	}
	drillClock := func(t time.Time) Duration { return Duration(float64(t.Sub(start)) * speed) }

	// Records, violations, conflicts.
	var records []Event
	for _, e := range evs {
		switch e.Type {
		case EvRecord:
			rep.Records[journal.Kind(e.Kind)]++
			records = append(records, e)
		case EvViolation:
			rep.PolicyViolations++
		case EvRefused:
			if e.Rule != "" {
				rep.ViolationsCaught++
				for _, r := range strings.Split(e.Rule, ",") {
					if !slices.Contains(rep.CaughtRules, r) {
						rep.CaughtRules = append(rep.CaughtRules, r)
					}
				}
			}
		case EvConflict:
			rep.ConflictsRaised++
		case EvResolved:
			rep.ConflictsResolved++
		case EvTimelineOK:
			rep.Played = true
		case EvCentre:
			rep.Centre = e.Stats
		case EvLever:
			rep.Levers = append(rep.Levers, LeverResult{Step: e.Step, At: scenarioAt(s, e), Detail: e.Detail})
		case EvShared:
			rep.Shared = append(rep.Shared, SharedResult{Counter: e.Counter, From: e.From, Held: deref(e.Held), Of: deref(e.Of)})
		case EvReported:
			records = append(records, reportedRecord(e))
		}
	}
	rep.Notices = notices(s, evs)
	rep.Tasks = scoreTasks(s, evs, records, d.State.Scripted)
	rep.Decisions = decisions(evs)
	rep.Conflicts = conflicts(evs, drillClock)

	// Faults and their detection.
	var steps []Event
	var modes []Event
	for _, e := range evs {
		switch e.Type {
		case EvStep:
			steps = append(steps, e)
		case EvMode:
			modes = append(modes, e)
		}
	}
	sort.SliceStable(modes, func(i, j int) bool { return modes[i].Time.Before(modes[j].Time) })
	modeAt := func(t time.Time) string {
		m := string(rx.ModeOnline)
		for _, e := range modes {
			if e.Time.After(t) {
				break
			}
			m = e.Mode
		}
		return m
	}
	for i := 0; i < len(steps); i++ {
		e := steps[i]
		if e.Fault == centresim.FaultUp {
			continue
		}
		fr := FaultResult{Step: e.Step, Fault: e.Fault, At: scenarioAt(s, e)}
		names := []string{e.Fault}
		end := len(steps)
		for k := i + 1; k < len(steps); k++ {
			if steps[k].Fault == centresim.FaultUp {
				end = k
				break
			}
			names = append(names, steps[k].Fault)
		}
		fr.Fault = strings.Join(names, " → ")
		if end < len(steps) {
			fr.Until = scenarioAt(s, steps[end])
		}
		var next time.Time // the next fault's start bounds this one's detection
		if end+1 < len(steps) {
			next = steps[end+1].Time
		}
		if modeAt(e.Time) == string(rx.ModeFault) {
			fr.Detected = true
			fr.DetectSec, fr.DetectedAt = ptr(0.0), ptr(fr.At)
			for _, m := range modes { // the cause of the FAULT in force
				if m.Time.After(e.Time) {
					break
				}
				fr.Cause = m.Cause
			}
		} else {
			for _, m := range modes {
				if m.Mode != string(rx.ModeFault) || m.Time.Before(e.Time) || (!next.IsZero() && !m.Time.Before(next)) {
					continue
				}
				sec := m.Time.Sub(e.Time).Seconds()
				fr.Detected, fr.DetectSec, fr.Cause = true, &sec, m.Cause
				fr.DetectedAt = ptr(fr.At + Duration(m.Time.Sub(e.Time)))
				break
			}
		}
		fr.ByNotice = strings.HasPrefix(fr.Cause, mode.BreakPrefix)
		for _, n := range rep.Notices {
			if n.Covers(fr.At) && n.Posted <= fr.FaultAt() {
				fr.Announced = ptr(n)
				break
			}
		}
		var until Duration = -1 // a report counts for the fault it follows, until the next one begins
		if end+1 < len(steps) {
			until = scenarioAt(s, steps[end+1])
		}
		for _, ev := range evs {
			if ev.Type != EvReported || ev.Offset < fr.At || (until >= 0 && ev.Offset >= until) {
				continue
			}
			fr.Reported = &ReportedResult{To: ev.To, At: ev.Offset, After: max(ev.Offset-fr.FaultAt(), 0), Counter: ev.Counter, Ref: ev.Detail}
			break
		}
		rep.Faults = append(rep.Faults, fr)
		i = end
	}

	// Samples: the mode and the queue over time.
	type point struct {
		t      time.Time
		mode   string
		depth  int64
		review int64
	}
	var pts []point
	cur := point{mode: string(rx.ModeOnline)}
	var timeline []Event
	for _, e := range evs {
		if e.Type == EvMode || e.Type == EvDepth || e.Type == EvStart || e.Type == EvEnd {
			timeline = append(timeline, e)
		}
	}
	sort.SliceStable(timeline, func(i, j int) bool { return timeline[i].Time.Before(timeline[j].Time) })
	for _, e := range timeline {
		switch e.Type {
		case EvMode:
			cur.mode = e.Mode
		case EvDepth:
			cur.depth, cur.review = deref(e.Depth), deref(e.Review)
		}
		cur.t = e.Time
		pts = append(pts, cur)
		rep.Samples = append(rep.Samples, Sample{Offset: drillClock(e.Time), Mode: cur.mode, Depth: cur.depth, Review: cur.review})
	}

	// Reconciliation: from the last step (the fault's end) until the queue
	// was last empty, with nothing for review, and stayed so.
	if n := len(steps); n > 0 {
		last := steps[n-1]
		rep.Recovered = scenarioAt(s, last)
		if len(pts) > 0 && pts[len(pts)-1].depth == 0 && pts[len(pts)-1].review == 0 && rep.Played {
			rep.Reconciled = true
			at := last.Time
			for k := len(pts) - 1; k > 0; k-- {
				if pts[k-1].depth+pts[k-1].review > 0 {
					if pts[k].t.After(at) {
						at = pts[k].t
					}
					break
				}
			}
			sec := at.Sub(last.Time).Seconds()
			rep.ReconcileSec = &sec
			rep.ReconciledAt = ptr(rep.Recovered + Duration(at.Sub(last.Time)))
		}
	}
	rep.Chart = chart(s, rep.Samples, speed, 60)
	rep.check(s)
	return rep
}

// reportedRecord is a fault reported as the record a report task leaves,
// for matching the task to its outcome.
func reportedRecord(e Event) Event {
	return Event{Time: e.Time, Type: EvRecord, Kind: string(journal.KindFaultReport), Record: e.Record, Counter: e.Counter}
}

// notices lists Kela's notices that reached the first counter, in the
// order they did, each with its end when one was announced.
func notices(s *Scenario, evs []Event) []NoticeResult {
	var out []NoticeResult
	for _, e := range evs {
		switch e.Type {
		case EvNotice:
			n := NoticeResult{Step: e.Step, ID: e.Record, Kind: e.Kind, Text: e.Detail, Posted: e.Offset, To: e.NoticeTo}
			if e.Step > 0 {
				n.Posted = scenarioAt(s, e)
			}
			if e.NoticeFrom != nil {
				n.From = *e.NoticeFrom
			}
			out = append(out, n)
		case EvNoticeEnd:
			for i := range out {
				if out[i].ID == e.Record && out[i].Ended == nil {
					at := e.Offset
					if e.Step > 0 {
						at = scenarioAt(s, e)
					}
					out[i].Ended = &at
				}
			}
		}
	}
	return out
}

// decisions counts the policy's decisions by rule: a record names the
// rules that allowed it, a refusal and a violation the rules that deny.
func decisions(evs []Event) []Decision {
	byRule := map[string]*Decision{}
	for _, e := range evs {
		if e.Rule == "" {
			continue
		}
		for _, rule := range strings.Split(e.Rule, ",") {
			d := byRule[rule]
			if d == nil {
				d = &Decision{Rule: rule}
				byRule[rule] = d
			}
			switch e.Type {
			case EvRecord:
				d.Allowed++
			case EvRefused:
				d.Refused++
			case EvViolation:
				d.Violations++
			}
		}
	}
	out := make([]Decision, 0, len(byRule))
	for _, d := range byRule {
		if d.Allowed+d.Refused+d.Violations > 0 {
			out = append(out, *d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out
}

// conflicts lists the records that went to review in the order they did,
// each with its resolution, and the record's kind from its record event
// when the conflict event does not carry it.
func conflicts(evs []Event, clock func(time.Time) Duration) []ConflictResult {
	kinds := map[string]journal.Kind{}
	for _, e := range evs {
		if e.Type == EvRecord {
			kinds[e.Record] = journal.Kind(e.Kind)
		}
	}
	var out []ConflictResult
	at := map[string]int{}
	for _, e := range evs {
		switch e.Type {
		case EvConflict:
			if _, seen := at[e.Record]; seen {
				continue
			}
			c := ConflictResult{Record: e.Record, Kind: journal.Kind(e.Kind), At: clock(e.Time), Detail: e.Detail}
			if c.Kind == "" {
				c.Kind = kinds[e.Record]
			}
			at[e.Record] = len(out)
			out = append(out, c)
		case EvResolved:
			if i, ok := at[e.Record]; ok && !out[i].Resolved {
				out[i].Resolved, out[i].ResolvedBy, out[i].ResolvedAt = true, journal.Kind(e.Kind), ptr(clock(e.Time))
			}
		}
	}
	return out
}

// RecordKinds are the kinds of record a drill counts, in the order its
// reports list them.
func RecordKinds() []journal.Kind { return slices.Clone(recordKinds) }

// scenarioAt is the scenario offset of a step event: its offset in the
// file, not the drill clock, which lags it by the time a step takes.
func scenarioAt(s *Scenario, e Event) Duration {
	if e.Step >= 1 && e.Step <= len(s.Steps) {
		return Duration(s.Steps[e.Step-1].At)
	}
	return e.Offset
}

// scoreTasks matches each task to what came of it: a scripted trainee's
// refusal, or a record of the expected kind for the task's patient made
// after the task was given. Records are matched once, in task order.
func scoreTasks(s *Scenario, evs, records []Event, scripted bool) []TaskResult {
	refused := map[int]Event{}
	given := map[int]time.Time{}
	seen := map[int]Event{}
	for _, e := range evs {
		switch e.Type {
		case EvSeen:
			seen[e.Task] = e
		case EvRefused:
			refused[e.Task] = e
		case EvTask:
			given[e.Task] = e.Time
		}
	}
	used := map[string]bool{}
	var out []TaskResult
	for i, t := range s.Tasks {
		n := i + 1
		tr := TaskResult{Task: n, At: Duration(t.At), Do: t.Do, Patient: hetu.Mask(t.Patient), Want: t.Record, Refuse: t.RefusedBy, Outcome: OutcomeMissing,
			Counter: counterEvent(t.Counter), WantLeft: t.Left, Left: seen[n].Left, To: t.To}
		if t.Record != "" {
			for _, r := range records {
				if used[r.Record] || r.Kind != string(t.Record) || r.Patient != tr.Patient || r.Counter != tr.Counter {
					continue
				}
				if g, ok := given[n]; !ok || r.Time.Before(g) {
					continue
				}
				used[r.Record] = true
				tr.Outcome, tr.Record = OutcomeRecorded, r.Record
				break
			}
		}
		if e, ok := refused[n]; ok && tr.Outcome == OutcomeMissing {
			tr.Detail = e.Detail
			tr.Outcome = OutcomeRefused
			if t.RefusedBy != "" && slices.Contains(strings.Split(e.Rule, ","), t.RefusedBy) {
				tr.Outcome = OutcomeCaught
			}
		}
		if t.RefusedBy != "" && tr.Outcome == OutcomeMissing && !scripted {
			tr.Outcome = OutcomeNotSeen
		}
		out = append(out, tr)
	}
	return out
}

// check scores the report against the scenario's expectations.
func (r *Report) check(s *Scenario) {
	add := func(code string, args []string, name, want, got string, pass bool) {
		r.Checks = append(r.Checks, Check{Name: name, Want: want, Got: got, Pass: pass, Code: code, Args: args})
	}
	str := func(v ...any) []string {
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = fmt.Sprint(x)
		}
		return out
	}
	add(CheckPlayed, nil, "timeline played to the end", ValueYes, yesNo(r.Played), r.Played)
	for _, k := range recordKinds {
		want, got := s.Expect.Records[k], r.Records[k]
		if want == 0 && got == 0 {
			continue
		}
		add(CheckRecords, str(k), "records: "+string(k), fmt.Sprint(want), fmt.Sprint(got), want == got)
	}
	for _, t := range r.Tasks {
		switch {
		case t.Do == ActReport:
			add(CheckTaskReport, str(t.Task, t.To), fmt.Sprintf("task %d: report the fault to %s", t.Task, reportTo(t.To)), OutcomeRecorded, t.Outcome, t.Outcome == OutcomeRecorded)
		case t.Want != "":
			add(CheckTaskRecord, str(t.Task, t.Do, t.Patient, t.Want), fmt.Sprintf("task %d (%s, %s): %s", t.Task, t.Do, t.Patient, t.Want), OutcomeRecorded, t.Outcome, t.Outcome == OutcomeRecorded)
		case t.Outcome == OutcomeNotSeen:
			// Trainees at the counter: the refusal happens on their screen.
		default:
			add(CheckTaskRefused, str(t.Task, t.Do, t.Patient, t.Refuse), fmt.Sprintf("task %d (%s, %s): refused by %s", t.Task, t.Do, t.Patient, t.Refuse), OutcomeCaught, t.Outcome, t.Outcome == OutcomeCaught)
		}
	}
	for _, t := range r.Tasks {
		if t.WantLeft == nil {
			continue
		}
		got := ValueNotSeen
		if t.Left != nil {
			got = fmt.Sprint(*t.Left)
		}
		add(CheckTaskLeft, str(t.Task, t.Do, t.Patient, max(t.Counter, 1), s.Tasks[t.Task-1].FromTask),
			fmt.Sprintf("task %d (%s, %s) at counter %d: quantity left on task %d's prescription", t.Task, t.Do, t.Patient, max(t.Counter, 1), s.Tasks[t.Task-1].FromTask),
			fmt.Sprint(*t.WantLeft), got, t.Left != nil && *t.Left == *t.WantLeft)
	}
	if s.Expect.Shared {
		if len(r.Shared) == 0 {
			add(CheckSharedUnsettled, nil, "records shared between the counters", ValueEveryHolds, ValueNotSettled, false)
		}
		for _, sh := range r.Shared {
			add(CheckShared, str(sh.Counter, sh.From), fmt.Sprintf("counter %d holds counter %d's records", sh.Counter, sh.From), fmt.Sprint(sh.Of), fmt.Sprint(sh.Held), sh.Held == sh.Of && sh.Of > 0)
		}
	}
	add(CheckViolations, nil, "policy violations in the journal", fmt.Sprintf("at most %d", s.Expect.PolicyViolations), fmt.Sprint(r.PolicyViolations), r.PolicyViolations <= s.Expect.PolicyViolations)
	if w := s.Expect.ViolationsCaught; w != nil && r.Scripted {
		add(CheckCaught, nil, "policy violations caught", fmt.Sprint(*w), fmt.Sprint(r.ViolationsCaught), r.ViolationsCaught == *w)
	}
	if w := s.Expect.Conflicts; w != nil {
		add(CheckConflicts, nil, "conflicts raised", fmt.Sprint(*w), fmt.Sprint(r.ConflictsRaised), r.ConflictsRaised == *w)
	}
	if md := s.Expect.MaxDetect; md > 0 {
		for _, f := range r.Faults {
			got := ValueNotDetected
			ok := false
			if f.DetectSec != nil {
				got = seconds(*f.DetectSec)
				ok = *f.DetectSec <= md.Seconds()
			}
			add(CheckDetect, str(f.Fault, f.Step), fmt.Sprintf("detect %s (step %d)", f.Fault, f.Step), "within "+seconds(md.Seconds()), got, ok)
		}
	}
	if within := s.Expect.ReportWithin; within > 0 {
		for _, f := range r.Faults {
			got, ok := ValueNotReported, false
			switch {
			case f.Announced != nil:
				got, ok = ValueAnnounced, true
			case !f.Detected:
				got, ok = ValueNoFault, true
			case f.Reported != nil:
				got, ok = "after "+Minutes(time.Duration(f.Reported.After)), time.Duration(f.Reported.After) <= within
			}
			add(CheckReport, str(f.Fault, f.Step), fmt.Sprintf("report %s (step %d) unless Kela announced it", f.Fault, f.Step), "within "+Minutes(within), got, ok)
		}
	}
	got := ValueNotReconciled
	ok := false
	if r.ReconciledAt != nil {
		got = clock(time.Duration(*r.ReconciledAt))
		ok = time.Duration(*r.ReconciledAt) <= s.Expect.ReconciledBy
	}
	add(CheckReconciled, nil, "everything reconciled", "by "+clock(s.Expect.ReconciledBy), got, ok)
	r.Pass = true
	for _, c := range r.Checks {
		r.Pass = r.Pass && c.Pass
	}
}

// WriteText writes the scorecard for a trainer.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "TRAINING drill report: %s", r.Scenario)
	if r.Title != "" {
		fmt.Fprintf(w, " — %s", r.Title)
	}
	who := "trainees at the counter"
	if r.Scripted {
		who = "a scripted trainee"
	}
	state := "finished"
	if !r.Finished {
		state = "still running"
	}
	fmt.Fprintf(w, "\nSpeed %g, tasks done by %s, %s.\n\n", r.Speed, who, state)

	fmt.Fprintln(w, "Records")
	for _, k := range recordKinds {
		if n := r.Records[k]; n > 0 {
			fmt.Fprintf(w, "  %-24s %d\n", k, n)
		}
	}
	fmt.Fprintf(w, "Policy violations caught   %d", r.ViolationsCaught)
	if len(r.CaughtRules) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(r.CaughtRules, ", "))
	}
	if !r.Scripted {
		fmt.Fprint(w, " (refusals at the counter are shown to the trainee, not recorded)")
	}
	fmt.Fprintf(w, "\nPolicy violations recorded %d\n", r.PolicyViolations)
	fmt.Fprintf(w, "Conflicts raised/resolved  %d/%d\n", r.ConflictsRaised, r.ConflictsResolved)
	if c := r.Centre; c != nil {
		fmt.Fprintf(w, "Prescription Centre        %d requests, %d throttled (429), %d unavailable (503), %d connections cut\n",
			c.Requests, c.Throttled, c.ByStatus[http.StatusServiceUnavailable], c.Dropped)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Faults (detection in real seconds; the counter's clock is never compressed)")
	for _, f := range r.Faults {
		det := "not detected"
		if f.DetectSec != nil {
			det = fmt.Sprintf("FAULT after %s", seconds(*f.DetectSec))
		}
		fmt.Fprintf(w, "  step %d  %s–%s  %-24s %s\n", f.Step, clock(time.Duration(f.At)), clock(time.Duration(f.Until)), f.Fault, det)
		if n := f.Announced; f.ByNotice && n != nil && n.Step > 0 {
			// The cause names the break's times on the counter's clock,
			// which the drill compresses: the notice's step says it better.
			fmt.Fprintf(w, "          FAULT by Kela's maintenance notice (step %d), not a probe: %s\n", n.Step, n.Text)
		} else if f.ByNotice {
			fmt.Fprintf(w, "          FAULT by Kela's maintenance notice, not a probe: %s\n", f.Cause)
		} else if f.Cause != "" {
			fmt.Fprintf(w, "          FAULT's cause: %s\n", f.Cause)
		}
	}
	for _, l := range r.Levers {
		fmt.Fprintf(w, "  step %d  %s  %s\n", l.Step, clock(time.Duration(l.At)), l.Detail)
	}
	for _, n := range r.Notices {
		by := "typed in by hand"
		if n.Step > 0 {
			by = fmt.Sprintf("step %d", n.Step)
		}
		span := clock(time.Duration(n.From)) + "–"
		if n.To != nil {
			span += clock(time.Duration(*n.To))
		}
		fmt.Fprintf(w, "  Kela's %s notice at %s (%s), %s: %s", n.Kind, clock(time.Duration(n.Posted)), by, span, n.Text)
		if n.Ended != nil {
			fmt.Fprintf(w, "; ended at %s", clock(time.Duration(*n.Ended)))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Fault reports (with no notice from Kela, a pharmacist tells the helpdesk at once)")
	for _, f := range r.Faults {
		fmt.Fprintf(w, "  step %d  %-24s %s\n", f.Step, f.Fault, f.ReportText())
	}
	fmt.Fprintf(w, "Reconciliation: ")
	if r.ReconcileSec != nil && *r.ReconcileSec == 0 {
		fmt.Fprintf(w, "nothing was left to upload when the last fault ended (%s): it went up during the fault\n\n", clock(time.Duration(r.Recovered)))
	} else if r.ReconcileSec != nil {
		fmt.Fprintf(w, "%s after the last step (%s), at %s scenario time\n\n", seconds(*r.ReconcileSec), clock(time.Duration(r.Recovered)), clock(time.Duration(*r.ReconciledAt)))
	} else {
		fmt.Fprintf(w, "not reconciled\n\n")
	}

	fmt.Fprintln(w, "Tasks")
	for _, t := range r.Tasks {
		want := string(t.Want)
		if t.Refuse != "" {
			want = "refused by " + t.Refuse
		}
		fmt.Fprintf(w, "  %2d  %8s  %-9s %s  want %-28s %s", t.Task, clock(time.Duration(t.At)), t.Do, t.Patient, want, t.Outcome)
		if t.Counter > 1 {
			fmt.Fprintf(w, " at counter %d", t.Counter)
		}
		if t.Left != nil {
			fmt.Fprintf(w, " (%d left)", *t.Left)
		}
		if t.Outcome == OutcomeRefused && t.Detail != "" {
			fmt.Fprintf(w, ": %s", t.Detail)
		}
		fmt.Fprintln(w)
	}
	for _, sh := range r.Shared {
		fmt.Fprintf(w, "  counter %d holds %d of counter %d's %d records\n", sh.Counter, sh.Held, sh.From, sh.Of)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, r.Chart)
	fmt.Fprintln(w, "Expectations")
	for _, c := range r.Checks {
		mark := "PASS"
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %-62s want %-16s got %s\n", mark, c.Name, c.Want, c.Got)
	}
	verdict := "PASS: the drill met every expectation."
	if !r.Pass {
		verdict = "FAIL: the drill missed an expectation (marked FAIL above)."
	}
	fmt.Fprintln(w, "\n"+verdict)
}

// ReportText says in English whether and when the fault was reported, or
// why it need not be.
func (f FaultResult) ReportText() string {
	switch {
	case f.Reported != nil:
		return fmt.Sprintf("reported to %s at %s, %s after FAULT", reportTo(f.Reported.To), clock(time.Duration(f.Reported.At)), Minutes(time.Duration(f.Reported.After)))
	case f.Announced != nil:
		return fmt.Sprintf("Kela announced it (%s notice at %s): no report needed", f.Announced.Kind, clock(time.Duration(f.Announced.Posted)))
	case !f.Detected:
		return "not reported; the counter never showed FAULT"
	}
	return ValueNotReported
}

// reportTo names whom a fault is reported to.
func reportTo(to string) string {
	if to == journal.ReportToKela {
		return "Kela's technical support"
	}
	return "the " + to
}

// Minutes writes a length of time as a person says it, the same in fi, sv
// and en: "40 s", "15 min", "1 h 5 min".
func Minutes(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute).Minutes()))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// chart draws the fault, the mode and the queue depth over the drill clock
// in plain text, width columns wide.
func chart(s *Scenario, samples []Sample, speed float64, width int) string {
	end := s.Duration
	if n := len(samples); n > 0 && time.Duration(samples[n-1].Offset) > end {
		end = time.Duration(samples[n-1].Offset)
	}
	if end <= 0 {
		end = time.Second
	}
	colAt := func(c int) time.Duration { return time.Duration(float64(end) * float64(c) / float64(width)) }
	fault := make([]byte, width)
	mode := make([]byte, width)
	depth := make([]int64, width)
	var maxDepth int64
	for c := range width {
		lo, hi := colAt(c), colAt(c+1)
		// The fault in force: the last step at or before the column.
		fault[c] = '.'
		for _, st := range s.FaultSteps() {
			if st.At <= lo || (st.At < hi && st.Fault.Kind != centresim.FaultUp) {
				fault[c] = faultMark(st.Fault.Kind)
			}
		}
		mode[c] = ' '
		var d int64 = -1
		for _, sm := range samples {
			if time.Duration(sm.Offset) > hi {
				break
			}
			if time.Duration(sm.Offset) <= lo || d < 0 {
				mode[c], d = modeMark(sm.Mode), sm.Depth+sm.Review
			}
			if time.Duration(sm.Offset) > lo {
				// Within the column: show the worst of it.
				if m := modeMark(sm.Mode); m == 'F' || (m == 'R' && mode[c] != 'F') {
					mode[c] = m
				}
				d = max(d, sm.Depth+sm.Review)
			}
		}
		depth[c] = max(d, 0)
		maxDepth = max(maxDepth, depth[c])
	}
	var b strings.Builder
	pad := "            "
	fmt.Fprintf(&b, "Mode and upload queue on the drill clock, 0 to %s", clock(end))
	if end > s.Duration {
		// After the timeline the drill waits for the counter in real
		// time, which the drill clock stretches like the rest.
		fmt.Fprintf(&b, " (the timeline ends at %s; after it each real second of waiting for the counter counts as %g s)", clock(s.Duration), speed)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "fault     | %s\n", fault)
	fmt.Fprintf(&b, "mode      | %s\n", mode)
	height := int(min(maxDepth, 6))
	bar := func(d int64) int { return int(math.Ceil(float64(d) * float64(height) / float64(maxDepth))) }
	for row := height; row >= 1; row-- {
		level := int64(math.Ceil(float64(maxDepth) * float64(row) / float64(height)))
		line := make([]byte, width)
		for c := range width {
			line[c] = ' '
			if bar(depth[c]) >= row {
				line[c] = '#'
			}
		}
		fmt.Fprintf(&b, "queue %3d | %s\n", level, strings.TrimRight(string(line), " "))
	}
	fmt.Fprintf(&b, "queue   0 +%s\n", strings.Repeat("-", width))
	axis := []byte(strings.Repeat(" ", width+12))
	for _, c := range []int{0, width / 2, width - 1} {
		label := clock(colAt(c))
		if c == width-1 {
			label = clock(end)
			c = width - len(label)
		}
		copy(axis[12+c:], label)
	}
	fmt.Fprintf(&b, "%s\n", strings.TrimRight(string(axis), " "))
	fmt.Fprintf(&b, "%sfault: . up  D down  B black hole  S slow  F flaky  T throttle  X drop after commit\n", pad)
	fmt.Fprintf(&b, "%smode:  O ONLINE  F FAULT  R RECOVERING", pad)
	return b.String()
}

func faultMark(kind string) byte {
	switch kind {
	case centresim.FaultDown:
		return 'D'
	case centresim.FaultBlackhole:
		return 'B'
	case centresim.FaultSlow:
		return 'S'
	case centresim.FaultFlaky:
		return 'F'
	case centresim.FaultThrottle:
		return 'T'
	case centresim.FaultDropAfterCommit:
		return 'X'
	}
	return '.'
}

func modeMark(m string) byte {
	switch rx.Mode(m) {
	case rx.ModeFault:
		return 'F'
	case rx.ModeRecovering:
		return 'R'
	case rx.ModeOnline:
		return 'O'
	}
	return '?'
}

// clock writes a scenario time as h:mm:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

func seconds(s float64) string { return fmt.Sprintf("%.1f s", s) }

func yesNo(b bool) string {
	if b {
		return ValueYes
	}
	return ValueNo
}

func ptr[T any](v T) *T { return &v }

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
