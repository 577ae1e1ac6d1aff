package drill

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
)

// Files in a drill's folder. The runner writes them as it goes, so `tiski
// drill status` and `tiski drill report` can read them from another process
// while the drill runs.
const (
	EventsFile   = "events.jsonl"  // one Event a line, appended
	StateFile    = "state.json"    // the drill's State, replaced atomically
	ScenarioFile = "scenario.toml" // a copy of the scenario as played
)

// Event types.
const (
	EvStart      = "start"     // the drill began
	EvStep       = "step"      // a step of the timeline put a fault in force
	EvLever      = "lever"     // a step of the timeline changed a prescription upstream
	EvTask       = "task"      // a task was given to the trainees
	EvDone       = "done"      // a scripted trainee finished a task (Record is its record)
	EvRefused    = "refused"   // the counter refused a task; Rule names the policy rule when it was the policy
	EvRecord     = "record"    // a record reached the journal
	EvViolation  = "violation" // a record in the journal that the policy denies
	EvMode       = "mode"      // the counter's mode changed
	EvDepth      = "depth"     // the upload queue's depth changed
	EvConflict   = "conflict"  // a record went to conflict or rejected, for review
	EvResolved   = "resolved"  // a pharmacist resolved a conflict
	EvTimelineOK = "timeline"  // the timeline has been played to its end
	EvEnd        = "end"       // the drill ended
	EvCentre     = "centre"    // what the simulated Prescription Centre served (Stats)
	EvError      = "error"     // something went wrong in the runner itself
	EvSeen       = "seen"      // a journal task's counter found the prescription, with the quantity left (Left)
	EvShared     = "shared"    // at the end: how many of another counter's records a counter holds (Held of Of)
	// Kela's notices and the fault desk (issue 22).
	EvNotice    = "notice"     // one of Kela's notices reached the first counter: a step posted it (Step), or IT by hand
	EvNoticeEnd = "notice_end" // a notice (Record) was ended: Kela announced its end
	EvReported  = "reported"   // a fault was reported (To: helpdesk or kela), at Counter
)

// Event is one thing that happened in a drill. Time is the wall clock;
// Offset is the drill clock, real time since the start times the speed,
// which is scenario time while the timeline plays. No identity code is
// written: Patient is masked.
type Event struct {
	Time   time.Time `json:"time"`
	Offset Duration  `json:"offset"`
	Type   string    `json:"type"`
	Step   int       `json:"step,omitempty"` // 1-based
	Task   int       `json:"task,omitempty"` // 1-based
	Fault  string    `json:"fault,omitempty"`
	Mode   string    `json:"mode,omitempty"`
	Cause  string    `json:"cause,omitempty"`
	Kind   string    `json:"kind,omitempty"`   // record kind
	Record string    `json:"record,omitempty"` // record id
	// Patient is masked (hetu.Mask).
	Patient string `json:"patient,omitempty"`
	Depth   *int64 `json:"depth,omitempty"`  // unsent records
	Review  *int64 `json:"review,omitempty"` // records waiting for a pharmacist
	Rule    string `json:"rule,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// Stats are the simulator's counters, on a centre event.
	Stats *centresim.Stats `json:"stats,omitempty"`
	// Counter is the counter of a record, seen or shared event, from 1;
	// 0 is the first counter, the trainees'. From is the counter whose
	// records a shared event counts.
	Counter int `json:"counter,omitempty"`
	From    int `json:"from,omitempty"`
	// Left is the quantity a counter showed left on a journal
	// prescription (seen). Held and Of count a shared event.
	Left *int   `json:"left,omitempty"`
	Held *int64 `json:"held,omitempty"`
	Of   *int64 `json:"of,omitempty"`
	// NoticeFrom and NoticeTo are a notice's span on the drill clock
	// (NoticeTo nil: its end not known). To is whom a fault was reported
	// to (reported).
	NoticeFrom *Duration `json:"notice_from,omitempty"`
	NoticeTo   *Duration `json:"notice_to,omitempty"`
	To         string    `json:"to,omitempty"`
}

// Duration is a time.Duration written as text ("1h30m0s") in JSON.
type Duration time.Duration

// MarshalText writes the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// State is what the runner says about the drill as a whole.
type State struct {
	Scenario string    `json:"scenario"` // its name
	Title    string    `json:"title"`
	File     string    `json:"file"` // the file it was read from
	Speed    float64   `json:"speed"`
	Scripted bool      `json:"scripted"` // the tasks are done by a script, not trainees
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	PID      int       `json:"pid"`
	Centre   string    `json:"centre,omitempty"` // the simulator's FHIR URL
	Admin    string    `json:"admin,omitempty"`  // its admin URL
	Journal  string    `json:"journal,omitempty"`
}

// eventLog appends events to the drill folder.
type eventLog struct {
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	errs int
}

func createEventLog(dir string) (*eventLog, error) {
	f, err := os.OpenFile(filepath.Join(dir, EventsFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s already holds a drill: choose another folder for this one, or remove it", dir)
		}
		return nil, fmt.Errorf("create drill events: %w", err)
	}
	return &eventLog{f: f, w: bufio.NewWriter(f)}, nil
}

// add writes one event and flushes it, so a reader in another process sees
// whole lines.
func (l *eventLog) add(e Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
	if err := l.w.Flush(); err != nil {
		l.errs++
	}
}

func (l *eventLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeState replaces the state file atomically.
func writeState(dir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, StateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write drill state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, StateFile))
}

// Drill is a drill as read from its folder: the scenario, the state and the
// events so far.
type Drill struct {
	Dir      string
	Scenario *Scenario
	State    State
	Events   []Event
}

// Open reads a drill's folder, running or finished. A line being written
// at the moment of reading is left for the next read.
func Open(dir string) (*Drill, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s holds no drill: give the folder a drill runs in with --data (tiski drill run SCENARIO --data DIR)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read drill state: %w", err)
	}
	d := &Drill{Dir: dir}
	if err := json.Unmarshal(b, &d.State); err != nil {
		return nil, fmt.Errorf("read drill state %s: %w", filepath.Join(dir, StateFile), err)
	}
	if d.Scenario, err = Load(filepath.Join(dir, ScenarioFile)); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, EventsFile))
	if err != nil {
		return nil, fmt.Errorf("read drill events: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // a line being written
		}
		d.Events = append(d.Events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read drill events: %w", err)
	}
	return d, nil
}
