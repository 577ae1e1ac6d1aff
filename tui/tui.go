// Package tui is the counter: the pharmacist's terminal UI (DESIGN §7).
// This root model only routes: it owns the status line, the session and
// the help, and hands every other message to the screen in front, each a
// package of its own under tui/screen (STYLE §10).
package tui

import (
	"context"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/signin"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/keymap"
	"github.com/tiski-rx/tiski/tui/screen/conflicts"
	"github.com/tiski-rx/tiski/tui/screen/dispense"
	"github.com/tiski-rx/tiski/tui/screen/essential"
	"github.com/tiski-rx/tiski/tui/screen/faultview"
	"github.com/tiski-rx/tiski/tui/screen/prescriptions"
	"github.com/tiski-rx/tiski/tui/screen/rxform"
	"github.com/tiski-rx/tiski/tui/screen/rxform/formkit"
	"github.com/tiski-rx/tiski/tui/screen/search"
	signinscreen "github.com/tiski-rx/tiski/tui/screen/signin"
	"github.com/tiski-rx/tiski/tui/screen/syncq"
	"github.com/tiski-rx/tiski/tui/statusline"
)

// Screen names the screen in front.
type Screen int

// Screens of the counter.
const (
	ScreenSignIn Screen = iota
	ScreenSearch
	ScreenPrescriptions
	ScreenDispense
	ScreenPrescriptionForm // a paper or telephone prescription
	ScreenEssential        // an essential-medication dispensing, in a fault
	ScreenSync             // the upload queue
	ScreenConflicts        // records waiting for a pharmacist's review
	ScreenFaultDesk        // the triage and the draft fault report for Kela
)

// TickMsg drives the status line's refresh and the inactivity lock, once a
// second. The session reads the Common clock, not the tick's time, so tests
// send TickMsg by hand after moving their clock.
type TickMsg struct{}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return TickMsg{} })
}

// Model is the counter's root.
type Model struct {
	c        common.Common
	status   statusline.Model
	help     help.Model
	showHelp bool
	screen   Screen
	// session is nil before sign-in. update copies it before changing it,
	// so an earlier copy of the model keeps its own (Update is a function
	// of the model, as bubbletea expects).
	session *signin.Session
	notice  string // the last training-outage switch, shown above the help line
	locked  bool
	warning time.Duration // time left before the lock, while warning

	// The screens open at the start are values; the others are behind
	// pointers, nil until first opened, and always replaced, never changed
	// in place (see box).
	signIn        signinscreen.Model
	search        search.Model
	lock          *signinscreen.Model
	prescriptions *prescriptions.Model
	dispense      *dispense.Model
	rxForm        *rxform.Model
	essential     *essential.Model
	sync          *syncq.Model
	conflicts     *conflicts.Model
	faultDesk     *faultview.Model
	// back is the screen a form, the sync or the conflicts screen returns
	// to: the one it was opened from.
	back Screen
	// dispenseBack is the screen the dispense screen returns to: the
	// prescriptions, or the search for a journal prescription.
	dispenseBack Screen
	// offer is the standing offer to print a patient's outage records,
	// made when there was nothing current to print (printout.go).
	offer *outageOffer
}

// box puts a screen's model, as a screen's Update returns it, behind a new
// pointer. The screens a counter does not open at the start are held so:
// with every screen a value the model was 357 KB, bubbletea copies it at
// every message, and the first copies grew the goroutine's stack by
// megabytes, 20 ms of the first frame on a loaded machine (issue 20). A
// new pointer for every change keeps Update a function of the model: an
// earlier copy keeps its own screens.
func box[T any](m T, cmd tea.Cmd) (*T, tea.Cmd) { return &m, cmd }

