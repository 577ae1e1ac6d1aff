// Package statusline is the counter's status line, always on screen: the
// mode badge in colour and in words, the pending count, the last upload,
// the oldest pending record's age, the pharmacy, terminal and pharmacist,
// and the TRAINING banner (DESIGN §7).
//
// It is fed by messages only: Refresh returns the commands that read the
// journal, and Update takes their CountsMsg and ModeMsg. View never blocks.
package statusline

import (
	"context"
	"errors"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// readTimeout bounds one read of the journal for the status line.
const readTimeout = 2 * time.Second

// CountsMsg carries the outbox counts read from the journal.
type CountsMsg struct {
	Counts journal.Counts
	Err    error
}

// ModeMsg carries the mode in force.
type ModeMsg struct {
	State rx.ModeState
	Err   error
}

// FetchCounts reads the outbox counts in the background.
func FetchCounts(c common.Common) tea.Cmd {
	svc := c.Services
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		n, err := svc.Counts(ctx)
		return CountsMsg{Counts: n, Err: err}
	}
}

// FetchMode reads the mode in the background.
func FetchMode(c common.Common) tea.Cmd {
	svc := c.Services
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		st, err := svc.Mode(ctx)
		return ModeMsg{State: st, Err: err}
	}
}

// TaskMsg carries a drill's task for the trainees (common.DrillTasks).
type TaskMsg struct {
	N    int
	Text string
}

// FetchTask reads a drill's current task; nil without a drill.
func FetchTask(c common.Common) tea.Cmd {
	tasks, ok := c.Services.(common.DrillTasks)
	if !ok {
		return nil
	}
	return func() tea.Msg {
		n, text := tasks.DrillTask()
		return TaskMsg{N: n, Text: text}
	}
}

// HubMsg carries the pharmacy's hub at a glance (issue 19); OK is false
// when no hub is configured.
type HubMsg struct {
	Status common.HubStatus
	OK     bool
	Err    error
}

// FetchHub reads the hub's state in the background; nil when the services
// have no hub.
func FetchHub(c common.Common) tea.Cmd {
	svc := c.Services
	if _, ok := svc.(common.Hubs); !ok {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		st, ok, err := common.Hub(ctx, svc)
		return HubMsg{Status: st, OK: ok, Err: err}
	}
}

// NoticesMsg carries Kela's notices (issue 22); OK is false when the
// counter keeps none.
type NoticesMsg struct {
	Notices []rx.Notice
	OK      bool
	Err     error
}

// FetchNotices reads Kela's notices in the background; nil when the
// services keep none.
func FetchNotices(c common.Common) tea.Cmd {
	svc := c.Services
	if _, ok := svc.(common.Notices); !ok {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		ns, ok, err := common.ReadNotices(ctx, svc)
		return NoticesMsg{Notices: ns, OK: ok, Err: err}
	}
}

// CatalogueMsg carries the medicine catalogue's state (issue 24).
type CatalogueMsg struct {
	Info catalogue.Info
	Err  error
}

// FetchCatalogue reads the medicine catalogue's description in the
// background. It costs a stat of the catalogue's file (the reader reads
// the header again only when an import replaced the file), no query, so
// it may run at every refresh.
func FetchCatalogue(c common.Common) tea.Cmd {
	svc := c.Services
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		info, err := svc.CatalogueInfo(ctx)
		return CatalogueMsg{Info: info, Err: err}
	}
}

// Refresh reads the counts and the mode, a drill's task, the hub, Kela's
// notices and the medicine catalogue's state.
func Refresh(c common.Common) tea.Cmd {
	return tea.Batch(FetchCounts(c), FetchMode(c), FetchTask(c), FetchHub(c), FetchNotices(c), FetchCatalogue(c))
}

