// Package browsertest loads a page written by package page in a real
// browser, headless Chromium, with no network: it reads the DOM the browser
// built and the messages the page wrote to its console, prints the page to
// PDF and counts the pages, and takes screenshots.
//
// It drives the chromium command itself (--dump-dom, --print-to-pdf,
// --screenshot) rather than the DevTools protocol through a Go library: the
// three checks the pages need are each one run of the command, and a
// protocol client would be a dependency of the module for the tests'
// sake alone.
//
// Tests skip when no browser is installed, unless TISKI_BROWSER_REQUIRED
// is set (as .ci/run sets it), when a missing browser fails them.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequiredEnv names the environment variable that makes a missing browser
// a failure rather than a skip.
const RequiredEnv = "TISKI_BROWSER_REQUIRED"

// runTimeout bounds one run of the browser: a page of ours loads in well
// under a second, and a hung browser must not hang the tests.
const runTimeout = 90 * time.Second

// Browser is a headless Chromium.
type Browser struct {
	Path string
}

// candidates are the names Chromium goes by on the systems we build on.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the browser named by TISKI_BROWSER, or the first Chromium
// on PATH.
func Find() (*Browser, error) {
	if p := os.Getenv("TISKI_BROWSER"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return nil, fmt.Errorf("TISKI_BROWSER=%s: %w", p, err)
		}
		return &Browser{Path: path}, nil
	}
	for _, name := range candidates {
		if path, err := exec.LookPath(name); err == nil {
			return &Browser{Path: path}, nil
		}
	}
	return nil, fmt.Errorf("no headless browser: none of %s is on PATH (Debian: apt-get install chromium)", strings.Join(candidates, ", "))
}

// Require returns the browser, or skips the test with why, or fails it
// when TISKI_BROWSER_REQUIRED is set.
func Require(t testing.TB) *Browser {
	t.Helper()
	b, err := Find()
	if err != nil {
		if os.Getenv(RequiredEnv) != "" {
			t.Fatalf("%v; %s is set, so the browser tests may not skip", err, RequiredEnv)
		}
		t.Skipf("%v; the browser tests skip (set %s=1 to make this a failure)", err, RequiredEnv)
	}
	return b
}

// Load is what the browser made of a page.
type Load struct {
	// DOM is the document as the browser built it, serialized.
	DOM string
	// Console holds every message the page wrote to the browser's
	// console. Our pages run no script, so any message is a fault: a
	// blocked fetch of an external asset (the pages' Content Security
	// Policy refuses every one), a resource that failed to load.
	Console []string
}

// consoleLine is how Chromium logs a page's console message on stderr:
// [pid:tid:time:LEVEL:CONSOLE(line)] "message", source: url (line).
var consoleLine = regexp.MustCompile(`:CONSOLE(?:\(\d+\))?(?::\d+)?\] (.*)`)

// Load loads the page in file and returns its DOM and its console.
func (b *Browser) Load(ctx context.Context, file string) (Load, error) {
	out, errOut, err := b.run(ctx, "--enable-logging=stderr", "--log-level=0", "--virtual-time-budget=5000", "--dump-dom", fileURL(file))
	if err != nil {
		return Load{}, err
	}
	l := Load{DOM: string(out)}
	for _, line := range strings.Split(string(errOut), "\n") {
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			l.Console = append(l.Console, m[1])
		}
	}
	if !strings.Contains(l.DOM, "</html>") {
		return l, fmt.Errorf("the browser returned no document for %s: %.300s", file, errOut)
	}
	return l, nil
}

// Print is what a print of a page to PDF gave.
type Print struct {
	Pages int
	// Width and Height are the first page's size in points (1/72 in),
	// from its MediaBox.
	Width, Height float64
}

// A4 reports whether the pages are A4 portrait (595 × 842 points), within
// the point or so that Chromium rounds a page's size to.
func (p Print) A4() bool {
	return math.Abs(p.Width-595.28) < 2 && math.Abs(p.Height-841.89) < 2
}