// New returns the counter at its sign-in screen.
func New(c common.Common) Model {
	h := help.New()
	// bubbles' own help styles are lipgloss.AdaptiveColor, whose first
	// render asks the terminal for its background colour (termenv, OSC 11):
	// a round trip in the first frame, seconds where a terminal does not
	// answer, and a read of the keyboard beside bubbletea's own (issue 20).
	// The counter's colours are complete ones, from its Styles (STYLE §11).
	hs := c.Styles.Help
	h.Styles = help.Styles{ShortKey: hs.Bold(true), ShortDesc: hs, ShortSeparator: hs, Ellipsis: hs,
		FullKey: hs.Bold(true), FullDesc: hs, FullSeparator: hs}
	m := Model{c: c, status: statusline.New(c), help: h}
	m.signIn = signinscreen.New(m.body())
	return m.resize()
}

// Init reads the status line's counts and mode, and starts the tick. A
// counter opened signed in (the demo) signs in as any other would.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{statusline.Refresh(m.c), tick()}
	if who := m.c.Counter.SignedIn; who != nil {
		p := *who
		cmds = append(cmds, func() tea.Msg { return signinscreen.SignedInMsg{Pharmacist: p} })
	}
	return tea.Batch(cmds...)
}

// outageMsg answers a training-outage switch.
type outageMsg struct {
	down bool
	err  error
}

// outages returns the training-outage switch, when this counter has one.
func (m Model) outages() (common.Outages, bool) {
	o, ok := m.c.Services.(common.Outages)
	return o, ok && m.c.Counter.Training
}

func (m Model) toggleOutage(o common.Outages) tea.Cmd {
	timeout := m.c.Counter.CallTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		down, err := o.ToggleOutage(ctx)
		return outageMsg{down: down, err: err}
	}
}

// Screen returns the screen in front.
func (m Model) Screen() Screen { return m.screen }

// Locked reports whether the session is locked.
func (m Model) Locked() bool { return m.locked }

// Pharmacist returns the signed-in person, or the zero value.
func (m Model) Pharmacist() rx.Pharmacist {
	if m.session == nil {
		return rx.Pharmacist{}
	}
	return m.session.Pharmacist
}

// body is the Common the screens get: the room left by the status line,
// the warning line and the help line.
func (m Model) body() common.Common {
	b := m.c
	b.Height = max(m.c.Height-lipgloss.Height(m.status.View())-2, 3)
	return b
}

// resize hands the current size to every screen.
func (m Model) resize() Model {
	m.status = m.status.SetCommon(m.c)
	b := m.body()
	m.help.Width = m.c.Width
	m.signIn = m.signIn.SetCommon(b)
	if m.lock != nil {
		m.lock, _ = box(m.lock.SetCommon(b), nil)
	}
	m.search = m.search.SetCommon(b)
	if (m.screen == ScreenPrescriptions || m.screen == ScreenDispense) && m.prescriptions != nil {
		m.prescriptions, _ = box(m.prescriptions.SetCommon(b), nil)
	}
	switch m.screen {
	case ScreenDispense:
		m.dispense, _ = box(m.dispense.SetCommon(b), nil)
	case ScreenPrescriptionForm:
		m.rxForm, _ = box(m.rxForm.SetCommon(b), nil)
	case ScreenEssential:
		m.essential, _ = box(m.essential.SetCommon(b), nil)
	case ScreenSync:
		m.sync, _ = box(m.sync.SetCommon(b), nil)
	case ScreenConflicts:
		m.conflicts, _ = box(m.conflicts.SetCommon(b), nil)
	case ScreenFaultDesk:
		m.faultDesk, _ = box(m.faultDesk.SetCommon(b), nil)
	}
	return m
}

