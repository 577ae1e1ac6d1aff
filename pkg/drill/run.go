package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Simulator is the simulated Prescription Centre the timeline plays
// against. *centresim.Server implements it.
type Simulator interface {
	SetFault(f centresim.Fault) error
}

// Levers change the simulator's prescriptions as another pharmacy or the
// prescriber would, for a scenario's lever steps. *centresim.Server
// implements it.
type Levers interface {
	DispenseElsewhere(id string, quantity int, pharmacy string) error
	CancelPrescription(id string) error
	LockPrescription(id, by string) error
}

// Journal is what the runner reads of the counter's journal, and what a
// scripted trainee needs to see the mode. *journal.Journal implements it.
type Journal interface {
	List(ctx context.Context, f journal.Filter) ([]journal.Record, error)
	Counts(ctx context.Context) (journal.Counts, error)
	OutboxList(ctx context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error)
	Mode(ctx context.Context) (rx.ModeState, error)
	Outbox(ctx context.Context, id string) (journal.OutboxEntry, error)
	// GetAny finds a record of this counter or, from the hub, of
	// another counter of the pharmacy (issue 19).
	GetAny(ctx context.Context, id string) (journal.Record, error)
}

// NoticeBoard keeps Kela's notices, for a scenario's notice steps (issue
// 22). *journal.Journal implements it.
type NoticeBoard interface {
	AddNotice(ctx context.Context, n journal.NewNotice) (rx.Notice, error)
	EndNotice(ctx context.Context, id, by string) (rx.Notice, error)
}

// FaultDesk marks that a fault was reported, for a scripted trainee's
// report task (issue 22). *journal.Journal implements it.
type FaultDesk interface {
	MarkFaultReported(ctx context.Context, r journal.FaultReport) (journal.FaultReport, error)
}

// NoticeBy is the person a drill's notice steps post Kela's notices as:
// the drill's timeline, in the place of the pharmacy's IT.
const NoticeBy = "drill"

// Counter is one of the pharmacy's other counters in a drill of several
// (Scenario.Counters): its journal, and the scripted trainee who does the
// tasks given at it. Whoever builds it runs its mode machine, upload
// queue and sharer beside it, as for the first counter; the hub shares
// the counters' records.
type Counter struct {
	Journal Journal
	Trainee *Trainee
}

// Defaults for the zero values of Config.
const (
	DefaultSample = 100 * time.Millisecond
	DefaultSettle = 2 * time.Minute
	DefaultWait   = 15 * time.Second
)

// Config configures a run. The counter's mode machine and upload queue are
// not the runner's: whoever builds the counter runs them beside it (cmd/),
// exactly as at a pharmacy's counter, and the runner only watches the
// journal they write.
type Config struct {
	Scenario *Scenario
	// Dir is the drill's own folder for its events and state; it must not
	// hold a drill already.
	Dir     string
	Centre  Simulator
	Journal Journal
	// Counters are the pharmacy's other counters, from counter 2, when the
	// scenario runs several (Scenario.Counters).
	Counters []Counter
	// Policy audits every record the journal receives; nil: the default.
	Policy *policy.Set
	// Speed compresses the timeline: 60 plays an hour in a minute. The
	// counter's own timings are never compressed.
	Speed float64
	// Trainee does the tasks by script (headless drills and tests); nil
	// when trainees do them at the counter.
	Trainee *Trainee
	// Follow keeps watching the journal after the timeline and the
	// reconciliation, until ctx ends (the trainees close the counter).
	Follow bool
	// OnTask hears of each task as the timeline gives it (n from 1), for
	// the counter to show the trainees. It must not block.
	OnTask func(n int, t Task)
	// Refusals carries what the counter refused while trainees work at it;
	// a refusal by the policy counts as a violation caught. nil without a
	// counter.
	Refusals <-chan error
	// Sample is how often the journal is read. Default 100 ms.
	Sample time.Duration
	// Settle bounds the wait, in real time, for everything to reconcile
	// after the timeline. Default 2 min.
	Settle time.Duration
	// State carries the fields of the state file the caller knows
	// (Centre, Admin, Journal).
	State  State
	Logger *slog.Logger
	// Now is the wall clock. Default time.Now.
	Now func() time.Time
}