// Model is the status line.
type Model struct {
	c          common.Common
	counts     journal.Counts
	haveCounts bool
	mode       rx.ModeState
	who        rx.Pharmacist
	err        error
	task       TaskMsg    // a drill's task for the trainees; N 0: none
	hub        HubMsg     // the pharmacy's hub; OK false: none configured
	notices    NoticesMsg // Kela's notices; OK false: none kept
	// The medicine catalogue: its description once read, or that none is
	// imported. A read that fails otherwise (the counter still opening)
	// leaves what was known.
	catalogue     catalogue.Info
	haveCatalogue bool
	noCatalogue   bool
}

// New returns a status line with nothing read yet.
func New(c common.Common) Model { return Model{c: c} }

// SetCommon takes a new Common, after a resize.
func (m Model) SetCommon(c common.Common) Model { m.c = c; return m }

// SetPharmacist names the signed-in person; the zero value is nobody.
func (m Model) SetPharmacist(p rx.Pharmacist) Model { m.who = p; return m }

// Mode returns the mode last read.
func (m Model) Mode() rx.ModeState { return m.mode }

// Hub returns the hub's state last read, and whether a hub is configured.
func (m Model) Hub() (common.HubStatus, bool) { return m.hub.Status, m.hub.OK }

// Counts returns the counts last read, and whether any were.
func (m Model) Counts() (journal.Counts, bool) { return m.counts, m.haveCounts }

// Update takes CountsMsg and ModeMsg.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case CountsMsg:
		m.err = msg.Err
		if msg.Err == nil {
			m.counts, m.haveCounts = msg.Counts, true
		}
	case ModeMsg:
		m.err = msg.Err
		if msg.Err == nil {
			m.mode = msg.State
		}
	case CatalogueMsg:
		switch {
		case msg.Err == nil:
			m.catalogue, m.haveCatalogue, m.noCatalogue = msg.Info, true, false
		case errors.Is(msg.Err, catalogue.ErrNoCatalogue), rx.ErrorCode(msg.Err) == rx.ECORRUPT:
			m.haveCatalogue, m.noCatalogue = false, true
		}
	case TaskMsg:
		m.task = msg
	case NoticesMsg:
		if msg.Err == nil {
			m.notices = msg
		} // a failed read keeps the notices last read: the journal's error shows with the counts
	case HubMsg:
		if msg.Err == nil || !msg.OK {
			m.hub = msg
		} else {
			// A read that failed says the hub is not known to answer;
			// the last unshared count stands.
			m.hub.OK, m.hub.Status.Connected, m.hub.Err = true, false, msg.Err
		}
	}
	return m, nil
}

