// Package syncq is the counter's sync screen: the upload queue record by
// record, with each record's state, attempts, next retry and last error,
// why a record waits (the record before it, or one in review), and a key
// to send a record waiting for a retry again now.
//
// The screen reads the local journal only, every RefreshEvery, in a
// tea.Cmd bounded by Counter.CallTimeout; an answer of an older read, or
// of an earlier opening of the screen, is ignored.
package syncq

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/table"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/screen/tables"
)

// RefreshEvery is how often the screen reads the queue again.
const RefreshEvery = time.Second

// BackMsg asks the root to close the sync screen.
type BackMsg struct{}

// tickMsg asks the screen to read the queue again; loadedMsg answers the
// read; retriedMsg answers Services.RetryNow. Each names the opening of the
// screen it belongs to, and loadedMsg the read, so stale ones are ignored.
type (
	tickMsg struct {
		screen int64
	}
	loadedMsg struct {
		screen  int64
		seq     int
		entries []journal.OutboxEntry
		blocked []queue.BlockedEntry
		err     error
	}
	retriedMsg struct {
		screen int64
		id     string
		seq    int64
		err    error
	}
)

// opened numbers the openings of the screen.
var opened atomic.Int64

// Columns, in order.
const (
	ColSeq = iota
	ColKind
	ColState
	ColAttempts
	ColNext
	ColError
	numCols
)

var colTitles = [numCols]i18n.Key{i18n.SyncColSeq, i18n.SyncColKind, i18n.SyncColState, i18n.SyncColAttempts,
	i18n.SyncColNext, i18n.SyncColError}

// colWidth is each column's width but the last error's, which takes the
// rest.
var colWidth = [numCols]int{5, 14, 12, 5, 10, 0}

// Model is the sync screen.
type Model struct {
	c       common.Common
	who     rx.Pharmacist
	screen  int64
	seq     int // of the last read asked for
	applied int // of the last read shown: an older answer is ignored

	loaded  bool
	problem string // why the last read failed
	notice  string // the outcome of the last retry, or why it was not made
	entries []journal.OutboxEntry
	blocked map[string]queue.BlockedEntry
	shown   []journal.OutboxEntry
	all     bool // done and voided entries too
	table   table.Model
	detail  string // the record whose detail is open, or ""

	// every schedules the next read: Common.Tick, but in tests, which
	// read the queue when they choose instead of waiting on the clock.
	every func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

// New returns the sync screen; Init starts reading the queue.
func New(c common.Common, who rx.Pharmacist) Model {
	t := tables.New(c)
	m := Model{c: c, who: who, screen: opened.Add(1), seq: 1, table: t, blocked: map[string]queue.BlockedEntry{}, every: c.Tick}
	return m.layout().refresh()
}

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m.layout().refresh() }

// Init reads the queue and starts the refresh.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.load(m.seq), m.tick())
}

// Loaded reports whether the queue has been read.
func (m Model) Loaded() bool { return m.loaded }

// Shown returns the entries in the table, in order.
func (m Model) Shown() []journal.OutboxEntry { return m.shown }

// ShowingAll reports whether done and voided entries are shown (F4).
func (m Model) ShowingAll() bool { return m.all }

// Detail reports whether the detail view is open.
func (m Model) Detail() bool { return m.detail != "" }

// Current returns the entry ctrl+r acts on: the one whose detail is open,
// else the one under the cursor.
func (m Model) Current() (journal.OutboxEntry, bool) {
	if m.detail != "" {
		return m.byID(m.detail)
	}
	return m.Selected()
}

// Notice returns the outcome of the last retry, or why none was made.
func (m Model) Notice() string { return m.notice }

// Problem returns why the last read of the queue failed, or "".
func (m Model) Problem() string { return m.problem }

// Selected returns the entry under the cursor.
func (m Model) Selected() (journal.OutboxEntry, bool) {
	i := m.table.Cursor()
	if i < 0 || i >= len(m.shown) {
		return journal.OutboxEntry{}, false
	}
	return m.shown[i], true
}

// HelpKeys returns the bindings that act on the screen as it stands, for
// the root's help line.
func (m Model) HelpKeys() []key.Binding {
	k := m.c.Keys
	var ks []key.Binding
	if m.detail == "" {
		ks = append(ks, k.Up, k.Down, k.Detail, k.Filter)
	}
	if m.who.Role.MayRecord() {
		ks = append(ks, k.RetryNow)
	}
	return append(ks, k.Back)
}

func (m Model) tick() tea.Cmd {
	screen := m.screen
	return m.every(RefreshEvery, func(time.Time) tea.Msg { return tickMsg{screen: screen} })
}

// reload asks for a new read of the queue.
func (m Model) reload() (Model, tea.Cmd) {
	m.seq++
	return m, m.load(m.seq)
}

