package cli

import (
	"strconv"
	"time"

	"github.com/tiski-rx/tiski/pkg/page"
	"github.com/tiski-rx/tiski/queue/herd"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// herdPage shapes the reconnect storm's results into a printable page in
// l: the verdict, the measures of each jitter mode side by side, and for
// each mode its offered load over simulated time against the capacity,
// the throttled requests hatched and the drain marked. As the text
// report's charts do, each chart has its own scales, so that a drain near
// the capacity is not flattened under a storm of four times it.
func herdPage(l i18n.Lang, outage time.Duration, results []herd.Result) page.Document {
	doc := page.Document{Lang: string(l), Footer: l.T(i18n.PageHerdFooter), Subtitle: l.T(i18n.PageHerdSubtitle, outage.String())}
	if len(results) == 0 {
		return doc
	}
	r0 := results[0]
	doc.Title = l.T(i18n.PageHerdTitle, r0.Clients, r0.Records, decimal(l, r0.CapacityRPS, -1))
	doc.Verdict = &page.Verdict{Status: page.StatusPass, Text: l.T(i18n.PageHerdVerdictPass)}
	for _, r := range results {
		if r.Lost > 0 || r.Duplicates > 0 {
			doc.Verdict = &page.Verdict{Status: page.StatusFail, Text: l.T(i18n.PageHerdVerdictFail)}
		}
	}

	secs := func(s float64) string {
		if s < 120 {
			return l.T(i18n.PageSeconds, decimal(l, s, 1))
		}
		return l.T(i18n.PageSeconds, decimal(l, s, 0)) + " (" + page.Clock(time.Duration(s*float64(time.Second)), time.Minute) + ")"
	}
	table := page.Table{ID: "summary-table", Head: []string{l.T(i18n.PageHerdColMeasure)}, Numeric: []bool{false}}
	for _, r := range results {
		table.Head = append(table.Head, jitterName(l, r.Jitter))
		table.Numeric = append(table.Numeric, true)
	}
	row := func(label string, status func(herd.Result) bool, cell func(herd.Result) string) {
		cells := []string{label}
		st := page.StatusNone
		for _, r := range results {
			cells = append(cells, cell(r))
			if status != nil {
				if status(r) && st != page.StatusFail {
					st = page.StatusPass
				} else if !status(r) {
					st = page.StatusFail
				}
			}
		}
		table.Rows = append(table.Rows, page.Row{Cells: cells, Status: st})
	}
	itoa := strconv.Itoa
	row(l.T(i18n.PageHerdPeakLabel), nil, func(r herd.Result) string {
		return l.T(i18n.PageHerdPeak, r.PeakRPS, decimal(l, float64(r.PeakRPS)/r.CapacityRPS, 2))
	})
	row(l.T(i18n.PageHerdPeakAt), nil, func(r herd.Result) string { return itoa(r.PeakSecond) })
	row(l.T(i18n.PageHerdRequests), nil, func(r herd.Result) string { return itoa(r.Requests) })
	row(l.T(i18n.PageHerdThrottled), nil, func(r herd.Result) string { return itoa(r.Throttled) })
	row(l.T(i18n.PageHerdDrainLabel), nil, func(r herd.Result) string {
		if !r.Drained {
			return l.T(i18n.PageHerdNotDrained, secs(r.DrainSeconds))
		}
		return secs(r.DrainSeconds)
	})
	row(l.T(i18n.PageHerdLost), func(r herd.Result) bool { return r.Lost == 0 }, func(r herd.Result) string { return itoa(r.Lost) })
	row(l.T(i18n.PageHerdPending), nil, func(r herd.Result) string { return itoa(r.Pending) })
	row(l.T(i18n.PageHerdDuplicates), func(r herd.Result) bool { return r.Duplicates == 0 }, func(r herd.Result) string { return itoa(r.Duplicates) })
	row(l.T(i18n.PageHerdRealTime), nil, func(r herd.Result) string { return secs(r.WallSeconds) })

	summary := page.Section{ID: "summary", Title: l.T(i18n.PageHerdSummary), Notes: []string{l.T(i18n.PageHerdNote)}, Tables: []page.Table{table}}
	load := page.Section{ID: "load", Title: l.T(i18n.PageHerdLoad), NewPage: true}
	for _, r := range results {
		load.Figures = append(load.Figures, page.Figure{Caption: jitterName(l, r.Jitter) + ". " + l.T(i18n.PageHerdCaption), Chart: herdChart(l, r)})
	}
	doc.Sections = []page.Section{summary, load}
	return doc
}

// herdChart draws one run's load a simulated second: those served, those
// throttled hatched above them, the offered load as a line, the capacity,
// and the moment the queues drained (or the run stopped). Series are named
// by the jitter mode (load-full, throttled-none), but for the capacity,
// the same line in each chart.
func herdChart(l i18n.Lang, r herd.Result) page.TimeChart {
	mode := string(r.Jitter)
	sec := func(i int) time.Duration { return time.Duration(i) * time.Second }
	var offered, served []page.Point
	for i, s := range r.Load {
		o, sv := float64(s.Requests), float64(s.Requests-s.Throttled)
		if n := len(offered); n == 0 || offered[n-1].Value != o || served[n-1].Value != sv {
			offered = append(offered, page.Point{At: sec(i), Value: o})
			served = append(served, page.Point{At: sec(i), Value: sv})
		}
	}
	end := max(sec(len(r.Load)), time.Duration(r.DrainSeconds*float64(time.Second)), time.Second)
	// Past the last second, nothing arrives.
	offered = append(offered, page.Point{At: sec(len(r.Load)), Value: 0})
	served = append(served, page.Point{At: sec(len(r.Load)), Value: 0})

	c := page.TimeChart{ID: "load-" + mode, Title: jitterName(l, r.Jitter), End: end, YLabel: l.T(i18n.PageHerdAxis), YMin: r.CapacityRPS * 1.5,
		Areas: []page.Area{
			{Series: "served-" + mode, Label: l.T(i18n.PageHerdServed), Top: served, Tone: page.ToneInfo},
			{Series: "throttled-" + mode, Label: l.T(i18n.PageHerdThrottledSeries), Top: offered, Base: served, Hatched: true},
		},
		Lines: []page.Line{{Series: "load-" + mode, Label: l.T(i18n.PageHerdOffered), Points: offered, Step: true, Tone: page.ToneMute}},
		Refs:  []page.RefLine{{Series: "capacity", Label: l.T(i18n.PageHerdCapacity, decimal(l, r.CapacityRPS, -1)), Value: r.CapacityRPS}},
		Legend: []page.LegendItem{
			{Class: "tone-info", Label: l.T(i18n.PageHerdServed)},
			{Class: "hatch", Label: l.T(i18n.PageHerdThrottledSeries)},
			{Class: "line tone-mute", Label: l.T(i18n.PageHerdOffered)},
			{Class: "ref", Label: l.T(i18n.PageHerdCapacity, decimal(l, r.CapacityRPS, -1))},
		},
	}
	drainAt := time.Duration(r.DrainSeconds * float64(time.Second))
	label, tone := l.T(i18n.PageHerdDrainedAt, page.Clock(drainAt, time.Minute)), page.ToneOK
	if !r.Drained {
		label, tone = l.T(i18n.PageHerdStoppedAt, page.Clock(drainAt, time.Minute)), page.ToneBad
	}
	c.Markers = []page.Marker{{Series: "drained-" + mode, Label: label, At: drainAt, Tone: tone}}
	c.Legend = append(c.Legend, page.LegendItem{Class: "marker", Label: label})
	return c
}

// jitterName names a jitter mode in l.
func jitterName(l i18n.Lang, j herd.Jitter) string {
	switch j {
	case herd.JitterFull:
		return l.T(i18n.PageHerdFull)
	case herd.JitterNone:
		return l.T(i18n.PageHerdNone)
	}
	return string(j)
}
