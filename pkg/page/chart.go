package page

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tiski-rx/tiski/pkg/hetu"
)

// TimeChart is a chart over time, from 0 to End: strips of bands above the
// plot (a state over time, such as the counter's mode), shaded areas, lines,
// horizontal reference lines and vertical markers. Each series carries its
// name in a data-series attribute, so that a test finds it in the page.
//
// It is drawn as hand-written SVG in a fixed coordinate space (viewBox),
// scaled to the width of the page.
type TimeChart struct {
	// ID names the chart (the figure's data-chart) and keeps its SVG ids
	// apart from another chart's on the same page.
	ID string
	// Title is the chart's accessible name.
	Title string
	// End is the end of the time axis; zero is the last time in the data.
	End time.Duration
	// YLabel names the vertical axis, e.g. "records waiting".
	YLabel string
	// YMin is the least top of the vertical scale, so that a chart of
	// small numbers does not look like a storm.
	YMin float64

	Bands   []Band
	Areas   []Area
	Lines   []Line
	Refs    []RefLine
	Markers []Marker
	// Legend lists what the chart's colours and lines mean, under it.
	Legend []LegendItem
}

// Tone is a colour of the chart's palette, by meaning.
type Tone string

// The tones.
const (
	ToneOK   Tone = "ok"   // green: all is well
	ToneBad  Tone = "bad"  // red: a fault, a refusal
	ToneWarn Tone = "warn" // amber: on the way back
	ToneInfo Tone = "info" // blue: a quantity
	ToneMute Tone = "mute" // grey: background
)

// Band is one strip of the chart, above the plot: a state over time, one
// span per stretch in one state.
type Band struct {
	Series string // data-series
	Label  string // at the strip's left
	Spans  []Span
}

// Span is a stretch of time in one state. State goes into data-state,
// the same in every language for the tests' sake; Label, when set, names
// it for the reader (the span's tooltip).
type Span struct {
	From, To time.Duration
	State    string
	Label    string
	Tone     Tone
}

// Point is a value at a time.
type Point struct {
	At    time.Duration
	Value float64
}

// Line is a series drawn as a line. A step line holds each value until the
// next point, and its last until End: a queue's depth, a load per second.
type Line struct {
	Series string
	Label  string
	Points []Point
	Step   bool
	Tone   Tone
}

// Area is a shaded series, between Top and Base (zero when Base is nil),
// both step functions on the same times: e.g. the requests that were
// throttled, between those served and all that arrived. Hatched draws it
// hatched rather than filled.
type Area struct {
	Series  string
	Label   string
	Top     []Point
	Base    []Point
	Tone    Tone
	Hatched bool
}

// RefLine is a horizontal line at a value, e.g. a capacity.
type RefLine struct {
	Series string
	Label  string
	Value  float64
}

// Marker is a vertical line at a time, e.g. a fault's step or the moment a
// queue drained. Label is written beside its top.
type Marker struct {
	Series string
	Label  string
	At     time.Duration
	Tone   Tone
}

// LegendItem is one entry of a chart's legend. Class is the key's look:
// a tone (tone-bad), "line tone-info", "ref", "marker" or "hatch".
type LegendItem struct {
	Class string
	Label string
}

// The chart's geometry, in SVG user units.
const (
	chartW     = 720.0
	plotLeft   = 96.0 // room for a strip's label, e.g. Reseptikeskus
	plotRight  = 12.0
	plotH      = 190.0
	bandH      = 16.0
	bandGap    = 4.0
	markerRoom = 14.0 // above the plot, for the markers' labels
	axisRoom   = 22.0 // under the plot, for the time labels
)

