package rxform

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
	"github.com/tiski-rx/tiski/tui/screen/rxform/formkit"
	"github.com/tiski-rx/tiski/tui/screen/upload"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

var matti = rx.Patient{HETU: tuitest.Matti, Family: "Korhonen", Given: "Matti"}

// open returns a form with the catalogue loaded, as Init would.
func open(t testing.TB, env *tuitest.Env, who rx.Pharmacist, form rx.Form, mode rx.Mode, w, h int) Model {
	t.Helper()
	m := New(env.Common(i18n.EN, w, h), who, matti, form, mode)
	m, _ = m.Update(tuitest.Run(m.Init()))
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

// fill fills in a valid prescription of Amorion by Anna Korhonen, the
// package scanned by its VNR.
func fill(t testing.TB, m Model) Model {
	t.Helper()
	m = set(t, m, FieldPrescriber, "Anna Korhonen")
	m = set(t, m, FieldRegistration, "10090004180")
	m = set(t, m, FieldMedicine, "990511")
	m, _ = m.Update(tuitest.Key(tea.KeyEnter))
	if m.Focus() != FieldPackage {
		t.Fatalf("Enter on a scanned VNR left the focus on %d", m.Focus())
	}
	m = set(t, m, FieldDosage, "1 tablet 3 times a day for 7 days")
	m = set(t, m, FieldQuantity, "20")
	m = set(t, m, FieldReason, "the health centre's system is down")
	if m.Form() == rx.FormTelephone {
		m = set(t, m, FieldPhone, "09 310 45021")
	}
	return m
}

// tickAll ticks every item of the telephone checklist.
func tickAll(t testing.TB, m Model) Model {
	t.Helper()
	for _, c := range checks {
		m = to(t, m, c.field)
		m, _ = m.Update(tuitest.Key(tea.KeySpace))
	}
	return m
}

func records(t testing.TB, env *tuitest.Env) []journal.Record {
	t.Helper()
	recs, err := env.Journal.List(t.Context(), journal.Filter{Patient: tuitest.Matti})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestPaperWithDispensing(t *testing.T) {
	for _, mode := range tuitest.Modes {
		t.Run(string(mode), func(t *testing.T) {
			env := tuitest.New(t)
			if mode == rx.ModeFault {
				env.Fault(t)
			}
			m := fill(t, open(t, env, tuitest.Pharmacist, rx.FormPaper, mode, 120, 40))
			if policy.Worst(m.Decisions()) == policy.Deny {
				t.Fatalf("preview denies: %v", m.Decisions())
			}
			m = tuitest.Confirm(t, m)
			if m.State() != Local || !strings.Contains(m.View(), "Prescription recorded locally") || !strings.Contains(m.View(), "Dispensing recorded locally") {
				t.Fatalf("after F10: state %d, other %v, problems %v\n%s", m.State(), m.Other(), m.problems, m.View())
			}
			recs := records(t, env)
			if len(recs) != 2 || recs[0].Kind != journal.KindPaperPrescription || recs[1].Kind != journal.KindDispensing {
				t.Fatalf("journal: %+v", recs)
			}
			if recs[0].Mode != mode {
				t.Errorf("recorded in mode %s, want %s", recs[0].Mode, mode)
			}
			m = tuitest.ReadOnce(t, m)
			if m.State() != Local || !strings.Contains(m.View(), "Waiting to upload") {
				t.Fatalf("before the upload: state %d\n%s", m.State(), m.View())
			}
			env.Drain(t) // the fault ends, or the record goes up at once online

			m = tuitest.ReadOnce(t, m)
			if m.State() != Centre || !strings.Contains(m.View(), "Recorded in Prescription Centre") || !strings.Contains(m.View(), "may be handed over") {
				t.Fatalf("after the upload: state %d, entries %+v\n%s", m.State(), m.Entries(), m.View())
			}
			if _, cmd := m.Update(upload.PollMsg{Key: m.Receipt().Record.ID}); cmd != nil {
				t.Error("a finished record is still polled")
			}
			if _, cmd := m.Update(tuitest.Key(tea.KeyEsc)); cmd == nil {
				t.Fatal("Esc does not leave a finished form")
			} else if _, ok := cmd().(BackMsg); !ok {
				t.Fatal("Esc does not go back")
			}
		})
	}
}

func TestInvalidFieldsRecordNothing(t *testing.T) {
	env := tuitest.New(t)
	m := open(t, env, tuitest.Pharmacist, rx.FormPaper, rx.ModeFault, 120, 40)
	env.Fault(t)
	t.Run("as typed", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			field Field
			typed string
			want  string
		}{
			{"registration digits", FieldRegistration, "1009x", "Digits only"},
			{"issue date format", FieldIssued, "2026-03-02", "d.m.yyyy"},
			{"quantity a number", FieldQuantity, "ten", "whole number"},
			{"identity code", FieldPatient, "140348-901X", "Not a valid identity code"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := set(t, m, tc.field, tc.typed)
				if got := strings.Join(s.Problems(tc.field), " "); !strings.Contains(got, tc.want) {
					t.Fatalf("problems of %d: %q\n%s", tc.field, got, s.View())
				}
				if !strings.Contains(s.View(), tc.want) {
					t.Fatalf("the view does not show %q\n%s", tc.want, s.View())
				}
			})
		}
	})
	t.Run("after F10 every problem shows next to its field", func(t *testing.T) {
		s := set(t, m, FieldIssued, "3.3.2026") // tomorrow
		s = set(t, s, FieldRepeats, "0")
		s = tuitest.Confirm(t, s)
		if s.State() != Editing {
			t.Fatalf("state %d", s.State())
		}
		for f, want := range map[Field]string{
			FieldPrescriber:   "name is missing",
			FieldRegistration: "registration number (Valvira) is missing",
			FieldMedicine:     "choose the medicine",
			FieldDosage:       "dosage instruction is missing",
			FieldQuantity:     "above zero",
			FieldIssued:       "cannot be in the future",
			FieldReason:       "reason",
		} {
			if got := strings.Join(s.Problems(f), " "); !strings.Contains(got, want) {
				t.Errorf("field %d: problems %q, want %q", f, got, want)
			}
		}
		if v := s.View(); !strings.Contains(v, "Not recorded") || !strings.Contains(v, "name is missing") {
			t.Errorf("\n%s", v)
		}
		if recs := records(t, env); len(recs) != 0 {
			t.Fatalf("an invalid form recorded %d records", len(recs))
		}
		// Typing into a field clears record's problem of it.
		s = set(t, s, FieldPrescriber, "Anna Korhonen")
		if len(s.Problems(FieldPrescriber)) != 0 {
			t.Errorf("problems after fixing: %v", s.Problems(FieldPrescriber))
		}
	})
	t.Run("a dentist may issue, the profession is chosen with the arrows", func(t *testing.T) {
		s := to(t, m, FieldProfession)
		s, _ = s.Update(tuitest.Key(tea.KeyDown))
		if !strings.Contains(s.View(), "dentist") || s.prescription().Prescriber.Profession != rx.Dentist {
			t.Fatalf("\n%s", s.View())
		}
	})
}

