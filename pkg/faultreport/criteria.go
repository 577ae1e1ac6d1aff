package faultreport

import (
	"sort"
	"time"

	"github.com/tiski-rx/tiski/pkg/triage"
)

// Evidence codes, with the fields each uses.
const (
	// (a) the fault prevents or significantly slows the use of the service
	EvFaultMode   = "fault-mode"   // At: FAULT since; N: minutes; Detail: the counter's cause
	EvFaultEnded  = "fault-ended"  // At: back from FAULT
	EvCallsFailed = "calls-failed" // N failed of Of calls; Detail: the commonest failure class
	EvSlow        = "slow"         // Detail: the operation; N: its median ms now; Of: its normal ms
	EvNoFault     = "no-fault"     // no FAULT and no failing calls in the window

	// (b) the fault lies in Kela's service, not the pharmacy's systems
	EvTriageKanta = "triage-kanta" // Detail: the triage's first evidence (English)
	EvAnswered    = "answered"     // the service answered N of the failed calls with errors; Detail: the commonest class
	EvLocated     = "located"      // Detail: where the fault was placed (this-pc, pharmacy-network, unknown, none)

	// (c) patient safety may be at risk
	EvWaiting   = "waiting"   // N records not yet at the Prescription Centre: other pharmacies cannot see them
	EvReview    = "review"    // N records wait for a pharmacist's review
	EvEssential = "essential" // N essential-medication dispensings without the Prescription Centre's data
	EvNoRisk    = "no-risk"

	// (d) patient privacy may be at risk
	EvWrongPatient   = "wrong-patient"    // N answers were about another patient, refused
	EvNoWrongPatient = "no-wrong-patient" //

	// (e) its place cannot be confirmed, and it may hit other operators
	EvUnproven      = "unproven"       // refused or silent with the way unproven; Detail: the commonest class
	EvCountersFault = "counters-fault" // N of Of counters of the pharmacy in FAULT

	// (f) not in Kanta, yet it keeps the pharmacy from Kanta
	EvWayOut = "way-out" // Detail: the failing steps of the way out (dns, tcp, tls)

	// the verdict
	EvNoticeCovers = "notice" // Detail: Kela's reference; At: the notice's start
	EvThisPC       = "this-pc"
	EvWide         = "wide"        // N of Of counters in FAULT
	EvLong         = "long"        // N minutes at Kanta
	EvPrivacy      = "privacy"     // criterion (d)
	EvCriteriaMet  = "criteria"    // Detail: the criteria met, e.g. "a, b, c"
	EvNoneMet      = "none-met"    // a fault, but none of the criteria
	EvNoEvidence   = "no-evidence" // FAULT, but no call failed and the service answers: a person's judgement to check
	EvTellHelpdesk = "tell-first"  // with no notice from Kela, tell the helpdesk at once
)

// answerClasses are failures the service itself answered with: it was
// reached, and said no.
var answerClasses = map[string]bool{"5xx": true, "throttled": true, "wrong-patient": true, "bad": true, "4xx": true}

// wayClasses are failures on the way to the service.
var wayClasses = map[string]bool{"dns": true, "tls": true}

// failures counts the failed calls of the fault by class.
func (b *builder) failures() (byClass map[string]int, failedN, calls int) {
	byClass = map[string]int{}
	for _, s := range b.r.Services {
		if s.Op == "probe" && len(b.r.Services) > 1 {
			// Probes say the same as the real calls, many times over.
			continue
		}
		calls += s.Calls
		failedN += s.Failed
		for k, n := range s.Outcomes {
			byClass[k] += n
		}
	}
	return byClass, failedN, calls
}

