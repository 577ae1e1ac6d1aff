package faultdesk_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/triage"
	"github.com/tiski-rx/tiski/tui/faultdesk"
	"github.com/tiski-rx/tiski/tui/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var identityCode = regexp.MustCompile(`\d{6}[-+A]\d{3}[0-9A-Y]`)

// helsinki is Finland's winter time, fixed so the golden files hold on any
// machine.
var helsinki = time.FixedZone("EET", 2*3600)

// outageReport makes a report from a real journal on a test clock: a
// morning's outage at Kanta (503 to every call) with essential medication
// and a telephone prescription recorded during it, the other counter in
// FAULT too, and a conflict waiting.
func outageReport(t *testing.T) faultreport.Report {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 6, 12, 0, 0, time.UTC)
	now := t0.Add(-20 * time.Minute)
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: "kassa-1", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var calls []journal.FaultCall
	for i := range 10 {
		calls = append(calls, journal.FaultCall{At: t0.Add(-10*time.Minute + time.Duration(i)*time.Minute), Op: "search", Outcome: "ok", Status: 200, Latency: 80 * time.Millisecond})
	}
	for i := range 45 {
		c := journal.FaultCall{At: t0.Add(time.Duration(i) * time.Minute), Op: []string{"read", "search", "write"}[i%3], Outcome: "5xx", Status: 503, Latency: 20 * time.Millisecond}
		if i >= 30 {
			c.Outcome, c.Status = "throttled", 429
		}
		calls = append(calls, c)
	}
	if err := j.LogCalls(ctx, calls); err != nil {
		t.Fatal(err)
	}
	now = t0
	if _, ok, err := j.ChangeMode(ctx, rx.ModeChange{From: rx.ModeOnline, To: rx.ModeFault, Cause: "probe: 503 Service Unavailable"}); err != nil || !ok {
		t.Fatalf("FAULT: %v %v", ok, err)
	}
	fx, err := rx.LoadFixtures(tiski.Fixtures(), t0)
	if err != nil {
		t.Fatal(err)
	}
	who := rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	svc := &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"},
		Now: func() time.Time { return now }}
	metformin, _ := fx.Medicine("metforem-500mg-tabl")
	now = t0.Add(10 * time.Minute)
	if _, err := svc.Dispense(ctx, who, rx.Dispensing{PrescriptionID: "EP26000101", Patient: "140348-901W", Medicine: metformin, VNR: "990291",
		Quantity: 100, Essential: true, Basis: rx.BasisInstructionSheet}, record.DispenseOptions{UnitsPerDay: 4}); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(45 * time.Minute)
	tri := triage.Result{At: now, Verdict: triage.Kanta, Evidence: []string{"metadata: /metadata answered 503 in 4ms", "tcp: connected to kanta.example:443 in 3ms"},
		Because: []string{"metadata", "tcp"},
		Steps: []triage.Step{
			{Layer: triage.LayerWay, Name: "tcp", Status: triage.OK, Message: triage.Message{Detail: "connected to kanta.example:443 in 3ms", Msg: "connected", Args: []string{"kanta.example:443", "3ms"}}},
			{Layer: triage.LayerService, Name: "metadata", Status: triage.Fail, Class: "5xx", HTTPStatus: 503,
				Message: triage.Message{Detail: "/metadata answered 503 in 4ms", Msg: "metadata-answered", Args: []string{"503", "4ms"}}},
		},
		Peers: []triage.Peer{{Counter: "kassa-2", Fault: true, Since: t0.Add(time.Minute)}}}
	r, err := faultreport.Build(ctx, faultreport.Input{Journal: j, Triage: tri, Counter: "kassa-1",
		Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"},
		Reporter: faultreport.Contact{Name: "Apteekkien IT-tuki", Phone: "010 555 0100", Email: "tuki@example.fi"},
		Kela:     faultreport.Contact{Email: "tekninentuki@kanta.fi", Phone: "020 634 7787"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReportGolden: the report in fi, sv and en, each against its golden
// file, with no identity code in any.
func TestReportGolden(t *testing.T) {
	r := outageReport(t)
	for _, l := range i18n.Langs() {
		t.Run(string(l), func(t *testing.T) {
			var b bytes.Buffer
			if err := faultdesk.Text(&b, l, helsinki, r); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "report."+string(l)+".txt")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("the %s report differs from %s:\n%s", l, golden, got)
			}
			if identityCode.Match(b.Bytes()) || strings.Contains(b.String(), "140348") {
				t.Errorf("the %s report holds an identity code", l)
			}
		})
	}
	// The decisions the golden files show.
	met := ""
	for _, c := range r.Criteria {
		if c.Met {
			met += c.ID
		}
	}
	if met != "abc" || r.Verdict != faultreport.Critical || r.Impact.Essential != 1 || r.Scope.Waiting != 1 {
		t.Errorf("criteria %q, verdict %s, impact %+v, scope %+v", met, r.Verdict, r.Impact, r.Scope)
	}
}

// TestReportPage: the printable page holds every section and the six
// criteria, and no identity code.
func TestReportPage(t *testing.T) {
	r := outageReport(t)
	var b bytes.Buffer
	if err := page.Write(&b, faultdesk.Page(i18n.FI, helsinki, r)); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{`lang="fi"`, `id="why"`, `id="reporter"`, `id="fault"`, `id="services"`, `id="scope"`, `id="actions"`, `id="criteria"`, `id="triage"`,
		"Vika voi vaarantaa potilasturvallisuuden.", "Ilmoita Kelan tekniseen tukeen", "020 634 7787"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(s, "<tr"); n < 7 {
		t.Errorf("the page has %d table rows, want the six criteria and more", n)
	}
	if identityCode.MatchString(s) {
		t.Error("the page holds an identity code")
	}
}