func (c TimeChart) masked() TimeChart {
	m := hetu.MaskText
	out := c
	out.ID, out.Title, out.YLabel = m(c.ID), m(c.Title), m(c.YLabel)
	out.Bands = make([]Band, len(c.Bands))
	for i, b := range c.Bands {
		nb := b
		nb.Series, nb.Label = m(b.Series), m(b.Label)
		nb.Spans = make([]Span, len(b.Spans))
		for j, s := range b.Spans {
			s.State, s.Label = m(s.State), m(s.Label)
			nb.Spans[j] = s
		}
		out.Bands[i] = nb
	}
	out.Areas = make([]Area, len(c.Areas))
	for i, a := range c.Areas {
		a.Series, a.Label = m(a.Series), m(a.Label)
		out.Areas[i] = a
	}
	out.Lines = make([]Line, len(c.Lines))
	for i, l := range c.Lines {
		l.Series, l.Label = m(l.Series), m(l.Label)
		out.Lines[i] = l
	}
	out.Refs = make([]RefLine, len(c.Refs))
	for i, r := range c.Refs {
		r.Series, r.Label = m(r.Series), m(r.Label)
		out.Refs[i] = r
	}
	out.Markers = make([]Marker, len(c.Markers))
	for i, k := range c.Markers {
		k.Series, k.Label = m(k.Series), m(k.Label)
		out.Markers[i] = k
	}
	out.Legend = make([]LegendItem, len(c.Legend))
	for i, l := range c.Legend {
		out.Legend[i] = LegendItem{Class: m(l.Class), Label: m(l.Label)}
	}
	return out
}

// end is the end of the time axis.
func (c TimeChart) end() time.Duration {
	end := c.End
	if end > 0 {
		return end
	}
	see := func(t time.Duration) { end = max(end, t) }
	for _, b := range c.Bands {
		for _, s := range b.Spans {
			see(s.To)
		}
	}
	for _, a := range c.Areas {
		for _, p := range a.Top {
			see(p.At)
		}
	}
	for _, l := range c.Lines {
		for _, p := range l.Points {
			see(p.At)
		}
	}
	for _, m := range c.Markers {
		see(m.At)
	}
	if end <= 0 {
		end = time.Second
	}
	return end
}

