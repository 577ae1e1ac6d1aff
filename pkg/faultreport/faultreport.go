// Package faultreport gathers the fault report that a pharmacy's IT sends
// to Kela's technical support (issue 22, item 2): from the journal's
// evidence (the mode history, the fault log, Kela's notices, the records
// kept during the fault, the upload queue) and a triage just run, it
// decides each of the six criteria on Kanta's page on reporting faults,
// with the evidence for each, and what to do: nothing, tell the helpdesk,
// report to Kela, or report and phone as well.
//
// The report is language-free: evidence is coded, with its figures, and
// the counter's words for it in fi, sv and en live with the other texts
// (tui/faultdesk). It holds no personal identity code and no patient data:
// the records are counted, never listed, and the fault log has none.
// tiski sends nothing itself; IT pastes or attaches what it writes.
package faultreport

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/triage"
)

// Verdicts: what IT should do with the report.
const (
	NoFault   = "none"      // no fault in the window: nothing to report
	Announced = "announced" // Kela announced it (a notice covers it): no report needed, follow Kela's notices
	Helpdesk  = "helpdesk"  // the pharmacy's own fault: tell the helpdesk, Kela cannot fix it
	Kela      = "kela"      // report to Kela's technical support with the form, by e-mail
	Critical  = "critical"  // report, and phone Kela's technical support as well
)

// Defaults.
const (
	// DefaultWindow is how far back a fault is looked for.
	DefaultWindow = 24 * time.Hour
	// Lead is how long before the fault began its calls are read, so the
	// report shows the change.
	Lead = 15 * time.Minute
	// WideCounters is how many counters in FAULT, all of the pharmacy's,
	// make a fault wide enough to phone in.
	WideCounters = 2
	// LongFault is how long a fault at Kanta lasts before it is critical:
	// the pharmacy has then dispensed on the fault procedure for an hour.
	LongFault = time.Hour
)

// Contact is a name, a telephone number and an e-mail address.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// Input is what the report is made from.
type Input struct {
	Journal  *journal.Journal
	Triage   triage.Result // a triage just run (triage.Run)
	Pharmacy rx.Pharmacy
	Counter  string  // this counter's id
	Reporter Contact // who sends the report: configuration, fault.reporter*
	Kela     Contact // Kela's technical support: configuration, fault.kela_*
	Now      time.Time
	Window   time.Duration // default DefaultWindow
}

// Report is the fault report. Its JSON keys are the same in every
// language.
type Report struct {
	MadeAt   time.Time   `json:"made_at"`
	Pharmacy rx.Pharmacy `json:"pharmacy"`
	Counter  string      `json:"counter"`
	Reporter Contact     `json:"reporter"`
	Kela     Contact     `json:"kela"`

	Fault    Fault       `json:"fault"`
	Notice   *rx.Notice  `json:"notice,omitempty"` // Kela's notice that covers the fault
	Services []Service   `json:"services"`
	Scope    Scope       `json:"scope"`
	Impact   Impact      `json:"impact"`
	Actions  []Action    `json:"actions"`
	Criteria []Criterion `json:"criteria"` // a to f, in order
	Triage   Triage      `json:"triage"`

	Verdict string     `json:"verdict"` // none, announced, helpdesk, kela, critical
	Why     []Evidence `json:"why"`     // what decided the verdict
}

// Fault is when the fault began and what changed since.
type Fault struct {
	Found   bool      `json:"found"`             // a FAULT period in the window, or failing calls now
	Began   time.Time `json:"began,omitzero"`    // the start of the FAULT period, or the first failed call
	Ended   time.Time `json:"ended,omitzero"`    // zero: ongoing
	Cause   string    `json:"cause,omitempty"`   // the cause the counter gave for FAULT, e.g. "probe: connection refused"
	Minutes int       `json:"minutes"`           // how long it has lasted, to the end or to now
	Changes []Change  `json:"changes,omitempty"` // what changed since it began, oldest first
}