// commonest is the class with the most calls, ties by name.
func commonest(byClass map[string]int, keep func(string) bool) (string, int) {
	keys := make([]string, 0, len(byClass))
	for k := range byClass {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	top, best := "", 0
	for _, k := range keys {
		if keep != nil && !keep(k) {
			continue
		}
		if byClass[k] > best {
			top, best = k, byClass[k]
		}
	}
	return top, best
}

// located is where the fault lies: the triage's verdict while it sees the
// fault, or, when the service is sound again (none), what the calls during
// the fault ended in: answers (5xx, 429) place it at Kanta, DNS or TLS
// failures on the way, refusals and silence nowhere proven.
func (b *builder) located(byClass map[string]int, failedN int) string {
	switch v := b.tri.Verdict; v {
	case triage.ThisPC, triage.PharmacyNetwork, triage.Kanta, triage.Unknown:
		return v
	}
	if failedN == 0 {
		return triage.None
	}
	answered, nA := commonest(byClass, func(k string) bool { return answerClasses[k] })
	_, nW := commonest(byClass, func(k string) bool { return wayClasses[k] })
	switch {
	case answered != "" && nA >= nW && 2*nA >= failedN:
		return triage.Kanta
	case nW > 0 && 2*nW >= failedN:
		return triage.PharmacyNetwork
	}
	return triage.Unknown
}

// counters is how many of the pharmacy's known counters are in FAULT.
func (b *builder) counters() (inFault, of int) {
	for _, c := range b.r.Scope.Counters {
		of++
		if c.Fault {
			inFault++
		}
	}
	return inFault, of
}

// criteria decides the six criteria.
func (b *builder) criteria() {
	f := &b.r.Fault
	byClass, failedN, calls := b.failures()
	loc := b.located(byClass, failedN)
	b.loc, b.failedN = loc, failedN
	crit := func(id string) *Criterion {
		b.r.Criteria = append(b.r.Criteria, Criterion{ID: id, Evidence: []Evidence{}})
		return &b.r.Criteria[len(b.r.Criteria)-1]
	}

	// (a) prevents or significantly slows the use of the service.
	a := crit("a")
	if f.Found && (b.faultMode() || failedN > 0) {
		a.Met = true
		if b.faultMode() {
			a.Evidence = append(a.Evidence, Evidence{Code: EvFaultMode, At: f.Began, N: f.Minutes, Detail: f.Cause})
			if !f.Ended.IsZero() {
				a.Evidence = append(a.Evidence, Evidence{Code: EvFaultEnded, At: f.Ended})
			}
		}
		if failedN > 0 {
			top, _ := commonest(byClass, nil)
			a.Evidence = append(a.Evidence, Evidence{Code: EvCallsFailed, N: failedN, Of: calls, Detail: top})
		}
	}
	for _, o := range b.tri.Calls {
		if o.SlowTimes >= triage.SlowFactor {
			a.Met = true
			a.Evidence = append(a.Evidence, Evidence{Code: EvSlow, Detail: o.Op, N: int(o.MedianMS), Of: int(o.NormalMS)})
		}
	}
	if !a.Met {
		a.Evidence = append(a.Evidence, Evidence{Code: EvNoFault})
	}

	// (b) in Kela's service, not the pharmacy's own systems.
	bc := crit("b")
	if f.Found && loc == triage.Kanta {
		bc.Met = true
		if b.tri.Verdict == triage.Kanta && len(b.tri.Evidence) > 0 {
			bc.Evidence = append(bc.Evidence, Evidence{Code: EvTriageKanta, Detail: b.tri.Evidence[0]})
		}
		answered := 0
		for k, n := range byClass {
			if answerClasses[k] {
				answered += n
			}
		}
		if top, _ := commonest(byClass, func(k string) bool { return answerClasses[k] }); answered > 0 {
			bc.Evidence = append(bc.Evidence, Evidence{Code: EvAnswered, N: answered, Of: failedN, Detail: top})
		}
	} else {
		bc.Evidence = append(bc.Evidence, Evidence{Code: EvLocated, Detail: loc})
	}

	// (c) patient safety may be at risk: dispensings the Prescription
	// Centre does not know of (another pharmacy may dispense again),
	// conflicts waiting, medicine given without its data.
	c := crit("c")
	if f.Found || b.r.Scope.Waiting > 0 || b.r.Scope.Review > 0 {
		if n := b.r.Scope.Waiting; n > 0 {
			c.Evidence = append(c.Evidence, Evidence{Code: EvWaiting, N: int(n)})
		}
		if n := b.r.Scope.Review; n > 0 {
			c.Evidence = append(c.Evidence, Evidence{Code: EvReview, N: int(n)})
		}
		if n := b.r.Impact.Essential; n > 0 {
			c.Evidence = append(c.Evidence, Evidence{Code: EvEssential, N: n})
		}
		c.Met = len(c.Evidence) > 0
	}
	if !c.Met {
		c.Evidence = append(c.Evidence, Evidence{Code: EvNoRisk})
	}

	// (d) privacy may be at risk: answers about another patient.
	d := crit("d")
	// The fault log's count over the fault, or the triage's over its
	// recent window, whichever saw more.
	b.wrong = max(b.wrong, b.tri.WrongPatient)
	if b.wrong > 0 {
		d.Met = true
		d.Evidence = append(d.Evidence, Evidence{Code: EvWrongPatient, N: b.wrong})
	} else {
		d.Evidence = append(d.Evidence, Evidence{Code: EvNoWrongPatient})
	}

	// (e) its place cannot be confirmed, and it may hit others.
	e := crit("e")
	if f.Found && loc == triage.Unknown {
		e.Met = true
		top, _ := commonest(byClass, nil)
		e.Evidence = append(e.Evidence, Evidence{Code: EvUnproven, Detail: top})
		if in, of := b.counters(); of > 1 {
			e.Evidence = append(e.Evidence, Evidence{Code: EvCountersFault, N: in, Of: of})
		}
	} else {
		e.Evidence = append(e.Evidence, Evidence{Code: EvLocated, Detail: loc})
	}

	// (f) not in Kanta, yet it keeps the pharmacy from using Kanta: the
	// way out (DNS, the network, TLS) beyond this PC.
	fc := crit("f")
	if f.Found && loc == triage.PharmacyNetwork {
		fc.Met = true
		fc.Evidence = append(fc.Evidence, Evidence{Code: EvWayOut, Detail: b.wayOutFailures(byClass)})
	} else {
		fc.Evidence = append(fc.Evidence, Evidence{Code: EvLocated, Detail: loc})
	}
}

// faultMode reports whether the fault is a FAULT period of the counter's,
// not only failing calls.
func (b *builder) faultMode() bool { return b.period }

// wayOutFailures names the way-out steps that failed, from the triage, or
// the fault log's class.
func (b *builder) wayOutFailures(byClass map[string]int) string {
	out := ""
	for _, s := range b.tri.Steps {
		if s.Layer == triage.LayerWay && s.Status == triage.Fail {
			if out != "" {
				out += ", "
			}
			out += s.Name
		}
	}
	if out == "" {
		out, _ = commonest(byClass, func(k string) bool { return wayClasses[k] })
	}
	return out
}

// verdict says what to do with the report.
func (b *builder) verdict() {
	r := b.r
	met := ""
	for _, c := range r.Criteria {
		if c.Met {
			if met != "" {
				met += ", "
			}
			met += c.ID
		}
	}
	privacy := r.Criteria[3].Met
	switch {
	case !r.Fault.Found && !privacy:
		r.Verdict, r.Why = NoFault, []Evidence{{Code: EvNoFault}}
		return
	case r.Notice != nil && !privacy:
		r.Verdict, r.Why = Announced, []Evidence{{Code: EvNoticeCovers, Detail: r.Notice.Ref, At: r.Notice.From}}
		return
	case b.loc == triage.ThisPC && !privacy:
		r.Verdict, r.Why = Helpdesk, []Evidence{{Code: EvThisPC}}
		return
	case met == "":
		r.Verdict, r.Why = Helpdesk, []Evidence{{Code: EvNoneMet}}
		return
	}
	if b.failedN == 0 && b.loc == triage.None && !privacy {
		r.Verdict, r.Why = Helpdesk, []Evidence{{Code: EvNoEvidence}}
		return
	}
	r.Verdict, r.Why = Kela, []Evidence{{Code: EvCriteriaMet, Detail: met}}
	if privacy {
		r.Why = append(r.Why, Evidence{Code: EvPrivacy})
	}
	if in, of := b.counters(); of >= WideCounters && in == of {
		r.Why = append(r.Why, Evidence{Code: EvWide, N: in, Of: of})
	}
	if r.Criteria[1].Met && time.Duration(r.Fault.Minutes)*time.Minute >= LongFault {
		r.Why = append(r.Why, Evidence{Code: EvLong, N: r.Fault.Minutes})
	}
	if r.Criteria[4].Met {
		r.Why = append(r.Why, Evidence{Code: EvUnproven})
	}
	if len(r.Why) > 1 {
		r.Verdict = Critical
	}
	if r.Notice == nil {
		r.Why = append(r.Why, Evidence{Code: EvTellHelpdesk})
	}
}
