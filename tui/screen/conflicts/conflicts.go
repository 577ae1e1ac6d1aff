// Package conflicts is the counter's conflicts screen: the records the
// Prescription Centre refused, or that may duplicate an e-prescription,
// waiting for a pharmacist (DESIGN §6). Each shows the journal record
// beside the e-prescription as the Prescription Centre holds it now, and
// offers the resolutions of queue.Resolve: resubmit with an override
// reason, link to a named e-prescription, or void as entered in error.
// F10, bound to nothing else, applies one; F8 chooses the void.
//
// The list and the records come from the local journal, read again every
// RefreshEvery, so a conflict that arises while the screen is open shows;
// the upstream side
// is read in the background and, in an outage, says it is not available
// while the record side still shows. Every call runs in a tea.Cmd bounded
// by Counter.CallTimeout.
package conflicts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/syncq"
	"github.com/tiski-rx/tiski/tui/screen/tables"
)

// BackMsg asks the root to close the conflicts screen.
type BackMsg struct{}

// RefreshEvery is how often the screen reads the list again.
const RefreshEvery = time.Second

// Messages of the screen's commands. Each names the opening of the screen
// it belongs to; upstreamMsg and resolvedMsg also the review it answers,
// and loadedMsg the read, so stale answers are ignored.
type (
	tickMsg struct {
		screen int64
	}
	loadedMsg struct {
		screen int64
		seq    int
		items  []Item
		err    error
	}
	upstreamMsg struct {
		screen int64
		review int
		p      rx.Prescription
		err    error
	}
	resolvedMsg struct {
		screen int64
		review int
		item   Item
		audit  journal.Record
		err    error
	}
)

// opened numbers the openings of the screen.
var opened atomic.Int64

// Item is one record waiting for review, with what the screen shows of it.
type Item struct {
	Entry    journal.OutboxEntry
	Record   journal.Record
	Conflict queue.Conflict
	// Prescription names the prescription the record is about: an
	// e-prescription id, or a journal prescription's record id.
	Prescription string
	// Upstream is the e-prescription whose state the review reads from
	// the Prescription Centre: the one the record is about, or the one a
	// paper or telephone prescription may duplicate; "" when none.
	Upstream   string
	Medicine   string
	Quantity   string
	Pharmacist string
	// Waiting counts the records that cannot be sent before this one is
	// resolved.
	Waiting int
	// PrescriptionCounter is the other counter that recorded the journal
	// prescription the record draws on, and PrescriptionKind its kind;
	// "" when this counter recorded it, or it is an e-prescription (issue
	// 19).
	PrescriptionCounter string
	PrescriptionKind    journal.Kind
}

// Counter is the other counter that made the record (an adopted one,
// issue 19), or "" for this counter's own.
func (it Item) Counter() string {
	if it.Record.Peer {
		return it.Record.Terminal
	}
	return ""
}

// EPrescription reports whether the record is about an e-prescription.
func (it Item) EPrescription() bool {
	return it.Prescription != "" && !rx.IsUUID(it.Prescription)
}

// describe reads what the screen shows of a record from its body, in lang;
// the prescription is named as the CLI's conflicts command names it.
func describe(it Item, lang i18n.Lang) Item {
	r := it.Record
	it.Pharmacist = r.Pharmacist
	it.Prescription = record.PrescriptionOf(r)
	switch r.Kind {
	case journal.KindDispensing:
		var b record.DispensingBody
		if json.Unmarshal(r.Body, &b) == nil {
			it.Medicine = strings.TrimSpace(b.Medicine.DisplayName())
			if b.Quantity > 0 {
				it.Quantity = lang.Quantity(b.Quantity, b.Medicine.Unit)
			}
			if b.Pharmacist.Name != "" {
				it.Pharmacist = b.Pharmacist.Name
			}
		}
	case journal.KindPaperPrescription, journal.KindTelephonePrescription:
		var p rx.Prescription
		if json.Unmarshal(r.Body, &p) == nil {
			it.Medicine = strings.TrimSpace(p.Medicine.DisplayName())
			if p.Quantity > 0 {
				it.Quantity = fmt.Sprintf("%s × %d", lang.Quantity(p.Quantity, p.Medicine.Unit), 1+p.Repeats)
			}
			if p.Recorder != nil && p.Recorder.Name != "" {
				it.Pharmacist = p.Recorder.Name
			}
		}
	case journal.KindVoid:
		it.Prescription = r.RefersTo
	}
	if it.EPrescription() {
		it.Upstream = it.Prescription
	}
	if it.Conflict.Kind == queue.PossibleDuplicate {
		// The detail names the e-prescription first (queue's
		// duplicateDetail): "EP26002801 (electronic, active, …)".
		if f := strings.Fields(it.Conflict.Detail); len(f) > 0 && !rx.IsUUID(f[0]) {
			it.Upstream = f[0]
		}
	}
	return it
}