// View renders the status line, wrapped to the width.
func (m Model) View() string {
	c, s := m.c, m.c.Styles
	var items []string
	badge := i18n.ModeUnknown
	switch m.mode.Mode {
	case rx.ModeOnline:
		badge = i18n.ModeOnline
	case rx.ModeFault:
		badge = i18n.ModeFault
	case rx.ModeRecovering:
		badge = i18n.ModeRecovering
	}
	items = append(items, s.Badge(m.mode.Mode).Render(c.T(badge)))
	items = append(items, m.noticeItems()...)
	items = append(items, m.catalogueItems()...)
	if m.haveCounts {
		n := m.counts
		items = append(items, s.Label.Render(c.T(i18n.StatusPending, n.Unsent())))
		last := c.T(i18n.StatusNever)
		if !n.LastDone.IsZero() {
			last = m.clock(n.LastDone)
		}
		items = append(items, c.T(i18n.StatusLastUpload, last))
		if n.Unsent() > 0 && !n.OldestPending.IsZero() {
			items = append(items, c.T(i18n.StatusOldest, c.Age(c.Now().Sub(n.OldestPending))))
		}
		if r := n.NeedsReview(); r > 0 {
			items = append(items, s.Warning.Render(c.T(i18n.StatusReview, r)))
		}
	}
	items = append(items, m.hubItems()...)
	who := c.T(i18n.StatusNobody)
	if m.who.ID != "" {
		who = m.who.Name
		if !m.who.Role.MayRecord() {
			who += " (" + c.T(i18n.StatusStudent) + ")"
		}
	}
	items = append(items,
		s.StatusItem.Render(c.T(i18n.StatusPharmacy, c.Counter.Pharmacy.Name)),
		s.StatusItem.Render(c.T(i18n.StatusTerminal, c.Counter.Terminal)),
		s.StatusItem.Render(c.T(i18n.StatusPharmacist, who)))
	damaged := rx.ErrorCode(m.err) == rx.ECORRUPT // failed its integrity check: nothing can be recorded
	if m.err != nil && !damaged {
		items = append(items, s.Error.Render(c.T(i18n.StatusJournalError, rx.ErrorMessage(m.err))))
	}
	out := flow(items, c.Width)
	if damaged { // above the rest, whole; `tiski journal verify` gives the check's own words
		out = s.Error.Width(max(c.Width, 1)).Render(c.T(i18n.StatusJournalDamaged)) + "\n" + out
	}
	if c.IdentityMissing() { // from the start and in every mode: the forms refuse until IT sets it
		out = s.Error.Width(max(c.Width, 1)).Render(c.T(i18n.StatusIdentityMissing)) + "\n" + out
	}
	if c.Counter.Training {
		banner := s.Training.Width(max(c.Width, 1)).Render(ansi.Truncate(c.T(i18n.StatusTraining), c.Width, "…"))
		if m.task.N > 0 { // a drill: what the trainees are to do now, whole
			banner += "\n" + s.Label.Width(max(c.Width, 1)).Render(c.T(i18n.StatusDrillTask, m.task.N, m.task.Text))
		}
		out = banner + "\n" + out
	}
	return out
}

// CatalogueStale reports whether the counter's medicine catalogue is out
// of date at now: none imported, or its next due update (the 1st or 15th
// after its import, catalogue.NextDue) has come. known is false before the
// first read.
func (m Model) CatalogueStale(now time.Time) (stale, known bool) {
	switch {
	case m.noCatalogue:
		return true, true
	case !m.haveCatalogue:
		return false, false
	}
	return !now.Before(catalogue.NextDue(m.catalogue.ImportedAt.In(now.Location()))), true
}

// catalogueItems is the medicine catalogue's item (issue 24): in FAULT,
// when it is out of date or missing, since then the catalogue is the
// national data the counter holds, and the pharmacist judges what it says
// (a narcotic's class, a package) knowing its age. Online it stays quiet:
// the e-prescriptions carry their medicines from the Prescription Centre,
// the picker says itself when there is no catalogue, and IT hears of a
// missed update from tiski doctor and tiski catalogue status, not from a
// line the pharmacist can do nothing about.
func (m Model) catalogueItems() []string {
	if m.mode.Mode != rx.ModeFault {
		return nil
	}
	c, s := m.c, m.c.Styles
	now := c.Now()
	if stale, known := m.CatalogueStale(now); !known || !stale {
		return nil
	}
	if m.noCatalogue {
		return []string{s.Error.Render(c.T(i18n.MedStatusNone))}
	}
	due := catalogue.NextDue(m.catalogue.ImportedAt.In(now.Location()))
	return []string{s.Warning.Render(c.T(i18n.MedStatusStale, due.Format("2.1.2006")))}
}

// hubItems are the hub's items: reachable or not with the records not yet
// shared, and each other counter not ONLINE with its mode since when.
// Nothing without a hub.
func (m Model) hubItems() []string {
	if !m.hub.OK {
		return nil
	}
	c, s := m.c, m.c.Styles
	st := m.hub.Status
	var items []string
	if st.Connected {
		items = append(items, s.StatusItem.Render(c.T(i18n.HubConnected, st.Unshared)))
	} else {
		items = append(items, s.Warning.Render(c.T(i18n.HubDisconnected, st.Unshared)))
	}
	for _, p := range st.Peers {
		switch p.Mode {
		case rx.ModeFault:
			items = append(items, s.Error.Render(c.T(i18n.HubPeerFault, p.Counter, m.clock(p.Since))))
		case rx.ModeRecovering:
			items = append(items, s.Warning.Render(c.T(i18n.HubPeerRecovering, p.Counter, m.clock(p.Since))))
		}
	}
	return items
}

