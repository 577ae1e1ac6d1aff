package tui

import (
	"context"
	"errors"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// The patient's prescription summary (issue 23): the summary key of the
// prescriptions screen asks the root, which knows the mode, to write it.
// In FAULT, or when the Prescription Centre does not answer, there is
// nothing current to print: the root says so and offers the outage's own
// records of the patient, which the same key prints, marked as such.

// outageOffer is the standing offer to print a patient's outage records.
type outageOffer struct {
	patient string
	since   time.Time
	mode    rx.Mode // the offer stands while the mode it was made in does
}

// printoutMsg answers a write of the summary or of the outage records.
type printoutMsg struct {
	patient rx.Patient
	outage  bool
	p       common.Printout
	err     error
}

// outageCountMsg answers the count of the patient's outage records, for
// the offer.
type outageCountMsg struct {
	patient rx.Patient
	since   time.Time
	cause   string
	n       int
	err     error
}

// summaries returns the service that writes summaries, when this
// counter's has one.
func (m Model) summaries() (common.Summaries, bool) {
	s, ok := m.c.Services.(common.Summaries)
	return s, ok
}

// summary acts on the summary key for patient.
func (m Model) summary(patient rx.Patient) (Model, tea.Cmd) {
	svc, ok := m.summaries()
	if !ok {
		return m, nil
	}
	st := m.status.Mode()
	lang, timeout := m.c.Lang, m.c.Counter.CallTimeout
	if o := m.offer; o != nil && o.patient == patient.HETU && o.mode == st.Mode {
		m.offer, m.notice = nil, m.c.T(i18n.SumWorking)
		since := o.since
		return m, func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			p, err := svc.WriteOutageRecords(ctx, lang, patient, since)
			return printoutMsg{patient: patient, outage: true, p: p, err: err}
		}
	}
	m.offer = nil
	if st.Mode == rx.ModeFault {
		return m, m.countOutage(patient, st.Since, string(rx.ModeFault))
	}
	m.notice = m.c.T(i18n.SumWorking)
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		p, err := svc.WriteSummary(ctx, lang, patient)
		return printoutMsg{patient: patient, p: p, err: err}
	}
}

// countOutage counts the patient's records since the outage began.
func (m Model) countOutage(patient rx.Patient, since time.Time, cause string) tea.Cmd {
	svc, timeout := m.c.Services, m.c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		recs, err := svc.PatientRecords(ctx, patient.HETU, since)
		return outageCountMsg{patient: patient, since: since, cause: cause, n: len(recs), err: err}
	}
}

// unreachable reports whether err says the Prescription Centre did not
// answer, as the patient search judges it.
func unreachable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, centre.ErrTimeout) || centre.ClassOf(err) == centre.Transient ||
		rx.ErrorCode(err) == rx.EUNAVAILABLE
}

// printed says where a printout went, or why it was not made.
func (m Model) printed(msg printoutMsg) (Model, tea.Cmd) {
	switch {
	case msg.err != nil && !msg.outage && unreachable(msg.err):
		// Not yet FAULT, but no answer: the outage is at most a day old
		// as far as this counter can tell, as patient search looks back.
		m.notice = ""
		return m, m.countOutage(msg.patient, m.c.Now().Add(-common.PeerLookback), rx.ErrorMessage(msg.err))
	case msg.err != nil:
		m.notice = m.c.T(i18n.SumFailed, rx.ErrorMessage(msg.err))
	case msg.p.Opened:
		m.notice = m.c.T(i18n.SumOpened, msg.p.Path)
	case msg.outage:
		m.notice = m.c.T(i18n.SumOutWritten, msg.p.Path, msg.p.Count)
	default:
		m.notice = m.c.T(i18n.SumWritten, msg.p.Path, msg.p.Count)
	}
	return m, nil
}

// offered says there is nothing current and offers the outage's records.
func (m Model) offered(msg outageCountMsg) Model {
	nothing := m.c.T(i18n.SumCounterNothing, msg.cause)
	switch {
	case msg.err != nil:
		m.notice = nothing + " " + m.c.T(i18n.SumFailed, rx.ErrorMessage(msg.err))
	case msg.n == 0:
		m.notice = nothing + " " + m.c.T(i18n.SumNoOutageRecords)
	default:
		m.offer = &outageOffer{patient: msg.patient.HETU, since: msg.since, mode: m.status.Mode().Mode}
		m.notice = nothing + " " + m.c.T(i18n.SumOfferCounter, msg.n, m.c.Keys.Summary.Help().Key)
	}
	return m
}