// Update routes msg.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) { return m.update(msg) }

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	k := m.c.Keys
	now := m.c.Now()
	if m.session != nil {
		s := *m.session
		m.session = &s
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		return m.resize(), nil
	case statusline.CountsMsg:
		m.status, _ = m.status.Update(msg)
		return m, nil
	case statusline.ModeMsg:
		m.status, _ = m.status.Update(msg)
		m.search, _ = m.search.Update(msg)
		return m.resize(), nil
	case statusline.TaskMsg, statusline.HubMsg, statusline.NoticesMsg, statusline.CatalogueMsg: // a drill's task, the hub, Kela's notices, the catalogue: the status line may grow a line
		m.status, _ = m.status.Update(msg)
		return m.resize(), nil
	case TickMsg:
		m = m.checkSession(now)
		return m, tea.Batch(statusline.Refresh(m.c), tick())
	case signinscreen.SignedInMsg:
		m.session = signin.NewSession(msg.Pharmacist, m.c.Counter.LockAfter, now)
		m.status = m.status.SetPharmacist(msg.Pharmacist)
		m.signIn = signinscreen.New(m.body())
		return m.toSearch(), statusline.Refresh(m.c)
	case signinscreen.UnlockedMsg:
		if m.session != nil {
			m.session.Unlock(now)
		}
		m.locked, m.warning = false, 0
		return m, nil
	case search.LoadedMsg:
		m.prescriptions, _ = box(prescriptions.New(m.body(), msg.Patient, msg.Prescriptions, m.Pharmacist()), nil)
		m.screen = ScreenPrescriptions
		return m, nil
	case prescriptions.BackMsg:
		return m.toSearch(), nil
	case prescriptions.SummaryMsg:
		return m.summary(msg.Patient)
	case printoutMsg:
		return m.printed(msg)
	case outageCountMsg:
		return m.offered(msg), nil
	case prescriptions.DispenseMsg:
		if !m.Pharmacist().Role.MayRecord() {
			return m, nil
		}
		m.dispense, _ = box(dispense.New(m.body(), msg.Patient, msg.Prescription, m.Pharmacist(), m.status.Mode().Mode), nil)
		m.screen, m.dispenseBack = ScreenDispense, ScreenPrescriptions
		return m, nil
	case search.DispenseMsg: // a journal prescription, of any counter (issue 19)
		if !m.Pharmacist().Role.MayRecord() {
			return m, nil
		}
		m.dispense, _ = box(dispense.New(m.body(), msg.Patient, msg.Prescription, m.Pharmacist(), m.status.Mode().Mode), nil)
		m.screen, m.dispenseBack = ScreenDispense, ScreenSearch
		return m, nil
	case dispense.BackMsg:
		if m.dispenseBack == ScreenSearch {
			m.screen = ScreenSearch
			var reload tea.Cmd
			m.search, reload = m.search.SetCommon(m.body()).Reload() // what is left has changed
			return m, tea.Batch(reload, statusline.Refresh(m.c))
		}
		m.screen = ScreenPrescriptions
		return m, statusline.Refresh(m.c)
	case rxform.BackMsg, essential.BackMsg, syncq.BackMsg, conflicts.BackMsg, faultview.BackMsg:
		m.screen = m.back
		if m.screen == ScreenSearch {
			m.search = m.search.SetCommon(m.body())
		}
		return m.resize(), statusline.Refresh(m.c)
	case outageMsg:
		switch {
		case msg.err != nil:
			m.notice = m.c.T(i18n.OutageFailed, msg.err.Error())
		case msg.down:
			m.notice = m.c.T(i18n.OutageStarted)
		default:
			m.notice = m.c.T(i18n.OutageEnded)
		}
		return m, statusline.Refresh(m.c)
	case tea.KeyMsg:
		if key.Matches(msg, k.Quit) {
			return m, tea.Quit
		}
		if key.Matches(msg, k.Help) {
			m.showHelp = !m.showHelp
			return m, nil
		}
		if o, ok := m.outages(); ok && key.Matches(msg, k.Outage) {
			return m, m.toggleOutage(o)
		}
		if m.session != nil && !m.locked {
			if m = m.checkSession(now); m.locked {
				return m, nil // the key that finds the session locked is not acted on
			}
			m.session.Touch(now)
			m.warning = 0
			switch {
			case key.Matches(msg, k.Lock):
				m.session.Lock()
				return m.checkSession(now), nil
			case key.Matches(msg, k.Search):
				return m.toSearch(), nil
			}
			if m.browsing() {
				switch {
				case key.Matches(msg, k.Paper):
					return m.openForm(rx.FormPaper)
				case key.Matches(msg, k.Telephone):
					return m.openForm(rx.FormTelephone)
				case key.Matches(msg, k.Essential):
					return m.openEssential()
				case key.Matches(msg, k.Sync) && m.screen != ScreenSync:
					m.back, m.screen, m.notice = m.returnTo(), ScreenSync, ""
					m.sync, _ = box(syncq.New(m.body(), m.Pharmacist()), nil)
					return m, m.sync.Init()
				case key.Matches(msg, k.Conflicts) && m.screen != ScreenConflicts:
					m.back, m.screen, m.notice = m.returnTo(), ScreenConflicts, ""
					m.conflicts, _ = box(conflicts.New(m.body(), m.Pharmacist()), nil)
					return m, m.conflicts.Init()
				case key.Matches(msg, k.FaultDesk) && m.screen != ScreenFaultDesk:
					m.back, m.screen, m.notice = m.returnTo(), ScreenFaultDesk, ""
					m.faultDesk, _ = box(faultview.New(m.body(), m.Pharmacist()), nil)
					return m, m.faultDesk.Init()
				}
			}
		}
		if m.showHelp && key.Matches(msg, k.Back) {
			m.showHelp = false
			return m, nil
		}
		return m.toFront(msg)
	}
	// Everything else (answers of commands, spinner ticks) goes to every
	// screen that may be waiting for it; a screen ignores what is not its.
	var c1, c2, c3 tea.Cmd
	if m.locked {
		m.lock, c1 = box(m.lock.Update(msg))
	}
	switch msg.(type) {
	case dispense.RecordedMsg, formkit.RecordedMsg:
		// The pending count shows the new record at once.
		c3 = statusline.Refresh(m.c)
	}
	m, c2 = m.updateScreen(msg)
	return m, tea.Batch(c1, c2, c3)
}

