package page_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/pkg/page/browsertest"
)

// ids are values the summary prints as barcodes: the fixtures' ids (code
// set B, then C for the digits), an odd run of digits, letters only.
var ids = []string{"EP26000101", "EP26000112", "EP123456789", "RX-2026/7", "A"}

// rects reads the bars back from the SVG: the x and width of every dark
// rect, in modules, after the white ground.
var rectRE = regexp.MustCompile(`<rect x="(\d+)" width="(\d+)" height="\d+"/>`)

func modulesOf(t *testing.T, svg string) (modules []bool, total int) {
	t.Helper()
	m := regexp.MustCompile(`width="(\d+)" height="\d+" viewBox`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no size in %s", svg)
	}
	w, _ := strconv.Atoi(m[1])
	total = w / 2
	modules = make([]bool, total)
	for _, r := range rectRE.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(r[1])
		rw, _ := strconv.Atoi(r[2])
		if x%2 != 0 || rw%2 != 0 {
			t.Fatalf("a bar off the 2-pixel module grid: x %d width %d", x, rw)
		}
		for i := x / 2; i < (x+rw)/2; i++ {
			modules[i] = true
		}
	}
	return modules, total
}

func bits(ms []bool) string {
	var b strings.Builder
	for _, m := range ms {
		if m {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

// TestCode128SVG checks the drawn bars against the library's modules and
// against what Code 128 itself fixes: a start character of set B (or C),
// eleven modules a character, the stop pattern, and ten light modules of
// quiet zone on either side.
func TestCode128SVG(t *testing.T) {
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			bars, err := page.Code128(id)
			if err != nil {
				t.Fatal(err)
			}
			got, total := modulesOf(t, string(bars.SVG()))
			if total != len(bars.Modules)+20 {
				t.Fatalf("%d modules wide, want the symbol's %d and 20 of quiet zone", total, len(bars.Modules))
			}
			if q := bits(got[:10]) + bits(got[total-10:]); strings.Contains(q, "1") {
				t.Errorf("a bar in the quiet zone: %s", q)
			}
			if bits(got[10:total-10]) != bits(bars.Modules) {
				t.Errorf("the SVG's bars are not the library's:\n%s\n%s", bits(got[10:total-10]), bits(bars.Modules))
			}
			sym := bits(bars.Modules)
			if (len(sym)-13)%11 != 0 {
				t.Errorf("%d modules: not whole characters and a stop", len(sym))
			}
			if !strings.HasPrefix(sym, "11010010000") && !strings.HasPrefix(sym, "11010011100") {
				t.Errorf("starts %s, not Start B or Start C", sym[:11])
			}
			if !strings.HasSuffix(sym, "1100011101011") {
				t.Errorf("ends %s, not the stop pattern", sym[len(sym)-13:])
			}
		})
	}
	for _, bad := range []string{"", "EP26\n0101", "ä", strings.Repeat("1", 41)} {
		if _, err := page.Code128(bad); err == nil {
			t.Errorf("Code128(%q) took it", bad)
		}
	}
}

// TestCode128Scans draws the SVG's rects into a PNG, with no browser, and
// has zbarimg, a reader written by others, read each back.
func TestCode128Scans(t *testing.T) {
	zbar := browsertest.RequireZbarimg(t)
	dir := t.TempDir()
	for _, id := range ids {
		bars, err := page.Code128(id)
		if err != nil {
			t.Fatal(err)
		}
		mods, total := modulesOf(t, string(bars.SVG()))
		const scale, margin = 3, 20
		img := image.NewGray(image.Rect(0, 0, total*scale+2*margin, 60+2*margin))
		for i := range img.Pix {
			img.Pix[i] = 0xff
		}
		for x, dark := range mods {
			if !dark {
				continue
			}
			for px := 0; px < scale; px++ {
				for y := 0; y < 60; y++ {
					img.SetGray(margin+x*scale+px, margin+y, color.Gray{})
				}
			}
		}
		file := filepath.Join(dir, "bars.png")
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		got, err := browsertest.ReadCode128(ctx, zbar, file)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if len(got) != 1 || got[0] != id {
			t.Errorf("zbarimg read %q, want %q", got, id)
		}
	}
}
