package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/page/browsertest"
	"github.com/tiski-rx/tiski/queue/herd"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// herdResults are two small runs as `tiski drill herd --jitter both`
// measures them, written out so that the page is the same on every run:
// the client as shipped drains near the capacity, the naive one storms.
func herdResults() []herd.Result {
	load := func(pairs ...int) []herd.Second {
		var out []herd.Second
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, herd.Second{Requests: pairs[i], Throttled: pairs[i+1]})
		}
		return out
	}
	return []herd.Result{
		{Jitter: herd.JitterFull, Clients: 12, Records: 2, CapacityRPS: 4, PeakRPS: 4, PeakSecond: 7, Requests: 31, Throttled: 7,
			DrainSeconds: 17.6, Drained: true, Load: load(0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 3, 1, 1, 0, 3, 0, 4, 2, 4, 1, 2, 0, 3, 2, 3, 0, 2, 1, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0),
			WallSeconds: 1.9},
		{Jitter: herd.JitterNone, Clients: 12, Records: 2, CapacityRPS: 4, PeakRPS: 13, PeakSecond: 0, Requests: 82, Throttled: 58,
			DrainSeconds: 300, Drained: false, Pending: 3, Load: load(13, 12, 13, 12, 11, 10, 11, 8, 8, 6, 8, 5, 2, 1, 0, 0, 6, 3, 3, 1, 1, 0, 2, 0),
			WallSeconds: 2.5},
	}
}

func writeHerdPage(t *testing.T, l i18n.Lang) string {
	t.Helper()
	var b bytes.Buffer
	if err := page.Write(&b, herdPage(l, 5*time.Hour, herdResults())); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDrillHerdHTMLGolden(t *testing.T) {
	goldenFile(t, "drill-herd.en.html.golden", []byte(writeHerdPage(t, i18n.EN)))
}

// TestDrillHerdHTMLContent: both runs' load series, their throttled
// requests and drain markers, the capacity line in each chart, and the
// naive run's stop marked as not drained.
func TestDrillHerdHTMLContent(t *testing.T) {
	html := writeHerdPage(t, i18n.EN)
	for _, want := range []string{"load-full", "load-none", "throttled-full", "throttled-none", "served-full", "drained-full", "drained-none"} {
		if n := strings.Count(html, `data-series="`+want+`"`); n != 1 {
			t.Errorf("data-series=%q shows %d times, want 1", want, n)
		}
	}
	if n := strings.Count(html, `data-series="capacity"`); n != 2 {
		t.Errorf("the capacity line shows %d times, want one a chart", n)
	}
	for _, want := range []string{">drained at 0:18<", ">stopped at 5:00, not drained<", ">not in 300 s (5:00)<", ">13 (3.25× capacity)<", `data-verdict="pass"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the page holds no %s", want)
		}
	}
	// A lost record fails the page.
	rs := herdResults()
	rs[1].Lost = 2
	var b bytes.Buffer
	if err := page.Write(&b, herdPage(i18n.EN, time.Hour, rs)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `data-verdict="fail"`) || !strings.Contains(b.String(), `<tr class="fail"><td>lost</td>`) {
		t.Error("a run that lost records is not marked failed")
	}
}

// TestDrillHerdHTMLInBrowser runs a small storm in both modes through the
// command with --html, and loads the page in headless Chromium: no console
// message, both runs' load series and the capacity line in the browser's
// DOM, and two A4 pages in print (the measures; the charts).
func TestDrillHerdHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two small simulations")
	}
	b := browsertest.Require(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "h.html")
	out, errOut, code := run(t, "drill", "herd", "--clients", "12", "--records", "2", "--capacity", "4", "--limit", "30s",
		"--dir", filepath.Join(dir, "herd"), "--html", file, "--lang", "sv")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if out != "" {
		t.Errorf("with --html the report went to the file, yet printed %q", out)
	}
	ctx := context.Background()
	l, err := b.Load(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Console) > 0 {
		t.Errorf("console messages: %q", l.Console)
	}
	for _, series := range []string{"load-full", "load-none", "throttled-full", "throttled-none", "capacity", "drained-full", "drained-none"} {
		if !regexp.MustCompile(`<(g|path)[^>]* data-series="` + series + `"`).MatchString(l.DOM) {
			t.Errorf("the browser's DOM has no SVG series %q", series)
		}
	}
	printed, err := b.PrintPDF(ctx, file, filepath.Join(dir, "h.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if printed.Pages != 2 || !printed.A4() {
		t.Errorf("printed %d pages of %g × %g points, want 2 A4 pages", printed.Pages, printed.Width, printed.Height)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
}

// TestDrillHerdHTMLBadFile: a page that cannot be written is refused
// before the storm runs, not after minutes of it.
func TestDrillHerdHTMLBadFile(t *testing.T) {
	dir := t.TempDir()
	for name, file := range map[string]string{"no such folder": filepath.Join(dir, "nowhere", "h.html"), "a folder": dir} {
		t.Run(name, func(t *testing.T) {
			_, errOut, code := run(t, "drill", "herd", "--clients", "2", "--records", "1", "--html", file)
			if code == ExitOK || !strings.Contains(errOut, file) {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if strings.Contains(errOut, "done:") {
				t.Errorf("the storm ran before the file was refused: %q", errOut)
			}
		})
	}
}