// load reads the queue and what blocks what, from one list of the outbox.
func (m Model) load(seq int) tea.Cmd {
	screen, svc, timeout := m.screen, m.c.Services, m.c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		es, err := svc.Outbox(ctx)
		if err != nil {
			return loadedMsg{screen: screen, seq: seq, err: err}
		}
		blocked, err := queue.Blocked(ctx, listed(es))
		return loadedMsg{screen: screen, seq: seq, entries: es, blocked: blocked, err: err}
	}
}

// listed is an outbox already read, for queue.Blocked.
type listed []journal.OutboxEntry

// OutboxList implements queue.BlockedStore.
func (l listed) OutboxList(_ context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error) {
	var out []journal.OutboxEntry
	for _, e := range l {
		if len(states) == 0 || slices.Contains(states, e.State) {
			out = append(out, e)
		}
	}
	return out, nil
}

// final reports whether an entry has nothing more to do: done or voided.
func final(s journal.OutboxState) bool {
	return s == journal.OutboxDone || s == journal.OutboxVoided
}

func (m Model) layout() Model {
	m.table = tables.Layout(m.table, m.c, colTitles[:], colWidth[:], 10) // the last error takes the rest
	return m
}

// refresh picks and orders the entries shown and rebuilds the rows,
// keeping the cursor on the same record.
func (m Model) refresh() Model {
	sel, hadSel := m.Selected()
	m.shown = m.shown[:0:0]
	for _, e := range m.entries {
		if m.all || !final(e.State) {
			m.shown = append(m.shown, e)
		}
	}
	slices.SortStableFunc(m.shown, func(a, b journal.OutboxEntry) int {
		if fa, fb := final(a.State), final(b.State); fa != fb {
			if fa {
				return 1
			}
			return -1
		}
		return int(a.Seq - b.Seq)
	})
	rows := make([]table.Row, len(m.shown))
	cursor := -1
	for i, e := range m.shown {
		why := e.LastError
		if c, ok := queue.EntryConflict(e); ok {
			why = ConflictText(m.c, c.Kind) + ": " + c.Detail
		}
		if b, ok := m.blocked[e.RecordID]; ok {
			why = "→ " + m.seqText(b.WaitingFor.Seq) + " " + StateText(m.c, b.WaitingFor.State)
		}
		rows[i] = table.Row{
			m.seqText(e.Seq),
			m.c.KindText(e.Kind),
			StateText(m.c, e.State),
			fmt.Sprint(e.Attempts),
			m.next(e),
			oneLine(why),
		}
		if hadSel && e.RecordID == sel.RecordID {
			cursor = i
		}
	}
	m.table = tables.SetRows(m.table, rows, cursor)
	return m
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (m Model) seqText(seq int64) string { return m.c.T(i18n.QueueRecordSeq, seq) }

// next is when an entry waiting to be sent is tried next: "now" when it is
// due, else in how long, rounded up to the second, so it never reads "0 s"
// before it is due.
func (m Model) next(e journal.OutboxEntry) string {
	if e.State != journal.OutboxPending && e.State != journal.OutboxRetry {
		return m.c.T(i18n.QueueNone)
	}
	if _, blocked := m.blocked[e.RecordID]; blocked {
		return m.c.T(i18n.QueueNone) // not before the record in review is resolved
	}
	if d, ok := m.byID(e.DependsOn); ok && !final(d.State) {
		return m.c.T(i18n.SyncAfter, m.seqText(d.Seq))
	}
	d := e.NextAttempt.Sub(m.c.Now())
	if e.NextAttempt.IsZero() || d <= 0 {
		return m.c.T(i18n.SyncNow)
	}
	return m.c.T(i18n.SyncIn, m.c.Age((d+time.Second-1)/time.Second*time.Second))
}

// StateText names an outbox state in the counter's language.
func StateText(c common.Common, s journal.OutboxState) string { return common.StateName(c.Lang, s) }

// ConflictText names a kind of conflict in the pharmacist's words.
func ConflictText(c common.Common, kind queue.ConflictKind) string {
	return common.ConflictName(c.Lang, kind)
}

// Update handles the keys, the refresh and the answers of the journal.
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
			return m, nil // superseded by a later read already shown
		}
		m.loaded, m.applied = true, msg.seq
		if msg.err != nil {
			m.problem = m.c.T(i18n.QueueLoadFailed, rx.ErrorMessage(msg.err))
			return m, nil
		}
		m.problem, m.entries = "", msg.entries
		m.blocked = make(map[string]queue.BlockedEntry, len(msg.blocked))
		for _, b := range msg.blocked {
			m.blocked[b.Entry.RecordID] = b
		}
		return m.refresh(), nil
	case retriedMsg:
		if msg.screen != m.screen {
			return m, nil
		}
		if msg.err != nil {
			m.notice = m.c.T(i18n.SyncRetryFailed, rx.ErrorMessage(msg.err))
		} else {
			m.notice = m.c.T(i18n.SyncRetried, m.seqText(msg.seq))
		}
		return m.reload()
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m Model) key(km tea.KeyMsg) (Model, tea.Cmd) {
	k := m.c.Keys
	switch {
	case key.Matches(km, k.Back):
		if m.detail != "" {
			m.detail = ""
			return m, nil
		}
		return m, func() tea.Msg { return BackMsg{} }
	case key.Matches(km, k.RetryNow):
		return m.retry()
	case m.detail != "":
		return m, nil
	case key.Matches(km, k.Filter):
		m.all = !m.all
		return m.refresh(), nil
	case key.Matches(km, k.Detail):
		// The detail follows its record, even when a refresh moves it out
		// of the table (done, while only open ones show).
		if e, ok := m.Selected(); ok {
			m.detail = e.RecordID
		}
		return m, nil
	}
	var cmd tea.Cmd
	m.table, cmd = m.table.Update(km)
	return m, cmd
}

