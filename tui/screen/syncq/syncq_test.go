package syncq

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// open opens the screen as the root does and lets its first read finish.
func open(t *testing.T, env *tuitest.Env, lang i18n.Lang, w, h int, who rx.Pharmacist) Model {
	t.Helper()
	m := New(env.Common(lang, w, h), who)
	m.every = tuitest.NoTick
	m, _ = tuitest.Settle(m, tuitest.Run(m.Init()), nil)
	if !m.Loaded() || m.Problem() != "" {
		t.Fatalf("the first read: loaded %v, problem %q", m.Loaded(), m.Problem())
	}
	return m
}

// read plays one tick of the refresh and lets the read finish.
func read(t *testing.T, m Model) Model {
	t.Helper()
	m, _ = tuitest.Settle(m, tickMsg{screen: m.screen}, nil)
	return m
}

// press feeds a key and runs what it starts.
func press(m Model, k tea.KeyMsg) (Model, tea.Msg) {
	return tuitest.Settle(m, k, func(msg tea.Msg) bool { _, back := msg.(BackMsg); return back })
}

func states(es []journal.OutboxEntry) string {
	var ss []string
	for _, e := range es {
		ss = append(ss, fmt.Sprintf("#%d %s", e.Seq, e.State))
	}
	return strings.Join(ss, ", ")
}

func TestRetryNow(t *testing.T) {
	env := tuitest.New(t)
	recs := env.Retrying(t, tuitest.Metforem, tuitest.Panadol)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	if got := states(m.Shown()); got != "#1 retry, #2 retry" {
		t.Fatalf("shown %s", got)
	}
	for _, e := range m.Shown() {
		if e.Attempts != 1 || !strings.Contains(e.LastError, "cannot reach the Prescription Centre") {
			t.Fatalf("entry %+v", e)
		}
	}
	if v := m.View(); !strings.Contains(v, "in 1 s") || !strings.Contains(v, "cannot reach the Prescription Centre") || !strings.Contains(v, "retry 2") {
		t.Fatalf("the table lacks the next try, the last error or the summary:\n%s", v)
	}

	m, _ = press(m, tuitest.Key(tea.KeyCtrlR))
	if m.Notice() != "Record #1 is sent now." {
		t.Fatalf("notice %q", m.Notice())
	}
	if e, err := env.Journal.Outbox(t.Context(), recs[0].ID); err != nil || e.State != journal.OutboxPending {
		t.Fatalf("after ctrl+r the journal has %+v, %v", e, err)
	}
	if got := states(m.Shown()); got != "#1 pending, #2 retry" {
		t.Fatalf("after ctrl+r the screen shows %s", got)
	}
	if !strings.Contains(m.View(), "now") {
		t.Fatalf("the retried record is not due now:\n%s", m.View())
	}

	// The Centre comes back; one pass sends what is due, and the other
	// record still waits for its retry.
	env.Up(t)
	env.Drain(t)
	m = read(t, m)
	if got := states(m.Shown()); got != "#2 retry" {
		t.Fatalf("after the upload the screen shows %s", got)
	}
	t.Run("F4 shows done ones too, last", func(t *testing.T) {
		a, _ := press(m, tuitest.Key(tea.KeyF4))
		if got := states(a.Shown()); !a.ShowingAll() || got != "#2 retry, #1 done" {
			t.Fatalf("shown %s", got)
		}
		a, _ = press(a, tuitest.Key(tea.KeyDown))
		a, _ = press(a, tuitest.Key(tea.KeyCtrlR))
		if a.Notice() != "Record #1 is already in the Prescription Centre." {
			t.Fatalf("ctrl+r on a done record: %q", a.Notice())
		}
		a, _ = press(a, tuitest.Key(tea.KeyF4))
		if got := states(a.Shown()); a.ShowingAll() || got != "#2 retry" {
			t.Fatalf("F4 again shows %s", got)
		}
	})
	t.Run("a student may look but not retry", func(t *testing.T) {
		s := open(t, env, i18n.EN, 120, 40, tuitest.Student)
		s, cmd := s.Update(tuitest.Key(tea.KeyCtrlR))
		if cmd != nil || !strings.Contains(s.Notice(), "may look at the queue but not send again") {
			t.Fatalf("notice %q, command %v", s.Notice(), cmd != nil)
		}
		if e, _ := env.Journal.Outbox(t.Context(), recs[1].ID); e.State != journal.OutboxRetry {
			t.Fatalf("the student's ctrl+r left %s", e.State)
		}
	})
}