// toFront gives a key to the screen in front: the lock screen when locked.
func (m Model) toFront(msg tea.Msg) (Model, tea.Cmd) {
	if m.locked {
		var cmd tea.Cmd
		m.lock, cmd = box(m.lock.Update(msg))
		return m, cmd
	}
	return m.updateScreen(msg)
}

// updateScreen gives msg to the screen in front, the lock aside.
func (m Model) updateScreen(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	switch m.screen {
	case ScreenSignIn:
		m.signIn, cmd = m.signIn.Update(msg)
	case ScreenSearch:
		m.search, cmd = m.search.Update(msg)
	case ScreenPrescriptions:
		if m.prescriptions != nil {
			m.prescriptions, cmd = box(m.prescriptions.Update(msg))
		}
	case ScreenDispense:
		if m.dispense != nil {
			m.dispense, cmd = box(m.dispense.Update(msg))
		}
	case ScreenPrescriptionForm:
		if m.rxForm != nil {
			m.rxForm, cmd = box(m.rxForm.Update(msg))
		}
	case ScreenEssential:
		if m.essential != nil {
			m.essential, cmd = box(m.essential.Update(msg))
		}
	case ScreenSync:
		if m.sync != nil {
			m.sync, cmd = box(m.sync.Update(msg))
		}
	case ScreenConflicts:
		if m.conflicts != nil {
			m.conflicts, cmd = box(m.conflicts.Update(msg))
		}
	case ScreenFaultDesk:
		if m.faultDesk != nil {
			m.faultDesk, cmd = box(m.faultDesk.Update(msg))
		}
	}
	return m, cmd
}

// browsing reports whether the screen in front is one the forms, the sync
// and the conflicts screens open from: not a form being filled in, whose
// text fields take every key.
func (m Model) browsing() bool {
	switch m.screen {
	case ScreenSearch, ScreenPrescriptions, ScreenSync, ScreenConflicts, ScreenFaultDesk:
		return true
	}
	return false
}

// returnTo is where a screen opened now goes back to: the screen in front,
// or, from the sync or conflicts screen, the one that opened it.
func (m Model) returnTo() Screen {
	if m.screen == ScreenSync || m.screen == ScreenConflicts || m.screen == ScreenFaultDesk {
		return m.back
	}
	return m.screen
}