// Change is one thing that changed during the fault: the counter's mode,
// or what the Prescription Centre's calls mostly ended in.
type Change struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`             // mode or calls
	Mode   rx.Mode   `json:"mode,omitempty"`   // for a mode change: the new mode
	Cause  string    `json:"cause,omitempty"`  // for a mode change: why, as the counter wrote it
	By     string    `json:"by,omitempty"`     // for a manual mode change
	Manual bool      `json:"manual,omitempty"` // a person's change
	Class  string    `json:"class,omitempty"`  // for calls: the outcome most calls had from then on (ok, refused, 5xx…)
	Calls  int       `json:"calls,omitempty"`  // for calls: how many calls that minute
}

// Service is one service of the Prescription Centre as the fault log saw
// it during the fault: reading prescriptions, searching, recording.
type Service struct {
	Op       string         `json:"op"` // read, search, write, probe
	Calls    int            `json:"calls"`
	Failed   int            `json:"failed"`
	Outcomes map[string]int `json:"outcomes"` // by outcome class, failures only
	Statuses map[int]int    `json:"statuses"` // by HTTP status of the failed calls that got an answer
}

// Scope is who is affected: the pharmacy's counters, and what waits.
type Scope struct {
	Counters []CounterState `json:"counters"`
	Waiting  int64          `json:"waiting"` // records not yet at the Prescription Centre
	Review   int64          `json:"review"`  // records waiting for a pharmacist's review (conflicts)
	Oldest   time.Time      `json:"oldest,omitzero"`
}

// CounterState is one counter of the pharmacy.
type CounterState struct {
	Counter string    `json:"counter"`
	This    bool      `json:"this,omitempty"`
	Fault   bool      `json:"fault"`
	Since   time.Time `json:"since,omitzero"`
}

// Impact is what the pharmacy recorded under the fault procedure during
// the fault, at every counter whose records this journal holds.
type Impact struct {
	Essential  int `json:"essential"`  // essential-medication dispensings on a basis document
	Paper      int `json:"paper"`      // paper prescriptions
	Telephone  int `json:"telephone"`  // telephone prescriptions
	Dispensing int `json:"dispensing"` // other dispensings kept in the journal
	Renewal    int `json:"renewal"`    // renewal requests kept for the Prescription Centre
}

// Total is every record counted.
func (i Impact) Total() int { return i.Essential + i.Paper + i.Telephone + i.Dispensing + i.Renewal }

// Action is something done about the fault.
type Action struct {
	At     time.Time `json:"at"`
	Code   string    `json:"code"`             // fault-auto, fault-held, released, recovering, online, notice, notice-ended, reported-helpdesk, reported-kela, triage
	By     string    `json:"by,omitempty"`     // a person, when a person did it
	Detail string    `json:"detail,omitempty"` // a cause, Kela's reference or the triage's verdict
}

// Criterion is one of the six criteria on Kanta's page, met or not, with
// the evidence that decides it.
type Criterion struct {
	ID       string     `json:"id"` // a to f
	Met      bool       `json:"met"`
	Evidence []Evidence `json:"evidence"`
}

// Evidence is one coded finding with its figures, worded by the reader's
// language (tui/faultdesk). Which fields a code uses is said at each code.
type Evidence struct {
	Code   string    `json:"code"`
	N      int       `json:"n,omitempty"`
	Of     int       `json:"of,omitempty"`
	At     time.Time `json:"at,omitzero"`
	Detail string    `json:"detail,omitempty"` // a class, a verdict, or a triage finding in English
}

// Triage is the triage's verdict and evidence, as it gave them.
type Triage struct {
	At       time.Time `json:"at"`
	Verdict  string    `json:"verdict"`
	Evidence []string  `json:"evidence"` // in English
	// Steps are the steps that decided the verdict, in the order of
	// Evidence, each with its finding as a message id and arguments too,
	// to word in the reader's language.
	Steps []triage.Step `json:"steps"`
}

// failed reports whether an outcome class of the fault log is a failure.
func failed(outcome string) bool { return outcome != "ok" }

// Build makes the report.
func Build(ctx context.Context, in Input) (Report, error) {
	if in.Journal == nil {
		return Report{}, rx.Errorf(rx.EINVALID, "no journal: the report is made from the counter's journal")
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if in.Window <= 0 {
		in.Window = DefaultWindow
	}
	now := in.Now.UTC()
	r := Report{MadeAt: now, Pharmacy: in.Pharmacy, Counter: in.Counter, Reporter: in.Reporter, Kela: in.Kela,
		Triage: Triage{At: in.Triage.At, Verdict: in.Triage.Verdict, Evidence: slices.Clone(in.Triage.Evidence)}}
	if r.Triage.Evidence == nil {
		r.Triage.Evidence = []string{}
	}
	r.Triage.Steps = []triage.Step{}
	for _, name := range in.Triage.Because {
		for _, s := range in.Triage.Steps {
			if s.Name == name {
				r.Triage.Steps = append(r.Triage.Steps, s)
				break
			}
		}
	}
	since := now.Add(-in.Window)
	b := builder{ctx: ctx, j: in.Journal, now: now, since: since, r: &r, tri: in.Triage}
	steps := []func() error{b.fault, b.readCalls, b.notice, b.scope, b.impact, b.actions}
	for _, step := range steps {
		if err := step(); err != nil {
			return Report{}, err
		}
	}
	b.criteria()
	b.verdict()
	return r, nil
}

type builder struct {
	ctx   context.Context
	j     *journal.Journal
	now   time.Time
	since time.Time
	r     *Report
	tri   triage.Result

	from, to time.Time                 // the stretch whose calls are counted
	modes    []journal.ModeChangeEntry // from the one in force at since
	calls    []journal.FaultCall       // in [from, to]
	wrong    int                       // calls answered about another patient
	period   bool                      // the fault is a FAULT period, not only failing calls
	loc      string                    // where the fault lies (located), set by criteria
	failedN  int                       // the fault's failed calls (failures), set by criteria
}

// end is the fault's end, or now while it lasts.
func (b *builder) end() time.Time {
	if b.r.Fault.Ended.IsZero() {
		return b.now
	}
	return b.r.Fault.Ended
}

// fault finds the last FAULT period in the window and the mode changes
// since it began.
func (b *builder) fault() error {
	periods, err := b.j.FaultPeriods(b.ctx, b.since)
	if err != nil {
		return fmt.Errorf("read the fault periods: %w", err)
	}
	f := &b.r.Fault
	if n := len(periods); n > 0 {
		p := periods[n-1]
		f.Found, f.Began, f.Ended, f.Cause = true, p.Start.UTC(), p.End.UTC(), p.Cause
		b.period = true
		if p.End.IsZero() {
			f.Ended = time.Time{}
		}
	}
	b.modes, err = b.j.ModeChanges(b.ctx, b.since)
	if err != nil {
		return fmt.Errorf("read the mode history: %w", err)
	}
	return nil
}

// readCalls reads the fault log: the services' calls during the fault (or the
// recent window with no FAULT), and the minutes at which what the calls
// mostly ended in changed.
func (b *builder) readCalls() error {
	f := &b.r.Fault
	b.from, b.to = b.now.Add(-triage.RecentWindow), b.now
	if f.Found {
		b.from, b.to = f.Began.Add(-Lead), b.end()
	}
	calls, err := b.j.FaultCalls(b.ctx, b.from, 0)
	if err != nil {
		return fmt.Errorf("read the fault log: %w", err)
	}
	for _, c := range calls {
		if !c.At.After(b.to) {
			b.calls = append(b.calls, c)
		}
	}
	byOp := map[string]*Service{}
	for _, c := range b.calls {
		if f.Found && c.At.Before(f.Began) {
			continue // the lead-in shows the change, it is not the fault
		}
		s := byOp[c.Op]
		if s == nil {
			s = &Service{Op: c.Op, Outcomes: map[string]int{}, Statuses: map[int]int{}}
			byOp[c.Op] = s
		}
		s.Calls++
		if failed(c.Outcome) {
			s.Failed++
			s.Outcomes[c.Outcome]++
			if c.Status != 0 {
				s.Statuses[c.Status]++
			}
		}
		if c.Outcome == "wrong-patient" {
			b.wrong++
		}
	}
	for _, op := range []string{"read", "search", "write", "probe"} {
		if s := byOp[op]; s != nil {
			b.r.Services = append(b.r.Services, *s)
			delete(byOp, op)
		}
	}
	var rest []string
	for op := range byOp {
		rest = append(rest, op)
	}
	sort.Strings(rest)
	for _, op := range rest {
		b.r.Services = append(b.r.Services, *byOp[op])
	}
	if b.r.Services == nil {
		b.r.Services = []Service{}
	}
	if !f.Found {
		// No FAULT: a fault is still found when most recent calls fail.
		var n, bad int
		var first time.Time
		for _, c := range b.calls {
			n++
			if failed(c.Outcome) {
				bad++
				if first.IsZero() {
					first = c.At
				}
			}
		}
		if bad > 0 && 2*bad >= n {
			f.Found, f.Began = true, first.UTC()
		}
	}
	if f.Found {
		f.Minutes = int(b.end().Sub(f.Began) / time.Minute)
	}
	b.changes()
	return nil
}

// changes lists the mode changes from the fault's start, and each minute
// at which the class most of the calls ended in changed.
func (b *builder) changes() {
	f := &b.r.Fault
	if !f.Found {
		return
	}
	var out []Change
	for _, m := range b.modes {
		if m.Seq == 0 || m.Since.Before(f.Began) {
			continue
		}
		out = append(out, Change{At: m.Since.UTC(), Kind: "mode", Mode: m.Mode, Cause: m.Cause, By: m.By, Manual: m.Manual})
	}
	// Minutes of calls, by their most common outcome.
	type minute struct {
		at     time.Time // the minute
		first  time.Time // its first call
		counts map[string]int
		n      int
	}
	var mins []*minute
	for _, c := range b.calls {
		at := c.At.UTC().Truncate(time.Minute)
		if len(mins) == 0 || !mins[len(mins)-1].at.Equal(at) {
			mins = append(mins, &minute{at: at, first: c.At.UTC(), counts: map[string]int{}})
		}
		m := mins[len(mins)-1]
		m.counts[c.Outcome]++
		m.n++
	}
	last := ""
	for _, m := range mins {
		top, best := "", -1
		for k, n := range m.counts {
			if n > best || (n == best && k < top) {
				top, best = k, n
			}
		}
		if top != last {
			if last != "" || top != "ok" {
				out = append(out, Change{At: m.first, Kind: "calls", Class: top, Calls: m.n})
			}
			last = top
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	f.Changes = out
}

// notice finds Kela's notice covering the fault: one in force at any time
// during it.
func (b *builder) notice() error {
	f := &b.r.Fault
	if !f.Found {
		return nil
	}
	notices, err := b.j.Notices(b.ctx)
	if err != nil {
		return fmt.Errorf("read Kela's notices: %w", err)
	}
	for i := range notices {
		n := notices[i]
		end := n.End()
		if n.From.After(b.end()) || (!end.IsZero() && !end.After(f.Began)) {
			continue
		}
		if b.r.Notice == nil || n.From.After(b.r.Notice.From) {
			b.r.Notice = &n
		}
	}
	return nil
}

// scope gathers the counters of the pharmacy and the records waiting.
func (b *builder) scope() error {
	s := &b.r.Scope
	st, err := b.j.Mode(b.ctx)
	if err != nil {
		return fmt.Errorf("read the mode: %w", err)
	}
	me := CounterState{Counter: b.r.Counter, This: true, Fault: st.Mode == rx.ModeFault}
	if me.Fault {
		me.Since = st.Since.UTC()
	}
	s.Counters = append(s.Counters, me)
	peers := slices.Clone(b.tri.Peers)
	sort.Slice(peers, func(i, j int) bool { return peers[i].Counter < peers[j].Counter })
	for _, p := range peers {
		cs := CounterState{Counter: p.Counter, Fault: p.Fault}
		if p.Fault {
			cs.Since = p.Since.UTC()
		}
		s.Counters = append(s.Counters, cs)
	}
	c, err := b.j.Counts(b.ctx)
	if err != nil {
		return fmt.Errorf("count the upload queue: %w", err)
	}
	s.Waiting = c.Pending + c.Sending + c.Retry
	s.Review = c.Conflict + c.Parked
	s.Oldest = c.OldestPending.UTC()
	return nil
}

// impact counts the records kept under the fault procedure during the
// fault, at every counter this journal holds the records of.
func (b *builder) impact() error {
	f := &b.r.Fault
	if !f.Found {
		return nil
	}
	recs, err := b.j.List(b.ctx, journal.Filter{Since: f.Began, Peers: true,
		Kinds: []journal.Kind{journal.KindDispensing, journal.KindPaperPrescription, journal.KindTelephonePrescription, journal.KindRenewal}})
	if err != nil {
		return fmt.Errorf("read the records: %w", err)
	}
	end := b.end()
	for _, rec := range recs {
		if rec.Time.After(end) {
			continue
		}
		switch rec.Kind {
		case journal.KindPaperPrescription:
			b.r.Impact.Paper++
		case journal.KindTelephonePrescription:
			b.r.Impact.Telephone++
		case journal.KindRenewal:
			b.r.Impact.Renewal++
		case journal.KindDispensing:
			var d struct {
				Essential bool `json:"essential"`
			}
			if json.Unmarshal(rec.Body, &d) == nil && d.Essential {
				b.r.Impact.Essential++
			} else {
				b.r.Impact.Dispensing++
			}
		}
	}
	return nil
}

// actions lists what was done: the counter's mode changes, Kela's notices
// kept, and the triage.
func (b *builder) actions() error {
	f := &b.r.Fault
	if f.Found {
		for _, c := range f.Changes {
			if c.Kind != "mode" {
				continue
			}
			a := Action{At: c.At, By: c.By, Detail: c.Cause}
			switch {
			case c.Mode == rx.ModeFault && c.Manual:
				a.Code = "fault-held"
			case c.Mode == rx.ModeFault:
				a.Code = "fault-auto"
			case c.Manual:
				a.Code = "released"
			case c.Mode == rx.ModeRecovering:
				a.Code = "recovering"
			default:
				a.Code = "online"
			}
			b.r.Actions = append(b.r.Actions, a)
		}
		if n := b.r.Notice; n != nil {
			b.r.Actions = append(b.r.Actions, Action{At: n.AddedAt.UTC(), Code: "notice", By: n.AddedBy, Detail: n.Ref})
			if !n.EndedAt.IsZero() {
				b.r.Actions = append(b.r.Actions, Action{At: n.EndedAt.UTC(), Code: "notice-ended", By: n.EndedBy, Detail: n.Ref})
			}
		}
	}
	if f.Found {
		// The marks that the fault was reported, at any counter.
		marks, err := b.j.FaultReports(b.ctx, f.Began)
		if err != nil {
			return fmt.Errorf("read the fault reports: %w", err)
		}
		for _, m := range marks {
			b.r.Actions = append(b.r.Actions, Action{At: m.Time.UTC(), Code: "reported-" + m.To, By: m.By, Detail: m.Ref})
		}
	}
	if !b.tri.At.IsZero() {
		b.r.Actions = append(b.r.Actions, Action{At: b.tri.At.UTC(), Code: "triage", Detail: b.tri.Verdict})
	}
	sort.SliceStable(b.r.Actions, func(i, j int) bool { return b.r.Actions[i].At.Before(b.r.Actions[j].At) })
	if b.r.Actions == nil {
		b.r.Actions = []Action{}
	}
	return nil
}
