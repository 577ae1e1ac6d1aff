// Package drill holds fault drills for trainers (DESIGN §9): scenario files,
// the runner that plays a scenario's timeline of faults against the
// Prescription Centre simulator while the counter works in training mode,
// and the scored report.
//
// A scenario is a TOML file: a timeline of steps, each a fault of the
// simulator at an offset from the start; the trainees' tasks, each a patient
// and what to do at an offset; and the expectations the drill is scored
// against. testdata/drills/ holds the shipped scenarios, and its README
// describes the format.
//
// Two clocks run in a drill. The timeline runs on scenario time, which
// --speed compresses: at speed 60 an hour of scenario passes in a minute.
// The counter does not: its probes, timeouts and backoffs run on real time,
// as they would in a pharmacy. So the time to detect a fault and the time to
// reconcile are measured in real seconds, and when they are set on the
// scenario's timeline (for "reconciled by") they are added uncompressed to
// the offset of the step they follow.
package drill

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Scenario is a drill: the timeline of faults, the trainees' tasks and what
// is expected of them.
type Scenario struct {
	File        string        // where it was read from; a bundled one's name, e.g. "july-2015.toml"
	Source      []byte        // the file as read, copied into the drill's folder
	Name        string        // short name, e.g. "july-2015"
	Title       string        // one line for the trainer
	Description string        // the story told to the trainees
	Duration    time.Duration // how long the timeline plays, in scenario time
	// Counters is how many counters of one pharmacy the drill runs, 1 or
	// 2 (issue 19): with 2, a hub shares their records, and tasks name
	// the counter the patient comes to.
	Counters int
	Steps    []Step // in time order
	Tasks    []Task // in time order
	Expect   Expectations
}

// Step is one change of the simulated Prescription Centre: a fault, or a
// lever pulled on its data (a reconciliation hazard); or one of Kela's
// notices reaching the pharmacy, or the end of one (issue 22).
type Step struct {
	Line  int             // in the scenario file
	At    time.Duration   // scenario time from the start
	Fault centresim.Fault // the fault from this step on; kind "up" ends a fault; zero for a lever or a notice
	Lever *Lever          // instead of a fault
	// Notice is Kela's notice this step posts to the counters, instead of
	// a fault.
	Notice *Notice
	// EndNotice, instead of a fault, is the step (from 1) whose notice
	// this step ends: Kela announced its end.
	EndNotice int
	Note      string // for the trainer, e.g. "Kela announces the fault"
}

// IsFault reports whether the step changes the fault (not a lever, not a
// notice).
func (st Step) IsFault() bool { return st.Lever == nil && st.Notice == nil && st.EndNotice == 0 }

// Notice is one of Kela's notices a step posts: a fault, or a planned
// maintenance break. From and To are offsets on the drill clock, as the
// steps' are; the runner maps them to the real clock the counter's mode
// machine runs on, as it maps every offset.
type Notice struct {
	Kind rx.NoticeKind // fault or maintenance
	From time.Duration
	To   time.Duration // 0: not known (a fault notice only)
	Text string
	Ref  string
}

// Covers reports whether the notice, as posted, holds at scenario time at.
func (n Notice) Covers(at time.Duration) bool {
	return n.From <= at && (n.To == 0 || at < n.To)
}

// Lever kinds: what happens to a prescription elsewhere while the
// pharmacy cannot see it.
const (
	LeverDispenseElsewhere = "dispense-elsewhere" // another pharmacy dispenses it
	LeverCancel            = "cancel"             // the prescriber cancels it
	LeverLock              = "lock"               // another pharmacy locks it
)

var levers = []string{LeverDispenseElsewhere, LeverCancel, LeverLock}

// Lever is a change the simulator makes to a prescription, as if another
// pharmacy or the prescriber had made it.
type Lever struct {
	Kind         string
	Prescription string
	Quantity     int    // dispense-elsewhere
	Pharmacy     string // dispense-elsewhere, lock: the other pharmacy
}

func (l Lever) String() string {
	switch l.Kind {
	case LeverDispenseElsewhere:
		return fmt.Sprintf("%s %s %d at %s", l.Kind, l.Prescription, l.Quantity, l.Pharmacy)
	case LeverLock:
		return fmt.Sprintf("%s %s by %s", l.Kind, l.Prescription, l.Pharmacy)
	}
	return l.Kind + " " + l.Prescription
}

// Action is what a trainee is asked to do.
type Action string

