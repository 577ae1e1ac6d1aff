// Package syncbar is the progress bar of `tiski sync run` on a terminal:
// bubbles' progress over the counts, the rate and the time left, with the
// run's own lines (a conflict, a rejection) printed above it, and left on
// the screen when the run ends so that the summary follows it.
//
// The model only draws what it is given: the command samples the queue's
// counts and sends them a few times a second, so the bar costs the upload
// nothing per record (DESIGN §10). It shows counts and the mode only,
// never a record's patient.
package syncbar

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/styles"
)

// Counts is where a run stands at a moment.
type Counts struct {
	// Total is the records to send: those waiting when the run began,
	// and any recorded while it runs.
	Total     int64
	Uploaded  int64 // done, or voided before upload
	Conflicts int64
	Rejected  int64
	Retries   int64   // transient failures, each tried again
	Mode      rx.Mode // "" until the health probe has answered
	At        time.Time
}

// Settled is the records that need nothing more from this run: uploaded,
// or handed to a pharmacist.
func (c Counts) Settled() int64 { return c.Uploaded + c.Conflicts + c.Rejected }

// Messages the command sends to the model.
type (
	// Line is printed above the bar, and stays there.
	Line string
	// Finish draws the bar one last time with these counts and ends the
	// program, leaving the bar on the screen.
	Finish Counts
)

// The bar's sizes. A wide terminal gets a bar no wider than maxWidth, so
// the eye finds its end; a narrow one gets a bar as wide as the terminal.
const (
	maxWidth     = 60
	defaultWidth = 80 // until the terminal says its size
	// window is how far back the rate looks: long enough that one slow
	// answer does not swing the time left, short enough that a fault or
	// a recovery shows within seconds.
	window = 5 * time.Second
	// minSpan is the least time the rate is measured over before it is
	// shown: a rate from the first tenth of a second is noise.
	minSpan = 500 * time.Millisecond
)

type sample struct {
	at      time.Time
	settled int64
}

// Model is the bar.
type Model struct {
	lang   i18n.Lang
	styles styles.Styles
	bar    progress.Model
	width  int

	start    Counts
	now      Counts
	samples  []sample // the last window's counts, oldest first
	finished bool
}

// New returns the bar for a run that begins at start.
func New(lang i18n.Lang, start Counts) Model {
	s := styles.New()
	m := Model{lang: lang, styles: s, width: defaultWidth, start: start, now: start,
		bar: progress.New(progress.WithSolidFill(s.BarFull))}
	m.bar.EmptyColor = s.BarEmpty
	m.samples = []sample{{start.At, start.Settled()}}
	m.bar.Width = m.barWidth()
	return m
}

// Init implements tea.Model.
func (m Model) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width = msg.Width
		m.bar.Width = m.barWidth()
	case Counts:
		m.observe(msg)
	case Line:
		return m, tea.Println(string(msg))
	case Finish:
		m.observe(Counts(msg))
		m.finished = true
		return m, tea.Quit
	}
	return m, nil
}

func (m *Model) barWidth() int {
	return max(1, min(m.width, maxWidth))
}

// observe takes a new sample and forgets those the rate no longer needs:
// it keeps the newest sample older than the window, so the rate always
// spans the whole window once the run is that old.
func (m *Model) observe(c Counts) {
	if c.At.Before(m.now.At) {
		return // a sample out of order would make the rate negative
	}
	m.now = c
	m.samples = append(m.samples, sample{c.At, c.Settled()})
	cut := 0
	for i, s := range m.samples {
		if c.At.Sub(s.at) >= window {
			cut = i
		}
	}
	m.samples = m.samples[cut:]
}

// Rate is the records settled a second over the last few seconds, and
// false while it has been measured too briefly to mean anything.
func (m Model) Rate() (float64, bool) {
	first := m.samples[0]
	span := m.now.At.Sub(first.at)
	if span < minSpan {
		return 0, false
	}
	return float64(m.now.Settled()-first.settled) / span.Seconds(), true
}

