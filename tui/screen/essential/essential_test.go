package essential

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

const metforem = "EP26000101" // Matti's, on the simulator

var (
	matti = rx.Patient{HETU: tuitest.Matti, Family: "Korhonen", Given: "Matti"}
	aino  = rx.Patient{HETU: "131052-902Y"} // only the code: the Prescription Centre is down
)

// open returns the form with its loads done, as Init's commands would.
func open(t testing.TB, env *tuitest.Env, who rx.Pharmacist, patient rx.Patient, since time.Time, w, h int) Model {
	t.Helper()
	m := New(env.Common(i18n.EN, w, h), who, patient, since)
	m, _ = tuitest.Settle(m, tuitest.Run(m.Init()), nil)
	return m
}

// to tabs to field f.
func to(t testing.TB, m Model, f Field) Model {
	t.Helper()
	return tuitest.To(t, m, f, int(fieldCount))
}

// set replaces the text of field f with s.
func set(t testing.TB, m Model, f Field, s string) Model {
	t.Helper()
	return tuitest.Set(t, m, f, int(fieldCount), s)
}

// scan types the prescription id and Enter, as the barcode scanner does.
func scan(t testing.TB, m Model, id string) Model {
	t.Helper()
	m = set(t, m, FieldPrescriptionID, id)
	m, _ = m.Update(tuitest.Key(tea.KeyEnter))
	return m
}

// pick types a search for a medicine and takes the first match.
func pick(t testing.TB, m Model, query string) Model {
	t.Helper()
	m = set(t, m, FieldMedicine, query)
	m, _ = m.Update(tuitest.Key(tea.KeyEnter))
	if _, ok := m.picker.Medicine(); !ok {
		t.Fatalf("%q took no medicine\n%s", query, m.View())
	}
	return m
}