func TestRetryExplainsOtherStates(t *testing.T) {
	env := tuitest.New(t)
	env.Cancelled(t, tuitest.Metforem)
	env.Dispensing(t, tuitest.Panadol)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	if got := states(m.Shown()); got != "#1 conflict, #2 pending" {
		t.Fatalf("shown %s", got)
	}
	for _, tc := range []struct {
		name  string
		downs int
		want  string
	}{
		{"conflict", 0, "Record #1 waits for a pharmacist's resolution: open conflicts (F12)."},
		{"pending", 1, "Record #2 is already queued and goes in its turn."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := m
			for range tc.downs {
				s, _ = press(s, tuitest.Key(tea.KeyDown))
			}
			s, cmd := s.Update(tuitest.Key(tea.KeyCtrlR))
			if cmd != nil || s.Notice() != tc.want {
				t.Fatalf("notice %q, command %v", s.Notice(), cmd != nil)
			}
		})
	}
}

func TestDetailSaysWhyItWaits(t *testing.T) {
	env := tuitest.New(t)
	// A paper prescription of a patient the Centre does not know goes to
	// conflict, and its dispensing waits behind it; another paper
	// prescription is recorded in an outage, its dispensing after it.
	env.Paper(t, tuitest.Nobody, "panadol-500mg-tabl")
	env.Drain(t)
	env.Paper(t, tuitest.Matti, "panadol-500mg-tabl")
	env.Retrying(t)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	if got := states(m.Shown()); got != "#1 conflict, #2 retry, #3 retry, #4 pending" {
		t.Fatalf("shown %s", got)
	}
	for _, tc := range []struct {
		name  string
		downs int
		want  string
	}{
		{"blocked by a conflict", 1, "record #1 (paper prescription), which is conflict: resolve it in conflicts (F12)"},
		{"after the record before it", 3, "sent after record #3 (paper prescription, retry)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := m
			for range tc.downs {
				s, _ = press(s, tuitest.Key(tea.KeyDown))
			}
			s, _ = press(s, tuitest.Key(tea.KeyEnter))
			e, _ := s.Current()
			if v := s.View(); !s.Detail() || !strings.Contains(v, tc.want) || !strings.Contains(v, e.RecordID) {
				t.Fatalf("detail %v\n%s", s.Detail(), v)
			}
			// A refresh keeps the detail on the same record.
			s = read(t, s)
			if got, _ := s.Current(); !s.Detail() || got.RecordID != e.RecordID {
				t.Fatalf("after a refresh: detail %v of #%d", s.Detail(), got.Seq)
			}
			s, msg := press(s, tuitest.Key(tea.KeyEsc))
			if s.Detail() || msg != nil {
				t.Fatalf("Esc did not just close the detail")
			}
		})
	}
	t.Run("Esc goes back", func(t *testing.T) {
		if _, msg := press(m, tuitest.Key(tea.KeyEsc)); msg == nil {
			t.Fatal("Esc gave no BackMsg")
		}
	})
}

func TestStaleAnswersAreIgnored(t *testing.T) {
	env := tuitest.New(t)
	env.Dispensing(t, tuitest.Metforem)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	if _, cmd := m.Update(tickMsg{screen: m.screen - 1}); cmd != nil {
		t.Error("a tick of an earlier opening started a read")
	}
	if s, _ := m.Update(loadedMsg{screen: m.screen, seq: m.applied}); len(s.Shown()) != 1 {
		t.Errorf("an answer of an older read emptied the table")
	}
	if s, _ := m.Update(loadedMsg{screen: m.screen - 1, seq: m.seq + 1}); len(s.Shown()) != 1 {
		t.Errorf("an answer of an earlier opening emptied the table")
	}
	// The tick asks for a read and the next tick; only the read runs here.
	m.every = func(d time.Duration, f func(time.Time) tea.Msg) tea.Cmd {
		if d != RefreshEvery {
			t.Errorf("refresh every %v", d)
		}
		return nil
	}
	if _, cmd := m.Update(tickMsg{screen: m.screen}); cmd == nil {
		t.Error("a tick started no read")
	}
}

