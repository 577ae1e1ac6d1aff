// Package faultdesk words the fault report for Kela's technical support
// (pkg/faultreport) in the reader's language: as plain text to paste into
// an e-mail or the form, and as a printable page (pkg/page). The counter's
// fault desk and `tiski fault report` share it.
package faultdesk

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/triage"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// words says a report in one language, with times in one zone.
type words struct {
	l   i18n.Lang
	loc *time.Location
}

// When says t as a person in l reads a date and time.
func (w words) when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(w.loc)
	switch w.l {
	case i18n.FI:
		return t.Format("2.1.2006 klo 15.04")
	case i18n.SV:
		return t.Format("2.1.2006 kl. 15.04")
	}
	return t.Format("2006-01-02 15:04")
}

// clock is the time of day only, for a list within one fault.
func (w words) clock(t time.Time) string {
	t = t.In(w.loc)
	if w.l == i18n.EN {
		return t.Format("15:04")
	}
	return t.Format("15.04")
}

var classes = map[string]i18n.Key{
	"refused": i18n.FRClassRefused, "silent": i18n.FRClassSilent, "timeout": i18n.FRClassTimeout, "tls": i18n.FRClassTLS,
	"dns": i18n.FRClassDNS, "cut": i18n.FRClassCut, "throttled": i18n.FRClassThrottled, "5xx": i18n.FRClass5xx,
	"4xx": i18n.FRClass4xx, "bad": i18n.FRClassBad, "network": i18n.FRClassNetwork, "wrong-patient": i18n.FRClassWrongPatient,
	"ok": i18n.FRClassOK,
}

var ops = map[string]i18n.Key{"read": i18n.FROpRead, "search": i18n.FROpSearch, "write": i18n.FROpWrite, "probe": i18n.FROpProbe}

var located = map[string]i18n.Key{
	triage.None: i18n.FRPlaceNone, triage.ThisPC: i18n.FRPlaceThisPC, triage.PharmacyNetwork: i18n.FRPlaceNetwork,
	triage.Kanta: i18n.FRPlaceKanta, triage.Unknown: i18n.FRPlaceUnknown,
}

var criteria = map[string]i18n.Key{"a": i18n.FRCritA, "b": i18n.FRCritB, "c": i18n.FRCritC, "d": i18n.FRCritD, "e": i18n.FRCritE, "f": i18n.FRCritF}

// say words s by m, or leaves it as it is.
func (w words) say(m map[string]i18n.Key, s string) string {
	if k, ok := m[s]; ok {
		return w.l.T(k)
	}
	return s
}

var triageSteps = map[string]i18n.Key{"configuration": i18n.CLIFaultStepConfiguration, "certificate": i18n.CLIFaultStepCertificate,
	"ca bundle": i18n.CLIFaultStepCABundle, "clock": i18n.CLIFaultStepClock, "disk": i18n.CLIFaultStepDisk,
	"dns": i18n.CLIFaultStepDNS, "tcp": i18n.CLIFaultStepTCP, "tls": i18n.CLIFaultStepTLS,
	"metadata": i18n.CLIFaultStepMetadata, "calls": i18n.CLIFaultStepCalls, "counters": i18n.CLIFaultStepCounters}

// StepName names a triage step in l.
func StepName(l i18n.Lang, name string) string {
	if k, ok := triageSteps[name]; ok {
		return l.T(k)
	}
	return name
}

// Because words the triage's evidence in l: each step that decided the
// verdict, named, with what it saw.
func Because(l i18n.Lang, r triage.Result) []string {
	var out []string
	for _, name := range r.Because {
		for _, s := range r.Steps {
			if s.Name == name {
				out = append(out, StepName(l, name)+": "+Finding(l, s.Message))
				break
			}
		}
	}
	return out
}

// Finding words a triage finding in l: its English Detail where l has no
// words for it.
func Finding(l i18n.Lang, m triage.Message) string {
	s, ok := i18n.TriageMessage(l, m.Msg, m.Args)
	if !ok {
		return m.Detail
	}
	if m.Also != nil {
		s += "; " + l.T(i18n.TriageBesides) + " " + Finding(l, *m.Also)
	}
	return s
}

// Verdict is the report's verdict in a sentence.
func Verdict(l i18n.Lang, r faultreport.Report) string {
	switch r.Verdict {
	case faultreport.NoFault:
		return l.T(i18n.FRVerdictNone)
	case faultreport.Announced:
		return l.T(i18n.FRVerdictAnnounced)
	case faultreport.Helpdesk:
		return l.T(i18n.FRVerdictHelpdesk)
	case faultreport.Kela:
		return l.T(i18n.FRVerdictKela, r.Kela.Email)
	}
	return l.T(i18n.FRVerdictCritical, r.Kela.Email, r.Kela.Phone)
}