func TestTelephone(t *testing.T) {
	env := tuitest.New(t)
	m := fill(t, open(t, env, tuitest.Pharmacist, rx.FormTelephone, rx.ModeOnline, 120, 40))
	t.Run("F10 waits for the checklist", func(t *testing.T) {
		s := m
		for _, c := range checks[:3] {
			s = to(t, s, c.field)
			s, _ = s.Update(tuitest.Key(tea.KeySpace))
		}
		s, cmd := s.Update(tuitest.Key(tea.KeyF10))
		if cmd != nil || s.State() != Editing || !strings.Contains(s.View(), "Tick every verification item") {
			t.Fatalf("state %d\n%s", s.State(), s.View())
		}
		// Space unticks as well.
		s, _ = s.Update(tuitest.Key(tea.KeySpace))
		s, _ = s.Update(tuitest.Key(tea.KeySpace))
		if !s.ticked[s.Focus()] {
			t.Fatal("space twice does not tick again")
		}
		if recs := records(t, env); len(recs) != 0 {
			t.Fatalf("recorded %d records", len(recs))
		}
	})
	t.Run("a narcotic is refused by FM-TEL-NARC", func(t *testing.T) {
		s := set(t, m, FieldMedicine, "oxynorm")
		s, _ = s.Update(tuitest.Key(tea.KeyEnter))
		if med, ok := s.picker.Medicine(); !ok || !med.Narcotic {
			t.Fatalf("picked %+v", med)
		}
		if policy.Worst(s.Decisions()) != policy.Deny || !strings.Contains(s.View(), policy.RuleTelephoneNarcotic) {
			t.Fatalf("preview %v\n%s", s.Decisions(), s.View())
		}
		s = set(t, s, FieldQuantity, "28")
		s = tuitest.Confirm(t, tickAll(t, s))
		if s.State() != Editing || !strings.Contains(strings.Join(s.Problems(FieldMedicine), " "), "narcotic") {
			t.Fatalf("state %d, problems %v, other %v", s.State(), s.Problems(FieldMedicine), s.Other())
		}
		if recs := records(t, env); len(recs) != 0 {
			t.Fatalf("recorded %d records", len(recs))
		}
	})
	t.Run("with the checklist ticked it is recorded and uploaded", func(t *testing.T) {
		s := tuitest.Confirm(t, tickAll(t, m))
		if s.State() != Local {
			t.Fatalf("state %d, problems %v, other %v\n%s", s.State(), s.problems, s.Other(), s.View())
		}
		recs := records(t, env)
		if len(recs) != 2 || recs[0].Kind != journal.KindTelephonePrescription {
			t.Fatalf("journal %+v", recs)
		}
		if body := string(recs[0].Body); !strings.Contains(body, "Called back to the prescriber's known number") || !strings.Contains(body, "09 310 45021") {
			t.Errorf("the verification is not in the record: %s", body)
		}
		env.Drain(t)
		s = tuitest.ReadOnce(t, s)
		if s.State() != Centre || !strings.Contains(s.View(), "Recorded in Prescription Centre") {
			t.Fatalf("state %d, entries %+v\n%s", s.State(), s.Entries(), s.View())
		}
	})
}

