package faultview

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// open opens the fault desk as the root does and lets the triage finish.
func open(t *testing.T, env *tuitest.Env, lang i18n.Lang) Model {
	t.Helper()
	m := New(env.Common(lang, 120, 60), tuitest.Pharmacist)
	if !m.Running() {
		t.Fatalf("the triage did not start: %q", m.Problem())
	}
	m, _ = tuitest.Settle(m, tuitest.Run(m.Init()), nil)
	if m.Running() || m.Problem() != "" {
		t.Fatalf("after the triage: running %v, problem %q", m.Running(), m.Problem())
	}
	return m
}

// TestFaultDesk: in FAULT, with the Prescription Centre answering 500, the
// fault desk shows the triage's place and the draft report: report to
// Kela, the criteria met, in the pharmacist's language; enter runs it
// again; esc goes back.
func TestFaultDesk(t *testing.T) {
	env := tuitest.New(t)
	if err := env.Sim.SetFault(centresim.Fault{Kind: centresim.FaultError}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, ok, err := env.Journal.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: 500 Internal Server Error"}); err != nil || !ok {
		t.Fatalf("FAULT: %v %v", ok, err)
	}
	// The counter's calls meet the fault; the fault log has them.
	if err := env.Journal.LogCalls(ctx, []journal.FaultCall{{At: env.Clock.Now(), Op: "search", Outcome: "5xx", Status: 500}}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(20 * 60e9)

	m := open(t, env, i18n.EN)
	r, ok := m.Report()
	if !ok || r.Verdict != faultreport.Kela || !r.Criteria[0].Met || !r.Criteria[1].Met {
		t.Fatalf("report %v: verdict %s, criteria %+v", ok, r.Verdict, r.Criteria)
	}
	v := m.View()
	for _, want := range []string{"Fault desk", "Report to Kela's technical support", "[x] a)", "[x] b)", "tiski fault report"} {
		if !strings.Contains(v, want) {
			t.Errorf("the desk lacks %q:\n%s", want, v)
		}
	}
	// ctrl+y marks that the helpdesk was told: a fault_report record,
	// shown among the report's actions.
	m, _ = tuitest.Settle(m, tea.KeyMsg{Type: tea.KeyCtrlY}, nil)
	marks, err := env.Journal.FaultReports(ctx, time.Time{})
	if err != nil || len(marks) != 1 || marks[0].To != "helpdesk" || marks[0].By != tuitest.Pharmacist.ID {
		t.Fatalf("after ctrl+y: marks %+v, %v", marks, err)
	}
	r, _ = m.Report()
	found := false
	for _, a := range r.Actions {
		found = found || a.Code == "reported-helpdesk" && a.By == tuitest.Pharmacist.ID
	}
	if !found || !strings.Contains(m.View(), "Marked: the helpdesk was told") {
		t.Errorf("the mark is not in the report's actions %+v or on the screen:\n%s", r.Actions, m.View())
	}
	m, _ = tuitest.Settle(m, tea.KeyMsg{Type: tea.KeyEnter}, nil)
	if m.run != 3 || m.Running() {
		t.Errorf("enter: run %d, running %v", m.run, m.Running())
	}
	_, back := tuitest.Settle(m, tea.KeyMsg{Type: tea.KeyEsc}, func(msg tea.Msg) bool { _, ok := msg.(BackMsg); return ok })
	if _, ok := back.(BackMsg); !ok {
		t.Errorf("esc: %T, want BackMsg", back)
	}

	fi := open(t, env, i18n.FI)
	if v := fi.View(); !strings.Contains(v, "Vikapiste") || !strings.Contains(v, "Ilmoita Kelan tekniseen tukeen") {
		t.Errorf("in Finnish:\n%s", v)
	}
}

// TestStaleRunIgnored: the answer of an earlier run does not replace a
// later one's.
func TestStaleRunIgnored(t *testing.T) {
	env := tuitest.New(t)
	m := open(t, env, i18n.EN)
	m.run = 5
	m, _ = m.Update(doneMsg{screen: m.screen, run: 4, err: context.Canceled})
	if m.Problem() != "" {
		t.Errorf("a stale run's error shows: %q", m.Problem())
	}
}