// top is the top of the vertical scale: the data's highest value, the
// reference lines and YMin, rounded up to a round number.
func (c TimeChart) top() (top, step float64) {
	hi := c.YMin
	for _, a := range c.Areas {
		for _, p := range a.Top {
			hi = max(hi, p.Value)
		}
	}
	for _, l := range c.Lines {
		for _, p := range l.Points {
			hi = max(hi, p.Value)
		}
	}
	for _, r := range c.Refs {
		hi = max(hi, r.Value*1.1)
	}
	if hi <= 0 {
		hi = 1
	}
	step = niceStep(hi / 5)
	return math.Ceil(hi/step) * step, step
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten, at least 1: the
// charts count requests and records, which come whole.
func niceStep(x float64) float64 {
	if x <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// timeSteps are the spacings the time axis may have.
var timeSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// timeStep picks a spacing that puts at most 8 ticks on the axis.
func timeStep(end time.Duration) time.Duration {
	for _, s := range timeSteps {
		if end/s <= 8 {
			return s
		}
	}
	return timeSteps[len(timeSteps)-1]
}

// Clock writes a time of the axis: h:mm:ss from an hour up, m:ss from a
// minute, and seconds below that.
func Clock(d, end time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case end >= time.Hour:
		return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	case end >= time.Minute:
		return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d s", int(d.Seconds()))
}

// num writes a coordinate with at most one decimal, so that the SVG is
// the same on every machine and short.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// render draws the chart as SVG and returns it with its legend.
func (c TimeChart) render() (template.HTML, []LegendItem) {
	end := c.end()
	top, ystep := c.top()
	plotW := chartW - plotLeft - plotRight
	bandsTop := 4.0
	plotTop := bandsTop + float64(len(c.Bands))*(bandH+bandGap) + markerRoom
	height := plotTop + plotH + axisRoom
	x := func(t time.Duration) float64 {
		t = min(max(t, 0), end)
		return plotLeft + plotW*float64(t)/float64(end)
	}
	y := func(v float64) float64 { return plotTop + plotH - plotH*min(max(v, 0), top)/top }
	esc := template.HTMLEscapeString

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="%s"`, num(chartW), num(height), esc(c.Title))
	if c.ID != "" {
		fmt.Fprintf(&b, ` data-chart="%s"`, esc(c.ID))
	}
	b.WriteString(">\n")
	if c.Title != "" {
		fmt.Fprintf(&b, "<title>%s</title>\n", esc(c.Title))
	}
	hatchID := "hatch"
	if c.ID != "" {
		hatchID += "-" + c.ID
	}
	for _, a := range c.Areas {
		if a.Hatched {
			fmt.Fprintf(&b, `<defs><pattern id="%s" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`+
				`<rect width="6" height="6" fill="#fff"/><rect width="3" height="6" fill="#e57373"/></pattern></defs>`+"\n", esc(hatchID))
			break
		}
	}

	// The bands: one strip each, its label in the left margin.
	for i, band := range c.Bands {
		top := bandsTop + float64(i)*(bandH+bandGap)
		fmt.Fprintf(&b, `<g data-series="%s">`, esc(band.Series))
		fmt.Fprintf(&b, `<text class="band-label" x="%s" y="%s" text-anchor="end">%s</text>`, num(plotLeft-4), num(top+bandH-4), esc(band.Label))
		for _, s := range band.Spans {
			if s.To <= s.From {
				continue
			}
			label := s.Label
			if label == "" {
				label = s.State
			}
			fmt.Fprintf(&b, `<rect class="tone-%s" data-state="%s" x="%s" y="%s" width="%s" height="%s"><title>%s %s–%s</title></rect>`,
				esc(string(s.Tone)), esc(s.State), num(x(s.From)), num(top), num(max(x(s.To)-x(s.From), 0.5)), num(bandH),
				esc(label), Clock(s.From, end), Clock(s.To, end))
			// The state written in its span where it fits, so that the
			// strip reads in black and white too; not on the background.
			if w := x(s.To) - x(s.From); s.Tone != ToneMute && w >= 6.5*float64(utf8.RuneCountInString(s.State))+8 {
				fmt.Fprintf(&b, `<text class="span-label" x="%s" y="%s">%s</text>`, num(x(s.From)+4), num(top+bandH-4.5), esc(s.State))
			}
		}
		b.WriteString("</g>\n")
	}

	// The grid and the axes.
	b.WriteString(`<g class="axes">`)
	for v := 0.0; v <= top+ystep/2; v += ystep {
		fmt.Fprintf(&b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(plotLeft), num(y(v)), num(plotLeft+plotW), num(y(v)))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end">%s</text>`, num(plotLeft-4), num(y(v)+3.5), strconv.FormatFloat(v, 'f', -1, 64))
	}
	tstep := timeStep(end)
	for t := time.Duration(0); t <= end; t += tstep {
		anchor := "middle"
		switch {
		case t == 0:
			anchor = "start"
		case end-t < tstep/2:
			anchor = "end" // the last label stays inside the picture
		}
		fmt.Fprintf(&b, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x(t)), num(plotTop+plotH), num(x(t)), num(plotTop+plotH+4))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="%s">%s</text>`, num(x(t)), num(plotTop+plotH+15), anchor, Clock(t, end))
	}
	fmt.Fprintf(&b, `<path class="axis" d="M%s %sV%sH%s"/>`, num(plotLeft), num(plotTop), num(plotTop+plotH), num(plotLeft+plotW))
	if c.YLabel != "" {
		// Upright along the left edge, clear of the markers' labels.
		fmt.Fprintf(&b, `<text x="0" y="0" transform="translate(%s %s) rotate(-90)" text-anchor="middle">%s</text>`, num(plotLeft-34), num(plotTop+plotH/2), esc(c.YLabel))
	}
	b.WriteString("</g>\n")

	// Areas under lines, lines over them, then the references and markers
	// on top, so that nothing hides a line.
	for _, a := range c.Areas {
		fill := fmt.Sprintf(`class="area tone-%s"`, esc(string(a.Tone)))
		if a.Hatched {
			fill = fmt.Sprintf(`class="area" fill="url(#%s)"`, esc(hatchID))
		}
		fmt.Fprintf(&b, `<path data-series="%s" %s d="%s"><title>%s</title></path>`+"\n", esc(a.Series), fill, areaPath(a, x, y, end), esc(a.Label))
	}
	for _, l := range c.Lines {
		fmt.Fprintf(&b, `<path data-series="%s" class="series-line tone-%s" d="%s"><title>%s</title></path>`+"\n",
			esc(l.Series), esc(string(l.Tone)), linePath(l.Points, l.Step, x, y, end), esc(l.Label))
	}
	for _, r := range c.Refs {
		fmt.Fprintf(&b, `<g data-series="%s"><line class="ref" x1="%s" y1="%s" x2="%s" y2="%s"/><text x="%s" y="%s" text-anchor="end">%s</text></g>`+"\n",
			esc(r.Series), num(plotLeft), num(y(r.Value)), num(plotLeft+plotW), num(y(r.Value)), num(plotLeft+plotW-2), num(y(r.Value)-3), esc(r.Label))
	}
	// A marker's label sits above the plot, or, when it would run into
	// the label of the marker before, just inside the plot's top.
	lastLabel := math.Inf(-1)
	for _, m := range c.Markers {
		anchor := "start"
		lx := x(m.At) + 2
		if x(m.At) > plotLeft+plotW*0.85 {
			anchor, lx = "end", x(m.At)-2
		}
		ly := plotTop - 4
		if x(m.At)-lastLabel < 90 {
			ly = plotTop + 11
		} else {
			lastLabel = x(m.At)
		}
		fmt.Fprintf(&b, `<g data-series="%s"><line class="marker tone-%s" x1="%s" y1="%s" x2="%s" y2="%s"/><text x="%s" y="%s" text-anchor="%s">%s</text></g>`+"\n",
			esc(m.Series), esc(string(m.Tone)), num(x(m.At)), num(plotTop-markerRoom+2), num(x(m.At)), num(plotTop+plotH), num(lx), num(ly), anchor, esc(m.Label))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String()), c.Legend
}

// linePath draws points as a polyline, or as steps held until the next
// point and the last until end.
func linePath(pts []Point, step bool, x func(time.Duration) float64, y func(float64) float64, end time.Duration) string {
	if len(pts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "M%s %s", num(x(pts[0].At)), num(y(pts[0].Value)))
	for i := 1; i < len(pts); i++ {
		if step {
			fmt.Fprintf(&b, "H%sV%s", num(x(pts[i].At)), num(y(pts[i].Value)))
		} else {
			fmt.Fprintf(&b, "L%s %s", num(x(pts[i].At)), num(y(pts[i].Value)))
		}
	}
	if step {
		fmt.Fprintf(&b, "H%s", num(x(end)))
	}
	return b.String()
}

// areaPath draws the region between two step functions: along the top
// forwards, then along the base backwards.
func areaPath(a Area, x func(time.Duration) float64, y func(float64) float64, end time.Duration) string {
	if len(a.Top) == 0 {
		return ""
	}
	base := a.Base
	if base == nil {
		base = []Point{{At: a.Top[0].At}}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "M%s %s", num(x(a.Top[0].At)), num(y(a.Top[0].Value)))
	for i := 1; i < len(a.Top); i++ {
		fmt.Fprintf(&b, "H%sV%s", num(x(a.Top[i].At)), num(y(a.Top[i].Value)))
	}
	fmt.Fprintf(&b, "H%s", num(x(end)))
	last := base[len(base)-1]
	fmt.Fprintf(&b, "V%s", num(y(last.Value)))
	for i := len(base) - 1; i >= 1; i-- {
		fmt.Fprintf(&b, "H%sV%s", num(x(base[i].At)), num(y(base[i-1].Value)))
	}
	fmt.Fprintf(&b, "H%sZ", num(x(base[0].At)))
	return b.String()
}
