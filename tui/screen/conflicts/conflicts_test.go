package conflicts

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC // the records' times, as the goldens show them
	tuitest.Main(m)
}

// read plays one tick of the refresh and lets the read finish.
func read(t *testing.T, m Model) Model {
	t.Helper()
	m, _ = tuitest.Settle(m, tickMsg{screen: m.screen}, nil)
	return m
}

// open opens the screen as the root does and lets its read finish.
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

// press feeds a key and runs what it starts, up to a BackMsg.
func press(m Model, k tea.KeyMsg) (Model, tea.Msg) {
	return tuitest.Settle(m, k, func(msg tea.Msg) bool { _, back := msg.(BackMsg); return back })
}

// review moves to the item of record id and opens it.
func review(t *testing.T, m Model, id string) Model {
	t.Helper()
	for range m.Items() {
		if it, _ := m.Selected(); it.Entry.RecordID == id {
			break
		}
		m, _ = press(m, tuitest.Key(tea.KeyDown))
	}
	m, _ = press(m, tuitest.Key(tea.KeyEnter))
	if it, ok := m.Reviewing(); !ok || it.Entry.RecordID != id {
		t.Fatalf("reviewing %v %s, want %s", ok, it.Entry.RecordID, id)
	}
	return m
}

func ids(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Entry.RecordID)
	}
	return out
}