// evidence words one finding; steps are the triage's deciding steps.
func (w words) evidence(e faultreport.Evidence, steps []triage.Step) string {
	l := w.l
	switch e.Code {
	case faultreport.EvFaultMode:
		return l.T(i18n.FREvFaultMode, w.when(e.At), e.N, e.Detail)
	case faultreport.EvFaultEnded:
		return l.T(i18n.FREvFaultEnded, w.when(e.At))
	case faultreport.EvCallsFailed:
		return l.T(i18n.FREvCallsFailed, e.N, e.Of, w.say(classes, e.Detail))
	case faultreport.EvSlow:
		return l.T(i18n.FREvSlow, w.say(ops, e.Detail), e.N, e.Of)
	case faultreport.EvNoFault:
		return l.T(i18n.FREvNoFault)
	case faultreport.EvTriageKanta:
		if len(steps) > 0 {
			return l.T(i18n.FREvTriageKanta, StepName(l, steps[0].Name)+": "+Finding(l, steps[0].Message))
		}
		return l.T(i18n.FREvTriageKanta, e.Detail)
	case faultreport.EvAnswered:
		return l.T(i18n.FREvAnswered, e.N, e.Of, w.say(classes, e.Detail))
	case faultreport.EvLocated:
		return l.T(i18n.FREvLocated, w.say(located, e.Detail))
	case faultreport.EvWaiting:
		return l.T(i18n.FREvWaiting, e.N)
	case faultreport.EvReview:
		return l.T(i18n.FREvReview, e.N)
	case faultreport.EvEssential:
		return l.T(i18n.FREvEssential, e.N)
	case faultreport.EvNoRisk:
		return l.T(i18n.FREvNoRisk)
	case faultreport.EvWrongPatient:
		return l.T(i18n.FREvWrongPatient, e.N)
	case faultreport.EvNoWrongPatient:
		return l.T(i18n.FREvNoWrongPatient)
	case faultreport.EvUnproven:
		if e.Detail == "" {
			return l.T(i18n.FRWhyUnproven)
		}
		return l.T(i18n.FREvUnproven, w.say(classes, e.Detail))
	case faultreport.EvCountersFault:
		return l.T(i18n.FREvCountersFault, e.N, e.Of)
	case faultreport.EvWayOut:
		return l.T(i18n.FREvWayOut, e.Detail)
	case faultreport.EvNoticeCovers:
		return l.T(i18n.FRWhyNotice, e.Detail, w.when(e.At))
	case faultreport.EvThisPC:
		return l.T(i18n.FRWhyThisPC)
	case faultreport.EvWide:
		return l.T(i18n.FRWhyWide, e.N, e.Of)
	case faultreport.EvLong:
		return l.T(i18n.FRWhyLong, e.N)
	case faultreport.EvPrivacy:
		return l.T(i18n.FRWhyPrivacy)
	case faultreport.EvCriteriaMet:
		return l.T(i18n.FRWhyCriteria, e.Detail)
	case faultreport.EvNoneMet:
		return l.T(i18n.FRWhyNoneMet)
	case faultreport.EvNoEvidence:
		return l.T(i18n.FRWhyNoEvidence)
	case faultreport.EvTellHelpdesk:
		return l.T(i18n.FRWhyTellFirst)
	}
	return e.Code
}

// why words the verdict's reasons.
func (w words) why(r faultreport.Report) []string {
	var out []string
	for _, e := range r.Why {
		if e.Code == faultreport.EvNoFault {
			out = append(out, w.l.T(i18n.FRWhyNoFault, int(faultreport.DefaultWindow/time.Hour)))
			continue
		}
		out = append(out, w.evidence(e, r.Triage.Steps))
	}
	return out
}

// contact is a contact on one line, or "not set".
func (w words) contact(c faultreport.Contact) string {
	var parts []string
	for _, s := range []string{c.Name, c.Phone, c.Email} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return w.l.T(i18n.FRNotSet)
	}
	return strings.Join(parts, ", ")
}

func (w words) pharmacy(p rx.Pharmacy) string {
	switch {
	case p.Name == "" && p.OID == "":
		return w.l.T(i18n.FRNotSetPharmacy)
	case p.Name != "" && p.OID != "":
		return p.Name + " (" + p.OID + ")"
	case p.OID != "":
		return p.OID
	}
	return p.Name
}

