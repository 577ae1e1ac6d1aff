package prescriptions

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// matti loads Matti's patient record and prescriptions from the simulator.
func matti(t testing.TB, env *tuitest.Env) (rx.Patient, []rx.Prescription) {
	t.Helper()
	p, err := env.Services.FindPatient(t.Context(), tuitest.Matti)
	if err != nil {
		t.Fatal(err)
	}
	rxs, err := env.Services.Prescriptions(t.Context(), tuitest.Matti)
	if err != nil {
		t.Fatal(err)
	}
	return p, rxs
}

func TestSortFilterDetail(t *testing.T) {
	env := tuitest.New(t)
	p, rxs := matti(t, env)
	m := New(env.Common(i18n.EN, 120, 40), p, rxs, tuitest.Pharmacist)
	if len(m.Shown()) != len(rxs) {
		t.Fatalf("%d shown of %d", len(m.Shown()), len(rxs))
	}
	t.Run("sorted by medicine", func(t *testing.T) {
		for i := 1; i < len(m.Shown()); i++ {
			if m.Shown()[i-1].Medicine.Name > m.Shown()[i].Medicine.Name {
				t.Fatalf("row %d out of order", i)
			}
		}
	})
	t.Run("F3 sorts by the next column", func(t *testing.T) {
		s := m
		for range ColRemaining {
			s, _ = s.Update(tuitest.Key(tea.KeyF3))
		}
		if s.SortedBy() != ColRemaining {
			t.Fatalf("sorted by %d", s.SortedBy())
		}
		for i := 1; i < len(s.Shown()); i++ {
			if s.Shown()[i-1].Remaining() > s.Shown()[i].Remaining() {
				t.Fatalf("row %d out of order", i)
			}
		}
	})
	t.Run("F4 filters, Esc clears", func(t *testing.T) {
		want := strings.ToLower(m.Shown()[0].Medicine.Name)
		f, _ := m.Update(tuitest.Key(tea.KeyF4))
		f, _ = f.Update(tuitest.Type(want))
		if n := len(f.Shown()); n == 0 || n == len(rxs) {
			t.Fatalf("filter %q left %d of %d", want, n, len(rxs))
		}
		for _, p := range f.Shown() {
			if !strings.Contains(strings.ToLower(p.Medicine.Name+" "+p.Medicine.Substance+" "+p.Prescriber.Name+" "+p.ID), want) {
				t.Errorf("%s does not match %q", p.ID, want)
			}
		}
		f, _ = f.Update(tuitest.Key(tea.KeyEsc))
		if len(f.Shown()) != len(rxs) {
			t.Errorf("Esc left %d shown", len(f.Shown()))
		}
	})
	t.Run("Down and Enter open the detail, Esc closes it", func(t *testing.T) {
		d, _ := m.Update(tuitest.Key(tea.KeyDown))
		want := m.Shown()[1]
		d, _ = d.Update(tuitest.Key(tea.KeyEnter))
		if got, _ := d.Selected(); !d.Detail() || got.ID != want.ID {
			t.Fatalf("detail %v of %s, want %s", d.Detail(), got.ID, want.ID)
		}
		if !strings.Contains(d.View(), want.ID) {
			t.Errorf("detail lacks the id:\n%s", d.View())
		}
		d, cmd := d.Update(tuitest.Key(tea.KeyEsc))
		if d.Detail() || cmd != nil {
			t.Errorf("Esc did not just close the detail")
		}
	})
	t.Run("Esc goes back", func(t *testing.T) {
		_, cmd := m.Update(tuitest.Key(tea.KeyEsc))
		if _, ok := tuitest.Run(cmd).(BackMsg); !ok {
			t.Errorf("Esc gave no BackMsg")
		}
	})
	t.Run("student sees view only", func(t *testing.T) {
		s := New(env.Common(i18n.EN, 120, 40), p, rxs, tuitest.Student)
		if !strings.Contains(s.View(), "may look but not dispense") {
			t.Errorf("no view-only note:\n%s", s.View())
		}
	})
}

func TestGolden(t *testing.T) {
	env := tuitest.New(t)
	p, rxs := matti(t, env)
	for _, sz := range tuitest.Sizes {
		c := env.Common(i18n.FI, sz.W, sz.H)
		t.Run(fmt.Sprintf("table_%dx%d", sz.W, sz.H), func(t *testing.T) {
			tuitest.Golden(t, New(c, p, rxs, tuitest.Pharmacist).View())
		})
		t.Run(fmt.Sprintf("detail_%dx%d", sz.W, sz.H), func(t *testing.T) {
			m, _ := New(c, p, rxs, tuitest.Pharmacist).Update(tuitest.Key(tea.KeyEnter))
			tuitest.Golden(t, m.View())
		})
	}
}