// resolutions returns the journal's records that refer to id.
func resolutions(t *testing.T, env *tuitest.Env, id string) []journal.Record {
	t.Helper()
	recs, err := env.Journal.List(t.Context(), journal.Filter{RefersTo: id})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestResolveRealConflicts(t *testing.T) {
	env := tuitest.New(t)
	cancelled := env.Cancelled(t, tuitest.Metforem)
	elsewhere := env.DispensedElsewhere(t, tuitest.Panadol)
	locked := env.Locked(t, tuitest.Cardace)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	if got := ids(m.Items()); len(got) != 3 || got[0] != cancelled.ID || got[1] != elsewhere.ID || got[2] != locked.ID {
		t.Fatalf("items %v", got)
	}
	v := m.View()
	for _, want := range []string{"3 waiting for a pharmacist's resolution", "prescription cancelled", "dispensed elsewhere", "locked by another pharmacy", tuitest.Metforem, tuitest.Matti} {
		if !strings.Contains(v, want) {
			t.Errorf("the list lacks %q:\n%s", want, v)
		}
	}

	t.Run("cancelled: the upstream state beside the record, resubmitted with a reason", func(t *testing.T) {
		s := review(t, m, cancelled.ID)
		p, problem, loading := s.Upstream()
		if loading || problem != "" || p.ID != tuitest.Metforem || p.Status != rx.StatusCancelled {
			t.Fatalf("upstream %s %s, problem %q, loading %v", p.ID, p.Status, problem, loading)
		}
		v := s.View()
		for _, want := range []string{"Recorded at the counter", "Prescription Centre now", "cancelled", "Aino Apteekkari", "Metforem", "has been cancelled"} {
			if !strings.Contains(v, want) {
				t.Errorf("the review lacks %q:\n%s", want, v)
			}
		}
		if s.Action() != queue.ActionResubmit {
			t.Fatalf("action %s", s.Action())
		}
		s, _ = press(s, tuitest.Key(tea.KeyF10))
		if _, open := s.Reviewing(); !open || s.Problem() != "Write why the record stands, for example \"prescriber consulted\"." {
			t.Fatalf("F10 without a reason: reviewing %v, problem %q", open, s.Problem())
		}
		if n := len(resolutions(t, env, cancelled.ID)); n != 0 {
			t.Fatalf("a refused resolution left %d records", n)
		}
		s, _ = press(s, tuitest.Type("prescriber consulted: the patient may continue"))
		s, _ = press(s, tuitest.Key(tea.KeyF10))
		if _, open := s.Reviewing(); open || s.Problem() != "" {
			t.Fatalf("after F10: reviewing %v, problem %q", open, s.Problem())
		}
		recs := resolutions(t, env, cancelled.ID)
		if len(recs) != 1 || recs[0].Kind != journal.KindResolution || recs[0].Pharmacist != tuitest.Pharmacist.ID ||
			!strings.Contains(string(recs[0].Body), "prescriber consulted") {
			t.Fatalf("the journal has %+v", recs)
		}
		if want := fmt.Sprintf("Resolution recorded (#%d): record #%d is sent again.", recs[0].Seq, cancelled.Seq); s.Notice() != want {
			t.Fatalf("notice %q, want %q", s.Notice(), want)
		}
		if got := ids(s.Items()); len(got) != 2 || got[0] != elsewhere.ID {
			t.Fatalf("the list still has %v", got)
		}
		if e, _ := env.Journal.Outbox(t.Context(), cancelled.ID); e.State != journal.OutboxPending {
			t.Fatalf("the resubmitted record is %s", e.State)
		}
	})

	t.Run("dispensed elsewhere: voided with F8", func(t *testing.T) {
		s := review(t, m, elsewhere.ID)
		if p, _, _ := s.Upstream(); p.Status != rx.StatusCompleted || p.Remaining() != 0 {
			t.Fatalf("upstream %s, %d left", p.Status, p.Remaining())
		}
		s, _ = press(s, tuitest.Key(tea.KeyF8))
		if s.Action() != queue.ActionVoid {
			t.Fatalf("F8 chose %s", s.Action())
		}
		s, _ = press(s, tuitest.Key(tea.KeyF10))
		if !strings.Contains(s.Problem(), "Write why the record is voided") {
			t.Fatalf("F10 without a reason: %q", s.Problem())
		}
		if p, _ := press(s, tuitest.Type("e")); p.Problem() != "" {
			t.Fatalf("typing left the problem %q", p.Problem())
		}
		s, _ = press(s, tuitest.Type("entered in error: the patient had it elsewhere"))
		s, _ = press(s, tuitest.Key(tea.KeyF10))
		recs := resolutions(t, env, elsewhere.ID)
		if len(recs) != 1 || recs[0].Kind != journal.KindVoid {
			t.Fatalf("the journal has %+v", recs)
		}
		if !strings.Contains(s.Notice(), fmt.Sprintf("Void recorded (#%d)", recs[0].Seq)) {
			t.Fatalf("notice %q", s.Notice())
		}
		if e, _ := env.Journal.Outbox(t.Context(), elsewhere.ID); e.State != journal.OutboxVoided {
			t.Fatalf("the voided record is %s", e.State)
		}
		for _, id := range ids(s.Items()) {
			if id == elsewhere.ID {
				t.Fatal("the voided record is still listed")
			}
		}
	})

	t.Run("locked: linked to another e-prescription", func(t *testing.T) {
		s := review(t, m, locked.ID)
		if p, _, _ := s.Upstream(); p.LockedBy != "Apteekki Muu" || !strings.Contains(s.View(), "Apteekki Muu") {
			t.Fatalf("upstream locked by %q\n%s", p.LockedBy, s.View())
		}
		s, _ = press(s, tuitest.Key(tea.KeyDown))
		if s.Action() != queue.ActionLink {
			t.Fatalf("↓ chose %s", s.Action())
		}
		s, _ = press(s, tuitest.Key(tea.KeyF10))
		if !strings.Contains(s.Problem(), "Name the e-prescription") {
			t.Fatalf("F10 without an id: %q", s.Problem())
		}
		// An id the Prescription Centre cannot have is refused by
		// queue.Resolve, in its words, and the review stays open.
		s, _ = press(s, tuitest.Type("EP 1"))
		s, _ = press(s, tuitest.Key(tea.KeyF10))
		if _, open := s.Reviewing(); !open || !strings.HasPrefix(s.Problem(), "The resolution was not recorded: prescription: ") {
			t.Fatalf("F10 with a malformed id: reviewing %v, problem %q", open, s.Problem())
		}
		for range len("EP 1") {
			s, _ = press(s, tuitest.Key(tea.KeyBackspace))
		}
		s, _ = press(s, tuitest.Type(tuitest.MetforemAlt))
		s, _ = press(s, tuitest.Key(tea.KeyF10))
		recs := resolutions(t, env, locked.ID)
		if len(recs) != 1 || recs[0].Kind != journal.KindResolution || !strings.Contains(string(recs[0].Body), tuitest.MetforemAlt) {
			t.Fatalf("the journal has %+v", recs)
		}
		if _, open := s.Reviewing(); open {
			t.Fatal("the review is still open")
		}
	})

	t.Run("Esc closes the review, then goes back", func(t *testing.T) {
		s := review(t, m, locked.ID)
		s, msg := press(s, tuitest.Key(tea.KeyEsc))
		if _, open := s.Reviewing(); open || msg != nil {
			t.Fatalf("Esc: reviewing %v, message %v", open, msg)
		}
		if _, msg := press(s, tuitest.Key(tea.KeyEsc)); msg == nil {
			t.Fatal("Esc on the list gave no BackMsg")
		}
	})
}

func TestStudentMayLookButNotResolve(t *testing.T) {
	env := tuitest.New(t)
	rec := env.Cancelled(t, tuitest.Metforem)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Student)
	if !strings.Contains(m.View(), "only a pharmacist may resolve them") {
		t.Fatalf("no view-only note:\n%s", m.View())
	}
	m = review(t, m, rec.ID)
	m, _ = press(m, tuitest.Type("prescriber consulted"))
	m, cmd := m.Update(tuitest.Key(tea.KeyF10))
	if cmd != nil || !strings.Contains(m.Problem(), "only a pharmacist may resolve") {
		t.Fatalf("F10 by a student: problem %q, command %v", m.Problem(), cmd != nil)
	}
	if n := len(resolutions(t, env, rec.ID)); n != 0 {
		t.Fatalf("a student's F10 left %d records", n)
	}
}

