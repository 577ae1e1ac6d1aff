// Package common holds what every screen of the counter shares: one Common
// value with the terminal's size, the styles, the key bindings, the
// language, the clock and the services (STYLE §10). Services are passed
// explicitly in it, never looked up from a context.
package common

import (
	"context"
	"github.com/tiski-rx/tiski/pkg/faultreport"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/keymap"
	"github.com/tiski-rx/tiski/tui/styles"
)

// Services is what the counter needs of the rest of tiski. cmd/ builds the
// concrete one over the journal, the Prescription Centre client and the
// mode machine. Every method may block, so screens call them only inside a
// tea.Cmd, each with a context bounded by Counter.CallTimeout.
type Services interface {
	// Counts returns the outbox at a glance, for the status line.
	Counts(ctx context.Context) (journal.Counts, error)
	// Mode returns the mode in force.
	Mode(ctx context.Context) (rx.ModeState, error)
	// FindPatient looks the patient up in the Prescription Centre; no such
	// patient is an error with code rx.ENOTFOUND.
	FindPatient(ctx context.Context, hetu string) (rx.Patient, error)
	// Prescriptions lists the patient's prescriptions in the Prescription
	// Centre.
	Prescriptions(ctx context.Context, hetu string) ([]rx.Prescription, error)
	// SignIn checks a person's id and PIN. A wrong id or PIN, or a disabled
	// user, is an error with code rx.EFORBIDDEN.
	SignIn(ctx context.Context, id, pin string) (rx.Pharmacist, error)
	// ForceFault puts the counter in FAULT mode on a person's word.
	ForceFault(ctx context.Context, reason, by string) (rx.ModeState, error)
	// Dispense records a dispensing through pkg/record: committed to the
	// journal and put in the outbox, then handed to the upload queue at
	// once. Validation problems and policy denials are errors in the
	// pharmacist's terms; the receipt carries the decisions applied.
	Dispense(ctx context.Context, who rx.Pharmacist, d rx.Dispensing, opts record.DispenseOptions) (record.Receipt, error)
	// UploadState returns the outbox entry of a record: done once the
	// Prescription Centre has it, conflict or rejected when it refused it.
	UploadState(ctx context.Context, recordID string) (journal.OutboxEntry, error)

	// Paper and Telephone record a prescription received on paper or by
	// telephone through pkg/record, with its first dispensing when d is not
	// nil, in one journal transaction, then hand it to the upload queue at
	// once: online it is uploaded straight away, in a fault it waits.
	Paper(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (record.Receipt, error)
	Telephone(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (record.Receipt, error)
	// FindMedicines searches the pharmacy's medicine catalogue (issue 24)
	// for what the pharmacist types or a scanner sends, as
	// catalogue.Pick: at most n products, each with all its packages.
	// With no catalogue imported it is catalogue.ErrNoCatalogue (code
	// rx.ENOTFOUND).
	FindMedicines(ctx context.Context, query string, n int) ([]rx.Medicine, error)
	// MedicineByVNR returns the product of the package vnr with all its
	// packages: a scanned package. No such package is an rx.ENOTFOUND
	// error; no catalogue, catalogue.ErrNoCatalogue.
	MedicineByVNR(ctx context.Context, vnr string) (rx.Medicine, error)
	// CatalogueInfo describes the medicine catalogue: its source, date,
	// import time and count, or catalogue.ErrNoCatalogue. It reads no
	// table (a stat of the file), so the status line may ask at each
	// refresh.
	CatalogueInfo(ctx context.Context) (catalogue.Info, error)
	// PatientRecords returns the journal's records about the patient made
	// at or after since (the start of the current outage), oldest first.
	PatientRecords(ctx context.Context, patient string, since time.Time) ([]journal.Record, error)
	// Record returns one journal record; rx.ENOTFOUND when there is none.
	Record(ctx context.Context, id string) (journal.Record, error)
	// Outbox lists the outbox entries in the given states, every state
	// when none is given, oldest first: the sync and conflicts screens.
	Outbox(ctx context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error)
	// RetryNow makes a record waiting for a retry (or parked) due now and
	// wakes the upload queue.
	RetryNow(ctx context.Context, recordID string) error
	// Prescription reads an e-prescription as the Prescription Centre holds
	// it now: the upstream side of a conflict. patient is the identity code
	// of the patient it must be about (the record's); an answer about
	// anyone else is centre.ErrWrongPatient, with nothing of it (issue 22).
	Prescription(ctx context.Context, id, patient string) (rx.Prescription, error)
	// Resolve records a pharmacist's resolution of a record that needs
	// review (queue.Resolve), then wakes the upload queue. It returns the
	// audit record.
	Resolve(ctx context.Context, who rx.Pharmacist, recordID string, r queue.Resolution) (journal.Record, error)
}

// Counter is the counter's own settings.
type Counter struct {
	Pharmacy rx.Pharmacy
	Terminal string
	// Training shows the TRAINING banner: the demo and drills.
	Training bool
	// LockAfter is the inactivity before the session locks. Default 15 min.
	LockAfter time.Duration
	// CallTimeout bounds each call to the Prescription Centre made from the
	// counter. Default 10 s; past it the counter offers fault mode.
	CallTimeout time.Duration
	// SignedIn opens the counter already signed in as this person: the
	// demo's training pharmacist. Nil shows the sign-in screen.
	SignedIn *rx.Pharmacist
	// Policy is the fault-mode policy the counter previews decisions by;
	// it must be the one Services records by. Nil is policy.Default().
	Policy *policy.Set
}

// DrillTasks is offered by the services of a drill's counter: the task the
// timeline gave the trainees last, for the status line under the TRAINING
// banner. It never blocks; n is 0 before the first task.
type DrillTasks interface {
	DrillTask() (n int, text string)
}

// Outages is offered by the services of a training counter (tiski demo):
// one key starts and ends an outage of the simulated Prescription Centre,
// so a newcomer can see FAULT mode and reconciliation.
type Outages interface {
	ToggleOutage(ctx context.Context) (down bool, err error)
}

// FaultDesk is offered by the services of a counter that can run the
// triage and draft the fault report for Kela (issue 22): one key shows
// them (tui/screen/faultview). The triage takes seconds against a silent
// service; the screen waits for it.
type FaultDesk interface {
	FaultReport(ctx context.Context) (faultreport.Report, error)
	// MarkReported marks that who told the pharmacy's helpdesk of the
	// fault (journal.MarkFaultReported), shared with the other counters.
	MarkReported(ctx context.Context, who rx.Pharmacist) error
}

// Renewals is a counter that records renewal requests (issue 23): a
// pharmacist asks, for the patient, that the prescriber renew the selected
// prescription. Like every record it goes through pkg/record into the
// journal and the outbox, and the upload queue is kicked at once.
type Renewals interface {
	Renew(ctx context.Context, who rx.Pharmacist, r rx.Renewal) (record.Receipt, error)
}

// Summaries is offered by the services of a counter that prints the
// patient's prescription summary (issue 23): the summary key of the
// prescriptions screen. Both methods write a page into the data folder
// (0600, removed after a day at the counter's next start) in lang and
// open it with the system's opener where there is one.
type Summaries interface {
	// WriteSummary reads the patient's prescriptions from the
	// Prescription Centre now and writes the summary of the valid ones.
	// In FAULT, or when the Prescription Centre cannot be reached, it is
	// an error with code rx.EUNAVAILABLE whose message says why: there is
	// nothing current to print.
	WriteSummary(ctx context.Context, lang i18n.Lang, patient rx.Patient) (Printout, error)
	// WriteOutageRecords writes the journal's records about the patient
	// since the outage began, on a page marked as such.
	WriteOutageRecords(ctx context.Context, lang i18n.Lang, patient rx.Patient, since time.Time) (Printout, error)
}

// Printout is a page the counter wrote: where, how many prescriptions or
// records it lists, and whether the system's opener took it (false: show
// the path).
type Printout struct {
	Path   string
	Count  int
	Opened bool
}

// Defaults of Counter's zero fields.
const (
	DefaultLockAfter   = 15 * time.Minute
	DefaultCallTimeout = 10 * time.Second
)

// Common is shared by every screen.
type Common struct {
	Width, Height int
	Styles        styles.Styles
	Keys          keymap.KeyMap
	Lang          i18n.Lang
	Now           func() time.Time
	// Every schedules a screen's periodic reread: tea.Tick, except in
	// tests that step the screens by hand.
	Every    func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
	Services Services
	Counter  Counter
}

// Policy is the policy the counter judges by: Counter.Policy, or the
// built-in one for a Common not made by New.
func (c Common) Policy() *policy.Set {
	if c.Counter.Policy == nil {
		return policy.Default()
	}
	return c.Counter.Policy
}

// New returns a Common in lang. A nil now is time.Now.
func New(lang i18n.Lang, svc Services, counter Counter, now func() time.Time) Common {
	if now == nil {
		now = time.Now
	}
	if counter.LockAfter <= 0 {
		counter.LockAfter = DefaultLockAfter
	}
	if counter.CallTimeout <= 0 {
		counter.CallTimeout = DefaultCallTimeout
	}
	if counter.Policy == nil {
		counter.Policy = policy.Default()
	}
	return Common{
		Styles:   styles.New(),
		Keys:     keymap.New(lang),
		Lang:     lang,
		Now:      now,
		Every:    tea.Tick,
		Services: svc,
		Counter:  counter,
	}
}

// Tick schedules fn after d through Every, or tea.Tick when Every is nil.
func (c Common) Tick(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
	if c.Every == nil {
		return tea.Tick(d, fn)
	}
	return c.Every(d, fn)
}

// KindText names a kind of journal record in the counter's language; a
// kind with no name (a mode change) shows as it is.
func (c Common) KindText(kind journal.Kind) string { return KindName(c.Lang, kind) }

// T returns the text of k in the counter's language.
func (c Common) T(k i18n.Key, args ...any) string { return c.Lang.T(k, args...) }

// Age formats a duration for the status line in whole units: "45 s",
// "12 min", "3 h 5 min", "2 d 4 h".
func (c Common) Age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return c.T(i18n.AgeSeconds, int(d/time.Second))
	case d < time.Hour:
		return c.T(i18n.AgeMinutes, int(d/time.Minute))
	case d < 24*time.Hour:
		return c.T(i18n.AgeHours, int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return c.T(i18n.AgeDays, int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// IdentityMissing reports whether the counter's pharmacy identity is
// incomplete: then nothing can be recorded (pkg/record refuses), and the
// status line says so on every screen.
func (c Common) IdentityMissing() bool { return c.Counter.Pharmacy.Check() != nil }

// Refusal puts a refusal of pkg/record in the counter's own words when it
// has words for it: the pharmacy's identity missing from the
// configuration (rx.ECONFIG). ok is false for any other error, which
// speaks for itself.
func (c Common) Refusal(err error) (text string, ok bool) {
	if rx.ErrorCode(err) == rx.ECONFIG {
		return c.T(i18n.StatusIdentityMissing), true
	}
	return "", false
}