func dispensings(t testing.TB, env *tuitest.Env) []journal.Record {
	t.Helper()
	recs, err := env.Journal.List(t.Context(), journal.Filter{Kinds: []journal.Kind{journal.KindDispensing}})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestEssentialInFault(t *testing.T) {
	env := tuitest.New(t)
	since := env.Fault(t).Since
	m := open(t, env, tuitest.Pharmacist, matti, since, 120, 40)
	if !strings.Contains(m.View(), "FAULT: essential-medication dispensing") {
		t.Fatalf("\n%s", m.View())
	}
	t.Run("a bad id is shown as typed", func(t *testing.T) {
		s := set(t, m, FieldPrescriptionID, "EP 2600/0101")
		if !strings.Contains(strings.Join(s.Problems(FieldPrescriptionID), " "), "Only letters") {
			t.Fatalf("\n%s", s.View())
		}
	})
	m = scan(t, m, metforem)
	if m.Focus() != FieldBasis {
		t.Fatalf("Enter after the barcode left the focus on %d", m.Focus())
	}
	m, _ = m.Update(tuitest.Key(tea.KeyDown))
	if !strings.Contains(m.View(), "prescription summary") {
		t.Fatalf("the basis does not move with ↓\n%s", m.View())
	}
	m = pick(t, m, "metforem")
	if m.Focus() != FieldPackage || m.value(FieldQuantity) != "100" {
		t.Fatalf("focus %d, quantity %q", m.Focus(), m.value(FieldQuantity))
	}
	m = set(t, m, FieldUnitsPerDay, "2")
	t.Run("over the cap is denied with FM-ESS-QTY", func(t *testing.T) {
		s := to(t, m, FieldPackage)
		s, _ = s.Update(tuitest.Key(tea.KeyDown)) // the 200-tablet pack
		s = set(t, s, FieldQuantity, "200")
		if policy.Worst(s.Decisions()) != policy.Deny || !strings.Contains(s.View(), policy.RuleEssentialQuantity) {
			t.Fatalf("preview %v\n%s", s.Decisions(), s.View())
		}
		s = tuitest.Confirm(t, s)
		if s.State() != Editing || !strings.Contains(strings.Join(s.Problems(FieldQuantity), " "), "essential medication") {
			t.Fatalf("state %d, problems %v, other %v\n%s", s.State(), s.problems, s.Other(), s.View())
		}
		if n := len(dispensings(t, env)); n != 0 {
			t.Fatalf("%d dispensings recorded over the cap", n)
		}
	})
	t.Run("the id is needed unless the basis is the previous label", func(t *testing.T) {
		s := set(t, m, FieldPrescriptionID, "")
		s = tuitest.Confirm(t, s)
		if s.State() != Editing || len(s.Problems(FieldPrescriptionID)) == 0 {
			t.Fatalf("state %d\n%s", s.State(), s.View())
		}
	})
	t.Run("a student may not record", func(t *testing.T) {
		s := m
		s.who = tuitest.Student
		s, cmd := s.Update(tuitest.Key(tea.KeyF10))
		if cmd != nil || s.State() != Editing || !strings.Contains(s.View(), "may look but not record") {
			t.Fatalf("state %d\n%s", s.State(), s.View())
		}
	})
	if len(m.SameMedicine()) != 0 {
		t.Fatalf("a warning before any dispensing: %v", m.SameMedicine())
	}
	m = set(t, m, FieldQuantity, "60") // 30 days at 2 a day
	if policy.Worst(m.Decisions()) != policy.Allow {
		t.Fatalf("within the cap: %v", m.Decisions())
	}
	m = tuitest.Confirm(t, m)
	if m.State() != Local || !strings.Contains(m.View(), "Recorded locally") {
		t.Fatalf("state %d, problems %v, other %v\n%s", m.State(), m.problems, m.Other(), m.View())
	}
	recs := dispensings(t, env)
	if len(recs) != 1 || !strings.Contains(string(recs[0].Body), `"essential":true`) || !strings.Contains(string(recs[0].Body), `"basis":"summary"`) {
		t.Fatalf("journal %+v", recs)
	}
	m = tuitest.ReadOnce(t, m)
	if m.State() != Local {
		t.Fatalf("state %d before the upload", m.State())
	}
	env.Drain(t)
	m = tuitest.ReadOnce(t, m)
	if m.State() != Centre || !strings.Contains(m.View(), "Recorded in Prescription Centre") {
		t.Fatalf("state %d, entries %+v\n%s", m.State(), m.Entries(), m.View())
	}

	t.Run("the same medicine again in the outage is warned of", func(t *testing.T) {
		for _, query := range []string{"metforem", "glucophage"} { // the same medicine, and another of its ATC code
			s := pick(t, open(t, env, tuitest.Pharmacist, matti, since, 120, 40), query)
			if w := s.SameMedicine(); len(w) != 1 || !strings.Contains(s.View(), "Already received in this outage: Metforem") {
				t.Fatalf("%s: warnings %v\n%s", query, w, s.View())
			}
		}
		s := pick(t, open(t, env, tuitest.Pharmacist, matti, since, 120, 40), "panadol")
		if w := s.SameMedicine(); len(w) != 0 {
			t.Fatalf("another medicine: %v", w)
		}
	})
	t.Run("not for another patient", func(t *testing.T) {
		s := pick(t, open(t, env, tuitest.Pharmacist, aino, since, 120, 40), "metforem")
		if w := s.SameMedicine(); len(w) != 0 || strings.Contains(s.View(), "Already received") {
			t.Fatalf("warnings %v", w)
		}
	})
	t.Run("not for a dispensing before the outage", func(t *testing.T) {
		s := pick(t, open(t, env, tuitest.Pharmacist, matti, since.Add(time.Hour), 120, 40), "metforem")
		if w := s.SameMedicine(); len(w) != 0 {
			t.Fatalf("warnings %v", w)
		}
	})
}

func TestPreviousLabelNeedsNoID(t *testing.T) {
	env := tuitest.New(t)
	since := env.Fault(t).Since
	m := open(t, env, tuitest.Pharmacist, aino, since, 80, 24)
	m = to(t, m, FieldBasis)
	m, _ = m.Update(tuitest.Key(tea.KeyUp)) // previous label
	m = pick(t, m, "990371")                // Thyroxin 0.1 mg, scanned from the old package
	m = tuitest.Confirm(t, m)
	if m.State() != Local {
		t.Fatalf("state %d, problems %v, other %v\n%s", m.State(), m.problems, m.Other(), m.View())
	}
}

func TestOnlineAsksForAFaultReference(t *testing.T) {
	env := tuitest.New(t)
	m := open(t, env, tuitest.Pharmacist, matti, time.Time{}, 120, 40)
	if !strings.Contains(m.View(), "not in FAULT mode") || !strings.Contains(m.View(), "Fault reference") {
		t.Fatalf("\n%s", m.View())
	}
	m = pick(t, scan(t, m, metforem), "metforem")
	s := tuitest.Confirm(t, m)
	if s.State() != Editing || !strings.Contains(strings.Join(s.Problems(FieldFaultReference), " "), "fault reference") {
		t.Fatalf("state %d, problems %v, other %v\n%s", s.State(), s.problems, s.Other(), s.View())
	}
	s = set(t, s, FieldFaultReference, "Kela notice 2.3.2026: Prescription Centre unreachable")
	s = tuitest.Confirm(t, s)
	if s.State() != Local {
		t.Fatalf("state %d, problems %v, other %v", s.State(), s.problems, s.Other())
	}
}

func TestGolden(t *testing.T) {
	for _, mode := range tuitest.Modes {
		env := tuitest.New(t)
		var since time.Time
		if mode == rx.ModeFault {
			since = env.Fault(t).Since
		}
		for _, sz := range tuitest.Sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", mode, sz.W, sz.H), func(t *testing.T) {
				tuitest.Golden(t, open(t, env, tuitest.Pharmacist, matti, since, sz.W, sz.H).View())
			})
			t.Run(fmt.Sprintf("%s_%dx%d_filled", mode, sz.W, sz.H), func(t *testing.T) {
				m := scan(t, open(t, env, tuitest.Pharmacist, matti, since, sz.W, sz.H), metforem)
				m = set(t, m, FieldMedicine, "metf")
				tuitest.Golden(t, m.View())
			})
			t.Run(fmt.Sprintf("%s_%dx%d_capped", mode, sz.W, sz.H), func(t *testing.T) {
				m := pick(t, scan(t, open(t, env, tuitest.Pharmacist, matti, since, sz.W, sz.H), metforem), "metforem")
				m = set(t, m, FieldUnitsPerDay, "1")
				m = tuitest.Confirm(t, m)
				tuitest.Golden(t, m.View())
			})
		}
	}
}