// clock formats a time of the status line: the time of day today, the
// date too on another day.
func (m Model) clock(t time.Time) string {
	now := m.c.Now()
	t = t.In(now.Location())
	if y, mo, d := t.Date(); y == now.Year() && mo == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("2.1. 15:04")
}

// flow joins items with a separator, starting a new line when the next
// item would not fit in width; an item wider than the width is cut.
func flow(items []string, width int) string {
	if width <= 0 {
		return strings.Join(items, "  ")
	}
	const sep = "  "
	var lines []string
	line := ""
	for _, it := range items {
		it = ansi.Truncate(it, width, "…")
		switch {
		case line == "":
			line = it
		case lipgloss.Width(line)+len(sep)+lipgloss.Width(it) <= width:
			line += sep + it
		default:
			lines = append(lines, line)
			line = it
		}
	}
	lines = append(lines, line)
	return strings.Join(lines, "\n")
}

// breakAhead is how far ahead the status line shows a planned break.
const breakAhead = 24 * time.Hour

// noticeItems are Kela's notices as the pharmacists need them (issue 22):
// the planned break in force or the next within 24 hours, so they can tell
// patients; and in FAULT, Kela's notice of the fault, or, when none is on
// file, that the helpdesk must be told. Nothing when the counter keeps no
// notices.
func (m Model) noticeItems() []string {
	if !m.notices.OK {
		return nil
	}
	c, s := m.c, m.c.Styles
	now := c.Now()
	var items []string
	var brk, fault *rx.Notice
	for i := range m.notices.Notices {
		n := &m.notices.Notices[i]
		switch {
		case n.Over(now):
		case n.Kind == rx.NoticeMaintenance && n.From.Sub(now) <= breakAhead && (brk == nil || n.From.Before(brk.From)):
			brk = n
		case n.Kind == rx.NoticeFault && n.InForce(now) && (fault == nil || n.From.After(fault.From)):
			fault = n
		}
	}
	if brk != nil {
		items = append(items, s.Warning.Render(m.breakText(*brk)))
	}
	switch {
	case m.mode.Mode != rx.ModeFault:
	case fault != nil:
		items = append(items, s.Warning.Render(c.T(i18n.NoticeFaultAnnounced, fault.Text)))
	case brk == nil || !brk.InForce(now):
		items = append(items, s.Error.Render(c.T(i18n.NoticeNone)))
	}
	return items
}

// breakText says when planned break n is, in the words a pharmacist can
// pass on: "Kanta maintenance tonight 22:00–02:00".
func (m Model) breakText(n rx.Notice) string {
	c := m.c
	now := c.Now()
	from, end := n.From.In(now.Location()), n.End().In(now.Location())
	if n.InForce(now) {
		return c.T(i18n.NoticeBreakNow, m.clock(end))
	}
	day := func(t time.Time) time.Time {
		y, mo, d := t.Date()
		return time.Date(y, mo, d, 0, 0, 0, 0, t.Location())
	}
	key := i18n.NoticeBreakTomorrow
	switch {
	case day(from).Equal(day(now)) && from.Hour() >= 18,
		day(from).Equal(day(now).AddDate(0, 0, 1)) && from.Hour() < 6 && now.Hour() >= 18: // past midnight is tonight too
		key = i18n.NoticeBreakTonight
	case day(from).Equal(day(now)):
		key = i18n.NoticeBreakToday
	}
	return c.T(key, from.Format("15:04"), end.Format("15:04"))
}