// retry sends the selected record again now, when it waits for a retry or
// is parked; for any other state it says why not.
func (m Model) retry() (Model, tea.Cmd) {
	e, ok := m.Current()
	if !ok {
		return m, nil
	}
	if !m.who.Role.MayRecord() {
		m.notice = m.c.T(i18n.SyncViewOnly)
		return m, nil
	}
	seq := m.seqText(e.Seq)
	switch e.State {
	case journal.OutboxRetry, journal.OutboxParked:
	case journal.OutboxPending:
		m.notice = m.c.T(i18n.SyncRetryPending, seq)
		return m, nil
	case journal.OutboxSending:
		m.notice = m.c.T(i18n.SyncRetrySending, seq)
		return m, nil
	case journal.OutboxDone:
		m.notice = m.c.T(i18n.SyncRetryDone, seq)
		return m, nil
	case journal.OutboxVoided:
		m.notice = m.c.T(i18n.SyncRetryVoided, seq)
		return m, nil
	default: // conflict, rejected: a pharmacist resolves them on the conflicts screen
		m.notice = m.c.T(i18n.SyncRetryReview, seq, m.c.Keys.Conflicts.Help().Key)
		return m, nil
	}
	m.notice = ""
	screen, svc, timeout := m.screen, m.c.Services, m.c.Counter.CallTimeout
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return retriedMsg{screen: screen, id: e.RecordID, seq: e.Seq, err: svc.RetryNow(ctx, e.RecordID)}
	}
}

// summary counts the entries by state, in the order of the states' life.
func (m Model) summary() string {
	order := []journal.OutboxState{journal.OutboxPending, journal.OutboxSending, journal.OutboxRetry,
		journal.OutboxConflict, journal.OutboxRejected, journal.OutboxParked, journal.OutboxDone, journal.OutboxVoided}
	n := map[journal.OutboxState]int{}
	for _, e := range m.entries {
		n[e.State]++
	}
	var parts []string
	for _, s := range order {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", StateText(m.c, s), n[s]))
		}
	}
	if len(parts) == 0 {
		return m.c.T(i18n.SyncSummaryNone)
	}
	return strings.Join(parts, " · ")
}

// View renders the table, or one entry's detail.
func (m Model) View() string {
	s := m.c.Styles
	width := max(m.c.Width, 20)
	var b strings.Builder
	b.WriteString(s.Title.Render(m.c.T(i18n.SyncTitle)) + "  " + s.Muted.Render(m.summary()) + "\n")
	if !m.loaded {
		b.WriteString(s.Muted.Render(m.c.T(i18n.QueueLoading)))
		return b.String()
	}
	if e, ok := m.Current(); ok && m.detail != "" {
		b.WriteString(m.viewDetail(e))
		b.WriteString(m.viewNotes(width))
		return b.String()
	}
	filter := i18n.SyncOpenOnly
	if m.all {
		filter = i18n.SyncShowingAll
	}
	info := m.c.T(filter, m.c.Keys.Filter.Help().Key)
	if !m.who.Role.MayRecord() {
		info += "  " + s.Warning.Render(m.c.T(i18n.SyncViewOnly))
	}
	b.WriteString(s.Muted.Render(info) + "\n")
	b.WriteString(strings.TrimPrefix(m.viewNotes(width), "\n") + "\n")
	if len(m.shown) == 0 {
		b.WriteString(s.Muted.Render(m.c.T(i18n.SyncEmpty)))
		return b.String()
	}
	b.WriteString(m.table.View())
	return b.String()
}

