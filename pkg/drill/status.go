package drill

import (
	"fmt"
	"io"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Status is how far a drill has got, for the trainer while it runs.
type Status struct {
	Scenario string  `json:"scenario"`
	Title    string  `json:"title"`
	Speed    float64 `json:"speed"`
	Running  bool    `json:"running"`
	// Gone says the drill never ended but its process is no longer
	// running (killed, or the machine restarted): what it recorded stands.
	Gone     bool     `json:"gone,omitempty"`
	Offset   Duration `json:"offset"`   // the drill clock now (or at its end)
	Duration Duration `json:"duration"` // the timeline's length
	Steps    int      `json:"steps"`    // steps played
	StepsAll int      `json:"steps_total"`
	Fault    string   `json:"fault"` // the fault in force
	Tasks    int      `json:"tasks"` // tasks given
	TasksAll int      `json:"tasks_total"`
	Mode     string   `json:"mode"`
	Depth    int64    `json:"depth"`  // unsent records
	Review   int64    `json:"review"` // records for a pharmacist's review
	// Given are the tasks given so far, with what came of each.
	Given []StatusTask `json:"given"`
	// Records are what the trainees have recorded, oldest first.
	Records []StatusRecord       `json:"records"`
	ByKind  map[journal.Kind]int `json:"by_kind"`
	Centre  string               `json:"centre,omitempty"`
	Admin   string               `json:"admin,omitempty"`
}

// StatusTask is a task given to the trainees. Patient is the scenario's
// test identity code (900–999, checked when the scenario is read), which
// the trainer hands to the trainee.
type StatusTask struct {
	Task    int      `json:"task"`
	At      Duration `json:"at"`
	Do      Action   `json:"do"`
	Patient string   `json:"patient"`
	Say     string   `json:"say,omitempty"`
	Outcome string   `json:"outcome"`
}

// StatusRecord is one record a trainee made.
type StatusRecord struct {
	Offset  Duration `json:"offset"`
	Kind    string   `json:"kind"`
	Patient string   `json:"patient"` // masked
	Mode    string   `json:"mode"`    // the mode it was made in
	Rules   string   `json:"rules,omitempty"`
	Counter int      `json:"counter,omitempty"` // in a drill of several counters, a counter after the first
}

// Status reads how far the drill has got; now is the wall clock, for the
// drill clock of a running drill.
func (d *Drill) Status(now time.Time) Status {
	s := d.Scenario
	st := Status{Scenario: s.Name, Title: s.Title, Speed: d.State.Speed, Running: d.State.Ended.IsZero(),
		Duration: Duration(s.Duration), StepsAll: len(s.Steps), TasksAll: len(s.Tasks),
		Fault: "up", Mode: string(rx.ModeOnline), ByKind: map[journal.Kind]int{}, Centre: d.State.Centre, Admin: d.State.Admin}
	end := now
	if st.Running && d.State.PID > 0 && !alive(d.State.PID) {
		st.Running, st.Gone = false, true
		end = d.State.Started
		if n := len(d.Events); n > 0 {
			end = d.Events[n-1].Time
		}
	}
	if !st.Running && !st.Gone {
		end = d.State.Ended
	}
	st.Offset = Duration(float64(end.Sub(d.State.Started)) * d.State.Speed)
	var modeAt time.Time
	for _, e := range d.Events {
		switch e.Type {
		case EvStep:
			st.Steps++
			st.Fault = e.Fault
		case EvLever, EvNotice, EvNoticeEnd:
			if e.Step > 0 { // a step of the timeline; a notice typed in by hand is none
				st.Steps++
			}
		case EvTask:
			st.Tasks++
		case EvMode:
			if !e.Time.Before(modeAt) {
				st.Mode, modeAt = e.Mode, e.Time
			}
		case EvDepth:
			st.Depth, st.Review = deref(e.Depth), deref(e.Review)
		case EvRecord:
			st.ByKind[journal.Kind(e.Kind)]++
			st.Records = append(st.Records, StatusRecord{Offset: e.Offset, Kind: e.Kind, Patient: e.Patient, Mode: e.Mode, Rules: e.Rule, Counter: e.Counter})
		case EvReported:
			st.ByKind[journal.KindFaultReport]++
			st.Records = append(st.Records, StatusRecord{Offset: e.Offset, Kind: string(journal.KindFaultReport), Mode: e.Mode, Counter: e.Counter})
		}
	}
	var records []Event
	given := map[int]bool{}
	for _, e := range d.Events {
		switch e.Type {
		case EvRecord:
			records = append(records, e)
		case EvReported:
			records = append(records, reportedRecord(e))
		case EvTask:
			given[e.Task] = true
		}
	}
	for _, r := range scoreTasks(s, d.Events, records, d.State.Scripted) {
		if !given[r.Task] {
			continue
		}
		t := s.Tasks[r.Task-1]
		st.Given = append(st.Given, StatusTask{Task: r.Task, At: r.At, Do: r.Do, Patient: t.Patient, Say: t.Say, Outcome: r.Outcome})
	}
	return st
}

// WriteText writes the status for a trainer.
func (st Status) WriteText(w io.Writer) {
	state := "running"
	switch {
	case st.Gone:
		state = "stopped: its process is gone; what it recorded stands"
	case !st.Running:
		state = "ended"
	}
	fmt.Fprintf(w, "TRAINING drill %s (%s) — %s at speed %g\n", st.Scenario, st.Title, state, st.Speed)
	off := min(time.Duration(st.Offset), time.Duration(st.Duration))
	pct := 100.0
	if st.Duration > 0 {
		pct = 100 * float64(off) / float64(st.Duration)
	}
	fmt.Fprintf(w, "Timeline   %s of %s (%.0f%%), step %d of %d, fault now: %s\n", clock(off), clock(time.Duration(st.Duration)), pct, st.Steps, st.StepsAll, st.Fault)
	fmt.Fprintf(w, "Tasks      %d of %d given\n", st.Tasks, st.TasksAll)
	fmt.Fprintf(w, "Counter    %s, %d to upload, %d for review\n", st.Mode, st.Depth, st.Review)
	if st.Centre != "" {
		fmt.Fprintf(w, "Simulator  %s (admin %s)\n", st.Centre, st.Admin)
	}
	for _, t := range st.Given {
		fmt.Fprintf(w, "  %2d  %s  %-9s %s  %-9s %s\n", t.Task, clock(time.Duration(t.At)), t.Do, t.Patient, t.Outcome, t.Say)
	}
	fmt.Fprintf(w, "Recorded   %d record(s)\n", len(st.Records))
	for _, r := range st.Records {
		fmt.Fprintf(w, "  %s  %-24s %s  in %s", clock(time.Duration(r.Offset)), r.Kind, r.Patient, r.Mode)
		if r.Rules != "" {
			fmt.Fprintf(w, "  rules %s", r.Rules)
		}
		if r.Counter > 1 {
			fmt.Fprintf(w, "  at counter %d", r.Counter)
		}
		fmt.Fprintln(w)
	}
}