// Resolutions, in the order ↑ and ↓ go through them.
var actions = []string{queue.ActionResubmit, queue.ActionLink, queue.ActionVoid}

var actionText = map[string]i18n.Key{
	queue.ActionResubmit: i18n.ConflActResubmit,
	queue.ActionLink:     i18n.ConflActLink,
	queue.ActionVoid:     i18n.ConflActVoid,
}

// Columns of the list, in order.
const (
	ColSeq = iota
	ColConflict
	ColPatient
	ColPrescription
	ColTime
	ColDetail
	numCols
)

var colTitles = [numCols]i18n.Key{i18n.ConflColSeq, i18n.ConflColConflict, i18n.ConflColPatient,
	i18n.ConflColPrescription, i18n.ConflColTime, i18n.ConflColDetail}

// colWidth is each column's width but the answer's, which takes the rest;
// wide is at 100 columns and more, where every kind of conflict fits whole.
var (
	colWidth     = [numCols]int{4, 20, 11, 10, 10, 0}
	colWidthWide = [numCols]int{4, 26, 11, 12, 10, 0}
)

// timeLayout shows when a record was made, in the counter's time zone.
const timeLayout = "2.1. 15:04"

// Model is the conflicts screen.
type Model struct {
	c       common.Common
	who     rx.Pharmacist
	screen  int64
	seq     int // of the last read asked for
	applied int // of the last read shown

	loaded  bool
	problem string // why the last read or resolution failed
	notice  string // the outcome of the last resolution
	items   []Item
	table   table.Model

	// The review of one item.
	reviewing   bool
	review      int // numbers the reviews opened, for the upstream answer
	item        Item
	upstream    rx.Prescription
	upLoading   bool
	upErr       string
	spin        spinner.Model
	action      int
	reason      textinput.Model
	linkTo      textinput.Model
	resolving   bool
	formProblem string

	// every schedules the next read: Common.Tick, but in tests, which
	// read the list when they choose instead of waiting on the clock.
	every func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

// New returns the conflicts screen; Init reads the records in review.
func New(c common.Common, who rx.Pharmacist) Model {
	t := tables.New(c)
	in := func(limit int) textinput.Model {
		t := textinput.New()
		t.Prompt = ""
		t.CharLimit = limit
		t.Cursor.SetMode(cursor.CursorStatic)
		return t
	}
	m := Model{c: c, who: who, screen: opened.Add(1), seq: 1, table: t,
		spin: spinner.New(spinner.WithSpinner(spinner.Line)), reason: in(200), linkTo: in(64), every: c.Tick}
	return m.layout().refresh()
}

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m.layout().refresh() }

// Init reads the records waiting for review and starts the refresh.
func (m Model) Init() tea.Cmd { return tea.Batch(m.load(m.seq), m.tick()) }

func (m Model) tick() tea.Cmd {
	screen := m.screen
	return m.every(RefreshEvery, func(time.Time) tea.Msg { return tickMsg{screen: screen} })
}

// Loaded reports whether the list has been read.
func (m Model) Loaded() bool { return m.loaded }

// Items returns the records waiting for review, oldest first.
func (m Model) Items() []Item { return m.items }

// Selected returns the item under the cursor.
func (m Model) Selected() (Item, bool) {
	i := m.table.Cursor()
	if i < 0 || i >= len(m.items) {
		return Item{}, false
	}
	return m.items[i], true
}

// Reviewing reports whether one item's review is open, and which.
func (m Model) Reviewing() (Item, bool) { return m.item, m.reviewing }

// Upstream returns the e-prescription as the Prescription Centre holds it
// now, once read; the reason it could not be read; and whether it is still
// being read.
func (m Model) Upstream() (p rx.Prescription, problem string, loading bool) {
	return m.upstream, m.upErr, m.upLoading
}