// viewNotes is the notice of the last retry and the problem of the last
// read, each on a line of its own, led by a newline; "" when neither.
func (m Model) viewNotes(width int) string {
	s := m.c.Styles
	var b strings.Builder
	if m.notice != "" {
		b.WriteString("\n" + s.Warning.Width(width).Render(m.notice))
	}
	if m.problem != "" {
		b.WriteString("\n" + s.Error.Width(width).Render(m.problem))
	}
	return b.String()
}

// byID finds an entry of the last read.
func (m Model) byID(id string) (journal.OutboxEntry, bool) {
	for _, e := range m.entries {
		if e.RecordID == id {
			return e, true
		}
	}
	return journal.OutboxEntry{}, false
}

// waits explains what a pending or retrying entry waits for: a record in
// review at the head of its chain, or only the record before it.
func (m Model) waits(e journal.OutboxEntry) string {
	if b, ok := m.blocked[e.RecordID]; ok {
		h := b.WaitingFor
		return m.c.T(i18n.SyncWaitsFor, m.seqText(h.Seq), m.c.KindText(h.Kind), StateText(m.c, h.State), m.c.Keys.Conflicts.Help().Key)
	}
	if e.DependsOn == "" {
		return m.c.T(i18n.SyncNoWait)
	}
	d, ok := m.byID(e.DependsOn)
	if !ok || final(d.State) {
		return m.c.T(i18n.SyncWaitsDone)
	}
	return m.c.T(i18n.SyncWaitsOrder, m.seqText(d.Seq), m.c.KindText(d.Kind), StateText(m.c, d.State))
}

func (m Model) ago(t time.Time) string {
	if t.IsZero() {
		return m.c.T(i18n.QueueNone)
	}
	return m.c.T(i18n.QueueAgo, m.c.Age(m.c.Now().Sub(t)))
}

func (m Model) viewDetail(e journal.OutboxEntry) string {
	s := m.c.Styles
	rows := [][2]string{
		{m.c.T(i18n.SyncDetailRecord), e.RecordID},
		{m.c.T(i18n.SyncColState), StateText(m.c, e.State)},
		{m.c.T(i18n.SyncColAttempts), fmt.Sprint(e.Attempts)},
		{m.c.T(i18n.SyncColNext), m.next(e)},
		{m.c.T(i18n.SyncDetailLastAttempt), m.ago(e.LastAttempt)},
		{m.c.T(i18n.SyncDetailCreated), m.ago(e.CreatedAt)},
		{m.c.T(i18n.SyncDetailUpdated), m.ago(e.UpdatedAt)},
	}
	if e.UpstreamID != "" {
		rows = append(rows, [2]string{m.c.T(i18n.SyncDetailUpstream), e.UpstreamID})
	}
	if e.DependsOn != "" {
		dep := e.DependsOn
		if d, ok := m.byID(dep); ok {
			dep = m.seqText(d.Seq) + " " + m.c.KindText(d.Kind) + " (" + StateText(m.c, d.State) + ")"
		}
		rows = append(rows, [2]string{m.c.T(i18n.SyncDetailDependsOn), dep})
	}
	if e.State == journal.OutboxPending || e.State == journal.OutboxRetry {
		rows = append(rows, [2]string{m.c.T(i18n.SyncDetailWhy), m.waits(e)})
	}
	if c, ok := queue.EntryConflict(e); ok {
		rows = append(rows, [2]string{m.c.T(i18n.SyncDetailConflict), ConflictText(m.c, c.Kind) + ": " + c.Detail})
	} else if e.Conflict != "" {
		rows = append(rows, [2]string{m.c.T(i18n.SyncDetailConflict), e.Conflict})
	}
	if e.LastError != "" && e.State != journal.OutboxRejected { // a rejection's error is its conflict
		rows = append(rows, [2]string{m.c.T(i18n.SyncColError), e.LastError})
	}
	w := 0
	for _, r := range rows {
		w = max(w, lipgloss.Width(r[0]))
	}
	// The box's border and padding take four columns, the label and its
	// gap the rest; long texts wrap in what is left.
	valueWidth := max(m.c.Width-4-w-2, 10)
	var b strings.Builder
	b.WriteString(s.Label.Render(m.c.T(i18n.SyncDetailTitle, m.seqText(e.Seq), m.c.KindText(e.Kind))) + "\n")
	for _, r := range rows {
		label := s.Muted.Render(r[0] + strings.Repeat(" ", w-lipgloss.Width(r[0])))
		value := lipgloss.NewStyle().Width(valueWidth).Render(oneLine(r[1]))
		b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, label, "  ", value) + "\n")
	}
	return s.Box.MaxWidth(m.c.Width).Render(strings.TrimRight(b.String(), "\n"))
}
