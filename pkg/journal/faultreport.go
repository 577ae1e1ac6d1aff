package journal

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Whom a fault is reported to (FaultReport.To).
const (
	// ReportToHelpdesk is the pharmacy's own helpdesk: the user's duty
	// when no notice of the fault has been published or reached the
	// pharmacy (Kanta's page on reporting faults).
	ReportToHelpdesk = "helpdesk"
	// ReportToKela is Kela's technical support: the helpdesk's or the
	// system supplier's duty when one of Kela's six criteria holds.
	ReportToKela = "kela"
)

// maxFaultReportNote bounds a fault report's note: it says what was said
// and to whom, not the fault report itself.
const maxFaultReportNote = 500

// FaultReport is the mark that a fault was reported: to the pharmacy's
// helpdesk or to Kela's technical support, by whom, with the ticket or
// case number they gave (issue 22). It is a record of kind fault_report,
// never uploaded and shared with the pharmacy's other counters through the
// hub, as a notice is: every counter then knows the fault was reported.
type FaultReport struct {
	To   string `json:"to"`             // helpdesk or kela
	Ref  string `json:"ref,omitempty"`  // the ticket or case number the helpdesk or Kela gave
	Note string `json:"note,omitempty"` // what was said; never a patient's data
	By   string `json:"by"`             // the person who reported it

	// Set by the journal.
	ID      string    `json:"id,omitempty"`      // the record's id
	Time    time.Time `json:"time,omitzero"`     // when it was marked
	Counter string    `json:"counter,omitempty"` // the counter it was marked at
	Mode    rx.Mode   `json:"mode,omitempty"`    // the counter's mode then
	Peer    bool      `json:"peer,omitempty"`    // marked at another counter of the pharmacy
}

// faultReportBody is the body of a fault_report record; who and when are
// the record's own.
type faultReportBody struct {
	To   string `json:"to"`
	Ref  string `json:"ref,omitempty"`
	Note string `json:"note,omitempty"`
}

// validate says, field by field, what is wrong with r, in the words of
// the person marking it.
func (r *FaultReport) validate() error {
	r.To = strings.ToLower(strings.TrimSpace(r.To))
	r.Ref, r.Note, r.By = strings.TrimSpace(r.Ref), strings.TrimSpace(r.Note), strings.TrimSpace(r.By)
	var v rx.ValidationError
	switch r.To {
	case ReportToHelpdesk, ReportToKela:
	case "":
		v.Add("to", "say whom the fault was reported to: helpdesk (your own IT helpdesk) or kela (Kela's technical support)")
	default:
		v.Add("to", "must be helpdesk (your own IT helpdesk) or kela (Kela's technical support), not %q", r.To)
	}
	if n := utf8.RuneCountInString(r.Note); n > maxFaultReportNote {
		v.Add("note", "is %d characters; keep it to %d: what was said and to whom", n, maxFaultReportNote)
	}
	// A fault report goes to IT and on to Kela: no patient's data in it.
	for _, f := range [][2]string{{"ref", r.Ref}, {"note", r.Note}} {
		if hetu.MaskText(f[1]) != f[1] {
			v.Add(f[0], "holds what looks like a personal identity code; a fault report carries no patient's data, so leave it out")
		}
	}
	if len(r.Ref) > 100 {
		v.Add("ref", "is %d characters; give the ticket or case number only", len(r.Ref))
	}
	if r.By == "" {
		v.Add("by", "name the person who reported the fault")
	}
	return v.Err()
}

// MarkFaultReported records that a fault was reported, now: a fault_report
// record, never uploaded and shared with the other counters through the
// hub. Bad input is refused with rx.EINVALID, saying what to fix, and
// nothing is written.
func (j *Journal) MarkFaultReported(ctx context.Context, r FaultReport) (FaultReport, error) {
	if err := r.validate(); err != nil {
		return FaultReport{}, err
	}
	body, err := json.Marshal(faultReportBody{To: r.To, Ref: r.Ref, Note: r.Note})
	if err != nil {
		return FaultReport{}, err
	}
	rec, err := j.Append(ctx, NewRecord{Kind: KindFaultReport, Pharmacist: r.By, Body: body})
	if err != nil {
		return FaultReport{}, err
	}
	return faultReportOf(rec)
}

// FaultReports returns the fault reports marked at this counter and, from
// the hub, at the pharmacy's other counters, since the time given (zero:
// all), earliest first.
func (j *Journal) FaultReports(ctx context.Context, since time.Time) ([]FaultReport, error) {
	recs, err := j.List(ctx, Filter{Since: since, Kinds: []Kind{KindFaultReport}, Peers: true})
	if err != nil {
		return nil, err
	}
	out := make([]FaultReport, 0, len(recs))
	for _, rec := range recs {
		r, err := faultReportOf(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// FaultReportOf reads the fault report a fault_report record carries.
func FaultReportOf(rec Record) (FaultReport, error) { return faultReportOf(rec) }

func faultReportOf(rec Record) (FaultReport, error) {
	if rec.Kind != KindFaultReport {
		return FaultReport{}, rx.Errorf(rx.EINVALID, "Record %s is a %s, not a fault report.", rec.ID, rec.Kind)
	}
	var b faultReportBody
	if err := json.Unmarshal(rec.Body, &b); err != nil {
		return FaultReport{}, rx.Errorf(rx.EINVALID, "Fault report record %s: %v.", rec.ID, err)
	}
	return FaultReport{To: b.To, Ref: b.Ref, Note: b.Note, By: rec.Pharmacist, ID: rec.ID, Time: rec.Time,
		Counter: rec.Terminal, Mode: rec.Mode, Peer: rec.Peer}, nil
}