// Action returns the resolution chosen: queue.ActionResubmit, ActionLink
// or ActionVoid.
func (m Model) Action() string { return actions[m.action] }

// Resolving reports whether a resolution is being recorded.
func (m Model) Resolving() bool { return m.resolving }

// Problem returns why the resolution was not recorded, or why the list
// could not be read, or "".
func (m Model) Problem() string {
	if m.reviewing {
		return m.formProblem
	}
	return m.problem
}

// Notice returns the outcome of the last resolution.
func (m Model) Notice() string { return m.notice }

// HelpKeys returns the bindings that act on the screen as it stands, for
// the root's help line.
func (m Model) HelpKeys() []key.Binding {
	k := m.c.Keys
	if !m.reviewing {
		return []key.Binding{k.Up, k.Down, k.Detail, k.Back}
	}
	if !m.who.Role.MayRecord() {
		return []key.Binding{k.Back}
	}
	return []key.Binding{k.ConfirmDispense, k.Up, k.Down, k.Void, k.Back}
}

// load reads the records in review with their journal records, and counts
// what waits behind each.
func (m Model) load(seq int) tea.Cmd {
	screen, svc, timeout, lang := m.screen, m.c.Services, m.c.Counter.CallTimeout, m.c.Lang
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		items, err := loadItems(ctx, svc, lang)
		return loadedMsg{screen: screen, seq: seq, items: items, err: err}
	}
}