// BenchmarkViewPrescriptions200 renders the table of a patient with 200
// prescriptions, at 120×40 (DESIGN §10: ≤ 10 ms a frame).
func BenchmarkViewPrescriptions200(b *testing.B) {
	tuitest.NoColour()
	env := tuitest.New(b)
	p, some := matti(b, env)
	rxs := make([]rx.Prescription, 0, 200)
	for i := 0; len(rxs) < 200; i++ {
		r := some[i%len(some)]
		r.ID = fmt.Sprintf("%s-%d", r.ID, i)
		rxs = append(rxs, r)
	}
	m := New(env.Common(i18n.FI, 120, 40), p, rxs, tuitest.Pharmacist)
	m, _ = m.Update(tuitest.Key(tea.KeyDown))
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// TestRenewalRequested (issue 23): a renewal requested in FAULT waits while
// the Prescription Centre is down, reaches it after recovery, and then the
// prescription shows "renewal requested DATE", read with the prescription
// in the same answer; the others show nothing.
func TestRenewalRequested(t *testing.T) {
	env := tuitest.New(t)
	p, rxs := matti(t, env)
	target := rxs[len(rxs)-1].ID
	env.Fault(t)
	env.Down(t)
	rc, err := env.Services.Recorder.Renew(t.Context(), tuitest.Pharmacist, rx.Renewal{Patient: p.HETU, PrescriptionID: target, Message: "loppuu"})
	if err != nil {
		t.Fatal(err)
	}
	env.Drain(t)
	if n, _ := env.Sim.CountByIdentifier("Task", rx.SystemRecordUUID, "urn:uuid:"+rc.Record.ID); n != 0 {
		t.Fatalf("%d Tasks during the outage", n)
	}
	env.Up(t)
	env.Clock.Advance(time.Hour) // past the retry's backoff
	env.Drain(t)
	if n, _ := env.Sim.CountByIdentifier("Task", rx.SystemRecordUUID, "urn:uuid:"+rc.Record.ID); n != 1 {
		t.Fatalf("%d Tasks after recovery, want exactly 1", n)
	}
	_, rxs = matti(t, env)
	m := New(env.Common(i18n.EN, 120, 40), p, rxs, tuitest.Pharmacist)
	want := "renewal requested " + rc.Record.Time.In(env.Clock.Now().Location()).Format("2.1.2006")
	for i, s := range m.Shown() {
		view := m.View()
		if s.ID == target && !strings.Contains(view, s.ID+": "+want) {
			t.Errorf("%s selected, the screen does not say %q:\n%s", s.ID, want, view)
		}
		if s.ID != target && strings.Contains(view, "renewal requested") {
			t.Errorf("%s selected, the screen shows a renewal:\n%s", s.ID, view)
		}
		if s.ID == target {
			d, _ := m.Update(tuitest.Key(tea.KeyEnter))
			if !strings.Contains(d.View(), want) {
				t.Errorf("the detail of %s does not say %q:\n%s", s.ID, want, d.View())
			}
		}
		if i < len(m.Shown())-1 {
			m, _ = m.Update(tuitest.Key(tea.KeyDown))
		}
	}
}

// TestRenewalKey (issue 23): ctrl+n asks for the patient's message and
// records a renewal request of the selected prescription, and the screen
// follows it to the Prescription Centre; a second request for the same
// prescription says it was already requested, with no review; a request
// for a prescription cancelled meanwhile says it was refused and points to
// the conflicts; a student gets no prompt.
func TestRenewalKey(t *testing.T) {
	env := tuitest.New(t)
	p, rxs := matti(t, env)
	c := env.Common(i18n.EN, 100, 24)
	// request selects the prescription id, asks for its renewal with
	// message, and follows the upload until the screen says want.
	request := func(id, message, want string) Model {
		t.Helper()
		m := New(c, p, rxs, tuitest.Pharmacist)
		for s, _ := m.Selected(); s.ID != id; s, _ = m.Selected() {
			m, _ = m.Update(tuitest.Key(tea.KeyDown))
		}
		m, _ = m.Update(tuitest.Key(tea.KeyCtrlN))
		if !m.Renewing() || !strings.Contains(m.View(), "Renewal of "+id) {
			t.Fatalf("ctrl+n on %s gave no prompt:\n%s", id, m.View())
		}
		m, _ = m.Update(tuitest.Type(message))
		if got, want := strings.Count(m.View(), "\n"), strings.Count(New(c, p, rxs, tuitest.Pharmacist).View(), "\n"); got != want {
			t.Errorf("with the prompt the screen has %d lines, without %d: the table gives up its rows", got+1, want+1)
		}
		m, cmd := m.Update(tuitest.Key(tea.KeyEnter))
		m, cmd = m.Update(tuitest.Run(cmd)) // recorded: the first poll
		if !strings.Contains(m.View(), "recorded; it goes to the Prescription Centre") {
			t.Errorf("after Enter:\n%s", m.View())
		}
		env.Drain(t)
		for range 4 {
			m, cmd = m.Update(tuitest.Run(cmd))
		}
		if !strings.Contains(m.View(), want) {
			t.Errorf("renewal of %s: the screen does not say %q:\n%s", id, want, m.View())
		}
		return m
	}
	target := rxs[0].ID
	request(target, "loppuu ensi viikolla", "is in the Prescription Centre")
	m := request(target, "", "was already requested")
	if n := env.Sim.Requests(); len(n) == 0 {
		t.Fatal("no request reached the simulator")
	}
	if strings.Contains(m.View(), "refused") {
		t.Errorf("already requested shows as refused:\n%s", m.View())
	}
	cancelled := rxs[1].ID
	if err := env.Sim.CancelPrescription(cancelled); err != nil {
		t.Fatal(err)
	}
	request(cancelled, "", "refused renewal request")
	s := New(c, p, rxs, tuitest.Student)
	if s, _ = s.Update(tuitest.Key(tea.KeyCtrlN)); s.Renewing() {
		t.Errorf("a student got the renewal prompt")
	}
}