func TestUpstreamNotAvailableInAnOutage(t *testing.T) {
	env := tuitest.New(t)
	rec := env.Cancelled(t, tuitest.Metforem)
	env.Down(t)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	m = review(t, m, rec.ID)
	_, problem, loading := m.Upstream()
	if loading || !strings.Contains(problem, "cannot reach the Prescription Centre") {
		t.Fatalf("upstream problem %q, loading %v", problem, loading)
	}
	if v := m.View(); !strings.Contains(v, "Not available: ") || !strings.Contains(v, "Metforem") {
		t.Fatalf("the review does not say the upstream is unavailable beside the record:\n%s", v)
	}
	// The record can still be voided: that needs only the journal.
	m, _ = press(m, tuitest.Key(tea.KeyF8))
	m, _ = press(m, tuitest.Type("entered in error"))
	m, _ = press(m, tuitest.Key(tea.KeyF10))
	if n := len(resolutions(t, env, rec.ID)); n != 1 || len(m.Items()) != 0 {
		t.Fatalf("%d resolutions, %d items left", n, len(m.Items()))
	}
	if !strings.Contains(m.View(), "No conflicts") {
		t.Fatalf("\n%s", m.View())
	}
}

func TestRefreshShowsNewConflicts(t *testing.T) {
	env := tuitest.New(t)
	first := env.Cancelled(t, tuitest.Metforem)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	m = review(t, m, first.ID)
	second := env.Locked(t, tuitest.Cardace)
	m = read(t, m)
	if got := ids(m.Items()); len(got) != 2 || got[1] != second.ID {
		t.Fatalf("after a refresh: %v", got)
	}
	if it, open := m.Reviewing(); !open || it.Entry.RecordID != first.ID {
		t.Fatal("a refresh closed or moved the review")
	}
	if _, cmd := m.Update(tickMsg{screen: m.screen - 1}); cmd != nil {
		t.Error("a tick of an earlier opening started a read")
	}
}

func TestStaleAnswersAreIgnored(t *testing.T) {
	env := tuitest.New(t)
	rec := env.Cancelled(t, tuitest.Metforem)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	// The upstream answer of a review closed before it came.
	s, _ := press(m, tuitest.Key(tea.KeyEnter))
	first := s.review
	s, _ = press(s, tuitest.Key(tea.KeyEsc))
	s, _ = press(s, tuitest.Key(tea.KeyEnter))
	s, _ = s.Update(upstreamMsg{screen: s.screen, review: first, err: fmt.Errorf("late")})
	if _, problem, _ := s.Upstream(); problem != "" {
		t.Fatalf("a late answer of an earlier review showed %q", problem)
	}
	if s2, _ := s.Update(loadedMsg{screen: s.screen, seq: s.applied}); len(s2.Items()) != 1 {
		t.Fatal("an older read emptied the list")
	}
	if s2, _ := s.Update(resolvedMsg{screen: s.screen + 1, review: s.review, err: fmt.Errorf("x")}); s2.Problem() != "" {
		t.Fatal("an answer of another opening showed")
	}
	_ = rec
}