// Left is the time the rest should take at the current rate, and false
// when there is no telling: no rate yet, or nothing moving (a fault).
func (m Model) Left() (time.Duration, bool) {
	rate, ok := m.Rate()
	if !ok || rate <= 0 {
		return 0, false
	}
	rest := max(0, m.now.Total-m.now.Settled())
	return time.Duration(float64(rest) / rate * float64(time.Second)), true
}

// Percent is the share of the records settled, from 0 to 1.
func (m Model) Percent() float64 {
	if m.now.Total <= 0 {
		return 1 // nothing to send is all sent
	}
	return math.Min(1, float64(m.now.Settled())/float64(m.now.Total))
}

// View implements tea.Model: the bar, then the counts and the pace,
// wrapped to the terminal's width rather than cut.
func (m Model) View() string {
	l := m.lang
	c := m.now
	parts := []string{l.T(i18n.CLISyncBarUploaded, c.Uploaded, c.Total)}
	// Conflicts, rejections and retries show once the run has them: most
	// runs have none, and a zero would be noise beside the count that
	// matters.
	if c.Conflicts > 0 {
		parts = append(parts, l.T(i18n.CLISyncBarConflicts, c.Conflicts))
	}
	if c.Rejected > 0 {
		parts = append(parts, l.T(i18n.CLISyncBarRejected, c.Rejected))
	}
	if c.Retries > 0 {
		parts = append(parts, l.T(i18n.CLISyncBarRetries, c.Retries))
	}
	if m.finished {
		took := c.At.Sub(m.start.At)
		if took > 0 {
			parts = append(parts, l.T(i18n.CLISyncBarRate, rateText(l, float64(c.Settled()-m.start.Settled())/took.Seconds())))
		}
		parts = append(parts, l.T(i18n.CLISyncBarTook, Duration(l, took)))
	} else {
		if rate, ok := m.Rate(); ok {
			parts = append(parts, l.T(i18n.CLISyncBarRate, rateText(l, rate)))
		}
		if left, ok := m.Left(); ok {
			parts = append(parts, l.T(i18n.CLISyncBarLeft, Duration(l, left)))
		}
	}
	if c.Mode != "" {
		parts = append(parts, m.styles.Badge(c.Mode).Render(string(c.Mode)))
	}
	// The last line is left empty: bubbletea erases the line the cursor
	// is on when the program ends, which would take the counts with it.
	return m.bar.ViewAs(m.Percent()) + "\n" + wrap(parts, " · ", m.width) + "\n"
}

// wrap joins parts with sep into lines no wider than width, breaking
// between parts; a part wider than width alone is cut.
func wrap(parts []string, sep string, width int) string {
	var lines []string
	line := ""
	for _, p := range parts {
		switch {
		case line == "":
			line = p
		case ansi.StringWidth(line+sep+p) <= width:
			line += sep + p
		default:
			lines = append(lines, line)
			line = p
		}
	}
	lines = append(lines, line)
	for i, s := range lines {
		lines[i] = ansi.Truncate(s, width, "…")
	}
	return strings.Join(lines, "\n")
}

// rateText shows a rate with a decimal below ten a second, where the
// decimal still says something, and with the language's decimal mark.
func rateText(l i18n.Lang, r float64) string {
	s := strconv.FormatFloat(r, 'f', 0, 64)
	if r < 9.95 {
		s = strconv.FormatFloat(r, 'f', 1, 64)
	}
	if l != i18n.EN {
		s = strings.Replace(s, ".", ",", 1) // Finnish and Swedish write 2,5
	}
	return s
}

// Duration shows a time left or taken as the counter shows ages: seconds
// under a minute, whole minutes under an hour, else hours and minutes.
func Duration(l i18n.Lang, d time.Duration) string {
	s := int64(math.Ceil(d.Seconds())) // "0 s left" while a record is still out would mislead
	switch {
	case s < 60:
		return l.T(i18n.AgeSeconds, s)
	case s < 3600:
		return l.T(i18n.AgeMinutes, (s+30)/60)
	}
	return l.T(i18n.AgeHours, s/3600, s%3600/60)
}