// TestFits checks that the form keeps within the room the root gives it.
func TestFits(t *testing.T) {
	env := tuitest.New(t)
	since := env.Fault(t).Since
	for _, sz := range []tuitest.Size{{W: 80, H: 20}, {W: 80, H: 24}, {W: 120, H: 40}, {W: 200, H: 50}} {
		states := map[string]Model{}
		m := open(t, env, tuitest.Pharmacist, matti, since, sz.W, sz.H)
		states["empty"] = m
		states["problems"] = tuitest.Confirm(t, m)
		states["searching"] = set(t, scan(t, m, metforem), FieldMedicine, "a")
		f := pick(t, scan(t, m, strings.Repeat("EP2600", 10)), "metforem")
		states["capped"] = tuitest.Confirm(t, set(t, f, FieldUnitsPerDay, "1"))
		states["recorded"] = tuitest.Confirm(t, set(t, set(t, f, FieldUnitsPerDay, "1"), FieldQuantity, "30"))
		for name, s := range states {
			t.Run(fmt.Sprintf("%dx%d_%s", sz.W, sz.H, name), func(t *testing.T) {
				v := s.View()
				lines := strings.Split(v, "\n")
				if len(lines) > sz.H {
					t.Errorf("%d lines in %d\n%s", len(lines), sz.H, v)
				}
				for _, l := range lines {
					if w := lipgloss.Width(l); w > sz.W {
						t.Errorf("a line of %d columns in %d: %q", w, sz.W, l)
					}
				}
			})
		}
	}
}

func TestFinnish(t *testing.T) {
	env := tuitest.New(t)
	since := env.Fault(t).Since
	m := New(env.Common(i18n.FI, 80, 24), tuitest.Pharmacist, matti, since)
	m, _ = tuitest.Settle(m, tuitest.Run(m.Init()), nil)
	m = pick(t, scan(t, m, metforem), "metforem")
	tuitest.Golden(t, m.View())
}

