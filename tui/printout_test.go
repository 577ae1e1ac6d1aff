package tui

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
	"github.com/tiski-rx/tiski/tui/statusline"
	"github.com/tiski-rx/tiski/tui/summary"
)

// printing is the test Env's services with the summary's (common.
// Summaries), over the same real parts: the simulator through the real
// client, the journal. It writes the pages as the counter does, into a
// folder of its own, and opens nothing.
type printing struct {
	*tuitest.Services
	dir    string
	now    func() time.Time
	since  []time.Time // the outage starts WriteOutageRecords was given
	writes int
}

var _ common.Summaries = (*printing)(nil)

func (p *printing) write(kind string, doc page.Document, n int) (common.Printout, error) {
	var b bytes.Buffer
	if err := page.Write(&b, doc); err != nil {
		return common.Printout{}, err
	}
	p.writes++
	path := filepath.Join(p.dir, summary.FileName(kind, p.now().Add(time.Duration(p.writes))))
	return common.Printout{Path: path, Count: n}, os.WriteFile(path, b.Bytes(), 0o600)
}

func (p *printing) WriteSummary(ctx context.Context, l i18n.Lang, patient rx.Patient) (common.Printout, error) {
	who, err := p.Centre.FindPatient(ctx, patient.HETU)
	if err != nil {
		return common.Printout{}, err
	}
	rxs, err := p.Centre.Prescriptions(ctx, patient.HETU)
	if err != nil {
		return common.Printout{}, err
	}
	in := summary.Input{Patient: who, Prescriptions: rxs, Made: p.now(), Rules: policy.Default().Validity()}
	return p.write("summary", summary.Page(l, time.UTC, in), len(summary.Valid(rxs, in.Made, in.Rules)))
}

func (p *printing) WriteOutageRecords(ctx context.Context, l i18n.Lang, patient rx.Patient, since time.Time) (common.Printout, error) {
	p.since = append(p.since, since)
	recs, err := p.PatientRecords(ctx, patient.HETU, since)
	if err != nil {
		return common.Printout{}, err
	}
	return p.write("outage-records", summary.OutagePage(l, time.UTC, summary.Outage{Patient: patient, Records: recs, Since: since, Made: p.now()}), len(recs))
}

func ctrlO(r root) root {
	r, _ = tuitest.Settle(r, tea.KeyMsg{Type: tea.KeyCtrlO}, nil)
	return r
}

// TestSummaryKey: ctrl+o on the prescriptions writes the summary; with
// no answer from the Prescription Centre, and in FAULT, it says there is
// nothing current and offers the outage's records, which ctrl+o again
// prints, from the outage's start; a counter without the service shows no
// key and does nothing.
func TestSummaryKey(t *testing.T) {
	env := tuitest.New(t)
	svc := &printing{Services: env.Services, dir: t.TempDir(), now: env.Clock.Now}
	c := env.Common(i18n.EN, 160, 40)
	c.Services = svc
	r := signIn(start(env, c), tuitest.Pharmacist.ID, tuitest.PharmacistPIN)
	r = find(r, tuitest.Matti)
	if r.Screen() != ScreenPrescriptions || !strings.Contains(r.View(), "ctrl+o summary") {
		t.Fatalf("no summary key on the prescriptions:\n%s", r.View())
	}

	r = ctrlO(r)
	if !strings.Contains(r.notice, "Summary written: ") || svc.writes != 1 {
		t.Fatalf("notice %q, %d written", r.notice, svc.writes)
	}
	path := strings.Fields(strings.TrimPrefix(r.notice, "Summary written: "))[0]
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), `data-id="EP26000101"`) {
		t.Fatalf("the summary %s: %v", path, err)
	}

	t.Run("no answer", func(t *testing.T) {
		if err := env.Sim.SetFault(centresim.Fault{Kind: centresim.FaultDown}); err != nil {
			t.Fatal(err)
		}
		defer env.Sim.SetFault(centresim.Fault{Kind: centresim.FaultUp})
		s := ctrlO(r)
		if !strings.HasPrefix(s.notice, "Nothing current to print (") || svc.writes != 1 {
			t.Fatalf("notice %q, %d written", s.notice, svc.writes)
		}
	})

	since := env.Fault(t).Since
	r, _ = tuitest.Settle(r, tuitest.Run(statusline.Refresh(r.c)), nil)
	if r.status.Mode().Mode != rx.ModeFault {
		t.Fatalf("mode %v", r.status.Mode())
	}
	r = ctrlO(r)
	if want := "Nothing current to print (FAULT). This pharmacy has no records of the outage for this patient."; r.notice != want || r.offer != nil {
		t.Fatalf("notice %q, want %q", r.notice, want)
	}
	env.Clock.Advance(time.Minute)
	body, _ := json.Marshal(rx.Dispensing{PrescriptionID: "EP26000101", Patient: tuitest.Matti, Quantity: 60, Essential: true})
	if _, err := env.Journal.Append(context.Background(), journal.NewRecord{Kind: journal.KindDispensing, Pharmacist: tuitest.Pharmacist.ID, Patient: tuitest.Matti, Body: body}); err != nil {
		t.Fatal(err)
	}
	r = ctrlO(r)
	if want := "Nothing current to print (FAULT). ctrl+o again: this patient's 1 records of the outage, marked as such."; r.notice != want {
		t.Fatalf("notice %q, want %q", r.notice, want)
	}
	r = ctrlO(r)
	if !strings.HasPrefix(r.notice, "Outage records written: ") || len(svc.since) != 1 || !svc.since[0].Equal(since) {
		t.Fatalf("notice %q, outage pages from %v (want one from %v)", r.notice, svc.since, since)
	}
	path = strings.Fields(strings.TrimPrefix(r.notice, "Outage records written: "))[0]
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "OUTAGE RECORDS") || !strings.Contains(string(b), "EP26000101") {
		t.Fatalf("the outage page %s: %v", path, err)
	}
	// The offer is used up: the next press offers again.
	r = ctrlO(r)
	if !strings.Contains(r.notice, "ctrl+o again") {
		t.Errorf("notice %q", r.notice)
	}

	t.Run("a counter that cannot print shows no key", func(t *testing.T) {
		env := tuitest.New(t)
		r := signIn(start(env, env.Common(i18n.EN, 160, 40)), tuitest.Pharmacist.ID, tuitest.PharmacistPIN)
		r = find(r, tuitest.Matti)
		if strings.Contains(r.View(), "ctrl+o") {
			t.Errorf("the key shows:\n%s", r.View())
		}
		if r = ctrlO(r); r.notice != "" {
			t.Errorf("notice %q", r.notice)
		}
	})
}