func loadItems(ctx context.Context, svc common.Services, lang i18n.Lang) ([]Item, error) {
	all, err := svc.Outbox(ctx)
	if err != nil {
		return nil, err
	}
	blocked, err := queue.Blocked(ctx, listed(all))
	if err != nil {
		return nil, err
	}
	waiting := map[string]int{}
	for _, b := range blocked {
		waiting[b.WaitingFor.RecordID]++
	}
	var items []Item
	for _, e := range all {
		c, ok := queue.EntryConflict(e)
		if !ok {
			continue
		}
		rec, err := svc.Record(ctx, e.RecordID)
		if err != nil {
			return nil, fmt.Errorf("read record %s: %w", e.RecordID, err)
		}
		it := describe(Item{Entry: e, Record: rec, Conflict: c, Waiting: waiting[e.RecordID]}, lang)
		if rx.IsUUID(it.Prescription) && it.Prescription != rec.ID {
			// The journal prescription may be another counter's: the
			// pharmacist sees which (issue 19).
			p, err := svc.Record(ctx, it.Prescription)
			switch {
			case err == nil && p.Peer:
				it.PrescriptionCounter, it.PrescriptionKind = p.Terminal, p.Kind
			case err != nil && rx.ErrorCode(err) != rx.ENOTFOUND:
				return nil, fmt.Errorf("read record %s: %w", it.Prescription, err)
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// listed is an outbox already read, for queue.Blocked.
type listed []journal.OutboxEntry

// OutboxList implements queue.BlockedStore.
func (l listed) OutboxList(_ context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error) {
	var out []journal.OutboxEntry
	for _, e := range l {
		for _, s := range states {
			if e.State == s {
				out = append(out, e)
				break
			}
		}
	}
	return out, nil
}

func (m Model) reload() (Model, tea.Cmd) {
	m.seq++
	return m, m.load(m.seq)
}

func (m Model) layout() Model {
	widths := colWidth
	if m.c.Width >= 100 {
		widths = colWidthWide
	}
	m.table = tables.Layout(m.table, m.c, colTitles[:], widths[:], 8) // the detail takes the rest
	in := max(m.c.Width-20, 20)
	m.reason.Width, m.linkTo.Width = in, in
	return m
}

func (m Model) seqText(seq int64) string { return m.c.T(i18n.QueueRecordSeq, seq) }

// refresh rebuilds the rows, keeping the cursor on the same record.
func (m Model) refresh() Model {
	sel, hadSel := m.Selected()
	rows := make([]table.Row, len(m.items))
	cursor := -1
	for i, it := range m.items {
		rows[i] = table.Row{
			m.seqText(it.Entry.Seq),
			syncq.ConflictText(m.c, it.Conflict.Kind),
			it.Record.Patient,
			m.prescriptionText(it),
			it.Record.Time.Local().Format(timeLayout),
			strings.Join(strings.Fields(it.Conflict.Detail), " "),
		}
		if hadSel && it.Entry.RecordID == sel.Entry.RecordID {
			cursor = i
		}
	}
	m.table = tables.SetRows(m.table, rows, cursor)
	return m
}

// prescriptionText names the prescription: an e-prescription by its id, a
// journal prescription by its kind.
func (m Model) prescriptionText(it Item) string {
	switch {
	case it.Prescription == "":
		return m.c.T(i18n.QueueNone)
	case it.EPrescription():
		return it.Prescription
	case it.Prescription == it.Record.ID:
		return m.c.KindText(it.Record.Kind)
	case it.PrescriptionCounter != "":
		return m.c.T(i18n.HubAtCounter, m.c.KindText(it.PrescriptionKind), it.PrescriptionCounter)
	}
	return it.Prescription
}

// Update handles the keys and the answers of the journal and the
// Prescription Centre.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tickMsg:
		if msg.screen != m.screen {
			return m, nil // a tick of an earlier opening of the screen
		}
		m, load := m.reload()
		return m, tea.Batch(load, m.tick())
	case loadedMsg:
		if msg.screen != m.screen || msg.seq <= m.applied {
			return m, nil
		}
		m.loaded, m.applied = true, msg.seq
		if msg.err != nil {
			m.problem = m.c.T(i18n.QueueLoadFailed, explain(msg.err))
			return m, nil
		}
		m.problem, m.items = "", msg.items
		return m.refresh(), nil
	case upstreamMsg:
		if msg.screen != m.screen || !m.reviewing || msg.review != m.review {
			return m, nil
		}
		m.upLoading = false
		if errors.Is(msg.err, centre.ErrWrongPatient) {
			// Issue 22, criterion (d): in the pharmacist's words, and
			// nothing of the other patient's answer is kept.
			m.upErr = m.c.T(i18n.ConflUpstreamWrongPatient)
			return m, nil
		}
		if msg.err != nil {
			m.upErr = explain(msg.err)
			return m, nil
		}
		m.upstream = msg.p
		return m, nil
	case resolvedMsg:
		if msg.screen != m.screen || !m.reviewing || msg.review != m.review {
			return m, nil
		}
		m.resolving = false
		if msg.err != nil {
			m.formProblem = m.c.T(i18n.ConflFailed, explain(msg.err))
			return m, nil
		}
		done := i18n.ConflResolved
		if msg.audit.Kind == journal.KindVoid {
			done = i18n.ConflVoided
		}
		m.notice = m.c.T(done, m.seqText(msg.audit.Seq), m.seqText(msg.item.Entry.Seq))
		m.reviewing = false
		return m.reload()
	case spinner.TickMsg:
		if !m.upLoading && !m.resolving {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		if m.reviewing {
			return m.reviewKey(msg)
		}
		return m.listKey(msg)
	}
	return m, nil
}

func (m Model) listKey(km tea.KeyMsg) (Model, tea.Cmd) {
	k := m.c.Keys
	switch {
	case key.Matches(km, k.Back):
		return m, func() tea.Msg { return BackMsg{} }
	case key.Matches(km, k.Detail):
		if it, ok := m.Selected(); ok {
			return m.open(it)
		}
		return m, nil
	}
	var cmd tea.Cmd
	m.table, cmd = m.table.Update(km)
	return m, cmd
}

// open starts the review of it: the record shows at once, the upstream
// e-prescription when the Prescription Centre answers.
func (m Model) open(it Item) (Model, tea.Cmd) {
	m.review++
	m.reviewing, m.item, m.notice, m.formProblem = true, it, "", ""
	m.upstream, m.upErr, m.upLoading = rx.Prescription{}, "", false
	m.action = 0
	if voidOnly(it) {
		m.action = len(actions) - 1
	}
	m.reason.SetValue("")
	m.linkTo.SetValue("")
	if it.Conflict.Kind == queue.PossibleDuplicate {
		m.linkTo.SetValue(it.Upstream) // the e-prescription it may duplicate
	}
	m = m.focusInput()
	if it.Upstream == "" {
		return m, nil
	}
	m.upLoading = true
	// The upstream prescription must be the record's patient's: an answer
	// about anyone else is refused (issue 22, criterion (d)).
	screen, review, svc, timeout, id, patient := m.screen, m.review, m.c.Services, m.c.Counter.CallTimeout, it.Upstream, it.Record.Patient
	fetch := func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		p, err := svc.Prescription(ctx, id, patient)
		return upstreamMsg{screen: screen, review: review, p: p, err: err}
	}
	return m, tea.Batch(fetch, m.spin.Tick)
}

// voidOnly reports whether the item can only be voided: a renewal request
// the Prescription Centre refused is closed, and the patient told to ask
// the prescriber (queue.Resolve refuses the other resolutions for it).
func voidOnly(it Item) bool { return it.Conflict.Kind == queue.RenewalRefused }

func (m Model) focusInput() Model {
	if actions[m.action] == queue.ActionLink {
		m.reason.Blur()
		m.linkTo.Focus()
	} else {
		m.linkTo.Blur()
		m.reason.Focus()
	}
	return m
}

func (m Model) reviewKey(km tea.KeyMsg) (Model, tea.Cmd) {
	k := m.c.Keys
	if m.resolving {
		return m, nil // the resolution is on its way; its answer closes the review
	}
	switch {
	case key.Matches(km, k.Back):
		m.reviewing = false
		return m, nil
	case key.Matches(km, k.ConfirmDispense):
		return m.apply()
	case key.Matches(km, k.Void):
		m.action, m.formProblem = len(actions)-1, ""
		return m.focusInput(), nil
	case key.Matches(km, k.Up, k.Down) && voidOnly(m.item):
		return m, nil // the one resolution there is
	case key.Matches(km, k.Up, k.Down):
		by := 1
		if key.Matches(km, k.Up) {
			by = -1
		}
		m.action = (m.action + by + len(actions)) % len(actions)
		m.formProblem = ""
		return m.focusInput(), nil
	}
	var cmd tea.Cmd
	before := m.reason.Value() + "\x00" + m.linkTo.Value()
	if actions[m.action] == queue.ActionLink {
		m.linkTo, cmd = m.linkTo.Update(km)
	} else {
		m.reason, cmd = m.reason.Update(km)
	}
	if m.reason.Value()+"\x00"+m.linkTo.Value() != before {
		m.formProblem = "" // what was wrong is being put right
	}
	return m, cmd
}

// apply checks the resolution in the pharmacist's words and records it in
// the background.
func (m Model) apply() (Model, tea.Cmd) {
	if !m.who.Role.MayRecord() {
		m.formProblem = m.c.T(i18n.ConflViewOnly)
		return m, nil
	}
	r := queue.Resolution{Action: actions[m.action]}
	switch r.Action {
	case queue.ActionResubmit:
		r.Reason = strings.TrimSpace(m.reason.Value())
		if r.Reason == "" {
			m.formProblem = m.c.T(i18n.ConflNeedReason)
			return m, nil
		}
	case queue.ActionVoid:
		r.Reason = strings.TrimSpace(m.reason.Value())
		if r.Reason == "" {
			m.formProblem = m.c.T(i18n.ConflNeedVoidReason)
			return m, nil
		}
	case queue.ActionLink:
		r.PrescriptionID = strings.TrimSpace(m.linkTo.Value())
		if r.PrescriptionID == "" {
			m.formProblem = m.c.T(i18n.ConflNeedPrescription)
			return m, nil
		}
	}
	m.resolving, m.formProblem = true, ""
	screen, review, svc, timeout, who, it := m.screen, m.review, m.c.Services, m.c.Counter.CallTimeout, m.who, m.item
	resolve := func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		audit, err := svc.Resolve(ctx, who, it.Entry.RecordID, r)
		return resolvedMsg{screen: screen, review: review, item: it, audit: audit, err: err}
	}
	return m, tea.Batch(resolve, m.spin.Tick)
}

// explain puts an error in the pharmacist's terms: a domain error's
// message, each validation problem, or the error's own text (the
// Prescription Centre's and the network's, as they come).
func explain(err error) string {
	var v *rx.ValidationError
	if errors.As(err, &v) {
		lines := make([]string, len(v.Problems))
		for i, p := range v.Problems {
			lines[i] = p.Field + ": " + p.Message
		}
		return strings.Join(lines, "; ")
	}
	var e *rx.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// View renders the list, or the review of one item.
func (m Model) View() string {
	if m.reviewing {
		return m.viewReview()
	}
	s := m.c.Styles
	width := max(m.c.Width, 20)
	var b strings.Builder
	b.WriteString(s.Title.Render(m.c.T(i18n.ConflTitle)) + "\n")
	if !m.loaded {
		b.WriteString(s.Muted.Render(m.c.T(i18n.QueueLoading)))
		return b.String()
	}
	info := m.c.T(i18n.ConflCount, len(m.items))
	if !m.who.Role.MayRecord() {
		info += "  " + s.Warning.Render(m.c.T(i18n.ConflViewOnly))
	}
	b.WriteString(s.Muted.Render(info) + "\n")
	switch {
	case m.notice != "":
		b.WriteString(s.OK.Width(width).Render(m.notice) + "\n")
	case m.problem != "":
		b.WriteString(s.Error.Width(width).Render(m.problem) + "\n")
	default:
		b.WriteString("\n")
	}
	if len(m.items) == 0 {
		b.WriteString(s.Muted.Render(m.c.T(i18n.ConflEmpty)))
		return b.String()
	}
	b.WriteString(m.table.View())
	return b.String()
}

// sideBySide is the narrowest width at which the record and the upstream
// state stand side by side; below it they stack.
const sideBySide = 76

func (m Model) viewReview() string {
	s := m.c.Styles
	width := max(m.c.Width, 20)
	it := m.item
	var b strings.Builder
	b.WriteString(s.Title.Render(m.c.T(i18n.ConflDetailTitle, m.seqText(it.Entry.Seq), syncq.ConflictText(m.c, it.Conflict.Kind))) + "\n")

	boxWidth := width // lipgloss widths include the padding, not the border
	if width >= sideBySide {
		boxWidth = width / 2
	}
	left := m.box(m.c.T(i18n.ConflRecordSide), m.recordRows(it), boxWidth)
	right := m.box(m.c.T(i18n.ConflUpstreamSide), m.upstreamRows(it), boxWidth)
	if width >= sideBySide {
		b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, left, right) + "\n")
	} else {
		b.WriteString(left + "\n" + right + "\n")
	}

	wrap := lipgloss.NewStyle().Width(width)
	answer := strings.Join(strings.Fields(it.Conflict.Detail), " ")
	b.WriteString(wrap.Render(s.Label.Render(m.c.T(i18n.ConflLabelAnswer)+": ")+answer) + "\n")
	if it.Waiting > 0 {
		b.WriteString(s.Warning.Render(m.c.T(i18n.ConflWaiting, it.Waiting)) + "\n")
	}
	b.WriteString("\n" + m.viewForm(width))
	return b.String()
}