// Trainee is a scripted trainee: it does each task through pkg/record, the
// counter's one write path, at the task's offset.
type Trainee struct {
	Record   *record.Service
	Who      rx.Pharmacist
	Fixtures *rx.Fixtures
	// Kick wakes the upload queue after a record, as the counter does.
	Kick func()
	// Resolve records a pharmacist's resolution of a record in review
	// (queue.Resolve, which pkg/ may not import): action is resubmit or
	// void. Needed by scenarios with resolve tasks.
	Resolve func(ctx context.Context, who rx.Pharmacist, recordID, action, reason string) (journal.Record, error)
	// Skip lists tasks (from 1) the script leaves undone: a broken run.
	Skip []int
	// Wait bounds how long, in real time, a task waits for the counter,
	// as a trainee would: for FAULT before an essential-medication
	// dispensing, for the conflict before a resolution. Default 15 s.
	Wait time.Duration
}

// runner is one run of a scenario.
type runner struct {
	cfg   Config
	log   *eventLog
	start time.Time
	now   func() time.Time

	// records done by the scripted trainee, by task
	mu   sync.Mutex
	done map[int]string

	// notices posted by the timeline's steps: the notice's id by step,
	// owned by play
	notices map[int]string

	// sampled journal state, owned by the sampling goroutine
	lastSeq   int64
	lastSeqs  []int64 // of the other counters
	depth     int64
	review    int64
	conflicts map[string]bool
}