// Actions.
const (
	ActDispense  Action = "dispense"  // dispense against an e-prescription
	ActEssential Action = "essential" // essential-medication dispensing on a basis document
	ActPaper     Action = "paper"     // record a paper prescription and its dispensing
	ActTelephone Action = "telephone" // record a telephone prescription and its dispensing
	ActResolve   Action = "resolve"   // resolve the conflict raised on an earlier task's record
	// ActJournal dispenses against a paper or telephone prescription an
	// earlier task recorded, perhaps at another counter (issue 19).
	ActJournal Action = "journal"
	// ActReport tells the helpdesk (or Kela) of the fault, as a pharmacist
	// must at once when no notice of it has reached the pharmacy, and
	// marks it (journal.MarkFaultReported; tiski fault reported).
	ActReport Action = "report"
)

var actions = []Action{ActDispense, ActEssential, ActPaper, ActTelephone, ActResolve, ActJournal, ActReport}

// Resolutions a resolve task may make (queue.Resolve).
const (
	ResolveResubmit = "resubmit" // the record stands: send it again with the reason as override
	ResolveVoid     = "void"     // the record was entered in error: never send it
)

// Told is what the trainees are told in a counter's language ("fi", "sv",
// "en"): the task's own sentence in it, or Say.
func (t Task) Told(lang string) string {
	switch {
	case lang == "fi" && t.SayFI != "":
		return t.SayFI
	case lang == "sv" && t.SaySV != "":
		return t.SaySV
	}
	return t.Say
}

// Task is a trainee's task: a patient arrives at the counter at an offset.
type Task struct {
	Line int
	At   time.Duration
	// Counter is the counter the patient comes to, from 1; the first
	// counter is the trainees', the others' tasks are always scripted.
	Counter      int
	Patient      string // personal identity code (a test code, 900–999)
	Do           Action
	Say          string // what the trainee is told, e.g. "Matti has run out of metformin"
	SayFI, SaySV string // the same in Finnish and Swedish, for a counter in those languages; "" falls back to Say
	Prescription string // e-prescription id (dispense; essential when the basis shows it)
	Medicine     string // fixture medicine id
	Package      string // VNR of the package handed over
	Quantity     int    // units handed over (paper, telephone: also the prescribed quantity, unless Prescribed)
	Prescribed   int    // paper, telephone: the prescribed quantity, when more is prescribed than handed over now
	FromTask     int    // journal: the task (from 1) whose paper or telephone prescription this dispensing draws on
	// Left, for a journal task, is the quantity the counter must show
	// left on that prescription before this dispensing: what every
	// counter dispensed against it counts.
	Left        *int
	UnitsPerDay float64
	Basis       rx.BasisDocument // essential: instruction-sheet, summary or previous-label
	Prescriber  string           // paper, telephone: fixture prescriber id
	Dosage      string           // paper, telephone
	Reason      string           // paper, telephone: why the prescriber did not use an e-prescription; resolve: why
	Resolves    int              // resolve: the task (from 1) whose record is in review
	Resolution  string           // resolve: resubmit or void
	// Record is the kind of record the task should leave in the journal;
	// empty when the policy should refuse it (RefusedBy).
	Record journal.Kind
	// RefusedBy is the policy rule id that must refuse this task: a
	// violation the counter should catch.
	RefusedBy string
	// To, for a report task, is whom the fault is reported to:
	// journal.ReportToHelpdesk or journal.ReportToKela; Ref and Note go
	// with the mark.
	To, Ref, Note string
}

// Expectations are what the drill is scored against.
type Expectations struct {
	Line int
	// Records is how many records of each kind the journal should hold at
	// the end (paper_prescription, telephone_prescription, dispensing, void,
	// resolution).
	Records map[journal.Kind]int
	// PolicyViolations is how many records against the policy may reach the
	// journal: normally 0.
	PolicyViolations int
	// ViolationsCaught, when set, is how many attempts the policy should
	// refuse.
	ViolationsCaught *int
	// ReconciledBy is the scenario time by which everything must have
	// reached the Prescription Centre, with nothing left for review.
	ReconciledBy time.Duration
	// MaxDetect, when set, is the longest the counter may take, in real
	// time, to go to FAULT after each fault begins.
	MaxDetect time.Duration
	// Conflicts, when set, is how many records should end in conflict or
	// rejection for a pharmacist's review.
	Conflicts *int
	// Shared: every counter holds every other counter's records at the
	// end (a drill with counters = 2).
	Shared bool
	// ReportWithin, when set, is how long after the counter shows FAULT
	// the trainees may take to report a fault that no notice of Kela's
	// announced (issue 22).
	ReportWithin time.Duration
}