func (m Model) viewForm(width int) string {
	s := m.c.Styles
	var b strings.Builder
	label := func(k i18n.Key) string { return s.Label.Render(fmt.Sprintf("%-16s", m.c.T(k))) }
	act := actions[m.action]
	choice := "‹ " + m.c.T(actionText[act]) + " ›"
	if !m.resolving {
		choice = s.Selected.Render(choice)
	}
	b.WriteString(label(i18n.ConflResolution) + choice + "\n")
	if act == queue.ActionLink {
		b.WriteString(label(i18n.ConflPrescriptionID) + m.linkTo.View() + "\n")
	} else {
		b.WriteString(label(i18n.ConflReason) + m.reason.View() + "\n")
	}
	wrap := lipgloss.NewStyle().Width(width)
	switch {
	case m.resolving:
		b.WriteString(s.Muted.Render(m.spin.View() + " " + m.c.T(i18n.ConflResolving)))
	case !m.who.Role.MayRecord():
		b.WriteString(s.Warning.Inherit(wrap).Render(m.c.T(i18n.ConflViewOnly)))
	default:
		b.WriteString(s.Label.Render(m.c.T(i18n.ConflApplyHint, m.c.Keys.ConfirmDispense.Help().Key)) + "  " +
			s.Muted.Render(m.c.T(i18n.ConflChooseHint, m.c.Keys.Void.Help().Key)))
	}
	if m.formProblem != "" {
		b.WriteString("\n" + s.Error.Inherit(wrap).Render(m.formProblem))
	}
	return b.String()
}