// change words one change of the fault.
func (w words) change(c faultreport.Change) string {
	if c.Kind == "calls" {
		return w.l.T(i18n.FRChangeCalls, w.say(classes, c.Class), c.Calls)
	}
	if c.Manual && c.By != "" {
		return w.l.T(i18n.FRChangeModeBy, string(c.Mode), c.By, c.Cause)
	}
	return w.l.T(i18n.FRChangeMode, string(c.Mode), c.Cause)
}

// action words one action.
func (w words) action(a faultreport.Action) string {
	l := w.l
	switch a.Code {
	case "fault-auto":
		return l.T(i18n.FRActFaultAuto, a.Detail)
	case "fault-held":
		return l.T(i18n.FRActFaultHeld, a.By, a.Detail)
	case "released":
		return l.T(i18n.FRActReleased, a.By)
	case "recovering":
		return l.T(i18n.FRActRecovering)
	case "online":
		return l.T(i18n.FRActOnline)
	case "notice":
		return l.T(i18n.FRActNotice, a.By, a.Detail)
	case "notice-ended":
		return l.T(i18n.FRActNoticeEnded, a.By, a.Detail)
	case "triage":
		return l.T(i18n.FRActTriage, w.say(located, a.Detail))
	case "reported-helpdesk":
		return l.T(i18n.FRActReportedHelpdesk, a.By, a.Detail)
	case "reported-kela":
		return l.T(i18n.FRActReportedKela, a.By, a.Detail)
	}
	return a.Code
}

// service words one service's line.
func (w words) service(s faultreport.Service) string {
	line := w.l.T(i18n.FRServiceLine, s.Calls, s.Failed)
	if len(s.Outcomes) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s.Outcomes)) {
			parts = append(parts, fmt.Sprintf("%d %s", s.Outcomes[k], w.say(classes, k)))
		}
		line += ": " + strings.Join(parts, ", ")
	}
	if len(s.Statuses) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s.Statuses)) {
			parts = append(parts, fmt.Sprintf("%d×%d", s.Statuses[k], k))
		}
		line += "; " + w.l.T(i18n.FRStatuses, strings.Join(parts, ", "))
	}
	return line
}

// counter words one counter's state.
func (w words) counter(c faultreport.CounterState) string {
	name := c.Counter
	if c.This {
		name += " (" + w.l.T(i18n.FRThis) + ")"
	}
	if c.Fault {
		return w.l.T(i18n.FRCounterFault, name, w.when(c.Since))
	}
	return w.l.T(i18n.FRCounterOK, name)
}

// began and ended are the fault's facts.
func (w words) ended(f faultreport.Fault) string {
	if f.Ended.IsZero() {
		return w.l.T(i18n.FROngoing, f.Minutes)
	}
	return w.l.T(i18n.FRLasted, w.when(f.Ended), f.Minutes)
}