// goldenEnv fills the queue as it stands in each mode: online, a conflict,
// a record done and one waiting its turn; in a fault, records waiting for
// a retry, one of them behind a paper prescription.
func goldenEnv(t *testing.T, mode rx.Mode) *tuitest.Env {
	env := tuitest.New(t)
	if mode == rx.ModeOnline {
		env.Cancelled(t, tuitest.Metforem)
		env.Dispensing(t, tuitest.Cardace)
		env.Drain(t)
		env.Dispensing(t, tuitest.Panadol)
		return env
	}
	env.Fault(t)
	env.Paper(t, tuitest.Matti, "panadol-500mg-tabl")
	env.Retrying(t, tuitest.Metforem)
	env.Clock.Advance(10 * time.Minute)
	return env
}

func TestGolden(t *testing.T) {
	for _, mode := range tuitest.Modes {
		env := goldenEnv(t, mode)
		for _, sz := range tuitest.Sizes {
			t.Run(fmt.Sprintf("list_%s_%dx%d", mode, sz.W, sz.H), func(t *testing.T) {
				m := open(t, env, i18n.FI, sz.W, sz.H, tuitest.Pharmacist)
				tuitest.Golden(t, tuitest.Scrub(m.View()))
			})
			t.Run(fmt.Sprintf("all_%s_%dx%d", mode, sz.W, sz.H), func(t *testing.T) {
				m := open(t, env, i18n.FI, sz.W, sz.H, tuitest.Pharmacist)
				m, _ = press(m, tuitest.Key(tea.KeyF4))
				tuitest.Golden(t, tuitest.Scrub(m.View()))
			})
			t.Run(fmt.Sprintf("detail_%s_%dx%d", mode, sz.W, sz.H), func(t *testing.T) {
				m := open(t, env, i18n.FI, sz.W, sz.H, tuitest.Pharmacist)
				m, _ = press(m, tuitest.Key(tea.KeyDown))
				m, _ = press(m, tuitest.Key(tea.KeyEnter))
				tuitest.Golden(t, tuitest.Scrub(m.View()))
			})
		}
	}
}

func TestEveryStateKindAndConflictHasWords(t *testing.T) {
	env := tuitest.New(t)
	c := env.Common(i18n.EN, 80, 24)
	for _, s := range []journal.OutboxState{journal.OutboxPending, journal.OutboxSending, journal.OutboxDone, journal.OutboxRetry,
		journal.OutboxConflict, journal.OutboxRejected, journal.OutboxParked, journal.OutboxVoided} {
		if StateText(c, s) == "" {
			t.Errorf("state %s has no words", s)
		}
	}
	for _, k := range []journal.Kind{journal.KindDispensing, journal.KindPaperPrescription, journal.KindTelephonePrescription, journal.KindVoid, journal.KindResolution} {
		if c.KindText(k) == "" || strings.Contains(c.KindText(k), "_") {
			t.Errorf("kind %s has no words: %q", k, c.KindText(k))
		}
	}
	seen := map[string]bool{}
	for _, k := range queue.ConflictKinds() {
		w := ConflictText(c, k)
		if w == "" || seen[w] {
			t.Errorf("conflict %s: %q is empty or not its own", k, w)
		}
		seen[w] = true
	}
}

func TestDetailFollowsItsRecord(t *testing.T) {
	env := tuitest.New(t)
	rec := env.Dispensing(t, tuitest.Metforem)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	m, _ = press(m, tuitest.Key(tea.KeyEnter))
	env.Drain(t)
	m = read(t, m)
	// The record is done, so the table of open ones no longer has it; the
	// detail still shows it, as it now stands.
	e, ok := m.Current()
	if !m.Detail() || !ok || e.RecordID != rec.ID || e.State != journal.OutboxDone || len(m.Shown()) != 0 {
		t.Fatalf("detail %v of %+v, %d shown", m.Detail(), e, len(m.Shown()))
	}
	if v := m.View(); !strings.Contains(v, "done") || !strings.Contains(v, e.UpstreamID) {
		t.Fatalf("the detail lacks the state or the upstream id:\n%s", v)
	}
	m, _ = press(m, tuitest.Key(tea.KeyCtrlR))
	if m.Notice() != "Record #1 is already in the Prescription Centre." {
		t.Fatalf("ctrl+r in the detail: %q", m.Notice())
	}
	m, _ = press(m, tuitest.Key(tea.KeyEsc))
	if m.Detail() || !strings.Contains(m.View(), "Nothing waits for upload.") {
		t.Fatalf("after Esc:\n%s", m.View())
	}
}