func TestWithoutDispensing(t *testing.T) {
	env := tuitest.New(t)
	m := fill(t, open(t, env, tuitest.Pharmacist, rx.FormPaper, rx.ModeOnline, 80, 24))
	m = to(t, m, FieldDispense)
	m, _ = m.Update(tuitest.Key(tea.KeySpace))
	m = tuitest.Confirm(t, m)
	if m.State() != Local || m.Receipt().Dispensing != nil || !strings.Contains(m.View(), "Nothing dispensed") {
		t.Fatalf("state %d\n%s", m.State(), m.View())
	}
	if recs := records(t, env); len(recs) != 1 {
		t.Fatalf("journal %+v", recs)
	}
}

func TestStudentMayNotRecord(t *testing.T) {
	env := tuitest.New(t)
	m := fill(t, open(t, env, tuitest.Student, rx.FormPaper, rx.ModeOnline, 80, 24))
	if !strings.Contains(m.View(), "may look but not record") {
		t.Fatalf("\n%s", m.View())
	}
	m, cmd := m.Update(tuitest.Key(tea.KeyF10))
	if cmd != nil || m.State() != Editing || len(m.Other()) == 0 {
		t.Fatalf("state %d, cmd %v", m.State(), cmd != nil)
	}
	if recs := records(t, env); len(recs) != 0 {
		t.Fatalf("a student recorded %d records", len(recs))
	}
}