// Run plays the scenario: it writes the scenario and state to cfg.Dir,
// then, on the drill clock, puts each step's fault in force on the
// simulator and gives each task to the trainees (or the script), while
// recording what the counter does: records, mode changes, the queue's depth,
// conflicts. After the timeline it waits up to Settle for everything to
// reconcile. It returns when the drill is over, or when ctx ends; the
// events written until then stand, and the report can be made from them.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Scenario == nil || cfg.Centre == nil || cfg.Journal == nil || cfg.Dir == "" {
		return errors.New("drill: Scenario, Centre, Journal and Dir are required")
	}
	if cfg.Speed <= 0 {
		return fmt.Errorf("speed %v: give a speed above 0, e.g. 1 for real time or 60 for an hour a minute", cfg.Speed)
	}
	if cfg.Policy == nil {
		cfg.Policy = policy.Default()
	}
	if cfg.Sample <= 0 {
		cfg.Sample = DefaultSample
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Trainee != nil {
		tr := *cfg.Trainee // the defaults go on a copy, not the caller's
		if tr.Wait <= 0 {
			tr.Wait = DefaultWait
		}
		cfg.Trainee = &tr
	}
	if n := cfg.Scenario.Counters; n > 1+len(cfg.Counters) {
		return fmt.Errorf("drill: the scenario runs %d counters, and %d were given", n, 1+len(cfg.Counters))
	}
	for i, c := range cfg.Counters {
		if c.Journal == nil || c.Trainee == nil {
			return fmt.Errorf("drill: counter %d needs a journal and a scripted trainee", i+2)
		}
		tr := *c.Trainee
		if tr.Wait <= 0 {
			tr.Wait = DefaultWait
		}
		cfg.Counters[i].Trainee = &tr
	}
	if _, ok := cfg.Centre.(Levers); !ok {
		for _, st := range cfg.Scenario.Steps {
			if st.Lever != nil {
				return errors.New("drill: the scenario pulls levers, and the simulator given has none")
			}
		}
	}
	if _, ok := cfg.Journal.(NoticeBoard); !ok {
		for _, st := range cfg.Scenario.Steps {
			if st.Notice != nil || st.EndNotice > 0 {
				return errors.New("drill: the scenario posts Kela's notices, and the first counter's journal keeps none")
			}
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("make drill folder: %w", err)
	}
	log, err := createEventLog(cfg.Dir)
	if err != nil {
		return err
	}
	defer log.close()
	if err := os.WriteFile(filepath.Join(cfg.Dir, ScenarioFile), cfg.Scenario.Source, 0o600); err != nil {
		return fmt.Errorf("copy scenario: %w", err)
	}
	r := &runner{cfg: cfg, log: log, now: cfg.Now, depth: -1, review: -1, conflicts: map[string]bool{}, done: map[int]string{},
		notices: map[int]string{}, lastSeqs: make([]int64, len(cfg.Counters))}
	for _, tk := range cfg.Scenario.Tasks {
		if tr := r.trainee(tk.Counter); tk.Do == ActReport && tr != nil {
			if _, ok := r.journalOf(tk.Counter).(FaultDesk); !ok {
				return fmt.Errorf("drill: the scenario has the trainee report the fault, and counter %d's journal cannot mark it", tk.Counter)
			}
		}
	}
	r.start = r.now()
	st := cfg.State
	st.Scenario, st.Title, st.File = cfg.Scenario.Name, cfg.Scenario.Title, cfg.Scenario.File
	st.Speed, st.Scripted, st.Started, st.PID = cfg.Speed, cfg.Trainee != nil, r.start, os.Getpid()
	if err := writeState(cfg.Dir, st); err != nil {
		return err
	}
	r.emit(Event{Type: EvStart, Detail: fmt.Sprintf("%s at speed %g", cfg.Scenario.Name, cfg.Speed)})
	cfg.Logger.Info("drill started", "scenario", cfg.Scenario.Name, "speed", cfg.Speed, "scripted", cfg.Trainee != nil)

	// The sampler watches the journal until the drill ends.
	sampleCtx, stopSampling := context.WithCancel(context.WithoutCancel(ctx))
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		r.sampleLoop(sampleCtx)
	}()

	if cfg.Refusals != nil {
		refusing := make(chan struct{})
		defer func() { stopSampling(); <-refusing }()
		go func() {
			defer close(refusing)
			for {
				select {
				case <-sampleCtx.Done():
					return
				case err := <-cfg.Refusals:
					if rules := policyRules(err); len(rules) > 0 {
						r.refused(0, err)
					}
				}
			}
		}()
	}

	var tasks sync.WaitGroup
	err = r.play(ctx, &tasks)
	tasks.Wait()
	if err == nil {
		r.emit(Event{Type: EvTimelineOK})
		err = r.settle(ctx)
	}
	if err == nil && cfg.Follow {
		<-ctx.Done()
	}
	stopSampling()
	<-sampled
	r.sample(context.WithoutCancel(ctx)) // the last word
	if sc, ok := cfg.Centre.(interface{ Stats() centresim.Stats }); ok {
		st := sc.Stats()
		r.emit(Event{Type: EvCentre, Stats: &st})
	}
	end := Event{Type: EvEnd}
	if ctx.Err() != nil && !cfg.Follow {
		end.Detail = "stopped before the end"
	}
	r.emit(end)
	st.Ended = r.now()
	if werr := writeState(cfg.Dir, st); err == nil {
		err = werr
	}
	cfg.Logger.Info("drill ended", "scenario", cfg.Scenario.Name)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil // stopped by the trainer: the events so far stand
	}
	return err
}

// offset is the drill clock at t.
func (r *runner) offset(t time.Time) time.Duration {
	return time.Duration(float64(t.Sub(r.start)) * r.cfg.Speed)
}

// at is the wall-clock time of a scenario offset.
func (r *runner) at(off time.Duration) time.Time {
	return r.start.Add(time.Duration(float64(off) / r.cfg.Speed))
}

func (r *runner) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	// Free text comes from errors and notes; it never carries an identity
	// code in full.
	e.Detail, e.Cause = maskCodes(e.Detail), maskCodes(e.Cause)
	e.Offset = Duration(r.offset(e.Time))
	r.log.add(e)
}