func (m Model) recordRows(it Item) [][2]string {
	r := it.Record
	none := m.c.T(i18n.QueueNone)
	or := func(s string) string {
		if s == "" {
			return none
		}
		return s
	}
	who := or(it.Pharmacist)
	if c := it.Counter(); c != "" { // another counter's record, adopted here
		who = m.c.T(i18n.HubAtCounter, who, c)
	}
	return [][2]string{
		{m.c.T(i18n.ConflLabelRecord), m.seqText(r.Seq) + " " + m.c.KindText(r.Kind) + " (" + syncq.StateText(m.c, it.Entry.State) + ")"},
		{m.c.T(i18n.ConflLabelTime), r.Time.Local().Format("2.1.2006 15:04")},
		{m.c.T(i18n.ConflLabelPharmacist), who},
		{m.c.T(i18n.ConflLabelPatient), or(r.Patient)},
		{m.c.T(i18n.ConflLabelMedicine), or(it.Medicine)},
		{m.c.T(i18n.ConflLabelQuantity), or(it.Quantity)},
		{m.c.T(i18n.ConflLabelPrescription), m.prescriptionText(it)},
		{m.c.T(i18n.ConflLabelConflict), syncq.ConflictText(m.c, it.Conflict.Kind)},
	}
}

func (m Model) upstreamRows(it Item) [][2]string {
	s := m.c.Styles
	switch {
	case it.Upstream == "":
		return [][2]string{{"", s.Muted.Render(m.c.T(i18n.ConflUpstreamNone))}}
	case m.upLoading:
		return [][2]string{{"", m.spin.View() + " " + m.c.T(i18n.ConflUpstreamLoading)}}
	case m.upErr != "":
		return [][2]string{{"", s.Error.Render(m.c.T(i18n.ConflUpstreamFailed, m.upErr))}}
	}
	p := m.upstream
	unit, lang := p.Medicine.Unit, m.c.Lang
	rows := [][2]string{
		{m.c.T(i18n.RxDetailID), p.ID},
		{m.c.T(i18n.RxColMedicine), strings.TrimSpace(p.Medicine.DisplayName())},
		{m.c.T(i18n.RxColStatus), m.status(p)},
		{m.c.T(i18n.RxColRemaining), fmt.Sprintf("%d / %s", p.Remaining(), lang.Quantity(p.Total(), unit))},
		{m.c.T(i18n.RxDetailDispensed), lang.Quantity(p.Dispensed, unit)},
		{m.c.T(i18n.RxDetailValidUntil), p.ValidUntil(m.c.Policy().Validity()).Format("2.1.2006")},
	}
	if p.LockedBy != "" {
		rows = append(rows, [2]string{m.c.T(i18n.RxDetailLockedBy), p.LockedBy})
	}
	if p.Reason != "" {
		rows = append(rows, [2]string{m.c.T(i18n.RxDetailReason), p.Reason})
	}
	return rows
}