func TestRefusedAtOnce(t *testing.T) {
	env := tuitest.New(t)
	m := fill(t, open(t, env, tuitest.Pharmacist, rx.FormPaper, rx.ModeOnline, 80, 24))
	m = tuitest.Confirm(t, m)
	if m.State() != Local {
		t.Fatalf("state %d", m.State())
	}
	// The queue's answer, as the outbox would hold it after a 422.
	es := []journal.OutboxEntry{{RecordID: m.Receipt().Record.ID, State: journal.OutboxDone}, {RecordID: m.Receipt().Dispensing.ID, State: journal.OutboxRejected, LastError: "over-dispensed"}}
	m, cmd := m.Update(upload.StateMsg{Key: m.Receipt().Record.ID, Entries: es})
	if cmd != nil || m.State() != Refused || !strings.Contains(m.View(), "Do not hand over") {
		t.Fatalf("state %d\n%s", m.State(), m.View())
	}
}

func TestGolden(t *testing.T) {
	env := tuitest.New(t)
	for _, form := range []rx.Form{rx.FormPaper, rx.FormTelephone} {
		for _, mode := range tuitest.Modes {
			for _, sz := range tuitest.Sizes {
				t.Run(fmt.Sprintf("%s_%s_%dx%d", form, mode, sz.W, sz.H), func(t *testing.T) {
					tuitest.Golden(t, open(t, env, tuitest.Pharmacist, form, mode, sz.W, sz.H).View())
				})
				t.Run(fmt.Sprintf("%s_%s_%dx%d_filled", form, mode, sz.W, sz.H), func(t *testing.T) {
					m := fill(t, open(t, env, tuitest.Pharmacist, form, mode, sz.W, sz.H))
					m = set(t, m, FieldRegistration, "1009x")
					m = to(t, m, FieldMedicine)
					tuitest.Golden(t, m.View())
				})
			}
		}
	}
}

