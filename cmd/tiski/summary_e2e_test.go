package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/page/browsertest"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/tui/summary"
)

// TestSummaryDoneWhen is issue 23's Done-when line, run by .ci/run:
// `printf '%s\n' 140348-901W | tiski summary --patient - --html s.html`
// against the demo's simulator (tiski centre serve, the bundled fixtures)
// writes a page, mode 0600, whose barcodes zbarimg reads, from a headless
// Chromium screenshot, as exactly that patient's valid prescription ids.
// Then, with the simulator down, there is nothing current to print: exit
// 5, saying so, and --outage writes the outage page marked as such. No
// identity code reaches the log.
func TestSummaryDoneWhen(t *testing.T) {
	b := browsertest.Require(t)
	zbar := browsertest.RequireZbarimg(t)
	const matti = "140348-901W"
	fhirURL, adminURL := serve(t, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data", t.TempDir())
	dir := t.TempDir()
	r := tiskiRun{t: t, data: filepath.Join(dir, "data"), env: []string{"TISKI_CENTRE_URL=" + fhirURL}}
	html := filepath.Join(dir, "s.html")

	out := r.ok(matti+"\n", "summary", "--patient", "-", "--html", html)
	if !strings.Contains(out, "Summary written") {
		t.Fatalf("output: %s", out)
	}
	fi, err := os.Stat(html)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the summary's mode is %v, want 0600: it holds an identity code", fi.Mode().Perm())
	}

	// What the page must list: the patient's valid prescriptions, as the
	// Prescription Centre holds them.
	client, err := centre.New(centre.Config{BaseURL: fhirURL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	rxs, err := client.Prescriptions(context.Background(), matti)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range summary.Valid(rxs, time.Now(), policy.Default().Validity()) {
		want = append(want, p.ID)
	}
	slices.Sort(want)
	if len(want) < 5 || !slices.Contains(want, "EP26000101") {
		t.Fatalf("the fixtures' valid prescriptions of %s: %v", "140348-***W", want)
	}

	if got := b.Barcodes(t, zbar, html, filepath.Join(dir, "s.png")); !slices.Equal(got, want) {
		t.Fatalf("zbarimg read %v, want the patient's prescriptions %v", got, want)
	}

	t.Run("an identity code as an argument is refused", func(t *testing.T) {
		r.fails(2, "shell's history", "", "summary", "--patient", matti, "--html", html)
		r.fails(2, "shell's history", "", "summary", matti, "--html", html)
	})

	t.Run("no answer: nothing current, and the outage's records offered", func(t *testing.T) {
		r.ok("", "centre", "fault", "down", "--admin-addr", strings.TrimPrefix(adminURL, "http://"))
		t.Cleanup(func() { r.ok("", "centre", "fault", "up", "--admin-addr", strings.TrimPrefix(adminURL, "http://")) })
		none := filepath.Join(dir, "none.html")
		r.fails(5, "nothing current to print", matti+"\n", "summary", "--patient", "-", "--html", none)
		if _, err := os.Stat(none); err == nil {
			t.Error("a page was written with nothing current")
		}
		outage := filepath.Join(dir, "outage.html")
		r.ok(matti+"\n", "summary", "--patient", "-", "--html", outage, "--outage")
		page, err := os.ReadFile(outage)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(page), "OUTAGE RECORDS") || strings.Contains(string(page), "<svg") {
			t.Errorf("the outage page is not marked as such, or carries barcodes")
		}
	})

	logText, err := os.ReadFile(filepath.Join(r.data, "tiski.log"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]`).Match(logText) {
		t.Errorf("an identity code in the log:\n%s", logText)
	}
	if !strings.Contains(string(logText), "summary written") {
		t.Errorf("the summary is not in the log:\n%s", logText)
	}
}