// sleepUntil waits for the wall-clock time t.
func (r *runner) sleepUntil(ctx context.Context, t time.Time) error {
	d := t.Sub(r.now())
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// play walks the timeline: steps and tasks in the order of their offsets,
// a step before a task at the same offset. Tasks run beside the timeline,
// so a task waiting for the counter never holds up a fault.
func (r *runner) play(ctx context.Context, tasks *sync.WaitGroup) error {
	s := r.cfg.Scenario
	si, ti := 0, 0
	for si < len(s.Steps) || ti < len(s.Tasks) {
		if si < len(s.Steps) && (ti >= len(s.Tasks) || s.Steps[si].At <= s.Tasks[ti].At) {
			step := s.Steps[si]
			si++
			if err := r.sleepUntil(ctx, r.at(step.At)); err != nil {
				return err
			}
			if step.Notice != nil || step.EndNotice > 0 {
				if err := r.notice(ctx, si, step); err != nil {
					r.emit(Event{Type: EvError, Step: si, Detail: "notice: " + err.Error()})
					return fmt.Errorf("step %d: %w", si, err)
				}
				continue
			}
			if l := step.Lever; l != nil {
				if err := r.pull(*l); err != nil {
					r.emit(Event{Type: EvError, Step: si, Detail: "lever: " + err.Error()})
					return fmt.Errorf("step %d: %s: %w", si, l, err)
				}
				r.emit(Event{Type: EvLever, Step: si, Detail: l.String()})
				continue
			}
			// The fault counts from the moment it is asked for, so the
			// time it takes to close a listener counts in detection.
			asked := r.now()
			if err := r.cfg.Centre.SetFault(step.Fault); err != nil {
				r.emit(Event{Type: EvError, Step: si, Detail: "set fault: " + err.Error()})
				return fmt.Errorf("step %d: set fault %s: %w", si, step.Fault, err)
			}
			r.emit(Event{Time: asked, Type: EvStep, Step: si, Fault: step.Fault.String(), Detail: step.Note})
			r.cfg.Logger.Info("drill step", "step", si, "fault", step.Fault.String())
			continue
		}
		task := s.Tasks[ti]
		ti++
		n := ti
		if err := r.sleepUntil(ctx, r.at(task.At)); err != nil {
			return err
		}
		r.emit(Event{Type: EvTask, Task: n, Kind: string(task.Record), Patient: hetu.Mask(task.Patient), Detail: task.Say})
		if r.cfg.OnTask != nil {
			r.cfg.OnTask(n, task)
		}
		if tr := r.trainee(task.Counter); tr != nil && !slices.Contains(tr.Skip, n) {
			tasks.Add(1)
			go func() {
				defer tasks.Done()
				r.perform(ctx, n, task, tr)
			}()
		}
	}
	// The timeline plays on to its end even when nothing happens there.
	return r.sleepUntil(ctx, r.at(s.Duration))
}

// notice posts the notice of step si (from 1) to the first counter's
// journal, or ends the notice an earlier step posted, as the pharmacy's IT
// types in what Kela announced. With several counters the hub carries it
// to the others, as it carries every notice. The notice's times are
// offsets on the drill clock, mapped to the real clock the counters' mode
// machines run on, as the steps' offsets are: at speed 60 a break from 30m
// to 14h30m begins 30 s after the start and lasts 14 min of real time.
func (r *runner) notice(ctx context.Context, si int, step Step) error {
	board := r.cfg.Journal.(NoticeBoard) // checked by Run
	if n := step.Notice; n != nil {
		nn := journal.NewNotice{Kind: n.Kind, From: r.at(n.From), Text: n.Text, Ref: n.Ref, By: NoticeBy}
		if n.To > 0 {
			nn.To = r.at(n.To)
		}
		got, err := board.AddNotice(ctx, nn)
		if err != nil {
			return fmt.Errorf("post %s notice: %w", n.Kind, err)
		}
		r.notices[si] = got.ID
		from := Duration(n.From)
		e := Event{Type: EvNotice, Step: si, Kind: string(n.Kind), Record: got.ID, Detail: n.Text, NoticeFrom: &from}
		if n.To > 0 {
			e.NoticeTo = ptr(Duration(n.To))
		}
		r.emit(e)
		r.cfg.Logger.Info("drill notice", "step", si, "kind", string(n.Kind), "from", nn.From, "to", nn.To)
	} else {
		id := r.notices[step.EndNotice]
		if _, err := board.EndNotice(ctx, id, NoticeBy); err != nil {
			return fmt.Errorf("end step %d's notice: %w", step.EndNotice, err)
		}
		r.emit(Event{Type: EvNoticeEnd, Step: si, Record: id, Detail: fmt.Sprintf("step %d's notice", step.EndNotice)})
	}
	// The hub carries it to the other counters at once, as `tiski notice`
	// shares it.
	if tr := r.cfg.Trainee; tr != nil && tr.Kick != nil {
		tr.Kick()
	}
	return nil
}

// pull pulls a lever on the simulator.
func (r *runner) pull(l Lever) error {
	lv := r.cfg.Centre.(Levers) // checked by Run
	switch l.Kind {
	case LeverDispenseElsewhere:
		return lv.DispenseElsewhere(l.Prescription, l.Quantity, l.Pharmacy)
	case LeverCancel:
		return lv.CancelPrescription(l.Prescription)
	case LeverLock:
		return lv.LockPrescription(l.Prescription, l.Pharmacy)
	}
	return fmt.Errorf("unknown lever %q", l.Kind)
}

// trainee is the scripted trainee of counter n (from 1); nil when people
// do the first counter's tasks.
func (r *runner) trainee(n int) *Trainee {
	if n > 1 {
		return r.cfg.Counters[n-2].Trainee
	}
	return r.cfg.Trainee
}

// journalOf is the journal of counter n (from 1).
func (r *runner) journalOf(n int) Journal {
	if n > 1 {
		return r.cfg.Counters[n-2].Journal
	}
	return r.cfg.Journal
}

// journals are every counter's journals, the first counter's first.
func (r *runner) journals() []Journal {
	js := []Journal{r.cfg.Journal}
	for _, c := range r.cfg.Counters {
		js = append(js, c.Journal)
	}
	return js
}

// settle waits until nothing is left to upload or review at any counter
// and, with several counters, every counter holds the others' records; or
// until Settle has passed. With several counters it then writes what each
// holds of the others'.
func (r *runner) settle(ctx context.Context) error {
	deadline := time.NewTimer(r.cfg.Settle)
	defer deadline.Stop()
	tick := time.NewTicker(r.cfg.Sample)
	defer tick.Stop()
	for {
		done := true
		for _, j := range r.journals() {
			c, err := j.Counts(ctx)
			done = done && err == nil && c.Unsent() == 0 && c.NeedsReview() == 0
		}
		var shared []Event
		if done && len(r.cfg.Counters) > 0 {
			var complete bool
			shared, complete = r.shared(ctx)
			done = complete
		}
		if done {
			for _, e := range shared {
				r.emit(e)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if len(r.cfg.Counters) > 0 {
				shared, _ := r.shared(ctx)
				for _, e := range shared {
					r.emit(e)
				}
			}
			r.emit(Event{Type: EvError, Detail: fmt.Sprintf("not reconciled %s after the timeline ended", r.cfg.Settle)})
			return nil
		case <-tick.C:
		}
	}
}

// shared counts, for each counter, how many of each other counter's own
// records it holds from the hub; complete when each holds them all.
func (r *runner) shared(ctx context.Context) (evs []Event, complete bool) {
	js := r.journals()
	own := make([]map[string]bool, len(js))
	held := make([]map[string]bool, len(js))
	for i, j := range js {
		all, err := j.List(ctx, journal.Filter{Peers: true})
		if err != nil {
			return nil, false
		}
		own[i], held[i] = map[string]bool{}, map[string]bool{}
		for _, rec := range all {
			if rec.Peer {
				held[i][rec.ID] = true
			} else {
				own[i][rec.ID] = true
			}
		}
	}
	complete = true
	for a := range js {
		for b := range js {
			if a == b {
				continue
			}
			var n int64
			for id := range own[b] {
				if held[a][id] {
					n++
				}
			}
			of := int64(len(own[b]))
			complete = complete && n == of
			evs = append(evs, Event{Type: EvShared, Counter: a + 1, From: b + 1, Held: &n, Of: &of,
				Detail: fmt.Sprintf("counter %d holds %d of counter %d's %d records", a+1, n, b+1, of)})
		}
	}
	return evs, complete
}

func (r *runner) sampleLoop(ctx context.Context) {
	tick := time.NewTicker(r.cfg.Sample)
	defer tick.Stop()
	for {
		r.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sample reads what is new in the journal and writes it as events.
func (r *runner) sample(ctx context.Context) {
	j := r.cfg.Journal
	recs, err := j.List(ctx, journal.Filter{AfterSeq: r.lastSeq})
	if err != nil {
		if ctx.Err() == nil {
			r.cfg.Logger.Warn("drill: read journal", "err", err)
		}
		return
	}
	for _, rec := range recs {
		r.lastSeq = rec.Seq
		switch rec.Kind {
		case journal.KindModeChange:
			var b struct {
				To    rx.Mode `json:"to"`
				Cause string  `json:"cause"`
			}
			_ = json.Unmarshal(rec.Body, &b)
			r.emit(Event{Time: rec.CreatedAt, Type: EvMode, Mode: string(b.To), Cause: b.Cause})
		case journal.KindNotice, journal.KindNoticeEnd, journal.KindFaultReport:
			r.sampleDesk(rec, 0)
		default:
			// A resolution, or a void of a record in review, resolves a
			// conflict. Its body names the state the record was in, so a
			// conflict raised and resolved between two samples counts too.
			var b struct {
				State journal.OutboxState `json:"state"`
			}
			_ = json.Unmarshal(rec.Body, &b)
			inReview := b.State == journal.OutboxConflict || b.State == journal.OutboxRejected || b.State == journal.OutboxParked
			if rec.Kind == journal.KindResolution || (rec.Kind == journal.KindVoid && (inReview || r.conflicts[rec.RefersTo])) {
				if !r.conflicts[rec.RefersTo] {
					r.conflicts[rec.RefersTo] = true
					r.emit(Event{Time: rec.CreatedAt, Type: EvConflict, Record: rec.RefersTo, Detail: string(b.State)})
				}
				r.emit(Event{Time: rec.CreatedAt, Type: EvResolved, Kind: string(rec.Kind), Record: rec.RefersTo})
			}
			r.emit(Event{Time: rec.CreatedAt, Type: EvRecord, Kind: string(rec.Kind), Record: rec.ID,
				Patient: hetu.Mask(rec.Patient), Mode: string(rec.Mode), Rule: strings.Join(rec.Rules, ",")})
			if rule, why := r.audit(rec); rule != "" {
				r.emit(Event{Time: rec.CreatedAt, Type: EvViolation, Kind: string(rec.Kind), Record: rec.ID, Rule: rule, Detail: why})
			}
		}
	}
	r.sampleOthers(ctx)
	// The queue is the pharmacy's: every counter's records to upload or
	// review.
	var depth, review int64
	for _, jn := range r.journals() {
		c, err := jn.Counts(ctx)
		if err != nil {
			return
		}
		depth, review = depth+c.Unsent(), review+c.NeedsReview()
	}
	c, err := j.Counts(ctx)
	if err != nil {
		return
	}
	if depth != r.depth || review != r.review {
		r.depth, r.review = depth, review
		r.emit(Event{Type: EvDepth, Depth: &depth, Review: &review})
	}
	if c.Conflict+c.Rejected > 0 {
		es, err := j.OutboxList(ctx, journal.OutboxConflict, journal.OutboxRejected)
		if err != nil {
			return
		}
		for _, e := range es {
			if r.conflicts[e.RecordID] {
				continue
			}
			r.conflicts[e.RecordID] = true
			why := e.Conflict
			if why == "" {
				why = e.LastError
			}
			r.emit(Event{Time: e.UpdatedAt, Type: EvConflict, Kind: string(e.Kind), Record: e.RecordID, Detail: string(e.State) + ": " + why})
		}
	}
}

// audit checks a record against the policy after the fact: the one write
// path should have refused anything the policy denies, so a finding here is
// a record that reached the journal around it.
func (r *runner) audit(rec journal.Record) (rule, why string) {
	pol := r.cfg.Policy
	var ds []policy.Decision
	switch rec.Kind {
	case journal.KindDispensing:
		var b record.DispensingBody
		if json.Unmarshal(rec.Body, &b) != nil || !b.Essential {
			return "", ""
		}
		pkg, _ := b.Medicine.Package(b.VNR)
		ds = pol.EssentialDispensing(b.Medicine, pkg, b.Quantity, b.UnitsPerDay)
	case journal.KindPaperPrescription, journal.KindTelephonePrescription:
		var p rx.Prescription
		if json.Unmarshal(rec.Body, &p) != nil {
			return "", ""
		}
		if rec.Kind == journal.KindPaperPrescription {
			ds = pol.PaperPrescription(p.Medicine, p.Prescriber)
		} else {
			ds = pol.TelephonePrescription(p.Medicine, p.Prescriber)
		}
	}
	for _, d := range ds {
		if d.Verdict == policy.Deny {
			return d.RuleID, d.Message
		}
	}
	return "", ""
}

// Timings are the counter's timings in a drill. They run on real time,
// never compressed by --speed.
type Timings struct {
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	RecoverAfter  int
	RetryInitial  time.Duration
	RetryMax      time.Duration
}

// CounterTimings are the timings a drill's counter runs with: quick probes
// and retries, as in the demo, so trainees see a fault and the
// reconciliation within seconds, and a compressed timeline still leaves the
// counter time to react. Detection of a refused connection takes up to one
// probe interval; of a black hole, the interval plus the probe timeout.
func CounterTimings() Timings {
	return Timings{ProbeInterval: 500 * time.Millisecond, ProbeTimeout: time.Second, RecoverAfter: 2,
		RetryInitial: 500 * time.Millisecond, RetryMax: 3 * time.Second}
}

// maskCodes masks every identity code in s (hetu.MaskText).
func maskCodes(s string) string { return hetu.MaskText(s) }

// sampleOthers writes the records new at the other counters as events with
// their counter. Their mode and conflicts are their own; the drill scores
// the first counter's, where the trainees work.
func (r *runner) sampleOthers(ctx context.Context) {
	for i, c := range r.cfg.Counters {
		recs, err := c.Journal.List(ctx, journal.Filter{AfterSeq: r.lastSeqs[i]})
		if err != nil {
			if ctx.Err() == nil {
				r.cfg.Logger.Warn("drill: read journal", "counter", i+2, "err", err)
			}
			continue
		}
		for _, rec := range recs {
			r.lastSeqs[i] = rec.Seq
			switch rec.Kind {
			case journal.KindModeChange, journal.KindNotice, journal.KindNoticeEnd:
				continue // the first counter's are the drill's
			case journal.KindFaultReport:
				r.sampleDesk(rec, i+2)
				continue
			}
			r.emit(Event{Time: rec.CreatedAt, Type: EvRecord, Counter: i + 2, Kind: string(rec.Kind), Record: rec.ID,
				Patient: hetu.Mask(rec.Patient), Mode: string(rec.Mode), Rule: strings.Join(rec.Rules, ",")})
			if rule, why := r.audit(rec); rule != "" {
				r.emit(Event{Time: rec.CreatedAt, Type: EvViolation, Counter: i + 2, Kind: string(rec.Kind), Record: rec.ID, Rule: rule, Detail: why})
			}
		}
	}
}

// sampleDesk writes what a record of the fault desk says (issue 22): a
// fault reported, at counter n (0: the first), or one of Kela's notices
// typed in by hand at the first counter during the drill (the timeline's
// own are written as it posts them).
func (r *runner) sampleDesk(rec journal.Record, n int) {
	switch rec.Kind {
	case journal.KindFaultReport:
		fr, err := journal.FaultReportOf(rec)
		if err != nil {
			return
		}
		r.emit(Event{Time: rec.CreatedAt, Type: EvReported, Counter: n, Record: rec.ID, To: fr.To, Mode: string(rec.Mode), Detail: fr.Ref})
	case journal.KindNotice:
		if rec.Pharmacist == NoticeBy {
			return
		}
		var b struct {
			Kind string    `json:"kind"`
			From time.Time `json:"from"`
			To   string    `json:"to"`
			Text string    `json:"text"`
		}
		if json.Unmarshal(rec.Body, &b) != nil {
			return
		}
		e := Event{Time: rec.CreatedAt, Type: EvNotice, Kind: b.Kind, Record: rec.ID, Detail: b.Text, NoticeFrom: ptr(Duration(r.offset(b.From)))}
		if to, err := time.Parse(time.RFC3339Nano, b.To); err == nil {
			e.NoticeTo = ptr(Duration(r.offset(to)))
		}
		r.emit(e)
	case journal.KindNoticeEnd:
		if rec.Pharmacist == NoticeBy {
			return
		}
		var b struct {
			Notice string `json:"notice"`
		}
		if json.Unmarshal(rec.Body, &b) == nil {
			r.emit(Event{Time: rec.CreatedAt, Type: EvNoticeEnd, Record: b.Notice})
		}
	}
}