// recordKinds are the kinds a trainee's work leaves in the journal.
var recordKinds = []journal.Kind{journal.KindPaperPrescription, journal.KindTelephonePrescription,
	journal.KindDispensing, journal.KindVoid, journal.KindResolution}

// Load reads and checks a scenario file.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, b)
}

// Find reads a scenario named on the command line: a file, or, when there
// is no file of that name, a scenario shipped with tiski by its name
// ("july-2015" or "july-2015.toml"), so a trainer with the binary alone can
// play them.
func Find(name string) (*Scenario, error) {
	if _, err := os.Stat(name); err == nil || strings.ContainsAny(name, `/\`) {
		return Load(name)
	}
	file := strings.TrimSuffix(name, ".toml") + ".toml"
	if b, err := fs.ReadFile(tiski.Scenarios(), file); err == nil {
		return Parse(file, b)
	}
	names, err := Bundled()
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no scenario file %s, and no shipped scenario of that name; the shipped ones are %s (see tiski drill list)",
		name, strings.Join(names, ", "))
}

// Bundled returns the names of the scenarios shipped with tiski, sorted.
func Bundled() ([]string, error) {
	files, err := fs.Glob(tiski.Scenarios(), "*.toml")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(f, ".toml")
	}
	return names, nil
}

// ScenarioError lists everything wrong with a scenario file, each problem
// with the file, the line and the field.
type ScenarioError struct {
	File     string
	Problems []Problem
}

// Problem is one thing wrong in a scenario file.
type Problem struct {
	Line    int    // 0 when not known
	Field   string // e.g. "step[2].at"; steps and tasks count from 1
	Message string
}

func (e *ScenarioError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s is not valid; fix these and run again:", e.File)
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String(e.File))
	}
	return b.String()
}

// String says file:line: field: message.
func (p Problem) String(file string) string {
	loc := file
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	if p.Field == "" {
		return loc + ": " + p.Message
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Field, p.Message)
}

// Parse reads a scenario from the bytes of file. Unknown fields, wrong
// types, unknown fault kinds and actions, negative offsets and references to
// fixtures that do not exist are errors naming the file, the line and the
// field.
func Parse(file string, b []byte) (*Scenario, error) {
	var doc map[string]any
	if _, err := toml.Decode(string(b), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ScenarioError{File: file, Problems: []Problem{{Line: pe.Position.Line, Field: pe.LastKey, Message: pe.Message}}}
		}
		return nil, &ScenarioError{File: file, Problems: []Problem{{Message: err.Error()}}}
	}
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		return nil, fmt.Errorf("load fixtures: %w", err)
	}
	d := &decoder{file: file, lines: locate(string(b))}
	s := &Scenario{File: file, Source: b}
	root := d.table("", doc)
	s.Name = root.str("name", true)
	s.Title = root.str("title", false)
	s.Description = root.str("description", false)
	s.Duration = root.duration("duration", true)
	s.Counters = 1
	if root.has("counters") {
		s.Counters = root.int("counters", true)
		if s.Counters < 1 || s.Counters > 2 {
			d.fail("counters", "%d counters: a drill runs 1 or 2", s.Counters)
			s.Counters = 1
		}
	}
	for _, t := range root.tables("step") {
		s.Steps = append(s.Steps, d.step(t, fx, s.Steps))
	}
	for _, t := range root.tables("task") {
		s.Tasks = append(s.Tasks, d.task(t, fx, s.Tasks))
	}
	if e := root.sub("expect", true); e != nil {
		s.Expect = d.expect(e)
	}
	root.done()

	faults := s.FaultSteps()
	if len(faults) == 0 {
		d.fail("step", "a scenario needs at least one [[step]] with a fault")
	}
	// Steps and tasks keep the numbers of the file, so they must be listed
	// in time order.
	for i := 1; i < len(s.Steps); i++ {
		if s.Steps[i].At < s.Steps[i-1].At {
			d.fail(fmt.Sprintf("step[%d].at", i+1), "%s is before the step above it (%s): list the steps in time order", s.Steps[i].At, s.Steps[i-1].At)
		}
	}
	for i, tk := range s.Tasks {
		if tk.Counter > s.Counters {
			d.failAt(tk.Line, fmt.Sprintf("task[%d].counter", i+1), "counter %d, but the drill runs %d; set counters = %d at the top", tk.Counter, s.Counters, tk.Counter)
		}
	}
	if s.Expect.Shared && s.Counters < 2 {
		d.fail("expect.shared", "a drill with one counter shares nothing; set counters = 2 at the top, or drop shared")
	}
	for i := 1; i < len(s.Tasks); i++ {
		if s.Tasks[i].At < s.Tasks[i-1].At {
			d.fail(fmt.Sprintf("task[%d].at", i+1), "%s is before the task above it (%s): list the tasks in time order", s.Tasks[i].At, s.Tasks[i-1].At)
		}
	}
	for i, st := range s.Steps {
		if s.Duration > 0 && st.At > s.Duration {
			d.failAt(st.Line, "duration", "step at %s is after the end of the timeline (%s); make the duration longer", st.At, s.Duration)
		}
		if n := st.Notice; n != nil && s.Duration > 0 && n.To > s.Duration {
			d.failAt(st.Line, fmt.Sprintf("step[%d].to", i+1), "%s is after the end of the timeline (%s): the counters would stay in FAULT past it; end the notice within the timeline", n.To, s.Duration)
		}
	}
	if n := len(faults); n > 0 && faults[n-1].Fault.Kind != "" && faults[n-1].Fault.Kind != centresim.FaultUp {
		d.failAt(faults[n-1].Line, "step", "the last fault step leaves the fault %q on; end the timeline with a step whose fault is \"up\", so the drill can reconcile", faults[n-1].Fault.Kind)
	}
	if n := len(faults); n > 0 && s.Expect.ReconciledBy > 0 && s.Expect.ReconciledBy < faults[n-1].At {
		d.fail("expect.reconciled_by", "%s is before the last fault step (%s): nothing can reconcile before the Prescription Centre is back", s.Expect.ReconciledBy, faults[n-1].At)
	}
	if len(d.problems) > 0 {
		return nil, &ScenarioError{File: file, Problems: d.problems}
	}
	return s, nil
}

// ShortestPhase is the shortest time, in scenario time, between two steps
// after the first fault: the shortest fault or recovery the counter must
// notice. The quiet start before the first fault does not count. It is 0
// when there is no such phase.
func (s *Scenario) ShortestPhase() time.Duration {
	var shortest time.Duration
	steps := s.FaultSteps()
	for i := 1; i < len(steps); i++ {
		if steps[i-1].Fault.Kind == centresim.FaultUp && i == 1 {
			continue
		}
		if gap := steps[i].At - steps[i-1].At; gap > 0 && (shortest == 0 || gap < shortest) {
			shortest = gap
		}
	}
	return shortest
}

// FaultSteps are the steps that change the fault, without the levers.
func (s *Scenario) FaultSteps() []Step {
	var out []Step
	for _, st := range s.Steps {
		if st.IsFault() {
			out = append(out, st)
		}
	}
	return out
}

func (d *decoder) step(t *table, fx *rx.Fixtures, earlier []Step) Step {
	st := Step{Line: d.lines[t.path], At: t.duration("at", true), Note: t.str("note", false)}
	var kinds []string // what the step is: a fault, a lever, a notice or a notice's end
	for _, k := range []string{"fault", "lever", "notice", "end_notice"} {
		if t.has(k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) > 1 {
		d.fail(t.field(kinds[1]), "a step is a fault or a lever, a notice or a notice's end, one at a time, not %s: give each its own [[step]]", strings.Join(kinds, " and "))
		for _, k := range kinds {
			t.used[k] = true
		}
	}
	// With more than one, the step is read as the first of these, so that
	// its other fields are not reported as unknown too.
	switch {
	case t.has("lever"):
	case t.has("notice"):
		st.Notice = d.notice(t)
		return st
	case t.has("end_notice"):
		st.EndNotice = d.endNotice(t, st, earlier)
		return st
	}
	if t.has("lever") {
		st.Lever = d.lever(t, fx)
		return st
	}
	kind := t.str("fault", true)
	before := len(d.problems) // problems with the fault's parameters
	args := []string{kind}
	switch kind {
	case centresim.FaultSlow:
		args = append(args, t.str("duration", true))
	case centresim.FaultFlaky, centresim.FaultDropAfterCommit:
		if r, ok := t.float("ratio", kind == centresim.FaultFlaky); ok {
			args = append(args, strconv.FormatFloat(r, 'g', -1, 64))
		}
	case centresim.FaultThrottle:
		args = append(args, strconv.Itoa(t.int("seconds", true)))
	}
	if kind != "" && len(d.problems) == before {
		f, err := centresim.ParseFault(args)
		if err != nil {
			d.fail(t.path+".fault", "%v", err)
		}
		st.Fault = f
	}
	for _, k := range []string{"duration", "ratio", "seconds"} {
		if t.has(k) && !t.used[k] {
			d.fail(t.field(k), "fault %q takes no %s: duration is for slow, ratio for flaky and drop-after-commit, seconds for throttle", kind, k)
			t.used[k] = true
		}
	}
	t.done("at", "fault", "note", "duration", "ratio", "seconds", "lever")
	return st
}

// notice reads a step that posts one of Kela's notices.
func (d *decoder) notice(t *table) *Notice {
	n := &Notice{Kind: rx.NoticeKind(t.str("notice", true)), From: t.duration("from", true), Text: t.str("text", true), Ref: t.str("ref", false)}
	if n.Kind != "" && !n.Kind.Valid() {
		d.fail(t.field("notice"), "unknown notice %q: use maintenance (a planned break) or fault (Kela's notice of a fault)", n.Kind)
	}
	if t.has("to") {
		n.To = t.duration("to", true)
		if n.To != 0 && n.To <= n.From {
			d.fail(t.field("to"), "%s is not after from (%s): a notice ends after it begins", n.To, n.From)
		}
	} else if n.Kind == rx.NoticeMaintenance {
		d.fail(t.field("to"), "missing; a planned break needs the offset it ends at, e.g. to = \"14h30m\"")
	}
	t.done("at", "notice", "from", "to", "text", "ref", "note")
	return n
}

// endNotice reads a step that ends an earlier step's notice, as Kela
// announces a fault's end: it returns that step's number.
func (d *decoder) endNotice(t *table, st Step, earlier []Step) int {
	n := t.int("end_notice", true)
	switch {
	case n < 1 || n > len(earlier):
		d.fail(t.field("end_notice"), "step %d is not one of the steps above this one (1 to %d): name the step whose notice ends", n, len(earlier))
		n = 0
	case earlier[n-1].Notice == nil:
		d.fail(t.field("end_notice"), "step %d posts no notice to end", n)
		n = 0
	case earlier[n-1].Notice.To != 0 && st.At >= earlier[n-1].Notice.To:
		d.fail(t.field("end_notice"), "step %d's notice is over at %s already; end it before then, or drop this step", n, earlier[n-1].Notice.To)
		n = 0
	}
	for i, e := range earlier {
		if n > 0 && e.EndNotice == n {
			d.fail(t.field("end_notice"), "step %d ends step %d's notice already", i+1, n)
			n = 0
		}
	}
	t.done("at", "end_notice", "note")
	return n
}

// lever reads a lever step.
func (d *decoder) lever(t *table, fx *rx.Fixtures) *Lever {
	l := &Lever{Kind: t.str("lever", true), Prescription: t.str("prescription", true)}
	if l.Kind != "" && !slices.Contains(levers, l.Kind) {
		d.fail(t.field("lever"), "unknown lever %q: use one of %s", l.Kind, strings.Join(levers, ", "))
	}
	if l.Prescription != "" && !slices.ContainsFunc(fx.Prescriptions, func(p rx.Prescription) bool { return p.ID == l.Prescription }) {
		d.fail(t.field("prescription"), "no fixture prescription %q (see testdata/fixtures/prescriptions.json)", l.Prescription)
	}
	switch l.Kind {
	case LeverDispenseElsewhere:
		l.Quantity = t.int("quantity", true)
		if l.Quantity < 0 {
			d.fail(t.field("quantity"), "%d is negative", l.Quantity)
		}
		l.Pharmacy = t.str("pharmacy", true)
	case LeverLock:
		l.Pharmacy = t.str("pharmacy", true)
	}
	t.done("at", "lever", "prescription", "quantity", "pharmacy", "note")
	return l
}

func (d *decoder) task(t *table, fx *rx.Fixtures, earlier []Task) Task {
	tk := Task{Line: d.lines[t.path], At: t.duration("at", true)}
	switch Action(t.str("do", true)) {
	case ActResolve:
		return d.resolveTask(t, tk, earlier)
	case ActReport:
		return d.reportTask(t, tk)
	}
	tk.Patient = t.str("patient", true)
	if tk.Patient != "" {
		if id, err := hetu.Parse(tk.Patient); err != nil {
			d.fail(t.path+".patient", "%v", err)
		} else if !id.IsTest() {
			d.fail(t.path+".patient", "use a test identity code (individual number 900–999) in a drill, never a real person's")
		}
	}
	tk.Do = Action(t.str("do", true))
	if tk.Do != "" && !slices.Contains(actions, tk.Do) {
		d.fail(t.path+".do", "unknown action %q: use one of dispense, essential, paper, telephone, journal, resolve, report", tk.Do)
	}
	tk.Counter = 1
	if t.has("counter") {
		if tk.Counter = t.int("counter", true); tk.Counter < 1 {
			d.fail(t.field("counter"), "%d: counters count from 1", tk.Counter)
			tk.Counter = 1
		}
	}
	if tk.Do == ActJournal {
		d.journalTask(t, &tk, earlier)
	} else {
		for _, k := range []string{"from_task", "left"} {
			if t.has(k) {
				d.fail(t.field(k), "only a journal task (a dispensing against an earlier task's prescription) takes %s", k)
				t.used[k] = true
			}
		}
	}
	tk.Say, tk.SayFI, tk.SaySV = t.str("say", false), t.str("say_fi", false), t.str("say_sv", false)
	tk.Prescription = t.str("prescription", tk.Do == ActDispense)
	tk.Medicine = t.str("medicine", true)
	tk.Package = t.str("package", true)
	tk.Quantity = t.int("quantity", true)
	tk.UnitsPerDay, _ = t.float("units_per_day", false)
	tk.Basis = rx.BasisDocument(t.str("basis", tk.Do == ActEssential))
	exceptional := tk.Do == ActPaper || tk.Do == ActTelephone
	tk.Prescriber = t.str("prescriber", exceptional)
	tk.Dosage = t.str("dosage", exceptional)
	tk.Reason = t.str("reason", exceptional)
	if t.has("prescribed") {
		tk.Prescribed = t.int("prescribed", true)
		if !exceptional {
			d.fail(t.field("prescribed"), "only a paper or telephone prescription has a prescribed quantity")
		} else if tk.Prescribed < tk.Quantity {
			d.fail(t.field("prescribed"), "%d is less than the %d handed over", tk.Prescribed, tk.Quantity)
		}
	}
	tk.RefusedBy = t.str("refused_by", false)
	tk.Record = journal.Kind(t.str("record", tk.RefusedBy == ""))
	if tk.Record != "" && !slices.Contains(recordKinds, tk.Record) {
		d.fail(t.path+".record", "unknown record kind %q: use one of %s", tk.Record, kindList())
	}
	if tk.Record != "" && tk.RefusedBy != "" {
		d.fail(t.path+".refused_by", "a task either leaves a record or is refused by the policy, not both: drop record or refused_by")
	}
	if tk.Medicine != "" {
		m, ok := fx.Medicine(tk.Medicine)
		switch {
		case !ok:
			d.fail(t.path+".medicine", "no fixture medicine %q (see testdata/fixtures/medicines.json)", tk.Medicine)
		case tk.Package != "":
			if _, ok := m.Package(tk.Package); !ok {
				d.fail(t.path+".package", "medicine %s has no package %q", tk.Medicine, tk.Package)
			}
		}
	}
	if tk.Basis != "" && !slices.Contains([]rx.BasisDocument{rx.BasisInstructionSheet, rx.BasisSummary, rx.BasisPreviousLabel}, tk.Basis) {
		d.fail(t.path+".basis", "unknown basis %q: use instruction-sheet, summary or previous-label", tk.Basis)
	}
	if tk.Prescriber != "" && !slices.ContainsFunc(fx.Prescribers, func(p rx.Prescriber) bool { return p.ID == tk.Prescriber }) {
		d.fail(t.path+".prescriber", "no fixture prescriber %q (see testdata/fixtures/prescribers.json)", tk.Prescriber)
	}
	if tk.Prescription != "" && !slices.ContainsFunc(fx.Prescriptions, func(p rx.Prescription) bool { return p.ID == tk.Prescription }) {
		d.fail(t.path+".prescription", "no fixture prescription %q (see testdata/fixtures/prescriptions.json)", tk.Prescription)
	}
	if tk.Quantity < 0 {
		d.fail(t.path+".quantity", "%d is negative", tk.Quantity)
	}
	t.done()
	return tk
}

// journalTask reads what a journal task adds: the earlier task whose
// prescription it draws on, and the quantity the counter must show left.
func (d *decoder) journalTask(t *table, tk *Task, earlier []Task) {
	tk.FromTask = t.int("from_task", true)
	switch n := tk.FromTask; {
	case n == 0:
	case n < 1 || n > len(earlier):
		d.fail(t.field("from_task"), "task %d is not one of the tasks above this one (1 to %d)", n, len(earlier))
	case earlier[n-1].Record != journal.KindPaperPrescription && earlier[n-1].Record != journal.KindTelephonePrescription:
		d.fail(t.field("from_task"), "task %d records no paper or telephone prescription to dispense against", n)
	case tk.Patient != "" && earlier[n-1].Patient != tk.Patient:
		d.fail(t.field("patient"), "task %d's prescription is another patient's", n)
	}
	if t.has("left") {
		left := t.int("left", true)
		if left < 0 {
			d.fail(t.field("left"), "%d is negative", left)
		}
		tk.Left = &left
	}
}

// reportTask reads a task that reports the fault to the helpdesk or to
// Kela's technical support. It needs no patient, and leaves a
// fault_report record.
func (d *decoder) reportTask(t *table, tk Task) Task {
	tk.Do, tk.Record = ActReport, journal.KindFaultReport
	tk.Say, tk.SayFI, tk.SaySV = t.str("say", false), t.str("say_fi", false), t.str("say_sv", false)
	tk.To, tk.Ref, tk.Note = t.str("to", true), t.str("ref", false), t.str("note", false)
	if tk.To != "" && tk.To != journal.ReportToHelpdesk && tk.To != journal.ReportToKela {
		d.fail(t.field("to"), "unknown %q: report to helpdesk (the pharmacy's own) or kela (Kela's technical support)", tk.To)
	}
	for _, k := range []string{"note", "ref"} {
		if v, _ := t.m[k].(string); hetu.MaskText(v) != v {
			d.fail(t.field(k), "holds an identity code: a fault report carries no patient's data")
		}
	}
	tk.Counter = 1
	if t.has("counter") {
		if tk.Counter = t.int("counter", true); tk.Counter < 1 {
			d.fail(t.field("counter"), "%d: counters count from 1", tk.Counter)
			tk.Counter = 1
		}
	}
	t.done("at", "do", "say", "say_fi", "say_sv", "to", "ref", "note", "counter")
	return tk
}

// resolveTask reads a task that resolves the conflict on an earlier
// task's record.
func (d *decoder) resolveTask(t *table, tk Task, earlier []Task) Task {
	tk.Do = ActResolve
	tk.Say, tk.SayFI, tk.SaySV = t.str("say", false), t.str("say_fi", false), t.str("say_sv", false)
	tk.Resolves = t.int("resolves", true)
	tk.Resolution = t.str("action", true)
	tk.Reason = t.str("reason", true)
	tk.Record = journal.Kind(t.str("record", true))
	switch {
	case tk.Resolves == 0:
	case tk.Resolves < 1 || tk.Resolves > len(earlier):
		d.fail(t.field("resolves"), "task %d is not one of the tasks above this one (1 to %d)", tk.Resolves, len(earlier))
	case earlier[tk.Resolves-1].Record == "" || earlier[tk.Resolves-1].Do == ActResolve:
		d.fail(t.field("resolves"), "task %d leaves no record to resolve", tk.Resolves)
	default:
		tk.Patient = earlier[tk.Resolves-1].Patient
	}
	want := map[string]journal.Kind{ResolveResubmit: journal.KindResolution, ResolveVoid: journal.KindVoid}
	switch k, ok := want[tk.Resolution]; {
	case tk.Resolution == "":
	case !ok:
		d.fail(t.field("action"), "unknown resolution %q: use resubmit (the record stands) or void (entered in error)", tk.Resolution)
	case tk.Record != "" && tk.Record != k:
		d.fail(t.field("record"), "a %s leaves a %s record, not %s", tk.Resolution, k, tk.Record)
	}
	t.done("at", "do", "say", "say_fi", "say_sv", "resolves", "action", "reason", "record")
	return tk
}

func (d *decoder) expect(t *table) Expectations {
	e := Expectations{Line: d.lines[t.path], Records: map[journal.Kind]int{}}
	if r := t.sub("records", true); r != nil {
		for _, k := range r.keys() {
			if !slices.Contains(recordKinds, journal.Kind(k)) {
				d.fail(r.path+"."+k, "unknown record kind: use one of %s", kindList())
				r.used[k] = true
				continue
			}
			e.Records[journal.Kind(k)] = r.int(k, true)
		}
		r.done()
	}
	e.PolicyViolations = t.int("policy_violations", false)
	if t.has("violations_caught") {
		n := t.int("violations_caught", true)
		e.ViolationsCaught = &n
	}
	if t.has("conflicts") {
		n := t.int("conflicts", true)
		e.Conflicts = &n
	}
	if t.has("shared") {
		v, _ := t.get("shared", true)
		b, ok := v.(bool)
		if !ok {
			t.wrongType("shared", v, "true or false")
		}
		e.Shared = b
	}
	e.ReconciledBy = t.duration("reconciled_by", true)
	e.MaxDetect = t.duration("max_detect", false)
	e.ReportWithin = t.duration("report_within", false)
	t.done()
	return e
}

func kindList() string {
	var s []string
	for _, k := range recordKinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// decoder checks a decoded TOML document field by field and collects every
// problem with its line.
type decoder struct {
	file     string
	lines    lines
	problems []Problem
}

// lineOf is the line of a field, or of the nearest table holding it when
// the field is missing.
func (d *decoder) lineOf(path string) int {
	for p := path; p != ""; {
		if n, ok := d.lines[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (d *decoder) fail(path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Line: d.lineOf(path), Field: path, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) failAt(line int, field, format string, args ...any) {
	d.problems = append(d.problems, Problem{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// table is one TOML table being read; done reports its keys nobody asked for.
type table struct {
	d    *decoder
	path string
	m    map[string]any
	used map[string]bool
}

func (d *decoder) table(path string, m map[string]any) *table {
	return &table{d: d, path: path, m: m, used: map[string]bool{}}
}

func (t *table) field(key string) string { return join(t.path, key) }

func (t *table) has(key string) bool { _, ok := t.m[key]; return ok }

func (t *table) keys() []string {
	var ks []string
	for k := range t.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// get returns the value of key, marking it read; a missing required key is
// a problem.
func (t *table) get(key string, required bool) (any, bool) {
	t.used[key] = true
	v, ok := t.m[key]
	if !ok && required {
		t.d.fail(t.field(key), "missing; it is required")
	}
	return v, ok
}

func (t *table) wrongType(key string, v any, want string) {
	t.d.fail(t.field(key), "%s, but it must be %s", describe(v), want)
}

func (t *table) str(key string, required bool) string {
	v, ok := t.get(key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		t.wrongType(key, v, "a string in quotes")
		return ""
	}
	if required && strings.TrimSpace(s) == "" {
		t.d.fail(t.field(key), "is empty; it is required")
	}
	return s
}

func (t *table) int(key string, required bool) int {
	v, ok := t.get(key, required)
	if !ok {
		return 0
	}
	n, ok := v.(int64)
	if !ok {
		t.wrongType(key, v, "a whole number")
		return 0
	}
	return int(n)
}

func (t *table) float(key string, required bool) (float64, bool) {
	v, ok := t.get(key, required)
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	}
	t.wrongType(key, v, "a number")
	return 0, false
}

// duration reads a Go duration such as "1h30m"; it may not be negative.
func (t *table) duration(key string, required bool) time.Duration {
	s := t.str(key, required)
	if s == "" {
		return 0
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		t.d.fail(t.field(key), "%q is not a duration: write it like \"45m\", \"1h30m\" or \"90s\"", s)
		return 0
	}
	if dur < 0 {
		t.d.fail(t.field(key), "%q is negative: offsets and durations count forward from the start of the drill", s)
		return 0
	}
	return dur
}

// sub reads a table.
func (t *table) sub(key string, required bool) *table {
	v, ok := t.get(key, required)
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.wrongType(key, v, "a table")
		return nil
	}
	return t.d.table(t.field(key), m)
}

// tables reads an array of tables, [[key]].
func (t *table) tables(key string) []*table {
	v, ok := t.get(key, false)
	if !ok {
		return nil
	}
	ms, ok := v.([]map[string]any)
	if !ok {
		t.wrongType(key, v, fmt.Sprintf("an array of tables, each written [[%s]]", key))
		return nil
	}
	out := make([]*table, len(ms))
	for i, m := range ms {
		out[i] = t.d.table(fmt.Sprintf("%s[%d]", t.field(key), i+1), m)
	}
	return out
}

// done reports the keys of the table that are not fields of it. fields
// lists them for the message; when empty, the fields read are listed.
func (t *table) done(fields ...string) {
	known := fields
	if len(known) == 0 {
		for k := range t.used {
			known = append(known, k)
		}
		sort.Strings(known)
	}
	for _, k := range t.keys() {
		if !t.used[k] {
			t.d.fail(t.field(k), "unknown field; the fields here are %s", strings.Join(known, ", "))
		}
	}
}

// describe names a TOML value's type for an error.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q is a string", x)
	case int64:
		return fmt.Sprintf("%d is a whole number", x)
	case float64:
		return fmt.Sprintf("%v is a number", x)
	case bool:
		return fmt.Sprintf("%v is true or false", x)
	case map[string]any:
		return "it is a table"
	case []map[string]any, []any:
		return "it is an array"
	}
	return fmt.Sprintf("it is a %T", v)
}