// Text writes the report as plain text, to paste or attach, in l with
// times in loc (time.Local at the counter).
func Text(out io.Writer, l i18n.Lang, loc *time.Location, r faultreport.Report) error {
	w := words{l: l, loc: loc}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	head := func(k i18n.Key) { line("\n%s", strings.ToUpper(l.T(k))) }
	fact := func(k i18n.Key, v string) { line("  %-40s %s", l.T(k), v) }

	line("%s", l.T(i18n.FRTitle))
	line("%s", l.T(i18n.FRMade, w.when(r.MadeAt), r.Counter, r.Kela.Email))

	head(i18n.FRVerdict)
	line("  %s", Verdict(l, r))
	for _, s := range w.why(r) {
		line("  - %s", s)
	}

	head(i18n.FRSecReporter)
	fact(i18n.FRPharmacy, w.pharmacy(r.Pharmacy))
	fact(i18n.FRCounter, r.Counter)
	fact(i18n.FRContact, w.contact(r.Reporter))
	fact(i18n.FRKelaSupport, r.Kela.Email+", "+r.Kela.Phone)

	head(i18n.FRSecFault)
	if !r.Fault.Found {
		line("  %s", l.T(i18n.FRNoFaultFound, int(faultreport.DefaultWindow/time.Hour)))
	} else {
		fact(i18n.FRBegan, w.when(r.Fault.Began))
		fact(i18n.FREnded, w.ended(r.Fault))
		if r.Fault.Cause != "" {
			fact(i18n.FRCause, r.Fault.Cause)
		}
		if n := r.Notice; n != nil {
			fact(i18n.FRNotice, noticeLine(w, *n))
		} else {
			fact(i18n.FRNotice, l.T(i18n.FRNoNotice))
		}
		if len(r.Fault.Changes) > 0 {
			line("  %s", l.T(i18n.FRChanges))
			for _, c := range r.Fault.Changes {
				line("    %s  %s", w.clock(c.At), w.change(c))
			}
		}
	}

	head(i18n.FRSecServices)
	if len(r.Services) == 0 {
		line("  %s", l.T(i18n.FRNoCalls))
	}
	for _, s := range r.Services {
		fact(ops[s.Op], w.service(s))
	}

	head(i18n.FRSecScope)
	for i, c := range r.Scope.Counters {
		k := i18n.FRCounters
		if i > 0 {
			line("  %-40s %s", "", w.counter(c))
			continue
		}
		fact(k, w.counter(c))
	}
	fact(i18n.FRWaiting, l.T(i18n.FRWaitingN, r.Scope.Waiting, r.Scope.Review))

	head(i18n.FRSecImpact)
	fact(i18n.FREssential, strconv.Itoa(r.Impact.Essential))
	fact(i18n.FRPaper, strconv.Itoa(r.Impact.Paper))
	fact(i18n.FRTelephone, strconv.Itoa(r.Impact.Telephone))
	fact(i18n.FRDispensing, strconv.Itoa(r.Impact.Dispensing))

	head(i18n.FRSecActions)
	if len(r.Actions) == 0 {
		line("  %s", l.T(i18n.FRNone))
	}
	for _, a := range r.Actions {
		line("  %s  %s", w.clock(a.At), w.action(a))
	}

	head(i18n.FRSecCriteria)
	for _, c := range r.Criteria {
		mark, word := " ", l.T(i18n.FRNotMet)
		if c.Met {
			mark, word = "x", l.T(i18n.FRMet)
		}
		line("  [%s] %s) %s (%s)", mark, c.ID, l.T(criteria[c.ID]), word)
		for _, e := range c.Evidence {
			line("        - %s", w.evidence(e, r.Triage.Steps))
		}
	}

	head(i18n.FRSecTriage)
	line("  %s", l.T(i18n.FRTriageAt, w.when(r.Triage.At), r.Triage.Verdict))
	for _, e := range w.triageLines(r) {
		line("  - %s", e)
	}
	line("\n%s", l.T(i18n.FRNoPII))
	_, err := io.WriteString(out, b.String())
	return err
}

// triageLines are the triage's deciding steps in the reader's language,
// or its English evidence for a report that carries no steps.
func (w words) triageLines(r faultreport.Report) []string {
	if len(r.Triage.Steps) == 0 {
		return r.Triage.Evidence
	}
	out := make([]string, 0, len(r.Triage.Steps))
	for _, s := range r.Triage.Steps {
		out = append(out, StepName(w.l, s.Name)+": "+Finding(w.l, s.Message))
	}
	return out
}

// noticeLine is Kela's notice on one line: its reference, its time and
// its words.
func noticeLine(w words, n rx.Notice) string {
	s := w.when(n.From)
	if end := n.End(); !end.IsZero() {
		s += "–" + w.when(end)
	}
	if n.Ref != "" {
		s = n.Ref + ", " + s
	}
	return s + ": " + n.Text
}

