package page

import (
	"fmt"
	"html/template"
	"image/color"
	"strings"

	"github.com/boombuler/barcode/code128"
)

// Barcode geometry, in SVG user units drawn as CSS pixels: two pixels a
// module is 0.53 mm on paper (Code 128 asks at least 0.19 mm), and whole
// pixels on a screen, so a screenshot's bars have sharp edges for a reader
// such as zbarimg. The quiet zone on either side is the ten modules that
// the symbology asks for.
const (
	moduleW    = 2
	barH       = 48
	quietZone  = 10
	maxBarcode = 40 // characters: a prescription id is 10 to 20
)

// Bars are a Code 128 symbol of a value: the library's modules, true for a
// dark one, with no quiet zone.
type Bars struct {
	Value   string
	Modules []bool
}

// Code128 encodes value as Code 128 with github.com/boombuler/barcode: the
// library chooses the code sets (C for runs of digits) and computes the
// check character, so no symbol table is copied here.
func Code128(value string) (Bars, error) {
	if value == "" || len(value) > maxBarcode {
		return Bars{}, fmt.Errorf("barcode %q: give 1 to %d characters", value, maxBarcode)
	}
	for _, r := range value {
		if r < 0x20 || r > 0x7e {
			return Bars{}, fmt.Errorf("barcode %q: only printable ASCII can be scanned back as typed", value)
		}
	}
	bc, err := code128.Encode(value)
	if err != nil {
		return Bars{}, fmt.Errorf("barcode %q: %w", value, err)
	}
	b := bc.Bounds()
	bars := Bars{Value: value, Modules: make([]bool, b.Dx())}
	for x := b.Min.X; x < b.Max.X; x++ {
		g := color.GrayModel.Convert(bc.At(x, b.Min.Y)).(color.Gray)
		bars.Modules[x-b.Min.X] = g.Y < 128
	}
	return bars, nil
}

// SVG draws the bars as inline SVG: one rect per run of dark modules on a
// white ground with the quiet zones, sized in whole pixels.
func (b Bars) SVG() template.HTML {
	w := (len(b.Modules) + 2*quietZone) * moduleW
	esc := template.HTMLEscapeString(b.Value)
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" class="code128" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="%s">`,
		w, barH, w, barH, esc)
	fmt.Fprintf(&s, `<title>%s</title><rect width="%d" height="%d" fill="#fff"/>`, esc, w, barH)
	for i := 0; i < len(b.Modules); {
		if !b.Modules[i] {
			i++
			continue
		}
		j := i
		for j < len(b.Modules) && b.Modules[j] {
			j++
		}
		fmt.Fprintf(&s, `<rect x="%d" width="%d" height="%d"/>`, (quietZone+i)*moduleW, (j-i)*moduleW, barH)
		i = j
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}