// patient is the patient in front: the one whose prescriptions show, or
// the valid identity code typed in the search.
func (m Model) patient() (rx.Patient, bool) {
	switch m.returnTo() {
	case ScreenPrescriptions:
		if m.prescriptions != nil {
			return m.prescriptions.Patient(), true
		}
	case ScreenSearch:
		if code, ok := m.search.Patient(); ok {
			return rx.Patient{HETU: code}, true
		}
	}
	return rx.Patient{}, false
}

// openForm opens the paper or telephone prescription form for the patient
// in front, in every mode: the fault may be the prescriber's.
func (m Model) openForm(form rx.Form) (Model, tea.Cmd) {
	p, ok := m.patient()
	if !ok {
		m.notice = m.c.T(i18n.NeedPatient)
		return m, nil
	}
	m.back, m.screen, m.notice = m.returnTo(), ScreenPrescriptionForm, ""
	m.rxForm, _ = box(rxform.New(m.body(), m.Pharmacist(), p, form, m.status.Mode().Mode), nil)
	return m, m.rxForm.Init()
}

// openEssential opens the essential-medication form for the patient in
// front, in FAULT mode only: online the e-prescription is dispensed as it
// is, and an essential dispensing of an earlier fault is back-entered with
// tiski record.
func (m Model) openEssential() (Model, tea.Cmd) {
	st := m.status.Mode()
	if st.Mode != rx.ModeFault {
		m.notice = m.c.T(i18n.EssentialOnlyInFault)
		return m, nil
	}
	p, ok := m.patient()
	if !ok {
		m.notice = m.c.T(i18n.NeedPatient)
		return m, nil
	}
	m.back, m.screen, m.notice = m.returnTo(), ScreenEssential, ""
	m.essential, _ = box(essential.New(m.body(), m.Pharmacist(), p, st.Since), nil)
	return m, m.essential.Init()
}

func (m Model) toSearch() Model {
	m.search = search.New(m.body(), m.Pharmacist(), m.status.Mode())
	m.screen = ScreenSearch
	return m
}

// checkSession locks the screen when the session has locked, and notes
// the warning when the lock is near.
func (m Model) checkSession(now time.Time) Model {
	if m.session == nil || m.locked {
		return m
	}
	if m.session.Locked(now) {
		m.locked, m.warning = true, 0
		m.lock, _ = box(signinscreen.NewLock(m.body(), m.session.Pharmacist), nil)
		return m
	}
	if due, left := m.session.WarningDue(now); due {
		m.warning = max(left, time.Second)
	} else {
		m.warning = 0
	}
	return m
}