// goldenEnv makes the conflicts of the goldens: in ONLINE the Prescription
// Centre answers, in FAULT it does not and the upstream side says so.
func goldenEnv(t *testing.T, mode rx.Mode) (*tuitest.Env, journal.Record) {
	env := tuitest.New(t)
	rec := env.DispensedElsewhere(t, tuitest.Panadol)
	env.Cancelled(t, tuitest.Metforem)
	env.Paper(t, tuitest.Nobody, "panadol-500mg-tabl")
	env.Drain(t)
	env.Clock.Advance(25 * time.Minute)
	if mode == rx.ModeFault {
		env.Fault(t)
		env.Down(t)
	}
	return env, rec
}

func TestGolden(t *testing.T) {
	for _, mode := range tuitest.Modes {
		env, rec := goldenEnv(t, mode)
		for _, sz := range tuitest.Sizes {
			t.Run(fmt.Sprintf("list_%s_%dx%d", mode, sz.W, sz.H), func(t *testing.T) {
				tuitest.Golden(t, tuitest.Scrub(open(t, env, i18n.FI, sz.W, sz.H, tuitest.Pharmacist).View()))
			})
			t.Run(fmt.Sprintf("review_%s_%dx%d", mode, sz.W, sz.H), func(t *testing.T) {
				m := review(t, open(t, env, i18n.FI, sz.W, sz.H, tuitest.Pharmacist), rec.ID)
				m, _ = press(m, tuitest.Type("määrääjää konsultoitu"))
				tuitest.Golden(t, tuitest.Scrub(m.View()))
			})
			t.Run(fmt.Sprintf("loading_%s_%dx%d", mode, sz.W, sz.H), func(t *testing.T) {
				m := open(t, env, i18n.FI, sz.W, sz.H, tuitest.Pharmacist)
				m, _ = m.Update(tuitest.Key(tea.KeyEnter)) // the upstream read not yet answered
				m, _ = m.Update(tuitest.Key(tea.KeyF8))
				m, _ = m.Update(tuitest.Key(tea.KeyF10))
				tuitest.Golden(t, tuitest.Scrub(m.View()))
			})
		}
	}
}

func TestHelpKeys(t *testing.T) {
	env := tuitest.New(t)
	rec := env.Cancelled(t, tuitest.Metforem)
	for _, tc := range []struct {
		who  rx.Pharmacist
		want string
	}{{tuitest.Pharmacist, "F10 ↑ ↓ F8 esc"}, {tuitest.Student, "esc"}} {
		t.Run(tc.who.ID, func(t *testing.T) {
			m := review(t, open(t, env, i18n.EN, 120, 40, tc.who), rec.ID)
			var got []string
			for _, k := range m.HelpKeys() {
				got = append(got, k.Help().Key)
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("help keys %v, want %s", got, tc.want)
			}
		})
	}
}

func TestPossibleDuplicateLinked(t *testing.T) {
	env := tuitest.New(t)
	paper, dispensing, dup := env.Duplicate(t, tuitest.Matti, "panadol-500mg-tabl")
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	m = review(t, m, paper.ID)
	it, _ := m.Reviewing()
	if it.Waiting != 1 || it.Conflict.Kind != queue.PossibleDuplicate {
		t.Fatalf("item %+v", it)
	}
	// The upstream side is the e-prescription it may duplicate.
	if p, problem, _ := m.Upstream(); p.ID != dup || problem != "" {
		t.Fatalf("upstream %q, problem %q", p.ID, problem)
	}
	if v := m.View(); !strings.Contains(v, "possible duplicate") || !strings.Contains(v, "Records waiting behind this one: 1") || !strings.Contains(v, "paper prescription") {
		t.Fatalf("\n%s", v)
	}
	// Link offers that e-prescription.
	m, _ = press(m, tuitest.Key(tea.KeyDown))
	if m.Action() != queue.ActionLink || !strings.Contains(m.View(), "E-prescription  "+dup) {
		t.Fatalf("action %s\n%s", m.Action(), m.View())
	}
	m, _ = press(m, tuitest.Key(tea.KeyF10))
	if recs := resolutions(t, env, paper.ID); len(recs) != 1 || !strings.Contains(string(recs[0].Body), dup) {
		t.Fatalf("the journal has %+v", recs)
	}
	if len(m.Items()) != 0 {
		t.Fatalf("%d items left", len(m.Items()))
	}
	env.Drain(t)
	for _, id := range []string{paper.ID, dispensing.ID} {
		if e, _ := env.Journal.Outbox(t.Context(), id); e.State != journal.OutboxDone {
			t.Fatalf("after the link and an upload %s is %s", id, e.State)
		}
	}
	if e, _ := env.Journal.Outbox(t.Context(), paper.ID); e.UpstreamID != dup {
		t.Fatalf("the linked paper prescription is %q upstream", e.UpstreamID)
	}
}