// TestFits checks that the form keeps within the room the root gives it,
// in every state worth seeing, long texts included.
func TestFits(t *testing.T) {
	env := tuitest.New(t)
	long := strings.Repeat("one tablet in the morning and one in the evening, ", 3)
	for _, form := range []rx.Form{rx.FormPaper, rx.FormTelephone} {
		for _, sz := range []tuitest.Size{{W: 80, H: 20}, {W: 80, H: 24}, {W: 100, H: 30}, {W: 120, H: 40}, {W: 200, H: 50}} {
			states := map[string]Model{}
			m := open(t, env, tuitest.Pharmacist, form, rx.ModeFault, sz.W, sz.H)
			states["empty"] = m
			states["problems"] = tuitest.Confirm(t, m)
			f := set(t, fill(t, m), FieldDosage, long)
			states["long"] = f
			states["searching"] = set(t, f, FieldMedicine, "a")
			if form == rx.FormTelephone {
				f = tickAll(t, f)
			}
			states["recorded"] = tuitest.Confirm(t, f)
			for name, s := range states {
				t.Run(fmt.Sprintf("%s_%dx%d_%s", form, sz.W, sz.H, name), func(t *testing.T) {
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
}

func TestPatientByCodeOnly(t *testing.T) {
	env := tuitest.New(t)
	env.Fault(t)
	t.Run("the code from the search, while the Prescription Centre is down", func(t *testing.T) {
		m := New(env.Common(i18n.EN, 80, 24), tuitest.Pharmacist, rx.Patient{HETU: "131052-902Y"}, rx.FormPaper, rx.ModeFault)
		m, _ = m.Update(tuitest.Run(m.Init()))
		if m.Focus() != FieldPrescriber || !strings.Contains(m.View(), "Paper prescription: 131052-902Y") {
			t.Fatalf("focus %d\n%s", m.Focus(), m.View())
		}
		m = tuitest.Confirm(t, fill(t, m))
		if m.State() != Local {
			t.Fatalf("state %d, problems %v, other %v", m.State(), m.problems, m.Other())
		}
	})
	t.Run("no code yet: typed and checked as typed", func(t *testing.T) {
		m := New(env.Common(i18n.EN, 80, 24), tuitest.Pharmacist, rx.Patient{}, rx.FormTelephone, rx.ModeFault)
		if m.Focus() != FieldPatient {
			t.Fatalf("focus %d", m.Focus())
		}
		m, _ = m.Update(tuitest.Type("131052-90"))
		if len(m.Problems(FieldPatient)) != 0 {
			t.Fatalf("a code half typed is judged: %v", m.Problems(FieldPatient))
		}
		m, _ = m.Update(tuitest.Type("2X"))
		if !strings.Contains(strings.Join(m.Problems(FieldPatient), " "), "Not a valid identity code") {
			t.Fatalf("a wrong check character passes: %v", m.Problems(FieldPatient))
		}
	})
}

func TestFinnish(t *testing.T) {
	env := tuitest.New(t)
	m := New(env.Common(i18n.FI, 80, 24), tuitest.Pharmacist, matti, rx.FormTelephone, rx.ModeFault)
	m, _ = m.Update(tuitest.Run(m.Init()))
	tuitest.Golden(t, m.View())
}

// TestPossibleDuplicateIsHeld: a paper prescription like an e-prescription
// the patient already has (Matti's Metforem by Anna Korhonen, issued the
// same day) is held for review, and the medicine is not handed over.
func TestPossibleDuplicateIsHeld(t *testing.T) {
	env := tuitest.New(t)
	p, err := env.Services.Prescriptions(t.Context(), tuitest.Matti)
	if err != nil {
		t.Fatal(err)
	}
	var issued string
	for _, r := range p {
		if r.ID == "EP26000101" {
			issued = formkit.FormatDate(r.Issued.In(env.Clock.Now().Location()))
		}
	}
	m := fill(t, open(t, env, tuitest.Pharmacist, rx.FormPaper, rx.ModeOnline, 80, 24))
	m = set(t, m, FieldMedicine, "990291")
	m, _ = m.Update(tuitest.Key(tea.KeyEnter))
	m = set(t, m, FieldQuantity, "100")
	m = set(t, m, FieldIssued, issued)
	m = tuitest.Confirm(t, m)
	if m.State() != Local {
		t.Fatalf("state %d, problems %v, other %v", m.State(), m.problems, m.Other())
	}
	env.Drain(t)
	m = tuitest.ReadOnce(t, m)
	v := m.View()
	if m.State() != Refused || !strings.Contains(v, "Held for a pharmacist's review") || !strings.Contains(v, "possible-duplicate") || !strings.Contains(v, "Do not hand over") {
		t.Fatalf("state %d, entries %+v\n%s", m.State(), m.Entries(), v)
	}
}

func TestTelephonePKVIsWarned(t *testing.T) {
	env := tuitest.New(t)
	m := fill(t, open(t, env, tuitest.Pharmacist, rx.FormTelephone, rx.ModeFault, 120, 40))
	m = set(t, m, FieldMedicine, "diapam")
	m, _ = m.Update(tuitest.Key(tea.KeyEnter))
	m = set(t, m, FieldQuantity, "30")
	if policy.Worst(m.Decisions()) != policy.Warn || !strings.Contains(m.View(), policy.RulePKV) {
		t.Fatalf("decisions %v", m.Decisions())
	}
	m = tuitest.Confirm(t, tickAll(t, m))
	if m.State() != Local || !strings.Contains(strings.Join(m.Receipt().Record.Rules, " "), policy.RulePKV) {
		t.Fatalf("state %d, rules %v, problems %v", m.State(), m.Receipt().Record.Rules, m.problems)
	}
}

// TestPartialDispensing: the quantity dispensed now follows the prescribed
// quantity until the pharmacist types one; less is dispensed as typed, and
// more is named at the field and refused.
func TestPartialDispensing(t *testing.T) {
	env := tuitest.New(t)
	m := fill(t, open(t, env, tuitest.Pharmacist, rx.FormPaper, rx.ModeOnline, 120, 40))
	if got := m.inputs[FieldDispenseQuantity].Value(); got != "20" {
		t.Fatalf("quantity now %q, want the prescribed 20", got)
	}
	m = set(t, m, FieldDispenseQuantity, "30")
	if p := m.Problems(FieldDispenseQuantity); len(p) != 1 || p[0] != "More than the prescription's 20 tablets." {
		t.Fatalf("problems of 30 against 20 prescribed: %q", p)
	}
	m = tuitest.Confirm(t, m)
	if m.State() != Editing || len(records(t, env)) != 0 {
		t.Fatalf("more than prescribed was recorded: state %d\n%s", m.State(), m.View())
	}

	m = set(t, m, FieldDispenseQuantity, "10")
	m = set(t, m, FieldQuantity, "21") // the typed quantity now stays
	if got := m.inputs[FieldDispenseQuantity].Value(); got != "10" {
		t.Fatalf("quantity now %q after the prescribed one changed, want the typed 10", got)
	}
	if p := m.Problems(FieldDispenseQuantity); len(p) != 0 {
		t.Fatalf("problems of 10 against 21: %q", p)
	}
	m = tuitest.Confirm(t, m)
	if m.State() != Local || m.Receipt().Dispensing == nil {
		t.Fatalf("state %d\n%s", m.State(), m.View())
	}
	var p rx.Prescription
	var d record.DispensingBody
	if err := json.Unmarshal(m.Receipt().Record.Body, &p); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m.Receipt().Dispensing.Body, &d); err != nil {
		t.Fatal(err)
	}
	if p.Quantity != 21 || d.Quantity != 10 {
		t.Fatalf("prescribed %d, dispensed %d; want 21 and 10", p.Quantity, d.Quantity)
	}

	// Not dispensing: no quantity to dispense.
	m = fill(t, open(t, env, tuitest.Pharmacist, rx.FormPaper, rx.ModeOnline, 120, 40))
	m = to(t, m, FieldDispense)
	m, _ = m.Update(tuitest.Key(tea.KeySpace))
	if slices.Contains(m.fields(), FieldDispenseQuantity) || strings.Contains(m.View(), "Quantity now") {
		t.Fatalf("quantity now shown without a dispensing:\n%s", m.View())
	}
}

// TestNoCatalogue (issue 24): on a counter whose data folder has no
// medicine catalogue, the picker says so and what IT must run, no medicine
// can be taken, F10 records nothing, and what was typed in the other
// fields stays.
func TestNoCatalogue(t *testing.T) {
	env := tuitest.New(t)
	env.NoCatalogue(t)
	for _, sz := range tuitest.Sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.W, sz.H), func(t *testing.T) {
			m := open(t, env, tuitest.Pharmacist, rx.FormPaper, rx.ModeFault, sz.W, sz.H)
			m = set(t, m, FieldPrescriber, "Anna Korhonen")
			m = set(t, m, FieldMedicine, "990511")
			m, _ = m.Update(tuitest.Key(tea.KeyEnter))
			if _, ok := m.picker.Medicine(); ok || m.Focus() != FieldMedicine {
				t.Fatalf("with no catalogue Enter took a medicine, or moved on to %d", m.Focus())
			}
			tuitest.Golden(t, m.View())
			m = tuitest.Confirm(t, m)
			if m.State() != Editing || m.value(FieldPrescriber) != "Anna Korhonen" || !strings.Contains(m.View(), "990511") {
				t.Fatalf("F10 with no medicine: state %d, prescriber %q\n%s", m.State(), m.value(FieldPrescriber), m.View())
			}
			if recs, err := env.Journal.List(t.Context(), journal.Filter{}); err != nil || len(recs) != 0 {
				t.Fatalf("the journal holds %d records: %v", len(recs), err)
			}
		})
	}
}