// helpKeys returns the bindings of the screen in front, for the help line.
func (m Model) helpKeys() keymap.Help {
	k := m.c.Keys
	// The help key leads the help line, so truncation never hides it; the
	// screen's own keys follow, then a training counter's outage switch.
	var global []key.Binding
	if _, ok := m.outages(); ok {
		global = []key.Binding{k.Outage}
	}
	var forms []key.Binding
	if m.session != nil && m.browsing() && !m.locked {
		forms = []key.Binding{k.Paper, k.Telephone}
		if m.status.Mode().Mode == rx.ModeFault {
			forms = append(forms, k.Essential)
		}
		forms = append(forms, k.Sync, k.Conflicts)
	}
	if m.session != nil {
		forms = append(forms, k.Search, k.Lock)
	}
	global = append(append(global, forms...), k.Quit)
	var here []key.Binding
	switch {
	case m.locked, m.screen == ScreenSignIn:
		here = []key.Binding{k.Submit, k.NextField}
	case m.screen == ScreenSearch:
		here = []key.Binding{k.Submit, k.Back}
		if _, ok := m.search.Selected(); ok && m.Pharmacist().Role.MayRecord() {
			here = append(here, k.Dispense)
		}
		if m.search.State() == search.TimedOut {
			here = append(here, k.ForceFault)
		}
	case m.screen == ScreenPrescriptions:
		here = []key.Binding{k.Up, k.Down, k.Detail, k.Sort, k.Filter, k.Back}
		if m.Pharmacist().Role.MayRecord() {
			here = append(append([]key.Binding{k.Dispense}, here...), k.Renewal)
		}
		if _, ok := m.summaries(); ok {
			here = append(here, k.Summary)
		}
	case m.screen == ScreenDispense, m.screen == ScreenPrescriptionForm, m.screen == ScreenEssential:
		here = []key.Binding{k.ConfirmDispense, k.NextField, k.PrevField, k.Up, k.Down, k.Back}
	case m.screen == ScreenSync && m.sync != nil:
		here = m.sync.HelpKeys()
	case m.screen == ScreenConflicts && m.conflicts != nil:
		here = m.conflicts.HelpKeys()
	case m.screen == ScreenFaultDesk && m.faultDesk != nil:
		here = m.faultDesk.HelpKeys()
	}
	// The first group is the help line; the rest, every binding, the help
	// screen.
	first := []key.Binding{k.Help}
	if m.session != nil && m.browsing() && !m.locked && m.status.Mode().Mode == rx.ModeFault {
		// In FAULT the fault desk comes first: "No notice from Kela:
		// tell your helpdesk" points at it.
		first = append(first, k.FaultDesk)
	}
	return keymap.Help{append(append(first, here...), global...), {k.Up, k.Down, k.NextField, k.PrevField, k.Submit, k.Back},
		{k.Sort, k.Filter, k.Detail, k.Dispense, k.Renewal, k.Summary, k.Search, k.ForceFault}, {k.Paper, k.Telephone, k.Essential, k.Sync, k.Conflicts, k.RetryNow, k.FaultDesk},
		{k.ConfirmDispense, k.Void, k.Lock, k.Help, k.Quit}}
}

// View renders the status line, the screen in front and the help line.
func (m Model) View() string {
	s := m.c.Styles
	status := m.status.View()
	var body string
	switch {
	case m.locked && m.lock != nil:
		body = m.lock.View()
	case m.showHelp:
		h := m.help
		h.ShowAll = true
		// Three columns a row, so every binding fits 80 columns.
		groups := m.helpKeys()[1:]
		var rows []string
		for i := 0; i < len(groups); i += 3 {
			rows = append(rows, h.View(groups[i:min(i+3, len(groups))]))
		}
		body = s.Title.Render(m.c.T(i18n.HelpHelp)) + "\n\n" + strings.Join(rows, "\n\n")
	case m.screen == ScreenSignIn:
		body = m.signIn.View()
	case m.screen == ScreenSearch:
		body = m.search.View()
	case m.screen == ScreenPrescriptions && m.prescriptions != nil:
		body = m.prescriptions.View()
	case m.screen == ScreenDispense && m.dispense != nil:
		body = m.dispense.View()
	case m.screen == ScreenPrescriptionForm && m.rxForm != nil:
		body = m.rxForm.View()
	case m.screen == ScreenEssential && m.essential != nil:
		body = m.essential.View()
	case m.screen == ScreenSync && m.sync != nil:
		body = m.sync.View()
	case m.screen == ScreenConflicts && m.conflicts != nil:
		body = m.conflicts.View()
	case m.screen == ScreenFaultDesk && m.faultDesk != nil:
		body = m.faultDesk.View()
	}
	bodyHeight := max(m.c.Height-lipgloss.Height(status)-2, 1)
	body = lipgloss.NewStyle().Height(bodyHeight).MaxHeight(bodyHeight).MaxWidth(max(m.c.Width, 1)).Render(body)
	warning := ""
	if m.warning > 0 {
		warning = s.Warning.Render(m.c.T(i18n.LockWarning, m.c.Age(m.warning)))
	} else if m.notice != "" {
		warning = s.Warning.Render(ansi.Truncate(m.notice, max(m.c.Width, 1), "…"))
	}
	helpLine := ansi.Truncate(m.help.View(m.helpKeys()), max(m.c.Width, 1), "…")
	return strings.Join([]string{status, body, warning, helpLine}, "\n")
}