// Page shapes the report as a printable page.
func Page(l i18n.Lang, loc *time.Location, r faultreport.Report) page.Document {
	w := words{l: l, loc: loc}
	doc := page.Document{Lang: string(l), Title: l.T(i18n.FRTitle),
		Subtitle: l.T(i18n.FRMade, w.when(r.MadeAt), r.Counter, r.Kela.Email), Footer: l.T(i18n.FRNoPII)}
	st := page.StatusWarn
	switch r.Verdict {
	case faultreport.NoFault, faultreport.Announced:
		st = page.StatusPass
	case faultreport.Kela, faultreport.Critical:
		st = page.StatusFail
	}
	doc.Verdict = &page.Verdict{Status: st, Text: Verdict(l, r)}
	doc.Sections = append(doc.Sections, page.Section{ID: "why", Title: l.T(i18n.FRVerdict), Notes: w.why(r)})

	rep := page.Section{ID: "reporter", Title: l.T(i18n.FRSecReporter), Facts: []page.Fact{
		{Label: l.T(i18n.FRPharmacy), Value: w.pharmacy(r.Pharmacy)}, {Label: l.T(i18n.FRCounter), Value: r.Counter},
		{Label: l.T(i18n.FRContact), Value: w.contact(r.Reporter)}, {Label: l.T(i18n.FRKelaSupport), Value: r.Kela.Email + ", " + r.Kela.Phone}}}
	doc.Sections = append(doc.Sections, rep)

	fs := page.Section{ID: "fault", Title: l.T(i18n.FRSecFault)}
	if !r.Fault.Found {
		fs.Notes = []string{l.T(i18n.FRNoFaultFound, int(faultreport.DefaultWindow/time.Hour))}
	} else {
		fs.Facts = []page.Fact{{Label: l.T(i18n.FRBegan), Value: w.when(r.Fault.Began)}, {Label: l.T(i18n.FREnded), Value: w.ended(r.Fault)}}
		if r.Fault.Cause != "" {
			fs.Facts = append(fs.Facts, page.Fact{Label: l.T(i18n.FRCause), Value: r.Fault.Cause})
		}
		nv := l.T(i18n.FRNoNotice)
		if r.Notice != nil {
			nv = noticeLine(w, *r.Notice)
		}
		fs.Facts = append(fs.Facts, page.Fact{Label: l.T(i18n.FRNotice), Value: nv})
		t := page.Table{ID: "changes", Caption: l.T(i18n.FRChanges), Empty: l.T(i18n.FRNone)}
		for _, c := range r.Fault.Changes {
			t.Rows = append(t.Rows, page.Row{Cells: []string{w.clock(c.At), w.change(c)}})
		}
		fs.Tables = append(fs.Tables, t)
	}
	doc.Sections = append(doc.Sections, fs)

	ss := page.Section{ID: "services", Title: l.T(i18n.FRSecServices)}
	if len(r.Services) == 0 {
		ss.Notes = []string{l.T(i18n.FRNoCalls)}
	}
	for _, s := range r.Services {
		f := page.Fact{Label: w.say(ops, s.Op), Value: w.service(s)}
		if s.Failed > 0 {
			f.Status = page.StatusFail
		}
		ss.Facts = append(ss.Facts, f)
	}
	doc.Sections = append(doc.Sections, ss)

	sc := page.Section{ID: "scope", Title: l.T(i18n.FRSecScope)}
	for _, c := range r.Scope.Counters {
		f := page.Fact{Label: l.T(i18n.FRCounters), Value: w.counter(c)}
		if c.Fault {
			f.Status = page.StatusWarn
		}
		sc.Facts = append(sc.Facts, f)
	}
	sc.Facts = append(sc.Facts, page.Fact{Label: l.T(i18n.FRWaiting), Value: l.T(i18n.FRWaitingN, r.Scope.Waiting, r.Scope.Review)})
	sc.Facts = append(sc.Facts,
		page.Fact{Label: l.T(i18n.FREssential), Value: strconv.Itoa(r.Impact.Essential)},
		page.Fact{Label: l.T(i18n.FRPaper), Value: strconv.Itoa(r.Impact.Paper)},
		page.Fact{Label: l.T(i18n.FRTelephone), Value: strconv.Itoa(r.Impact.Telephone)},
		page.Fact{Label: l.T(i18n.FRDispensing), Value: strconv.Itoa(r.Impact.Dispensing)})
	doc.Sections = append(doc.Sections, sc)

	as := page.Section{ID: "actions", Title: l.T(i18n.FRSecActions)}
	at := page.Table{ID: "actions", Empty: l.T(i18n.FRNone)}
	for _, a := range r.Actions {
		at.Rows = append(at.Rows, page.Row{Cells: []string{w.clock(a.At), w.action(a)}})
	}
	as.Tables = []page.Table{at}
	doc.Sections = append(doc.Sections, as)

	cs := page.Section{ID: "criteria", Title: l.T(i18n.FRSecCriteria), NewPage: true}
	ct := page.Table{ID: "criteria"}
	for _, c := range r.Criteria {
		word, st := l.T(i18n.FRNotMet), page.StatusNone
		if c.Met {
			word, st = l.T(i18n.FRMet), page.StatusFail
		}
		var ev []string
		for _, e := range c.Evidence {
			ev = append(ev, w.evidence(e, r.Triage.Steps))
		}
		ct.Rows = append(ct.Rows, page.Row{Cells: []string{c.ID, l.T(criteria[c.ID]), word, strings.Join(ev, "; ")}, Status: st})
	}
	cs.Tables = []page.Table{ct}
	doc.Sections = append(doc.Sections, cs)

	doc.Sections = append(doc.Sections, page.Section{ID: "triage", Title: l.T(i18n.FRSecTriage),
		Notes: append([]string{l.T(i18n.FRTriageAt, w.when(r.Triage.At), r.Triage.Verdict)}, w.triageLines(r)...)})
	return doc
}