// TestRefusedAfterTheFault: an essential dispensing against a prescription
// another pharmacy holds is refused once it goes up, and the form says
// not to hand the medicine over.
func TestRefusedAfterTheFault(t *testing.T) {
	env := tuitest.New(t)
	rxs, err := env.Services.Prescriptions(t.Context(), "080963U907X")
	if err != nil {
		t.Fatal(err)
	}
	var locked rx.Prescription
	for _, r := range rxs {
		if r.ID == "EP26000701" {
			locked = r
		}
	}
	since := env.Fault(t).Since
	m := open(t, env, tuitest.Pharmacist, rx.Patient{HETU: "080963U907X"}, since, 80, 24)
	m = pick(t, scan(t, m, locked.ID), locked.Medicine.Name+" "+locked.Medicine.Strength) // its smallest pack
	m = tuitest.Confirm(t, m)
	if m.State() != Local {
		t.Fatalf("state %d, problems %v, other %v\n%s", m.State(), m.problems, m.Other(), m.View())
	}
	env.Drain(t)
	m = tuitest.ReadOnce(t, m)
	if v := m.View(); m.State() != Refused || !strings.Contains(v, "locked") || !strings.Contains(v, "Do not hand over") {
		t.Fatalf("state %d, entries %+v\n%s", m.State(), m.Entries(), v)
	}
}

func TestPolicyOfTheMedicine(t *testing.T) {
	env := tuitest.New(t)
	since := env.Fault(t).Since
	m := scan(t, open(t, env, tuitest.Pharmacist, matti, since, 120, 40), metforem)
	for _, tc := range []struct {
		query   string
		rule    string
		verdict policy.Verdict
	}{
		{"oxynorm", policy.RuleEssentialNarcotic, policy.Deny},
		{"diapam", policy.RulePKV, policy.Warn},
	} {
		t.Run(tc.query, func(t *testing.T) {
			s := pick(t, m, tc.query)
			found := false
			for _, d := range s.Decisions() {
				found = found || d.RuleID == tc.rule && d.Verdict == tc.verdict
			}
			if !found || !strings.Contains(s.View(), tc.rule) {
				t.Fatalf("decisions %v\n%s", s.Decisions(), s.View())
			}
			s = tuitest.Confirm(t, s)
			if recorded := s.State() == Local; recorded != (tc.verdict != policy.Deny) {
				t.Fatalf("state %d, problems %v, other %v", s.State(), s.problems, s.Other())
			}
			if tc.verdict == policy.Deny && !strings.Contains(strings.Join(s.Problems(FieldMedicine), " "), "narcotic") {
				t.Fatalf("the denial is not next to the medicine: %v", s.problems)
			}
		})
	}
}

// TestKeysAfterAnEarlyEnter (issue 24): the catalogue answers in the
// background, so a pharmacist's Enter, Tab and quantity can all come
// before the answer. The form holds the keys after such an Enter and
// replays them once the medicine is taken: they land in the fields they
// were meant for, and the quantity typed is not overwritten by the
// package's.
func TestKeysAfterAnEarlyEnter(t *testing.T) {
	env := tuitest.New(t)
	env.Fault(t)
	m := open(t, env, tuitest.Pharmacist, matti, env.Clock.Now(), 120, 40)
	m = to(t, m, FieldMedicine)
	m, search := m.Update(tuitest.Type("metforem"))
	for _, k := range []tea.KeyMsg{tuitest.Key(tea.KeyEnter), tuitest.Key(tea.KeyTab), tuitest.Key(tea.KeyCtrlU),
		tuitest.Type("60"), tuitest.Key(tea.KeyTab), tuitest.Type("2")} {
		m, _ = m.Update(k)
	}
	if _, ok := m.picker.Medicine(); ok || m.Focus() != FieldMedicine {
		t.Fatalf("before the answer: a medicine taken, or the focus moved to %d", m.Focus())
	}
	m = tuitest.Answer(m, search)
	med, ok := m.picker.Medicine()
	if !ok || med.Name != "Metforem" {
		t.Fatalf("after the answer: %+v", med)
	}
	if m.Focus() != FieldUnitsPerDay || m.value(FieldQuantity) != "60" || m.value(FieldUnitsPerDay) != "2" {
		t.Fatalf("the held keys: focus %d, quantity %q, units a day %q\n%s", m.Focus(), m.value(FieldQuantity), m.value(FieldUnitsPerDay), m.View())
	}
}