// TestUpstreamAboutAnotherPatient: with the simulator answering a read by
// id about another patient (issue 22, criterion (d)), the review loads
// nothing of that answer and says in the pharmacist's words what happened;
// the record itself is still shown, and can still be resolved.
func TestUpstreamAboutAnotherPatient(t *testing.T) {
	env := tuitest.New(t)
	rec := env.Cancelled(t, tuitest.Metforem)
	if err := env.Sim.SetFault(centresim.Fault{Kind: centresim.FaultWrongPatient}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang i18n.Lang
		want string
	}{
		{i18n.EN, "The Prescription Centre answered about another patient than the record's; nothing of it is shown."},
		{i18n.FI, "Reseptikeskus vastasi toisen potilaan tiedoilla kuin kirjauksen potilaan"},
		{i18n.SV, "Receptcentret svarade med en annan patients uppgifter"},
	} {
		m := open(t, env, tt.lang, 140, 40, tuitest.Pharmacist)
		m = review(t, m, rec.ID)
		p, problem, loading := m.Upstream()
		if loading || p.ID != "" || p.Patient != "" || !strings.Contains(problem, tt.want) {
			t.Fatalf("%s: upstream %+v, problem %q, loading %v; want nothing loaded and %q", tt.lang, p, problem, loading, tt.want)
		}
		v := m.View()
		if !strings.Contains(strings.Join(strings.Fields(v), " "), tt.want[:40]) || !strings.Contains(v, "Metforem") {
			t.Errorf("%s: the review does not show the fault beside the record:\n%s", tt.lang, v)
		}
		// No identity code but the record's own patient's is on the screen.
		if rest := strings.ReplaceAll(v, tuitest.Matti, ""); hetu.MaskText(rest) != rest {
			t.Errorf("%s: another identity code is on the screen:\n%s", tt.lang, v)
		}
	}
}

// TestRefusedRenewalIsVoidedOnly (issue 23): a renewal request refused
// because its prescription was cancelled meanwhile opens on Void, the one
// resolution the queue takes for it, and ↑/↓ offer no other.
func TestRefusedRenewalIsVoidedOnly(t *testing.T) {
	env := tuitest.New(t)
	rxs, err := env.Client.Prescriptions(t.Context(), tuitest.Matti)
	if err != nil || len(rxs) == 0 {
		t.Fatalf("prescriptions: %d, %v", len(rxs), err)
	}
	if err := env.Sim.CancelPrescription(rxs[0].ID); err != nil {
		t.Fatal(err)
	}
	rc, err := env.Services.Renew(t.Context(), tuitest.Pharmacist, rx.Renewal{Patient: tuitest.Matti, PrescriptionID: rxs[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	env.Drain(t)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	m = review(t, m, rc.Record.ID)
	if it, _ := m.Reviewing(); it.Conflict.Kind != queue.RenewalRefused || m.Action() != queue.ActionVoid {
		t.Fatalf("a refused renewal opens on %s (kind %s)", m.Action(), it.Conflict.Kind)
	}
	for _, k := range []tea.KeyType{tea.KeyDown, tea.KeyUp} {
		if m, _ = press(m, tuitest.Key(k)); m.Action() != queue.ActionVoid {
			t.Fatalf("%v offers %s for a refused renewal", k, m.Action())
		}
	}
	m, _ = m.Update(tuitest.Type("lääkäri ei uusi; potilas soittaa vastaanotolle"))
	m, _ = press(m, tuitest.Key(tea.KeyF10))
	if recs := resolutions(t, env, rc.Record.ID); len(recs) != 1 || !strings.Contains(string(recs[0].Body), "void") {
		t.Fatalf("after F10 the journal has %+v (problem %q)", recs, m.Problem())
	}
}