// PrintPDF prints the page in file to pdf, as the print dialog would with
// no header or footer, and returns its page count and size.
func (b *Browser) PrintPDF(ctx context.Context, file, pdf string) (Print, error) {
	if _, _, err := b.run(ctx, "--no-pdf-header-footer", "--print-to-pdf="+pdf, fileURL(file)); err != nil {
		return Print{}, err
	}
	data, err := os.ReadFile(pdf)
	if err != nil {
		return Print{}, fmt.Errorf("the browser wrote no PDF: %w", err)
	}
	n, err := PDFPages(data)
	if err != nil {
		return Print{}, err
	}
	p := Print{Pages: n}
	if m := mediaBox.FindSubmatch(data); m != nil {
		p.Width, _ = strconv.ParseFloat(string(m[1]), 64)
		p.Height, _ = strconv.ParseFloat(string(m[2]), 64)
	}
	return p, nil
}

// mediaBox finds a page's size: /MediaBox [0 0 width height].
var mediaBox = regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]`)

// Screenshot takes a screenshot of the page in file, in a window width×
// height pixels, into png.
func (b *Browser) Screenshot(ctx context.Context, file, png string, width, height int) error {
	if _, _, err := b.run(ctx, fmt.Sprintf("--window-size=%d,%d", width, height), "--hide-scrollbars", "--screenshot="+png, fileURL(file)); err != nil {
		return err
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		return fmt.Errorf("the browser wrote no screenshot to %s", png)
	}
	return nil
}

// pdfPage matches a page object of a PDF, not the page tree (/Pages).
var pdfPage = regexp.MustCompile(`/Type\s*/Page\b`)

// PDFPages counts the pages of a PDF as Chromium writes it: its page
// objects are plain dictionaries, each with /Type /Page.
func PDFPages(data []byte) (int, error) {
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return 0, errors.New("not a PDF")
	}
	n := len(pdfPage.FindAllIndex(data, -1))
	if n == 0 {
		return 0, errors.New("a PDF with no page objects that can be read (compressed object streams?)")
	}
	return n, nil
}

// run runs the browser headless with a profile of its own, kept off the
// network: every host name resolves to nothing, so a page that reached for
// the network would fail to, and say so on its console.
func (b *Browser) run(ctx context.Context, args ...string) (stdout, stderr []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	profile, err := os.MkdirTemp("", "tiski-browser-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(profile)
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
		"--disable-background-networking", "--disable-component-update", "--disable-default-apps",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
	}
	cmd := exec.CommandContext(ctx, b.Path, append(base, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// The browser must not find a display, nor a session bus of the
	// person running the tests.
	cmd.Env = append(os.Environ(), "DISPLAY=", "WAYLAND_DISPLAY=", "DBUS_SESSION_BUS_ADDRESS=disabled:")
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return out.Bytes(), errOut.Bytes(), fmt.Errorf("%s %s: %w: %s", filepath.Base(b.Path), strings.Join(args, " "), err, tail(errOut.String(), 600))
	}
	return out.Bytes(), errOut.Bytes(), nil
}

func fileURL(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return "file://" + filepath.ToSlash(abs)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// RequireZbarimg returns the path of zbarimg, the barcode reader of the
// distribution's zbar-tools, or skips the test, or fails it when
// TISKI_BROWSER_REQUIRED is set, as Require does for the browser.
func RequireZbarimg(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv(RequiredEnv) != "" {
			t.Fatalf("zbarimg is not installed (apt-get install zbar-tools); %s is set, so this may not skip", RequiredEnv)
		}
		t.Skipf("zbarimg is not installed (apt-get install zbar-tools); set %s=1 to make this a failure", RequiredEnv)
	}
	return p
}

// ReadCode128 returns the Code 128 barcodes zbarimg (at path zbar) reads
// in the image png, sorted; an error when it reads none.
func ReadCode128(ctx context.Context, zbar, png string) ([]string, error) {
	out, err := exec.CommandContext(ctx, zbar, "--quiet", "--raw", "-Sdisable", "-Scode128.enable", png).Output()
	if err != nil {
		return nil, fmt.Errorf("zbarimg read no barcode in %s: %w", png, err)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	return got, nil
}

// Barcodes takes a screenshot (png) of the page in file, tall enough for
// every card of a summary, and returns the Code 128 barcodes zbarimg reads
// in it, sorted.
func (b *Browser) Barcodes(t testing.TB, zbar, file, png string) []string {
	t.Helper()
	if err := b.Screenshot(context.Background(), file, png, 900, 7000); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := ReadCode128(ctx, zbar, png)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
