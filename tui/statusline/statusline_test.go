package statusline

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

func TestMain(m *testing.M) {
	tuitest.NoColour()
	os.Exit(m.Run())
}

// fed returns a status line fed by its own commands against env.
func fed(t *testing.T, env *tuitest.Env, lang i18n.Lang, w, h int) Model {
	t.Helper()
	c := env.Common(lang, w, h)
	m := New(c).SetPharmacist(tuitest.Pharmacist)
	m, _ = m.Update(tuitest.Run(FetchCounts(c)))
	m, _ = m.Update(tuitest.Run(FetchMode(c)))
	return m
}

func TestUpdate(t *testing.T) {
	env := tuitest.New(t)
	c := env.Common(i18n.EN, 80, 24)
	m := New(c)
	if _, ok := m.Counts(); ok {
		t.Fatal("counts before any were read")
	}
	env.Pending(t, 3, 5*time.Minute)
	m, _ = m.Update(tuitest.Run(FetchCounts(c)))
	n, ok := m.Counts()
	if !ok || n.Unsent() != 3 {
		t.Errorf("counts %+v, %v; want 3 unsent", n, ok)
	}
	env.Fault(t)
	m, _ = m.Update(tuitest.Run(FetchMode(c)))
	if m.Mode().Mode != rx.ModeFault {
		t.Errorf("mode %q, want FAULT", m.Mode().Mode)
	}
	v := m.View()
	for _, want := range []string{"FAULT", "Pending: 3", "Oldest pending: 5 min", "Last upload: not yet"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	m, _ = m.Update(CountsMsg{Err: fmt.Errorf("disk gone")})
	if v := m.View(); !strings.Contains(v, "Pending: 3") || !strings.Contains(v, "journal does not answer") {
		t.Errorf("after an error the last counts stay, with the error:\n%s", v)
	}
}

func TestStudentAndTraining(t *testing.T) {
	env := tuitest.New(t)
	c := env.Common(i18n.EN, 80, 24)
	c.Counter.Training = true
	m := New(c).SetPharmacist(tuitest.Student)
	v := m.View()
	for _, want := range []string{"TRAINING", "student: view only", "?"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, md := range tuitest.Modes {
		for _, sz := range tuitest.Sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", md, sz.W, sz.H), func(t *testing.T) {
				env := tuitest.New(t)
				env.Pending(t, 2, 90*time.Minute)
				if md == rx.ModeFault {
					env.Fault(t)
				}
				tuitest.Golden(t, fed(t, env, i18n.FI, sz.W, sz.H).View())
			})
		}
	}
}

// drillServices is the test journal's services with a drill's task.
type drillServices struct {
	common.Services
	n    int
	text string
}

func (d *drillServices) DrillTask() (int, string) { return d.n, d.text }

// TestDrillTask: in a drill the task the timeline gave last shows whole
// under the TRAINING banner; before the first, and outside a drill, none.
func TestDrillTask(t *testing.T) {
	env := tuitest.New(t)
	c := env.Common(i18n.EN, 80, 24)
	if FetchTask(c) != nil {
		t.Error("a task fetched outside a drill")
	}
	svc := &drillServices{Services: c.Services}
	c.Services, c.Counter.Training = svc, true
	m := New(c)
	m, _ = m.Update(tuitest.Run(FetchTask(c)))
	if v := m.View(); strings.Contains(v, "Drill task") {
		t.Errorf("a task before the first:\n%s", v)
	}
	svc.n, svc.text = 2, "Pirjo Laine brings a paper prescription: the health centre's system is down too. (131052-902Y)"
	m, _ = m.Update(tuitest.Run(FetchTask(c)))
	v := m.View()
	if !strings.Contains(v, "Drill task 2: Pirjo Laine") || !strings.Contains(v, "(131052-902Y)") || !strings.Contains(v, "TRAINING") {
		t.Errorf("view:\n%s", v)
	}
}