// status names an e-prescription's status as the prescriptions screen
// does; a lapsed validity shows beside it.
func (m Model) status(p rx.Prescription) string {
	var st string
	switch {
	case p.LockedBy != "":
		st = m.c.T(i18n.RxLocked)
	case p.Status == rx.StatusActive:
		st = m.c.T(i18n.RxActive)
	case p.Status == rx.StatusCompleted:
		st = m.c.T(i18n.RxCompleted)
	case p.Status == rx.StatusCancelled:
		st = m.c.T(i18n.RxCancelled)
	default:
		st = string(p.Status) // as it comes
	}
	switch p.ValidityAt(m.c.Now(), m.c.Policy().Validity()) {
	case rx.InGrace:
		st += " (" + m.c.T(i18n.RxInGrace) + ")"
	case rx.Expired:
		st += " (" + m.c.T(i18n.RxExpired) + ")"
	}
	return st
}

// box renders rows of label and value under a title, in a bordered box
// width columns wide in all; values wrap in what the labels leave.
func (m Model) box(title string, rows [][2]string, width int) string {
	s := m.c.Styles
	lw := 0
	for _, r := range rows {
		lw = max(lw, lipgloss.Width(r[0]))
	}
	inner := max(width-4, 10) // the border and the padding
	var b strings.Builder
	b.WriteString(s.Label.Render(title) + "\n")
	for _, r := range rows {
		if r[0] == "" {
			b.WriteString(lipgloss.NewStyle().Width(inner).Render(r[1]) + "\n")
			continue
		}
		label := s.Muted.Render(r[0] + strings.Repeat(" ", lw-lipgloss.Width(r[0])))
		value := lipgloss.NewStyle().Width(max(inner-lw-1, 5)).Render(r[1])
		b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, label, " ", value) + "\n")
	}
	return s.Box.Width(width - 2).Render(strings.TrimRight(b.String(), "\n"))
}
